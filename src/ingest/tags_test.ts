import assert from "node:assert/strict";
import { packageForRepository } from "./github_identity.ts";
import { versionsOfTags } from "./tags.ts";

const tags = (...names: string[]) => names.map((name, i) => ({ name, commitSha: `sha${i}` }));

Deno.test("versionsOfTags strips v, pads short versions and keeps pre-release and build parts", () => {
  const versions = versionsOfTags(tags("v1.0", "1.2", "v2.0.0-rc.1", "3.0.0+build.5", "v4.1.2-beta.2+exp"));
  assert.deepEqual([...versions.keys()].sort(), ["1.0.0", "1.2.0", "2.0.0-rc.1", "3.0.0+build.5", "4.1.2-beta.2+exp"]);
  assert.equal(versions.get("1.2.0")!.name, "1.2");
});

Deno.test("versionsOfTags drops tags that are not versions", () => {
  const versions = versionsOfTags(tags("latest", "release-1.0", "1.0.0.1", "01.2.3", "v", "1.2.3-", "2024-01-01", "7"));
  assert.deepEqual([...versions.keys()], []);
});

Deno.test("versionsOfTags keeps one tag per version: the exact spelling, then the longest, then the greatest", () => {
  assert.equal(versionsOfTags(tags("v1.2", "1.2.0", "1.2")).get("1.2.0")!.name, "1.2.0");
  assert.equal(versionsOfTags(tags("1.2", "v1.2")).get("1.2.0")!.name, "v1.2");
  assert.equal(versionsOfTags(tags("v1.2.0", "v1.2")).get("1.2.0")!.name, "v1.2.0");
});

Deno.test("packageForRepository maps GitHub names to valid package identities deterministically", () => {
  assert.equal(packageForRepository("mona", "LinkedList")!.key, "mona/linkedlist");
  assert.equal(packageForRepository("kylef", "URITemplate.swift")!.name, "URITemplate_swift");
  assert.equal(packageForRepository("a", "swift--nio")!.name, "swift_nio");
  assert.equal(packageForRepository("a", "-leading_and_trailing-")!.name, "leading_and_trailing");
  assert.equal(packageForRepository("a", ".dotfiles")!.name, "dotfiles");
  assert.equal(packageForRepository("bad--owner", "repo"), null);
  assert.equal(packageForRepository("a", "..."), null);
});
