import assert from "node:assert/strict";
import { silentLogger } from "../log.ts";
import { DiskStore } from "./disk_store.ts";
import { readObjectBytes } from "./object_store.ts";
import { TieredStore } from "./tiered_store.ts";

async function setup(maxBytes: number) {
  const dir = await Deno.makeTempDir();
  const remote = new DiskStore(`${dir}/remote`, `${dir}/remote-tmp`);
  await remote.init();
  const cache = new TieredStore({ cacheDir: `${dir}/cache`, remote, maxBytes, logger: silentLogger });
  await cache.init();
  return {
    dir,
    remote,
    cache,
    cachedPath: (key: string) => `${dir}/cache/objects/${key}`,
    async [Symbol.asyncDispose]() {
      await cache.close();
      await remote.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

Deno.test("TieredStore never evicts a file while a response is streaming it", async () => {
  const MiB = 1024 * 1024;
  await using t = await setup(10 * MiB);
  await t.cache.put("a", bytes(4 * MiB, 1));
  const streaming = (await t.cache.get("a"))!;
  const reader = streaming.body.getReader();
  await reader.read(); // the response has started, most of the file is still unread
  await t.cache.put("b", bytes(4 * MiB, 2));
  await t.cache.put("c", bytes(4 * MiB, 3)); // over the budget: "a" is the oldest, but pinned
  assert.ok((await Deno.stat(t.cachedPath("a"))).isFile, "the streamed file is kept");
  assert.ok(t.cache.usedBytes <= 10 * MiB, `${t.cache.usedBytes}`);
  let received = 0;
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) received += chunk.value.length;
  assert.ok(received > 0);
  await t.cache.put("d", bytes(4 * MiB, 4));
  await assert.rejects(Deno.stat(t.cachedPath("a")), Deno.errors.NotFound, "evicted once the stream ended");
});

Deno.test("TieredStore evicts the least recently read first, and reads (not writes elsewhere) refresh recency", async () => {
  let now = 0;
  const dir = await Deno.makeTempDir();
  try {
    const remote = new DiskStore(`${dir}/remote`, `${dir}/remote-tmp`);
    await remote.init();
    const cache = new TieredStore({
      cacheDir: `${dir}/cache`,
      remote,
      maxBytes: 10_000,
      logger: silentLogger,
      clock: () => ++now,
    });
    await cache.init();
    await cache.put("old", bytes(3_500, 1));
    await cache.put("mid", bytes(3_500, 2));
    await readObjectBytes(cache, "old"); // "old" is now the most recently read
    await cache.put("new", bytes(3_500, 3)); // 10500 > 90%: evict down to 75%
    await Deno.stat(`${dir}/cache/objects/old`);
    await assert.rejects(Deno.stat(`${dir}/cache/objects/mid`), Deno.errors.NotFound);
    // Evicted objects are still served, from the remote.
    assert.deepEqual((await readObjectBytes(cache, "mid"))!.bytes, bytes(3_500, 2));
    await cache.close();
    await remote.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TieredStore rebuilds its index from disk on start and drops files without a sidecar", async () => {
  await using t = await setup(1_000_000);
  await t.cache.put("kept", bytes(100, 7));
  await Deno.mkdir(`${t.dir}/cache/objects/orphan`, { recursive: true });
  await Deno.writeFile(`${t.dir}/cache/objects/orphan/file`, bytes(50, 1));
  const restarted = new TieredStore({
    cacheDir: `${t.dir}/cache`,
    remote: t.remote,
    maxBytes: 1_000_000,
    logger: silentLogger,
  });
  await restarted.init();
  assert.equal(restarted.usedBytes, 100);
  await assert.rejects(Deno.stat(`${t.dir}/cache/objects/orphan/file`), Deno.errors.NotFound);
  assert.deepEqual((await readObjectBytes(restarted, "kept"))!.bytes, bytes(100, 7));
  assert.equal(restarted.stats.hits + restarted.stats.misses, 1);
  assert.equal(restarted.stats.misses, 0, "served from disk after the restart");
  await restarted.close();
});
