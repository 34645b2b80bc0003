import assert from "node:assert/strict";
import { packageZip } from "./support/archives.ts";
import { cacheBytesOnDisk, cacheGet, cachePut, flushStamps, metric, project, randomBytes } from "./support/cache.ts";
import { eventually } from "./support/eventually.ts";
import { get, publish, startTestServer } from "./support/server.ts";
import { walk } from "./support/files.ts";

const KIB = 1024;

Deno.test("eviction keeps the cache within its budget, least recently used first, and never removes releases", async () => {
  let offset = 0;
  await using t = await startTestServer({
    env: { REGISTRY_CACHE_MAX_BYTES: "100KiB", REGISTRY_CACHE_MAX_BLOB_BYTES: "20KiB" },
    now: () => Date.now() + offset,
  });
  // A release larger than the whole cache budget: it must neither count against it nor be evicted.
  const archive = await packageZip({ extra: [{ name: "LinkedList/blob.bin", content: randomBytes(150 * KIB) }] });
  const published = await publish(t.swift, "mona/LinkedList/1.0.0", { archive });
  assert.equal(published.status, 201, await published.text());

  const early = [];
  for (let i = 0; i < 4; i++) early.push((await cachePut(t.url, "cas", randomBytes(16 * KIB))).key);
  // The first blob is read much later than the others were written; its stamp reaches storage.
  offset = 60 * 60_000;
  assert.equal((await cacheGet(t.url, "cas", early[0])).status, 200);
  offset = 0;
  await flushStamps(t.server);
  // Four more blobs and a Tuist object take the cache past its budget.
  for (let i = 0; i < 4; i++) assert.equal((await cachePut(t.url, "cas", randomBytes(16 * KIB))).status, 200);
  const tuist = await fetch(`${t.url}/api/cache/cas/late?${project("acme", "app")}`, {
    method: "POST",
    headers: { Authorization: `Bearer test-admin-token-0123456789` },
    body: randomBytes(16 * KIB),
  });
  assert.equal(tuist.status, 204);

  await eventually("a sweep brings the cache within 100 KiB", async () => {
    await t.server.scheduler.runNow("cache-sweep");
    return await cacheBytesOnDisk(t.dataDir) <= 100 * KIB;
  });
  assert.ok(await cacheBytesOnDisk(t.dataDir) >= 60 * KIB, "only what was needed was evicted");
  assert.equal((await cacheGet(t.url, "cas", early[0])).status, 200, "the recently read blob stays");
  assert.equal((await cacheGet(t.url, "cas", early[1])).status, 404, "the least recently used blob went first");
  assert.ok(await metric(t.url, 'registry_cache_evictions_total{namespace="cas"}') >= 1);

  const download = await get(`${t.swift}/mona/LinkedList/1.0.0.zip`);
  assert.equal(download.status, 200);
  assert.deepEqual(new Uint8Array(await download.arrayBuffer()), archive);
  let releaseFiles = 0;
  for await (const path of walk(`${t.dataDir}/objects/swift`)) if (path.endsWith(".zip")) releaseFiles++;
  assert.equal(releaseFiles, 1);
});

Deno.test("a sweep merges every access stamp batch into one record and reports the cache's size", async () => {
  await using t = await startTestServer({ env: { REGISTRY_CACHE_MAX_BYTES: "1MiB" } });
  const put = await cachePut(t.url, "ac", randomBytes(1000), { key: "1".repeat(64) });
  assert.equal(put.status, 200);
  await cacheGet(t.url, "ac", "1".repeat(64));
  await flushStamps(t.server);
  await eventually("a sweep ran after the stamps were written", async () => {
    await t.server.scheduler.runNow("cache-sweep");
    const batches = [];
    for await (const path of walk(`${t.dataDir}/objects/cache/meta`)) if (path.includes("/access/")) batches.push(path);
    return batches.length === 0;
  });
  assert.equal(await metric(t.url, "registry_cache_stored_bytes"), 1000);
});
