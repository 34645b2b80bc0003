import assert from "node:assert/strict";
import { BASIC, BEARER, cacheBytesOnDisk, cacheGet, cachePut, metric, randomBytes } from "./support/cache.ts";
import { sha256Hex, startTestServer, tokenConfig } from "./support/server.ts";

Deno.test("a CAS blob uploaded with PUT comes back byte for byte from GET, and HEAD gives its length", async () => {
  await using t = await startTestServer();
  const blob = randomBytes(200_000);
  const put = await cachePut(t.url, "cas", blob);
  assert.equal(put.status, 200, put.text);
  const got = await cacheGet(t.url, "cas", put.key);
  assert.equal(got.status, 200);
  assert.deepEqual(got.bytes, blob);
  assert.equal(got.headers.get("content-type"), "application/octet-stream");
  assert.equal(got.headers.get("etag"), `"${put.key}"`);
  const head = await fetch(`${t.url}/cache/cas/${put.key}`, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("content-length"), String(blob.byteLength));
  const again = await cacheGet(t.url, "cas", put.key, { "If-None-Match": `"${put.key}"` });
  assert.equal(again.status, 304);
});

Deno.test("a CAS PUT whose body does not hash to its key is refused with 400 and stores nothing", async () => {
  await using t = await startTestServer();
  const claimed = await sha256Hex(new TextEncoder().encode("what the client meant"));
  const put = await cachePut(t.url, "cas", new TextEncoder().encode("something else"), { key: claimed });
  assert.equal(put.status, 400);
  assert.equal(put.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.match(put.text, /SHA-256 .* not .*nothing was stored/);
  assert.equal((await cacheGet(t.url, "cas", claimed)).status, 404);
  assert.equal(await cacheBytesOnDisk(t.dataDir), 0);
});

Deno.test("a second PUT of a CAS key is a no-op success, and a missing blob is a 404", async () => {
  await using t = await startTestServer();
  const blob = randomBytes(5000);
  assert.equal((await cachePut(t.url, "cas", blob)).status, 200);
  const second = await cachePut(t.url, "cas", blob);
  assert.equal(second.status, 200);
  assert.equal(await metric(t.url, 'registry_cache_bytes_in_total{namespace="cas"}'), 5000, "stored once");
  const missing = await cacheGet(t.url, "cas", "0".repeat(64));
  assert.equal(missing.status, 404);
  assert.match(new TextDecoder().decode(missing.bytes), /not in the cache/);
});

Deno.test("the empty blob is always in the CAS, as bazel expects", async () => {
  await using t = await startTestServer();
  const empty = await sha256Hex(new Uint8Array(0));
  const got = await cacheGet(t.url, "cas", empty);
  assert.equal(got.status, 200);
  assert.equal(got.bytes.byteLength, 0);
});

Deno.test("CAS keys that are not lowercase SHA-256 hex and action keys outside the safe characters get 400", async () => {
  await using t = await startTestServer();
  for (const key of ["abc", "A".repeat(64), "g".repeat(64), "%2e%2e%2fetc"]) {
    const response = await fetch(`${t.url}/cache/cas/${key}`);
    assert.equal(response.status, 400, key);
    await response.body?.cancel();
  }
  for (const key of [".hidden", "a".repeat(129), "a%2Fb", "a b"]) {
    const response = await fetch(`${t.url}/cache/ac/${key}`, { method: "PUT", headers: { Authorization: BASIC } });
    assert.equal(response.status, 400, key);
    await response.body?.cancel();
  }
});

Deno.test("action-cache keys are opaque and their values the client's own bytes, never checked against the CAS", async () => {
  await using t = await startTestServer();
  // ccache pads its 40-hex keys to 64 and stores its own result format under /ac/.
  const ccacheKey = "226d6379d82db906dcde19a74b01913d6eb71983226d6379d82db906dcde19a7";
  const value = new TextEncoder().encode("cCrS not an ActionResult, and it names no CAS blob");
  assert.equal((await cachePut(t.url, "ac", value, { key: ccacheKey })).status, 200);
  assert.deepEqual((await cacheGet(t.url, "ac", ccacheKey)).bytes, value);
  assert.equal((await cachePut(t.url, "ac", value, { key: "any_opaque-key.v2" })).status, 200);
  assert.deepEqual((await cacheGet(t.url, "ac", "any_opaque-key.v2")).bytes, value);
});

Deno.test("an action-cache key may be overwritten: the last writer wins", async () => {
  await using t = await startTestServer();
  const key = "f".repeat(64);
  assert.equal((await cachePut(t.url, "ac", new TextEncoder().encode("first"), { key })).status, 200);
  assert.equal((await cachePut(t.url, "ac", new TextEncoder().encode("second"), { key })).status, 200);
  assert.equal(new TextDecoder().decode((await cacheGet(t.url, "ac", key)).bytes), "second");
});

Deno.test("20 concurrent PUTs of one CAS key all succeed and store it once", async () => {
  await using t = await startTestServer();
  const blob = randomBytes(300_000);
  const results = await Promise.all(Array.from({ length: 20 }, () => cachePut(t.url, "cas", blob)));
  assert.deepEqual(results.map((r) => r.status), Array(20).fill(200));
  assert.equal(await metric(t.url, 'registry_cache_bytes_in_total{namespace="cas"}'), blob.byteLength);
  assert.deepEqual((await cacheGet(t.url, "cas", results[0].key)).bytes, blob);
  assert.equal(await cacheBytesOnDisk(t.dataDir), blob.byteLength);
});

Deno.test("20 concurrent PUTs of one action key with different values leave exactly one of them, whole", async () => {
  await using t = await startTestServer();
  const key = "a".repeat(64);
  const values = Array.from({ length: 20 }, (_, i) => new TextEncoder().encode(`value ${i} `.repeat(20_000 + i)));
  const results = await Promise.all(values.map((value) => cachePut(t.url, "ac", value, { key })));
  assert.deepEqual(results.map((r) => r.status), Array(20).fill(200));
  const stored = (await cacheGet(t.url, "ac", key)).bytes;
  assert.ok(values.some((value) => value.byteLength === stored.byteLength && value.every((b, i) => b === stored[i])));
});

Deno.test("writes need a publish token, as Basic password or Bearer; anonymous writes get 401 with a Basic challenge", async () => {
  await using t = await startTestServer();
  const blob = randomBytes(100);
  const anonymous = await cachePut(t.url, "cas", blob, { authorization: null });
  assert.equal(anonymous.status, 401);
  assert.match(anonymous.headers.get("www-authenticate") ?? "", /^Basic realm=/);
  const wrong = await cachePut(t.url, "cas", blob, { authorization: `Basic ${btoa("ci:not-the-token-at-all")}` });
  assert.equal(wrong.status, 401);
  assert.equal((await cacheGet(t.url, "cas", anonymous.key)).status, 404, "nothing stored");
  assert.equal((await cachePut(t.url, "cas", blob, { authorization: BASIC })).status, 200);
  assert.equal((await cachePut(t.url, "ac", blob, { key: "b".repeat(64), authorization: BEARER })).status, 200);
  // Reads are public by default.
  assert.equal((await cacheGet(t.url, "ac", "b".repeat(64))).status, 200);
});

Deno.test("with REGISTRY_REQUIRE_AUTH_FOR_READ, anonymous reads get 401 and token reads work", async () => {
  await using t = await startTestServer({ env: { REGISTRY_REQUIRE_AUTH_FOR_READ: "true" } });
  const put = await cachePut(t.url, "cas", randomBytes(100));
  const anonymous = await cacheGet(t.url, "cas", put.key);
  assert.equal(anonymous.status, 401);
  assert.match(anonymous.headers.get("www-authenticate") ?? "", /^Basic /);
  assert.equal((await cacheGet(t.url, "cas", put.key, { Authorization: BASIC })).status, 200);
});

Deno.test("a token limited to read, or to package scopes, may not write the shared bazel cache", async () => {
  await using tokens = await tokenConfig([
    { name: "reader", token: "reader-token-0123456789", scopes: ["read"] },
    { name: "team", token: "team-token-0123456789", scopes: ["publish"], packageScopes: ["acme"] },
  ]);
  await using t = await startTestServer({ env: tokens.env });
  for (const token of ["reader-token-0123456789", "team-token-0123456789"]) {
    const put = await cachePut(t.url, "cas", randomBytes(10), { authorization: `Bearer ${token}` });
    assert.equal(put.status, 403, token);
  }
});

Deno.test("blobs over REGISTRY_CACHE_MAX_BLOB_BYTES get 413, declared or streamed, and nothing is stored", async () => {
  await using t = await startTestServer({ env: { REGISTRY_CACHE_MAX_BLOB_BYTES: "64KiB" } });
  const big = randomBytes(64 * 1024 + 1);
  const declared = await cachePut(t.url, "cas", big);
  assert.equal(declared.status, 413);
  assert.match(declared.text, /REGISTRY_CACHE_MAX_BLOB_BYTES/);
  // Without a Content-Length the limit holds while the body streams.
  const streamed = await fetch(`${t.url}/cache/ac/${"c".repeat(64)}`, {
    method: "PUT",
    headers: { Authorization: BASIC },
    body: new Blob([big]).stream(),
  });
  assert.equal(streamed.status, 413);
  await streamed.body?.cancel();
  assert.equal((await cacheGet(t.url, "ac", "c".repeat(64))).status, 404);
  assert.equal(await cacheBytesOnDisk(t.dataDir), 0);
  assert.equal((await cachePut(t.url, "cas", big.subarray(1).slice())).status, 200, "the limit itself is fine");
});

Deno.test("other methods on cache entries get 405 with Allow", async () => {
  await using t = await startTestServer();
  const response = await fetch(`${t.url}/cache/cas/${"0".repeat(64)}`, {
    method: "DELETE",
    headers: { Authorization: BASIC },
  });
  assert.equal(response.status, 405);
  assert.equal(response.headers.get("allow"), "GET, HEAD, PUT");
  await response.body?.cancel();
  const unknown = await fetch(`${t.url}/cache/elsewhere/x`);
  assert.equal(unknown.status, 404);
  assert.equal(unknown.headers.get("content-type"), "text/plain; charset=utf-8");
  await unknown.body?.cancel();
});

Deno.test("metrics count hits, misses and bytes in and out per namespace", async () => {
  await using t = await startTestServer();
  const blob = randomBytes(1000);
  const put = await cachePut(t.url, "cas", blob);
  await cachePut(t.url, "ac", blob, { key: "d".repeat(64) });
  await cacheGet(t.url, "cas", put.key);
  await cacheGet(t.url, "cas", put.key);
  await cacheGet(t.url, "ac", "e".repeat(64));
  assert.equal(await metric(t.url, 'registry_cache_hits_total{namespace="cas"}'), 2);
  assert.equal(await metric(t.url, 'registry_cache_bytes_out_total{namespace="cas"}'), 2000);
  assert.equal(await metric(t.url, 'registry_cache_misses_total{namespace="ac"}'), 1);
  assert.equal(await metric(t.url, 'registry_cache_bytes_in_total{namespace="ac"}'), 1000);
});

Deno.test("malformed cache paths, ids and handles never get a 5xx", async () => {
  await using t = await startTestServer();
  const tuist = "account_handle=acme&project_handle=app";
  const paths = [
    "/cache/ac/%ZZ",
    "/cache/cas/%ZZ",
    "/cache/cas/",
    "/cache/ac/x/y",
    `/api/cache/cas/%ZZ?${tuist}`, // Tuist ids are opaque: "%ZZ" is one
    `/api/cache/keyvalue/%E0%A4%A?${tuist}`,
    "/api/cache/cas/x?account_handle=%ZZ&project_handle=app",
    `/api/cache/cas/%00?${tuist}`,
    `/api/cache/cas/?${tuist}`,
  ];
  for (const path of paths) {
    for (const method of ["GET", "HEAD", "PUT", "POST"]) {
      const response = await fetch(`${t.url}${path}`, { method, headers: { Authorization: BASIC } });
      assert.ok(response.status < 500, `${method} ${path}: ${response.status}`);
      await response.body?.cancel();
    }
  }
});
