import assert from "node:assert/strict";
import { silentLogger } from "../log.ts";
import { DiskStore } from "./disk_store.ts";
import { EvictingStore, shareOf } from "./evicting_store.ts";
import { type ObjectStore, readObjectBytes } from "./object_store.ts";

async function openDisk(): Promise<{ disk: DiskStore; dir: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "evicting-store-" });
  const disk = new DiskStore(`${dir}/objects`, `${dir}/tmp`);
  await disk.init();
  return {
    disk,
    dir,
    async [Symbol.asyncDispose]() {
      await disk.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const kib = (n: number, fill = 1) => new Uint8Array(n * 1024).fill(fill);

async function has(store: EvictingStore, key: string): Promise<boolean> {
  return (await readObjectBytes(store, key, 1 << 20)) !== null;
}

Deno.test("EvictingStore keeps copies under its prefix within the budget, least recently read out first", async () => {
  await using t = await openDisk();
  const store = new EvictingStore(t.disk, {
    prefix: "upstream/",
    maxBytes: 40 * 1024,
    logger: silentLogger,
  });
  for (const name of ["a", "b", "c"]) {
    await store.put(`upstream/${name}`, kib(10));
  }
  assert.ok(await has(store, "upstream/a"), "a read makes a the most recently used");
  await store.put("upstream/d", kib(10)); // 40 KiB > 90%: down to 75% (30 KiB), oldest first: b
  assert.equal(await has(store, "upstream/b"), false);
  for (const name of ["a", "c", "d"]) assert.ok(await has(store, `upstream/${name}`), name);
  assert.deepEqual(store.stats, { copies: 3, usedBytes: 30 * 1024, maxBytes: 40 * 1024, evictions: 1 });
});

Deno.test("EvictingStore never evicts what is outside its prefix, however large", async () => {
  await using t = await openDisk();
  const store = new EvictingStore(t.disk, { prefix: "upstream/", maxBytes: 20 * 1024, logger: silentLogger });
  await store.put("swift/packages/mona/thing/index.json", kib(100));
  await store.put("upstream/x", kib(10));
  await store.put("upstream/y", kib(10));
  assert.ok(await has(store, "swift/packages/mona/thing/index.json"));
  assert.equal(await has(store, "upstream/x"), false);
  assert.ok(await has(store, "upstream/y"), "the copy just stored stays");
});

Deno.test("EvictingStore keeps the copy just stored even when it alone is over the budget", async () => {
  await using t = await openDisk();
  const store = new EvictingStore(t.disk, { prefix: "upstream/", maxBytes: 10 * 1024, logger: silentLogger });
  await store.put("upstream/small", kib(2));
  await store.put("upstream/huge", kib(50));
  assert.ok(await has(store, "upstream/huge"), "served once it is stored");
  assert.equal(await has(store, "upstream/small"), false);
  await store.put("upstream/next", kib(1));
  assert.equal(await has(store, "upstream/huge"), false, "and evicted by the next copy");
});

Deno.test("EvictingStore adopts copies found at start (oldest first out) and forgets what vanished", async () => {
  await using t = await openDisk();
  for (const name of ["old", "mid", "new"]) {
    await t.disk.put(`upstream/${name}`, kib(10));
    await new Promise((resolve) => setTimeout(resolve, 5)); // distinct modification times
  }
  const store = new EvictingStore(t.disk, { prefix: "upstream/", maxBytes: 32 * 1024, logger: silentLogger });
  await store.adoptExisting(); // 30 KiB > 90%: down to 75% (24 KiB)
  assert.equal(await has(store, "upstream/old"), false);
  assert.equal(await has(store, "upstream/mid"), true);
  assert.equal(await has(store, "upstream/new"), true);
  await t.disk.delete("upstream/mid"); // e.g. another worker evicted it
  assert.equal(await store.head("upstream/mid"), null);
  assert.equal(store.stats.usedBytes, 10 * 1024, "a copy found gone is no longer counted");
  await store.delete("upstream/new");
  assert.deepEqual({ copies: store.stats.copies, used: store.stats.usedBytes }, { copies: 0, used: 0 });
});

Deno.test("EvictingStore keeps conditional writes of its inner store", async () => {
  await using t = await openDisk();
  const store = new EvictingStore(t.disk, { prefix: "upstream/", maxBytes: 1 << 20, logger: silentLogger });
  const first = await store.put("upstream/doc", kib(1, 1), { ifNoneMatch: "*" });
  await assert.rejects(store.put("upstream/doc", kib(1, 2), { ifNoneMatch: "*" }), /precondition/);
  await store.put("upstream/doc", kib(2, 3), { ifMatch: first.etag });
  assert.equal(store.stats.usedBytes, 2 * 1024);
});

Deno.test("EvictingStore: workers on one directory each adopt a share of the copies, together all of them", async () => {
  await using t = await openDisk();
  for (let i = 0; i < 40; i++) await t.disk.put(`upstream/copy-${i}`, kib(1));
  const workers = [0, 1, 2].map(() =>
    new EvictingStore(t.disk, { prefix: "upstream/", maxBytes: 1 << 20, logger: silentLogger })
  );
  for (const [index, store] of workers.entries()) await store.adoptExisting(index, workers.length);
  const counts = workers.map((store) => store.stats.copies);
  assert.equal(counts.reduce((a, b) => a + b), 40, "every copy adopted once");
  assert.ok(counts.every((n) => n > 0), `each worker has a share: ${counts}`);
  assert.equal(shareOf("upstream/copy-7", 3), shareOf("upstream/copy-7", 3), "the same answer in every worker");
});

Deno.test("EvictingStore never evicts a copy read since it was chosen", async () => {
  await using t = await openDisk();
  let reading: (() => Promise<unknown>) | undefined;
  // A store whose deletes let a read happen first, as a concurrent request would.
  const inner: ObjectStore = {
    head: (key) => t.disk.head(key),
    get: (key, options) => t.disk.get(key, options),
    put: (key, body, options) => t.disk.put(key, body, options),
    list: (prefix) => t.disk.list(prefix),
    async delete(key) {
      const read = reading;
      reading = undefined;
      await read?.();
      await t.disk.delete(key);
    },
  };
  const store = new EvictingStore(inner, {
    prefix: "upstream/",
    maxBytes: 20 * 1024,
    logger: silentLogger,
  });
  await store.put("upstream/a", kib(8));
  await store.put("upstream/b", kib(8));
  reading = () => readObjectBytes(store, "upstream/b", 1 << 20); // read while a is being evicted
  await store.put("upstream/c", kib(8)); // 24 KiB > 90%: a and b are chosen
  assert.equal(await has(store, "upstream/a"), false);
  assert.ok(await has(store, "upstream/b"), "read after it was chosen: kept");
  assert.ok(await has(store, "upstream/c"));
});
