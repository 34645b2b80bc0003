import assert from "node:assert/strict";
import { RecencyMap } from "./recency_map.ts";

function keys<K, V>(map: RecencyMap<K, V>): K[] {
  return [...map].map(([key]) => key);
}

Deno.test("RecencyMap keeps entries in the order stored; set makes one the newest, get and use leave the order", () => {
  const map = new RecencyMap<string, number>();
  assert.deepEqual([...map.evictionOrder()], []);
  for (const [i, key] of ["a", "b", "c"].entries()) map.set(key, i);
  assert.deepEqual(keys(map), ["a", "b", "c"]);
  assert.equal(map.get("a"), 0);
  assert.equal(map.use("a"), 0);
  assert.deepEqual(keys(map), ["a", "b", "c"], "a read never moves an entry");
  map.set("a", 10);
  assert.deepEqual([...map], [["b", 1], ["c", 2], ["a", 10]]);
  assert.equal(map.delete("b"), true);
  assert.equal(map.delete("b"), false);
  assert.equal(map.size, 2);
  assert.equal(map.use("missing"), undefined);
});

Deno.test("RecencyMap.evictionOrder gives entries used since the last pass a second chance", () => {
  const map = new RecencyMap<string, string>();
  for (const key of "abcde") map.set(key, key.toUpperCase());
  map.use("a");
  map.use("c");
  map.get("b"); // get does not mark
  const first = map.evictionOrder().next().value;
  assert.deepEqual(first, ["b", "B"], "a was used: passed over; b was not");
  assert.deepEqual(keys(map), [..."bcdea"], "a moved to the newest end");
  // A full pass: b, still there, first; c, used, again after the unused ones, unmarked; then nothing more.
  assert.deepEqual([...map.evictionOrder()].map(([key]) => key), [..."bdeac"]);
  assert.deepEqual(keys(map), [..."bdeac"]);
  assert.deepEqual([...map.evictionOrder()].map(([key]) => key), [..."bdeac"], "marks were cleared by the last pass");
});

Deno.test("RecencyMap.evictionOrder ends when every entry is used and none is dropped", () => {
  const map = new RecencyMap<number, number>();
  for (let i = 0; i < 100; i++) map.set(i, i);
  map.set(100, 100);
  for (let i = 0; i < 100; i++) map.use(i);
  const order = [...map.evictionOrder()].map(([key]) => key);
  assert.deepEqual(order, [100, ...Array(100).keys()], "the unused one first, then each used one once, as stored");
  assert.equal(map.size, 101);
});

Deno.test("RecencyMap.evictionOrder lets the caller delete what it yields", () => {
  const map = new RecencyMap<string, number>();
  for (const [i, key] of [..."abcd"].entries()) map.set(key, i);
  map.use("b");
  for (const [key] of map.evictionOrder()) {
    map.delete(key);
    if (map.size === 2) break;
  }
  assert.deepEqual(keys(map), ["d", "b"], "a and c dropped; b used, so it outlived d's place");
});

Deno.test("RecencyMap.use of the newest entry marks nothing: it is already where a use would put it", () => {
  const map = new RecencyMap<string, number>();
  map.set("a", 1);
  map.use("a"); // read just after it was stored
  map.set("b", 2);
  assert.deepEqual(keys(map), ["a", "b"]);
  assert.deepEqual(map.evictionOrder().next().value, ["a", 1], "a goes first, as in an exact LRU order");
  map.use("a");
  assert.deepEqual(map.evictionOrder().next().value, ["b", 2], "a read after b was stored: a stays");
});
