import assert from "node:assert/strict";
import {
  checkFilenameAgrees,
  checkRequiresPython,
  normalizeName,
  normalizeVersion,
  parseDistributionFilename,
  versionIdentity,
} from "./names.ts";

Deno.test("project names normalise as PEP 503 says: runs of - _ . become one -, lower case", () => {
  assert.equal(normalizeName("Bar-Demo.pkg"), "bar-demo-pkg");
  assert.equal(normalizeName("Friendly__Bard"), "friendly-bard");
  assert.equal(normalizeName("FRIENDLY-._-BARD"), "friendly-bard");
});

Deno.test("versions take their PEP 440 normal form, and 1.0 and 1.0.0 are one release", () => {
  assert.equal(normalizeVersion("1.0-RC1"), "1.0rc1");
  assert.equal(normalizeVersion("v2.0.post1"), "2.0.post1");
  assert.equal(normalizeVersion("not a version"), null);
  assert.equal(versionIdentity("1.0.0"), versionIdentity("1.0"));
  assert.equal(versionIdentity("1!2.0.0rc1.post2.dev3+abc.1"), "1!2rc1.post2.dev3+abc.1");
  assert.notEqual(versionIdentity("1.0.1"), versionIdentity("1.0"));
});

Deno.test("wheel and sdist file names are parsed into name, version and kind", () => {
  assert.deepEqual(parseDistributionFilename("Bar_Demo.pkg-1.0.0-py3-none-any.whl"), {
    kind: "wheel",
    name: "Bar_Demo.pkg",
    version: "1.0.0",
    filetype: "bdist_wheel",
    extension: ".whl",
  });
  assert.equal(parseDistributionFilename("pkg-1.0-1build-cp311-cp311-manylinux_2_17_x86_64.whl").version, "1.0");
  assert.deepEqual(parseDistributionFilename("Bar-Demo.pkg-1.0.0.tar.gz"), {
    kind: "sdist",
    name: "Bar-Demo.pkg",
    version: "1.0.0",
    filetype: "sdist",
    extension: ".tar.gz",
  });
  assert.equal(parseDistributionFilename("pkg-2.0.zip").extension, ".zip");
  for (
    const bad of ["pkg-1.0.exe", "pkg.whl", "pkg-1.0-py3.whl", "../pkg-1.0.tar.gz", "pkg 1.0.tar.gz", "-1.0.tar.gz"]
  ) {
    assert.throws(() => parseDistributionFilename(bad), /invalid distribution file name/, bad);
  }
});

Deno.test("a file name must agree with the upload's project, version and filetype", () => {
  const wheel = parseDistributionFilename("Bar_Demo.pkg-1.0-py3-none-any.whl");
  checkFilenameAgrees(wheel, "w", "bar-demo-pkg", "1.0.0", "bdist_wheel");
  assert.throws(() => checkFilenameAgrees(wheel, "w", "other", "1.0"), /does not start with the project name/);
  assert.throws(() => checkFilenameAgrees(wheel, "w", "bar-demo-pkg", "1.1"), /does not contain the version/);
  assert.throws(() => checkFilenameAgrees(wheel, "w", "bar-demo-pkg", "1.0", "sdist"), /is a bdist_wheel/);
});

Deno.test("Requires-Python must be a PEP 440 specifier set", () => {
  assert.equal(checkRequiresPython(" >=3.8, <4 "), ">=3.8, <4");
  assert.equal(checkRequiresPython(""), undefined);
  assert.throws(() => checkRequiresPython("python 3"), /not a valid version specifier/);
});
