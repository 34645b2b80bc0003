import assert from "node:assert/strict";
import { declaredToolsVersion, MANIFEST_FILENAME, swiftVersionCandidates } from "./manifest.ts";

Deno.test("MANIFEST_FILENAME matches Package.swift without an alternate version", () => {
  const match = MANIFEST_FILENAME.exec("Package.swift");
  assert.ok(match);
  assert.equal(match[1], undefined);
});

Deno.test("MANIFEST_FILENAME captures the swift version of an alternate manifest", () => {
  assert.equal(MANIFEST_FILENAME.exec("Package@swift-5.swift")?.[1], "5");
  assert.equal(MANIFEST_FILENAME.exec("Package@swift-5.9.swift")?.[1], "5.9");
  assert.equal(MANIFEST_FILENAME.exec("Package@swift-5.9.1.swift")?.[1], "5.9.1");
});

Deno.test("MANIFEST_FILENAME rejects other file names", () => {
  const others = [
    "package.swift",
    "Package.Swift",
    "Package@swift-.swift",
    "Package@swift-5.9.1.2.swift",
    "Package@swift-5..swift",
    "Package@swift-x.swift",
    "Package@5.9.swift",
    "Package.swift.bak",
    "Package@swift-5.swift.orig",
    "Sources/Package.swift",
    "MyPackage.swift",
    "Package.resolved",
  ];
  for (const name of others) assert.equal(MANIFEST_FILENAME.test(name), false, name);
});

Deno.test("declaredToolsVersion reads the version from the first line", () => {
  assert.equal(declaredToolsVersion("// swift-tools-version:5.9\nimport PackageDescription\n"), "5.9");
  assert.equal(declaredToolsVersion("// swift-tools-version: 5.9\nimport PackageDescription"), "5.9");
  assert.equal(declaredToolsVersion("// swift-tools-version:5.7.1"), "5.7.1");
  assert.equal(declaredToolsVersion("// swift-tools-version:6"), "6");
});

Deno.test("declaredToolsVersion accepts the spacing and case SwiftPM accepts", () => {
  assert.equal(declaredToolsVersion("//swift-tools-version:5.3"), "5.3");
  assert.equal(declaredToolsVersion("  //   swift-tools-version  :  6.0  \n"), "6.0");
  assert.equal(declaredToolsVersion("// Swift-Tools-Version:5.5"), "5.5");
  assert.equal(declaredToolsVersion("// SWIFT-TOOLS-VERSION:5.5"), "5.5");
  assert.equal(declaredToolsVersion("//\tswift-tools-version:\t5.8"), "5.8");
});

Deno.test("declaredToolsVersion ignores a byte-order mark and CRLF line endings", () => {
  assert.equal(declaredToolsVersion("\uFEFF// swift-tools-version:5.7\r\nimport PackageDescription\r\n"), "5.7");
});

Deno.test("declaredToolsVersion stops at a semicolon that starts trailing settings", () => {
  assert.equal(declaredToolsVersion("// swift-tools-version:5.9;(experimentalFeatures)"), "5.9");
});

Deno.test("declaredToolsVersion returns null when the first line declares nothing", () => {
  const sources = [
    "",
    "\n// swift-tools-version:5.9",
    "import PackageDescription\n// swift-tools-version:5.9",
    "/// swift-tools-version:5.9",
    "/* swift-tools-version:5.9 */",
    "// swift-tools-version 5.9",
    "// swift-tools-version:",
    "// swift-tools-version:five",
    "// swift-tools-version:5.x",
    "// swift-tools-version:5.9abc",
    "// swift-tools-version:5.9.1.2",
    "// swift-tools:5.9",
  ];
  for (const source of sources) assert.equal(declaredToolsVersion(source), null, JSON.stringify(source));
});

Deno.test("swiftVersionCandidates tries the exact version first", () => {
  assert.deepEqual(swiftVersionCandidates("5"), ["Package@swift-5.swift"]);
  assert.deepEqual(swiftVersionCandidates("5.10"), ["Package@swift-5.10.swift"]);
  assert.deepEqual(swiftVersionCandidates("5.1.2"), ["Package@swift-5.1.2.swift"]);
});

Deno.test("swiftVersionCandidates drops one trailing .0 as a fallback", () => {
  assert.deepEqual(swiftVersionCandidates("5.0"), ["Package@swift-5.0.swift", "Package@swift-5.swift"]);
  assert.deepEqual(swiftVersionCandidates("5.9.0"), ["Package@swift-5.9.0.swift", "Package@swift-5.9.swift"]);
  assert.deepEqual(swiftVersionCandidates("5.10.0"), ["Package@swift-5.10.0.swift", "Package@swift-5.10.swift"]);
  assert.deepEqual(swiftVersionCandidates("10.0"), ["Package@swift-10.0.swift", "Package@swift-10.swift"]);
});

Deno.test("swiftVersionCandidates drops a trailing .0.0 as a last fallback", () => {
  assert.deepEqual(swiftVersionCandidates("5.0.0"), [
    "Package@swift-5.0.0.swift",
    "Package@swift-5.0.swift",
    "Package@swift-5.swift",
  ]);
  assert.deepEqual(swiftVersionCandidates("10.0.0"), [
    "Package@swift-10.0.0.swift",
    "Package@swift-10.0.swift",
    "Package@swift-10.swift",
  ]);
});

Deno.test("swiftVersionCandidates does not mistake a multi-digit zero-ending part for .0", () => {
  assert.deepEqual(swiftVersionCandidates("5.20"), ["Package@swift-5.20.swift"]);
  assert.deepEqual(swiftVersionCandidates("5.20.0"), ["Package@swift-5.20.0.swift", "Package@swift-5.20.swift"]);
  assert.deepEqual(swiftVersionCandidates("100.0"), ["Package@swift-100.0.swift", "Package@swift-100.swift"]);
});

Deno.test("swiftVersionCandidates produces names that MANIFEST_FILENAME accepts", () => {
  for (const value of ["5", "5.9", "5.0.0", "6.1.2"]) {
    for (const name of swiftVersionCandidates(value)!) assert.ok(MANIFEST_FILENAME.test(name), name);
  }
});

Deno.test("swiftVersionCandidates returns null for values that are not versions", () => {
  for (const value of ["", "x", "5.", ".5", "5..0", "5.0.0.0", "v5", "5.9-beta", " 5.9", "5.9 ", "../5", "5/9"]) {
    assert.equal(swiftVersionCandidates(value), null, JSON.stringify(value));
  }
});
