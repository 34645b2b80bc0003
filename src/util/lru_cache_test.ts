import assert from "node:assert/strict";
import { LruCache } from "./lru_cache.ts";

Deno.test("LruCache returns stored values and undefined for missing keys", () => {
  const cache = new LruCache<string, number>(10);
  cache.set("a", 1);
  cache.set("b", 2);
  assert.equal(cache.get("a"), 1);
  assert.equal(cache.get("b"), 2);
  assert.equal(cache.get("c"), undefined);
  assert.equal(cache.size, 2);
});

Deno.test("LruCache counts one per entry by default", () => {
  const cache = new LruCache<string, string>(2);
  cache.set("a", "x".repeat(1000));
  cache.set("b", "y".repeat(1000));
  assert.equal(cache.size, 2);
  cache.set("c", "z");
  assert.equal(cache.size, 2);
  assert.equal(cache.get("a"), undefined);
});

Deno.test("LruCache evicts the least recently set entry first", () => {
  const cache = new LruCache<string, number>(3);
  cache.set("a", 1);
  cache.set("b", 2);
  cache.set("c", 3);
  cache.set("d", 4);
  assert.equal(cache.get("a"), undefined);
  assert.equal(cache.get("b"), 2);
  assert.equal(cache.get("c"), 3);
  assert.equal(cache.get("d"), 4);
});

Deno.test("LruCache get marks an entry as most recently used", () => {
  const cache = new LruCache<string, number>(3);
  cache.set("a", 1);
  cache.set("b", 2);
  cache.set("c", 3);
  assert.equal(cache.get("a"), 1);
  cache.set("d", 4);
  assert.equal(cache.get("b"), undefined);
  assert.equal(cache.get("a"), 1);
  assert.equal(cache.get("c"), 3);
  assert.equal(cache.get("d"), 4);
});

Deno.test("LruCache set on an existing key replaces the value and refreshes it", () => {
  const cache = new LruCache<string, number>(3);
  cache.set("a", 1);
  cache.set("b", 2);
  cache.set("c", 3);
  cache.set("a", 10);
  assert.equal(cache.size, 3);
  cache.set("d", 4);
  assert.equal(cache.get("a"), 10);
  assert.equal(cache.get("b"), undefined);
});

Deno.test("LruCache evicts by total weight, as many entries as needed", () => {
  const cache = new LruCache<string, Uint8Array>(10, (value) => value.byteLength);
  cache.set("a", new Uint8Array(4));
  cache.set("b", new Uint8Array(3));
  cache.set("c", new Uint8Array(3));
  assert.equal(cache.size, 3); // exactly at the budget
  cache.set("d", new Uint8Array(7));
  assert.equal(cache.get("a"), undefined);
  assert.equal(cache.get("b"), undefined);
  assert.equal(cache.get("c")?.byteLength, 3);
  assert.equal(cache.get("d")?.byteLength, 7);
  assert.equal(cache.size, 2);
});

Deno.test("LruCache does not keep a value heavier than the whole budget", () => {
  const cache = new LruCache<string, Uint8Array>(10, (value) => value.byteLength);
  cache.set("small", new Uint8Array(2));
  cache.set("huge", new Uint8Array(11));
  assert.equal(cache.get("huge"), undefined);
  assert.equal(cache.get("small")?.byteLength, 2);
  assert.equal(cache.size, 1);
});

Deno.test("LruCache drops the old value when a key is replaced by one too heavy to keep", () => {
  const cache = new LruCache<string, Uint8Array>(10, (value) => value.byteLength);
  cache.set("k", new Uint8Array(5));
  cache.set("k", new Uint8Array(20));
  assert.equal(cache.get("k"), undefined);
  assert.equal(cache.size, 0);
});

Deno.test("LruCache keeps a value that weighs exactly the whole budget", () => {
  const cache = new LruCache<string, Uint8Array>(10, (value) => value.byteLength);
  cache.set("a", new Uint8Array(1));
  cache.set("full", new Uint8Array(10));
  assert.equal(cache.get("full")?.byteLength, 10);
  assert.equal(cache.get("a"), undefined);
  assert.equal(cache.size, 1);
});

Deno.test("LruCache delete removes an entry and frees its weight", () => {
  const cache = new LruCache<string, Uint8Array>(10, (value) => value.byteLength);
  cache.set("a", new Uint8Array(6));
  cache.set("b", new Uint8Array(4));
  cache.delete("a");
  assert.equal(cache.get("a"), undefined);
  assert.equal(cache.size, 1);
  cache.set("c", new Uint8Array(6)); // fits only because "a"'s weight was released
  assert.equal(cache.get("b")?.byteLength, 4);
  assert.equal(cache.get("c")?.byteLength, 6);
});

Deno.test("LruCache delete of a missing key is a no-op", () => {
  const cache = new LruCache<string, number>(2);
  cache.set("a", 1);
  cache.delete("missing");
  assert.equal(cache.size, 1);
  assert.equal(cache.get("a"), 1);
});

Deno.test("LruCache replacing a value re-weighs it", () => {
  const cache = new LruCache<string, Uint8Array>(10, (value) => value.byteLength);
  cache.set("a", new Uint8Array(8));
  cache.set("a", new Uint8Array(2));
  cache.set("b", new Uint8Array(8)); // 2 + 8 fits: the old weight 8 must not linger
  assert.equal(cache.get("a")?.byteLength, 2);
  assert.equal(cache.get("b")?.byteLength, 8);
});

Deno.test("LruCache stores falsy values and distinguishes them from misses", () => {
  const cache = new LruCache<string, number | string | null>(5);
  cache.set("zero", 0);
  cache.set("empty", "");
  cache.set("null", null);
  assert.equal(cache.get("zero"), 0);
  assert.equal(cache.get("empty"), "");
  assert.equal(cache.get("null"), null);
});

Deno.test("LruCache exposes its budget", () => {
  assert.equal(new LruCache<string, number>(42).maxWeight, 42);
});

Deno.test("LruCache keeps an entry read all the time, however many others come and go", () => {
  const cache = new LruCache<string, number>(100);
  cache.set("hot", 0);
  for (let i = 0; i < 10_000; i++) {
    cache.set(`cold-${i}`, i);
    assert.equal(cache.get("hot"), 0, `after ${i} others`);
  }
  assert.equal(cache.size, 100);
  assert.equal(cache.get("cold-9900"), undefined, "the oldest of the others went first");
  assert.equal(cache.get("cold-9901"), 9901);
  assert.equal(cache.get("cold-9999"), 9999);
});
