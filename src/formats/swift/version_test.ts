import assert from "node:assert/strict";
import { normalizeVersion, parseVersion, sortVersionsDescending } from "./version.ts";
import { BadRequestError } from "../../errors.ts";

Deno.test("normalizeVersion keeps a canonical three-part version unchanged", () => {
  assert.equal(normalizeVersion("1.2.3"), "1.2.3");
  assert.equal(normalizeVersion("0.0.0"), "0.0.0");
  assert.equal(normalizeVersion("10.20.30"), "10.20.30");
});

Deno.test("normalizeVersion strips a leading v", () => {
  assert.equal(normalizeVersion("v1.2.3"), "1.2.3");
  assert.equal(normalizeVersion("v0.1.0"), "0.1.0");
});

Deno.test("normalizeVersion pads a one-part version", () => {
  assert.equal(normalizeVersion("1"), "1.0.0");
  assert.equal(normalizeVersion("v7"), "7.0.0");
});

Deno.test("normalizeVersion pads a two-part version", () => {
  assert.equal(normalizeVersion("1.2"), "1.2.0");
  assert.equal(normalizeVersion("v1.2"), "1.2.0");
});

Deno.test("normalizeVersion keeps pre-release and build metadata", () => {
  assert.equal(normalizeVersion("1.0.0-alpha"), "1.0.0-alpha");
  assert.equal(normalizeVersion("1.0.0-alpha.1"), "1.0.0-alpha.1");
  assert.equal(normalizeVersion("1.0.0-0.3.7"), "1.0.0-0.3.7");
  assert.equal(normalizeVersion("1.0.0-x.7.z.92"), "1.0.0-x.7.z.92");
  assert.equal(normalizeVersion("1.0.0-x-y-z.--"), "1.0.0-x-y-z.--");
  assert.equal(normalizeVersion("1.0.0+20130313144700"), "1.0.0+20130313144700");
  assert.equal(normalizeVersion("1.0.0-beta+exp.sha.5114f85"), "1.0.0-beta+exp.sha.5114f85");
  assert.equal(normalizeVersion("1.0.0+21AF26D3----117B344092BD"), "1.0.0+21AF26D3----117B344092BD");
});

Deno.test("normalizeVersion pads a short version that carries pre-release and build parts", () => {
  assert.equal(normalizeVersion("1-beta"), "1.0.0-beta");
  assert.equal(normalizeVersion("v1.2-rc.1+build.5"), "1.2.0-rc.1+build.5");
  assert.equal(normalizeVersion("2+meta"), "2.0.0+meta");
});

Deno.test("normalizeVersion allows alphanumeric pre-release identifiers that start with zero", () => {
  assert.equal(normalizeVersion("1.2.3-0a"), "1.2.3-0a");
  assert.equal(normalizeVersion("1.2.3-0"), "1.2.3-0");
});

Deno.test("normalizeVersion allows leading zeros in build metadata", () => {
  assert.equal(normalizeVersion("1.2.3+001"), "1.2.3+001");
});

Deno.test("normalizeVersion rejects leading zeros in numeric parts", () => {
  for (const raw of ["01.2.3", "1.02.3", "1.2.03", "00.1.0", "v01", "1.00"]) {
    assert.equal(normalizeVersion(raw), null, raw);
  }
});

Deno.test("normalizeVersion rejects leading zeros in numeric pre-release identifiers", () => {
  assert.equal(normalizeVersion("1.2.3-01"), null);
  assert.equal(normalizeVersion("1.2.3-alpha.007"), null);
});

Deno.test("normalizeVersion rejects strings that are not versions", () => {
  const invalid = [
    "",
    "v",
    "vv1.0.0",
    "V1.2.3",
    "1.",
    "1.2.",
    ".1.2",
    "1.2.3.4",
    "1.2.3-",
    "1.2.3+",
    "1.2.3-alpha..1",
    "1.2.3+build..1",
    "1.2.3-alpha_1",
    "1.2.3-ß",
    "1.2.3 ",
    " 1.2.3",
    "1.2.3\n",
    "a.b.c",
    "-1.2.3",
    "1.2.3-beta+",
    "1.2.3++build",
    "latest",
  ];
  for (const raw of invalid) assert.equal(normalizeVersion(raw), null, JSON.stringify(raw));
});

Deno.test("normalizeVersion rejects numbers beyond the safe integer range", () => {
  assert.equal(normalizeVersion("99999999999999999999.0.0"), null);
});

Deno.test("parseVersion returns the normalised version", () => {
  assert.equal(parseVersion("v1.2"), "1.2.0");
  assert.equal(parseVersion("1.0.0-beta.1+exp"), "1.0.0-beta.1+exp");
});

Deno.test("parseVersion throws a BadRequestError naming the invalid input", () => {
  for (const raw of ["", "1.2.3.4", "01.0.0", "nope"]) {
    assert.throws(
      () => parseVersion(raw),
      (error: unknown) => {
        assert.ok(error instanceof BadRequestError);
        assert.equal(error.status, 400);
        assert.ok(error.message.includes(`"${raw}"`), error.message);
        return true;
      },
    );
  }
});

Deno.test("sortVersionsDescending orders versions by descending SemVer precedence", () => {
  // The precedence chain from SemVer 2.0.0 §11, shuffled.
  const ascending = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
  ];
  const shuffled = [
    ascending[3],
    ascending[7],
    ascending[0],
    ascending[5],
    ascending[1],
    ascending[6],
    ascending[4],
    ascending[2],
  ];
  assert.deepEqual(sortVersionsDescending(shuffled), [...ascending].reverse());
});

Deno.test("sortVersionsDescending compares numeric parts numerically", () => {
  assert.deepEqual(
    sortVersionsDescending(["1.9.0", "1.10.0", "0.99.99", "2.0.0", "1.2.10", "1.2.9"]),
    ["2.0.0", "1.10.0", "1.9.0", "1.2.10", "1.2.9", "0.99.99"],
  );
});

Deno.test("sortVersionsDescending breaks build metadata ties deterministically", () => {
  const expected = ["1.0.0+b", "1.0.0+a", "1.0.0"];
  assert.deepEqual(sortVersionsDescending(["1.0.0", "1.0.0+a", "1.0.0+b"]), expected);
  assert.deepEqual(sortVersionsDescending(["1.0.0+b", "1.0.0", "1.0.0+a"]), expected);
  assert.deepEqual(sortVersionsDescending(["1.0.0+a", "1.0.0+b", "1.0.0"]), expected);
});

Deno.test("sortVersionsDescending accepts any iterable and does not mutate an array argument", () => {
  const input = ["1.0.0", "3.0.0", "2.0.0"];
  assert.deepEqual(sortVersionsDescending(input), ["3.0.0", "2.0.0", "1.0.0"]);
  assert.deepEqual(input, ["1.0.0", "3.0.0", "2.0.0"]);
  assert.deepEqual(sortVersionsDescending(new Set(["0.1.0", "0.2.0"])), ["0.2.0", "0.1.0"]);
  assert.deepEqual(sortVersionsDescending([]), []);
});
