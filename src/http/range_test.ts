import assert from "node:assert/strict";
import { ifNoneMatchHits, parseRange } from "./range.ts";

Deno.test("parseRange returns full when there is no Range header", () => {
  assert.deepEqual(parseRange(undefined, 100), { kind: "full" });
});

Deno.test("parseRange returns a partial range with an inclusive end", () => {
  assert.deepEqual(parseRange("bytes=0-4", 10), { kind: "partial", start: 0, end: 4 });
  assert.deepEqual(parseRange("bytes=3-3", 10), { kind: "partial", start: 3, end: 3 });
  assert.deepEqual(parseRange("bytes=9-9", 10), { kind: "partial", start: 9, end: 9 });
  assert.deepEqual(parseRange("bytes=0-0", 1), { kind: "partial", start: 0, end: 0 });
});

Deno.test("parseRange treats an open-ended range as running to the last byte", () => {
  assert.deepEqual(parseRange("bytes=5-", 10), { kind: "partial", start: 5, end: 9 });
  assert.deepEqual(parseRange("bytes=0-", 10), { kind: "partial", start: 0, end: 9 });
});

Deno.test("parseRange clamps an end beyond the representation to the last byte", () => {
  assert.deepEqual(parseRange("bytes=0-100", 10), { kind: "partial", start: 0, end: 9 });
  assert.deepEqual(parseRange("bytes=8-99999999999999999999", 10), { kind: "partial", start: 8, end: 9 });
});

Deno.test("parseRange serves the last bytes for a suffix range", () => {
  assert.deepEqual(parseRange("bytes=-100", 1000), { kind: "partial", start: 900, end: 999 });
  assert.deepEqual(parseRange("bytes=-1", 10), { kind: "partial", start: 9, end: 9 });
});

Deno.test("parseRange serves the whole representation for a suffix longer than it", () => {
  assert.deepEqual(parseRange("bytes=-30", 10), { kind: "partial", start: 0, end: 9 });
});

Deno.test("parseRange reports a start at or past the end as unsatisfiable", () => {
  assert.deepEqual(parseRange("bytes=10-", 10), { kind: "unsatisfiable" });
  assert.deepEqual(parseRange("bytes=10-20", 10), { kind: "unsatisfiable" });
  assert.deepEqual(parseRange("bytes=500-600", 10), { kind: "unsatisfiable" });
});

Deno.test("parseRange reports a zero-length suffix as unsatisfiable", () => {
  assert.deepEqual(parseRange("bytes=-0", 10), { kind: "unsatisfiable" });
});

Deno.test("parseRange reports any range of an empty representation as unsatisfiable", () => {
  assert.deepEqual(parseRange("bytes=0-", 0), { kind: "unsatisfiable" });
  assert.deepEqual(parseRange("bytes=0-0", 0), { kind: "unsatisfiable" });
  assert.deepEqual(parseRange("bytes=-5", 0), { kind: "unsatisfiable" });
});

Deno.test("parseRange ignores a range whose end precedes its start", () => {
  assert.deepEqual(parseRange("bytes=5-4", 10), { kind: "full" });
});

Deno.test("parseRange ignores malformed headers", () => {
  const malformed = [
    "",
    "bytes",
    "bytes=",
    "bytes=-",
    "bytes=abc",
    "bytes=a-b",
    "bytes=1.5-2",
    "bytes=+1-2",
    "bytes=--1",
    "items=0-1",
    "0-1",
    "bytes 0-1/10",
  ];
  for (const header of malformed) assert.deepEqual(parseRange(header, 10), { kind: "full" }, header);
});

Deno.test("parseRange ignores multi-range requests", () => {
  assert.deepEqual(parseRange("bytes=0-1,3-4", 10), { kind: "full" });
  assert.deepEqual(parseRange("bytes=0-1, -2", 10), { kind: "full" });
});

Deno.test("parseRange accepts any case of the unit and optional whitespace", () => {
  assert.deepEqual(parseRange("BYTES=2-3", 10), { kind: "partial", start: 2, end: 3 });
  assert.deepEqual(parseRange(" bytes = 2 - 3 ", 10), { kind: "partial", start: 2, end: 3 });
});

Deno.test("ifNoneMatchHits is false without a header", () => {
  assert.equal(ifNoneMatchHits(undefined, '"abc"'), false);
});

Deno.test("ifNoneMatchHits matches an identical etag", () => {
  assert.equal(ifNoneMatchHits('"abc"', '"abc"'), true);
});

Deno.test("ifNoneMatchHits does not match a different etag", () => {
  assert.equal(ifNoneMatchHits('"abd"', '"abc"'), false);
  assert.equal(ifNoneMatchHits('"ABC"', '"abc"'), false);
  assert.equal(ifNoneMatchHits("abc", '"abc"'), false);
});

Deno.test("ifNoneMatchHits uses weak comparison on both sides", () => {
  assert.equal(ifNoneMatchHits('W/"abc"', '"abc"'), true);
  assert.equal(ifNoneMatchHits('"abc"', 'W/"abc"'), true);
  assert.equal(ifNoneMatchHits('W/"abc"', 'W/"abc"'), true);
});

Deno.test("ifNoneMatchHits matches the wildcard", () => {
  assert.equal(ifNoneMatchHits("*", '"abc"'), true);
  assert.equal(ifNoneMatchHits(" * ", '"abc"'), true);
});

Deno.test("ifNoneMatchHits matches any etag of a list", () => {
  assert.equal(ifNoneMatchHits('"x", "y", "abc"', '"abc"'), true);
  assert.equal(ifNoneMatchHits('"x",W/"abc"', '"abc"'), true);
  assert.equal(ifNoneMatchHits('"x", "y"', '"abc"'), false);
});
