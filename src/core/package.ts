/**
 * Packages as the format-neutral core sees them: a format, an optional scope,
 * a name, and the key under which the package's documents and artifacts are
 * stored. Each format builds its refs (validating and normalising names its
 * own way); the core only uses `format` and `key`.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { PackageName } from "../../plugins/types.ts";
import { assertValidKey } from "../storage/object_store.ts";

export type { PackageName };

/** A package of some format, with its storage key. */
export interface PackageRef extends PackageName {
  /**
   * The package's identity within its format, as `/`-separated object-key
   * segments (normalised: two spellings of one package have one key).
   */
  key: string;
  /** How the format's clients write its name: `mona.LinkedList`, `@mona/pkg`, `requests`, a module path. */
  id: string;
}

/** The storage key prefix of everything a package stores: `<format>/packages/<key>`. */
export function packagePrefix(ref: PackageRef): string {
  return `${ref.format}/packages/${ref.key}`;
}

/** The storage key of a package's document: `<format>/packages/<key>/index.json`. */
export function packageDocumentKey(ref: PackageRef): string {
  const key = `${packagePrefix(ref)}/index.json`;
  assertValidKey(key);
  return key;
}

/** The plain {@link PackageName} of a ref (what plugins are shown). */
export function packageName(ref: PackageRef): PackageName {
  return ref.scope === undefined
    ? { format: ref.format, name: ref.name }
    : { format: ref.format, scope: ref.scope, name: ref.name };
}

/** Escaped text longer than this is shortened to a prefix and its hash, so a segment stays a valid file name. */
const MAX_ESCAPED_LENGTH = 200;

/**
 * Turns any text (a version, a file name) into one object-key segment,
 * one-to-one: characters outside `[A-Za-z0-9.@+-]`, and a leading `.`,
 * become `_XX` (hex); a result over 200 characters becomes its first 100,
 * `_h` and the SHA-256 of the text (`_h` never comes out of the escape).
 *
 * @example
 * keySegment("1!2.0"); // "1_212.0"
 */
export function keySegment(value: string): string {
  const escaped = Array.from(new TextEncoder().encode(value), (byte, i) => {
    const ch = String.fromCharCode(byte);
    const plain = /[A-Za-z0-9@+-]/.test(ch) || (ch === "." && i > 0);
    return plain ? ch : `_${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }).join("");
  if (escaped.length > MAX_ESCAPED_LENGTH) {
    return `${escaped.slice(0, 100)}_h${createHash("sha256").update(value).digest("hex")}`;
  }
  return escaped === "" ? "_" : escaped;
}
