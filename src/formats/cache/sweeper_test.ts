import assert from "node:assert/strict";
import { silentLogger } from "../../log.ts";
import { DiskStore } from "../../storage/disk_store.ts";
import { AccessStamps, readStamps } from "./access_stamps.ts";
import { readUsage, Sweeper, UsageEstimate } from "./sweeper.ts";

async function setup(maxBytes: number) {
  const dir = await Deno.makeTempDir();
  const store = new DiskStore(`${dir}/objects`, `${dir}/tmp`);
  await store.init();
  let now = Date.parse("2030-01-01T00:00:00Z");
  const evicted: string[] = [];
  const sweeper = new Sweeper({
    store,
    maxBytes,
    now: () => now,
    logger: silentLogger,
    onEvict: (key) => evicted.push(key),
  });
  return {
    store,
    sweeper,
    evicted,
    stamps: (node: string) => new AccessStamps({ store, node, now: () => now }),
    advance: (ms: number) => now += ms,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const bytes = (n: number) => new Uint8Array(n).fill(7);

Deno.test("a sweep under the budget evicts nothing and records the total", async () => {
  await using t = await setup(1000);
  await t.store.put("cache/cas/a", bytes(300));
  await t.store.put("cache/ac/b", bytes(300));
  const result = await t.sweeper.sweep();
  assert.deepEqual([result.totalBytes, result.entries, result.evicted], [600, 2, 0]);
  assert.equal((await readUsage(t.store))?.totalBytes, 600);
});

Deno.test("a sweep over the budget evicts the least recently used down to 90% of it, counting only cache entries", async () => {
  await using t = await setup(1000);
  await t.store.put("swift/packages/mona/linkedlist/1.0.0/archive.zip", bytes(5000));
  for (const key of ["cache/cas/1", "cache/cas/2", "cache/ac/3", "cache/tuist/acme/app/cas/4"]) {
    await t.store.put(key, bytes(300));
  }
  const result = await t.sweeper.sweep();
  assert.deepEqual(t.evicted, ["cache/cas/1"], "1200 bytes: one entry goes, leaving 90% of the budget");
  assert.equal(result.totalBytes, 900);
  assert.ok(await t.store.head("swift/packages/mona/linkedlist/1.0.0/archive.zip"), "packages are not the cache's");
});

Deno.test("access stamps from any node keep a recently read entry over newer unread ones", async () => {
  await using t = await setup(1000);
  for (const key of ["cache/cas/old-but-read", "cache/cas/old", "cache/cas/newer", "cache/cas/newest"]) {
    await t.store.put(key, bytes(300));
  }
  t.advance(3_600_000);
  const node = t.stamps("node-b");
  node.touch("cache/cas/old-but-read");
  await node.flush();
  await t.sweeper.sweep();
  assert.deepEqual(t.evicted, ["cache/cas/old"]);
  // The batch was merged into the record: the stamp survives the next sweep too.
  assert.deepEqual((await readStamps(t.store)).batches, []);
  assert.ok((await readStamps(t.store)).stamps.has("cache/cas/old-but-read"));
});

Deno.test("touches are coarse and cost no storage write until a flush, which writes one batch", async () => {
  await using t = await setup(1000);
  const node = t.stamps("node-a");
  for (let i = 0; i < 1000; i++) node.touch(`cache/cas/${i % 10}`);
  assert.deepEqual((await readStamps(t.store)).batches, []);
  await node.flush();
  await node.flush(); // nothing new: no second batch
  const { stamps, batches } = await readStamps(t.store);
  assert.equal(batches.length, 1);
  assert.equal(stamps.size, 10);
  assert.ok([...stamps.values()].every((stamp) => stamp % 60_000 === 0), "rounded to the minute");
});

Deno.test("a usage estimate asks for a sweep once what this node stored passes the budget", () => {
  let asked = 0;
  const usage = new UsageEstimate(1000, () => asked++);
  usage.counted({ totalBytes: 800, entries: 8, sweptAt: 1 });
  usage.stored(150);
  assert.equal(asked, 0);
  usage.stored(100);
  assert.equal(asked, 1);
  usage.counted({ totalBytes: 500, entries: 5, sweptAt: 2 });
  assert.equal(usage.bytes, 500);
  usage.counted({ totalBytes: 900, entries: 9, sweptAt: 1 }); // older than the one known: ignored
  assert.equal(usage.bytes, 500);
});
