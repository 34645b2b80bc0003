import assert from "node:assert/strict";
import { RecencyMap } from "./recency_map.ts";

function keys<K, V>(map: RecencyMap<K, V>): K[] {
  return [...map].map(([key]) => key);
}

Deno.test("RecencyMap keeps entries oldest first; set makes one the newest, get leaves the order", () => {
  const map = new RecencyMap<string, number>();
  assert.equal(map.oldest(), undefined);
  for (const [i, key] of ["a", "b", "c"].entries()) map.set(key, i);
  assert.deepEqual(keys(map), ["a", "b", "c"]);
  assert.equal(map.get("a"), 0);
  assert.deepEqual(keys(map), ["a", "b", "c"]);
  map.set("a", 10);
  assert.deepEqual([...map], [["b", 1], ["c", 2], ["a", 10]]);
  assert.equal(map.oldest(), 1);
  assert.equal(map.delete("b"), true);
  assert.equal(map.delete("b"), false);
  assert.equal(map.size, 2);
  assert.equal(map.use("missing"), undefined);
});

Deno.test("RecencyMap.use moves an entry to the newest end unless it moved within the last quarter of moves", () => {
  const map = new RecencyMap<string, string>();
  const letters = [..."abcdefgh"];
  for (const key of letters) map.set(key, key.toUpperCase());
  assert.equal(map.use("a"), "A");
  assert.deepEqual(keys(map), [..."bcdefgha"], "a was set 7 moves ago: moved");
  // Within a quarter of 8 entries (2 moves) an entry stays where it is: a key read on every request is not moved each time.
  map.use("h");
  assert.deepEqual(keys(map), [..."bcdefgha"], "h set 1 move ago: stays");
  map.use("b");
  map.use("h");
  assert.deepEqual(keys(map), [..."cdefghab"], "h set 2 moves ago: stays");
  map.use("c");
  map.use("h");
  assert.deepEqual(keys(map), [..."defgabch"], "h set 3 moves ago: moved");
  map.use("h");
  assert.deepEqual(keys(map), [..."defgabch"], "already the newest: stays");
});
