/**
 * The build cache's reads on the hot path: answered from memory exactly as
 * the routes answer them, counted like any read, and never after the entry
 * was overwritten or evicted, in any worker; never to a caller the routes
 * would refuse.
 */
import assert from "node:assert/strict";
import { BASIC, BEARER, cacheGet, cachePut, flushStamps, metric, project, randomBytes } from "./support/cache.ts";
import { eventually } from "./support/eventually.ts";
import { sameThreeTimes } from "./support/hot.ts";
import { sha256Hex, startTestServer } from "./support/server.ts";
import { fromBothWorkers } from "./support/workers.ts";

const KIB = 1024;
const ACME_APP = project("acme", "app");

function putKeyValue(base: string, casId: string, value: string): Promise<Response> {
  return fetch(`${base}/api/cache/keyvalue?${ACME_APP}`, {
    method: "PUT",
    headers: { Authorization: BEARER, "Content-Type": "application/json" },
    body: JSON.stringify({ cas_id: casId, entries: [{ value }] }),
  });
}

async function postTuistObject(base: string, id: string, body: Uint8Array<ArrayBuffer>): Promise<void> {
  const response = await fetch(`${base}/api/cache/cas/${id}?${ACME_APP}`, {
    method: "POST",
    headers: { Authorization: BEARER },
    body,
  });
  assert.equal(response.status, 204);
  await response.body?.cancel();
}

Deno.test("hot cache reads answer exactly as the routes do: CAS, action cache and Tuist, with 304, HEAD and ranges", async () => {
  await using t = await startTestServer({ env: { REGISTRY_CACHE_MAX_BLOB_BYTES: "4MiB" } });
  const small = await cachePut(t.url, "cas", randomBytes(4 * KIB));
  const large = await cachePut(t.url, "cas", randomBytes(1536 * KIB)); // over 1 MiB: streamed
  await cachePut(t.url, "ac", randomBytes(2 * KIB), { key: "action-1" });
  await postTuistObject(t.url, "object-1", randomBytes(3 * KIB));
  assert.equal((await putKeyValue(t.url, "key~1", "object-1")).status, 204);
  const acEtag = (await cacheGet(t.url, "ac", "action-1")).headers.get("etag")!;
  const urls: [string, string][] = [
    [`${t.url}/cache/cas/${small.key}`, `"${small.key}"`],
    [`${t.url}/cache/cas/${large.key}`, `"${large.key}"`],
    [`${t.url}/cache/cas/${await sha256Hex(new Uint8Array(0))}`, `"${await sha256Hex(new Uint8Array(0))}"`],
    [`${t.url}/cache/ac/action-1`, acEtag],
    [`${t.url}/api/cache/cas/object-1?${ACME_APP}`, ""],
    [`${t.url}/api/cache/keyvalue/key~1?${ACME_APP}`, ""],
    [`${t.url}/api/cache/endpoints`, ""],
  ];
  for (const [url, knownEtag] of urls) {
    const etag = knownEtag || (await fetch(url, { method: "HEAD" })).headers.get("etag")!;
    for (
      const init of [
        {},
        { method: "HEAD" },
        { headers: { "If-None-Match": etag } },
        { headers: { Range: "bytes=0-9" } },
        { headers: { Authorization: BASIC } },
      ] as RequestInit[]
    ) {
      const answer = await sameThreeTimes(url, init);
      assert.ok(answer.status === 200 || answer.status === 304, `${url}: ${answer.status}`);
    }
  }
  const cached = await cacheGet(t.url, "cas", small.key, { "If-None-Match": `"${small.key}"` });
  assert.equal(cached.status, 304);
  const endpoints = await (await fetch(`${t.url}/api/cache/endpoints`)).json();
  assert.deepEqual(endpoints, { endpoints: [t.url] });
});

Deno.test("reads answered from memory are counted as hits and stamped, so a blob in use is not evicted; an evicted one is not served", async () => {
  let offset = 0;
  await using t = await startTestServer({
    env: { REGISTRY_CACHE_MAX_BYTES: "100KiB", REGISTRY_CACHE_MAX_BLOB_BYTES: "20KiB" },
    now: () => Date.now() + offset,
  });
  const early = [];
  for (let i = 0; i < 4; i++) early.push((await cachePut(t.url, "cas", randomBytes(16 * KIB))).key);
  // The first blob is read through the routes, then again from memory much later: that read keeps it.
  assert.equal((await cacheGet(t.url, "cas", early[0])).status, 200);
  offset = 60 * 60_000;
  assert.equal((await cacheGet(t.url, "cas", early[0])).status, 200);
  // The second is read long before it was written (its stamp counts for nothing): it is still the oldest.
  offset = -60 * 60_000;
  for (let i = 0; i < 3; i++) assert.equal((await cacheGet(t.url, "cas", early[1])).status, 200);
  offset = 0;
  assert.equal(await metric(t.url, 'registry_cache_hits_total{namespace="cas"}'), 5);
  assert.equal(await metric(t.url, 'registry_cache_bytes_out_total{namespace="cas"}'), 5 * 16 * KIB);
  await flushStamps(t.server);

  for (let i = 0; i < 4; i++) assert.equal((await cachePut(t.url, "cas", randomBytes(16 * KIB))).status, 200);
  await eventually("a sweep evicts the least recently used", async () => {
    await t.server.scheduler.runNow("cache-sweep");
    return await metric(t.url, 'registry_cache_evictions_total{namespace="cas"}') >= 1;
  });
  assert.equal((await cacheGet(t.url, "cas", early[0])).status, 200, "the blob read from memory stays");
  for (let i = 0; i < 3; i++) {
    assert.equal((await cacheGet(t.url, "cas", early[1])).status, 404, "the evicted blob is gone, from memory too");
  }
});

Deno.test("with REGISTRY_WORKERS=2, an overwritten action entry or Tuist key-value is read through either worker at once", async () => {
  await using t = await startTestServer({ env: { REGISTRY_WORKERS: "2" } });
  const key = "f".repeat(64);
  assert.equal((await cachePut(t.url, "ac", new TextEncoder().encode("first"), { key })).status, 200);
  assert.equal((await putKeyValue(t.url, "key~1", "first")).status, 204);
  const kv = `${t.url}/api/cache/keyvalue/key~1?${ACME_APP}`;
  // Both workers remember both answers.
  for (const { body } of await fromBothWorkers(t, `${t.url}/cache/ac/${key}`)) assert.equal(body, "first");
  for (const { body } of await fromBothWorkers(t, kv)) assert.equal(JSON.parse(body).entries[0].value, "first");

  assert.equal((await cachePut(t.url, "ac", new TextEncoder().encode("second"), { key })).status, 200);
  assert.equal((await putKeyValue(t.url, "key~1", "second")).status, 204);
  for (const { body } of await fromBothWorkers(t, `${t.url}/cache/ac/${key}`)) assert.equal(body, "second");
  for (const { body } of await fromBothWorkers(t, kv)) assert.equal(JSON.parse(body).entries[0].value, "second");
});

Deno.test("with REGISTRY_REQUIRE_AUTH_FOR_READ, a cache answer given to a reader is never given to an anonymous client", async () => {
  await using t = await startTestServer({ env: { REGISTRY_REQUIRE_AUTH_FOR_READ: "true" } });
  const put = await cachePut(t.url, "cas", randomBytes(100));
  await postTuistObject(t.url, "object-1", randomBytes(100));
  for (
    const [url, authorization] of [
      [`${t.url}/cache/cas/${put.key}`, BASIC],
      [`${t.url}/api/cache/cas/object-1?${ACME_APP}`, BEARER],
    ]
  ) {
    for (let i = 0; i < 3; i++) {
      const allowed = await fetch(url, { headers: { Authorization: authorization } });
      assert.equal(allowed.status, 200);
      await allowed.body?.cancel();
      const anonymous = await fetch(url);
      assert.equal(anonymous.status, 401);
      await anonymous.body?.cancel();
    }
  }
});

Deno.test("a Tuist project's answers from memory are its own: another project asking for the same id finds nothing", async () => {
  await using t = await startTestServer();
  await postTuistObject(t.url, "object-1", randomBytes(100));
  assert.equal((await putKeyValue(t.url, "key~1", "object-1")).status, 204);
  for (const path of ["cas/object-1", "keyvalue/key~1"]) {
    for (let i = 0; i < 3; i++) {
      const own = await fetch(`${t.url}/api/cache/${path}?${ACME_APP}`);
      assert.equal(own.status, 200);
      await own.body?.cancel();
      const other = await fetch(`${t.url}/api/cache/${path}?${project("acme", "other")}`);
      assert.equal(other.status, 404);
      await other.body?.cancel();
    }
  }
});
