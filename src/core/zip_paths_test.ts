import assert from "node:assert/strict";
import { resolveLink } from "./zip_paths.ts";

Deno.test("resolveLink follows links met on the way and stays inside the archive", () => {
  const links = new Map([["pkg/up", ".."], ["pkg/a/self", "."]]);
  assert.equal(resolveLink("pkg/a/link", "../b", links), "pkg/b");
  assert.equal(resolveLink("pkg/a/link", "self/self/c", links), "pkg/a/c");
  assert.equal(resolveLink("pkg/link", "up/pkg/b", links), "pkg/b");
  assert.equal(resolveLink("pkg/link", "../..", links), null);
  assert.equal(resolveLink("pkg/link", "/etc/passwd", links), null);
  const loop = new Map([["pkg/a", "b"], ["pkg/b", "a"]]);
  assert.equal(resolveLink("pkg/a", "b", loop), null, "a loop");
});

Deno.test("resolveLink with a root refuses links climbing out of it, even to come back, and the root itself", () => {
  assert.equal(resolveLink("pkg/a/link", "../b", new Map(), "pkg"), "pkg/b");
  assert.equal(resolveLink("pkg/link", "../pkg/b", new Map()), "pkg/b", "inside the archive");
  assert.equal(resolveLink("pkg/link", "../pkg/b", new Map(), "pkg"), null, "but out of pkg on the way");
  assert.equal(resolveLink("pkg/link", "up/pkg/b", new Map([["pkg/up", ".."]]), "pkg"), null, "through a link");
  assert.equal(resolveLink("pkg/a/link", "..", new Map(), "pkg"), null, "the root itself");
  assert.equal(resolveLink("other/link", "b", new Map(), "pkg"), null, "a link outside the root");
});
