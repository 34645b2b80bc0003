import assert from "node:assert/strict";
import { parseDistTagsPath, parsePackagePath } from "./paths.ts";

Deno.test("package paths name scoped packages in all three spellings", () => {
  for (const name of ["/@acme%2fhello", "/@acme%2Fhello", "/@acme/hello", "/@acme/hello/"]) {
    assert.deepEqual(parsePackagePath(name), { kind: "packument", name: "@acme/hello" });
  }
  assert.deepEqual(parsePackagePath("/left-pad"), { kind: "packument", name: "left-pad" });
  assert.deepEqual(parsePackagePath("/left-pad/1.0.0"), { kind: "version", name: "left-pad", version: "1.0.0" });
  assert.deepEqual(parsePackagePath("/@a/b/latest"), { kind: "version", name: "@a/b", version: "latest" });
});

Deno.test("package paths address tarballs and revisions the way npm writes them", () => {
  const tarball = { kind: "tarball", name: "@a/b", file: "b-1.0.0.tgz" };
  assert.deepEqual(parsePackagePath("/@a/b/-/b-1.0.0.tgz"), tarball);
  assert.deepEqual(parsePackagePath("/@a%2fb/-/b-1.0.0.tgz"), tarball);
  assert.deepEqual(parsePackagePath("/@a/b/-/@a/b-1.0.0.tgz"), tarball);
  assert.deepEqual(parsePackagePath("/x/-/x-1.0.0.tgz"), { kind: "tarball", name: "x", file: "x-1.0.0.tgz" });
  assert.deepEqual(parsePackagePath("/x/-rev/3-abc"), { kind: "revision", name: "x", rev: "3-abc" });
  assert.deepEqual(parsePackagePath("/@a/b/-/b-1.0.0.tgz/-rev/4-d"), {
    kind: "tarball-revision",
    name: "@a/b",
    file: "b-1.0.0.tgz",
    rev: "4-d",
  });
  assert.deepEqual(parseDistTagsPath("/@a%2fb/dist-tags"), { name: "@a/b" });
  assert.deepEqual(parseDistTagsPath("/@a/b/dist-tags/beta"), { name: "@a/b", tag: "beta" });
});

Deno.test("other package paths are not found, and broken percent-encoding is a bad request", () => {
  for (const path of ["/", "/-/whoami", "/@a", "/x/-", "/x/a/b", "/x/-/a/b", "/@a/b/dist-tags/x/y"]) {
    assert.throws(() => parsePackagePath(path), { status: 404 }, path);
  }
  assert.throws(() => parsePackagePath("/%E0%A4%A"), { status: 400 });
  assert.throws(() => parseDistTagsPath("/x/tags"), { status: 404 });
});
