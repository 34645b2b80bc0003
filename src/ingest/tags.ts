/**
 * Git tags to release versions: strip `v`, pad `1.2` to `1.2.0`, keep
 * pre-release and build parts, drop what cannot be normalised (and bare
 * numbers or dates without a MAJOR.MINOR), and keep one tag per version.
 *
 * @module
 */
import { normalizeVersion } from "../formats/swift/version.ts";

/** A tag as the forge lists it. */
export interface Tag {
  name: string;
  commitSha: string;
}

/**
 * Maps each normalisable tag to its version. When several tags give one
 * version (`v1.2`, `1.2`, `1.2.0`), the highest wins: the tag spelled exactly
 * as the version, then the longest spelling, then the greatest name.
 *
 * @example
 * versionsOfTags([{ name: "v1.2", commitSha: "a" }, { name: "1.2.0", commitSha: "b" }]).get("1.2.0")?.name; // "1.2.0"
 */
export function versionsOfTags(tags: Tag[]): Map<string, Tag> {
  const versions = new Map<string, Tag>();
  for (const tag of tags) {
    // At least MAJOR.MINOR: a bare number or a date ("2024-01-01") is not a release tag.
    if (!/^v?\d+\.\d+/.test(tag.name)) continue;
    const version = normalizeVersion(tag.name);
    if (version === null) continue;
    const current = versions.get(version);
    if (current === undefined || outranks(tag, current, version)) versions.set(version, tag);
  }
  return versions;
}

function outranks(a: Tag, b: Tag, version: string): boolean {
  const exact = Number(a.name === version) - Number(b.name === version);
  if (exact !== 0) return exact > 0;
  if (a.name.length !== b.name.length) return a.name.length > b.name.length;
  return a.name > b.name;
}
