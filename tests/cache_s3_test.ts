import assert from "node:assert/strict";
import { cacheGet, cachePut, flushStamps, project, randomBytes } from "./support/cache.ts";
import { eventually } from "./support/eventually.ts";
import { startTestS3 } from "./support/s3.ts";
import { ADMIN_TOKEN, sha256Hex, startTestServer } from "./support/server.ts";
import { createS3Clients, S3Store } from "../src/storage/s3_store.ts";

/** The build-cache entries in the bucket, with their sizes. */
async function bucketEntries(s3: { endpoint: string; bucket: string }): Promise<Map<string, number>> {
  const clients = createS3Clients({
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    region: "us-east-1",
    prefix: "",
    forcePathStyle: true,
    timeoutMs: 10_000,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  try {
    const store = new S3Store(clients, s3.bucket);
    const entries = new Map<string, number>();
    for (const prefix of ["cache/cas/", "cache/ac/", "cache/tuist/"]) {
      for await (const info of store.list(prefix)) entries.set(info.key, info.size);
    }
    return entries;
  } finally {
    clients.destroy();
  }
}

Deno.test("two servers on one S3 bucket share the cache: blobs, action entries and Tuist entries", async () => {
  await using s3 = await startTestS3();
  await using a = await startTestServer({ env: s3.env });
  await using b = await startTestServer({ env: s3.env });
  const blob = randomBytes(3 * 1024 * 1024);
  const put = await cachePut(a.url, "cas", blob);
  assert.equal(put.status, 200);
  assert.deepEqual((await cacheGet(b.url, "cas", put.key)).bytes, blob);
  // A second upload on the other node finds it there.
  assert.equal((await cachePut(b.url, "cas", blob)).status, 200);

  const key = "9".repeat(64);
  assert.equal((await cachePut(a.url, "ac", new TextEncoder().encode("v1"), { key })).status, 200);
  assert.equal(new TextDecoder().decode((await cacheGet(b.url, "ac", key)).bytes), "v1");
  // An overwrite on A is seen on B once B's copy is re-checked (within 2 seconds).
  assert.equal((await cachePut(a.url, "ac", new TextEncoder().encode("v2"), { key })).status, 200);
  await eventually("B serves the new value", async () => {
    return new TextDecoder().decode((await cacheGet(b.url, "ac", key)).bytes) === "v2";
  });

  const query = project("acme", "app");
  const written = await fetch(`${a.url}/api/cache/keyvalue?${query}`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({ cas_id: "kv-1", entries: [{ value: "object-1" }] }),
  });
  assert.equal(written.status, 204);
  const read = await fetch(`${b.url}/api/cache/keyvalue/kv-1?${query}`);
  assert.deepEqual(await read.json(), { entries: [{ value: "object-1" }] });
});

Deno.test("with S3, a CAS upload whose body does not match its key leaves nothing in the bucket", async () => {
  await using s3 = await startTestS3();
  await using t = await startTestServer({ env: s3.env });
  const claimed = await sha256Hex(randomBytes(32));
  const put = await cachePut(t.url, "cas", randomBytes(10 * 1024 * 1024), { key: claimed });
  assert.equal(put.status, 400);
  assert.equal(s3.count("PUT", "cache/cas/"), 0);
  assert.equal((await bucketEntries(s3)).size, 0);
});

Deno.test("with S3, one node sweeps the bucket within budget, keeping what another node read recently", async () => {
  await using s3 = await startTestS3();
  let offset = 0;
  const env = { ...s3.env, REGISTRY_CACHE_MAX_BYTES: "100KiB", REGISTRY_CACHE_MAX_BLOB_BYTES: "20KiB" };
  await using a = await startTestServer({ env });
  await using b = await startTestServer({ env, now: () => Date.now() + offset });
  const early = [];
  for (let i = 0; i < 4; i++) early.push((await cachePut(a.url, "cas", randomBytes(16 * 1024))).key);
  // B reads the first blob an hour after it was written, and shares its stamp.
  offset = 60 * 60_000;
  assert.equal((await cacheGet(b.url, "cas", early[0])).status, 200);
  await flushStamps(b.server);
  for (let i = 0; i < 4; i++) assert.equal((await cachePut(a.url, "cas", randomBytes(16 * 1024))).status, 200);

  const entries = await eventually("the bucket is within 100 KiB", async () => {
    await a.server.scheduler.runNow("cache-sweep");
    const entries = await bucketEntries(s3);
    return [...entries.values()].reduce((sum, size) => sum + size, 0) <= 100 * 1024 && entries;
  });
  assert.ok(!entries.has(`cache/cas/${early[1]}`), "the least recently used blob is gone");
  assert.ok(entries.has(`cache/cas/${early[0]}`), "the blob B read stays");
});
