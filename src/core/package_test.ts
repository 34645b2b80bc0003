import assert from "node:assert/strict";
import { assertValidKey } from "../storage/object_store.ts";
import { keySegment } from "./package.ts";

Deno.test("keySegment escapes what object keys may not hold, one-to-one", () => {
  assert.equal(keySegment("1!2.0"), "1_212.0");
  assert.equal(keySegment(".hidden"), "_2Ehidden");
  assert.equal(keySegment("a_b"), "a_5Fb", "an underscore is escaped too, so no two texts meet");
  assert.equal(keySegment(""), "_");
  const samples = ["a b", "a_20b", "ä", "~", "x".repeat(300), `${"x".repeat(300)}y`, "_".repeat(100)];
  const segments = samples.map(keySegment);
  assert.equal(new Set(segments).size, samples.length);
  for (const segment of segments) assert.doesNotThrow(() => assertValidKey(`p/${segment}`), segment);
});

Deno.test("keySegment keeps long texts to a bounded segment with their hash", () => {
  const long = keySegment("~".repeat(500));
  assert.ok(long.length <= 200, `${long.length} characters`);
  assert.ok(long.startsWith("_7E_7E"), long);
  assert.match(long, /_h[0-9a-f]{64}$/);
  assert.notEqual(keySegment("~".repeat(500)), keySegment("~".repeat(501)));
});
