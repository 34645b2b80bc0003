import assert from "node:assert/strict";
import { BEARER, metric, project, randomBytes } from "./support/cache.ts";
import { startTestServer } from "./support/server.ts";

const ACME_APP = project("acme", "app");

function postCas(base: string, id: string, query: string, body: Uint8Array<ArrayBuffer>, authorization = BEARER) {
  return fetch(`${base}/api/cache/cas/${encodeURIComponent(id)}?${query}`, {
    method: "POST",
    headers: { Authorization: authorization, "Content-Type": "application/octet-stream" },
    body,
  });
}

function putKeyValue(base: string, query: string, body: unknown, authorization = BEARER) {
  return fetch(`${base}/api/cache/keyvalue?${query}`, {
    method: "PUT",
    headers: { Authorization: authorization, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function writeConfig(plugins: unknown[]): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(path, JSON.stringify({ plugins }));
  return path;
}

Deno.test("Tuist CAS: an object posted under an opaque id comes back from GET, and HEAD knows it", async () => {
  await using t = await startTestServer();
  const id = "0~YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo-_+/=";
  const blob = randomBytes(50_000);
  const posted = await postCas(t.url, id, ACME_APP, blob);
  assert.equal(posted.status, 204);
  const got = await fetch(`${t.url}/api/cache/cas/${encodeURIComponent(id)}?${ACME_APP}`);
  assert.equal(got.status, 200);
  assert.equal(got.headers.get("content-type"), "application/octet-stream");
  assert.deepEqual(new Uint8Array(await got.arrayBuffer()), blob);
  const head = await fetch(`${t.url}/api/cache/cas/${encodeURIComponent(id)}?${ACME_APP}`, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("content-length"), "50000");
});

Deno.test("Tuist CAS objects are immutable: a second POST of an id answers 204 and keeps the first bytes", async () => {
  await using t = await startTestServer();
  assert.equal((await postCas(t.url, "object-1", ACME_APP, new TextEncoder().encode("first"))).status, 204);
  assert.equal((await postCas(t.url, "object-1", ACME_APP, new TextEncoder().encode("second"))).status, 204);
  const got = await fetch(`${t.url}/api/cache/cas/object-1?${ACME_APP}`);
  assert.equal(await got.text(), "first");
});

Deno.test("Tuist key-value: entries put for a CAS id are returned by GET, replaced by the next PUT", async () => {
  await using t = await startTestServer();
  const first = await putKeyValue(t.url, ACME_APP, { cas_id: "key~1", entries: [{ value: "a" }, { value: "b" }] });
  assert.equal(first.status, 204);
  const got = await fetch(`${t.url}/api/cache/keyvalue/${encodeURIComponent("key~1")}?${ACME_APP}`);
  assert.equal(got.status, 200);
  assert.equal(got.headers.get("content-type"), "application/json");
  assert.deepEqual(await got.json(), { entries: [{ value: "a" }, { value: "b" }] });
  await putKeyValue(t.url, ACME_APP, { cas_id: "key~1", entries: [{ value: "c" }] });
  const replaced = await fetch(`${t.url}/api/cache/keyvalue/${encodeURIComponent("key~1")}?${ACME_APP}`);
  assert.deepEqual(await replaced.json(), { entries: [{ value: "c" }] });
  const missing = await fetch(`${t.url}/api/cache/keyvalue/nothing?${ACME_APP}`);
  assert.equal(missing.status, 404);
  assert.match((await missing.json()).message, /no entries found for CAS ID nothing/);
});

Deno.test("Tuist projects are isolated: one project never sees another's objects or entries", async () => {
  await using t = await startTestServer();
  await postCas(t.url, "shared-id", ACME_APP, new TextEncoder().encode("acme's object"));
  await putKeyValue(t.url, ACME_APP, { cas_id: "shared-id", entries: [{ value: "acme's entry" }] });
  for (const other of [project("acme", "other-app"), project("globex", "app")]) {
    const object = await fetch(`${t.url}/api/cache/cas/shared-id?${other}`);
    assert.equal(object.status, 404, other);
    await object.body?.cancel();
    const entries = await fetch(`${t.url}/api/cache/keyvalue/shared-id?${other}`);
    assert.equal(entries.status, 404, other);
    await entries.body?.cancel();
  }
  // Handles compare without case, as in Tuist.
  const sameProject = await fetch(`${t.url}/api/cache/cas/shared-id?${project("ACME", "App")}`);
  assert.equal(await sameProject.text(), "acme's object");
  // Nor does the bazel-protocol cache see Tuist's objects.
  const bazel = await fetch(`${t.url}/cache/ac/shared-id`);
  assert.equal(bazel.status, 404);
  await bazel.body?.cancel();
});

Deno.test("Tuist requests without their project, or with bad bodies, get 400 with a JSON message", async () => {
  await using t = await startTestServer();
  const cases: [string, RequestInit][] = [
    [`/api/cache/cas/x?account_handle=acme`, {}],
    [`/api/cache/cas/x?account_handle=acme&project_handle=${encodeURIComponent("../etc")}`, {}],
    [`/api/cache/keyvalue?${ACME_APP}`, { method: "PUT", headers: { Authorization: BEARER }, body: "not json" }],
    [`/api/cache/keyvalue?${ACME_APP}`, {
      method: "PUT",
      headers: { Authorization: BEARER },
      body: JSON.stringify({ cas_id: "x", entries: [] }),
    }],
    [`/api/cache/keyvalue?${ACME_APP}`, {
      method: "PUT",
      headers: { Authorization: BEARER },
      body: JSON.stringify({ cas_id: "x", entries: [{ value: 1 }] }),
    }],
  ];
  for (const [path, init] of cases) {
    const response = await fetch(`${t.url}${path}`, init);
    assert.equal(response.status, 400, path);
    assert.equal(response.headers.get("content-type"), "application/json");
    assert.equal(typeof (await response.json()).message, "string");
  }
});

Deno.test("Tuist writes without a token get 401 with a Bearer challenge and a JSON message", async () => {
  await using t = await startTestServer();
  const response = await fetch(`${t.url}/api/cache/cas/x?${ACME_APP}`, { method: "POST", body: "bytes" });
  assert.equal(response.status, 401);
  assert.match(response.headers.get("www-authenticate") ?? "", /^Bearer /);
  assert.match((await response.json()).message, /authentication is required/);
  const method = await fetch(`${t.url}/api/cache/keyvalue?${ACME_APP}`, { method: "GET" });
  assert.equal(method.status, 405);
  assert.equal(method.headers.get("allow"), "PUT");
  await method.body?.cancel();
});

Deno.test("Tuist objects over REGISTRY_CACHE_MAX_BLOB_BYTES get 413", async () => {
  await using t = await startTestServer({ env: { REGISTRY_CACHE_MAX_BLOB_BYTES: "10KiB" } });
  const response = await postCas(t.url, "big", ACME_APP, randomBytes(10 * 1024 + 1));
  assert.equal(response.status, 413);
  assert.match((await response.json()).message, /REGISTRY_CACHE_MAX_BLOB_BYTES/);
  const missing = await fetch(`${t.url}/api/cache/cas/big?${ACME_APP}`);
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
});

Deno.test("a Tuist-style server checks access through the upstream plugin: accounts as package scopes, verdicts cached", async () => {
  // The stand-in for the Tuist server: one token may write the "acme" account only.
  let calls = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    calls++;
    if (request.headers.get("authorization") !== "Bearer acme-project-token") {
      return new Response(null, { status: 401 });
    }
    return Response.json({ id: "acme-ci", scopes: ["read", "publish"], packageScopes: ["acme"] });
  });
  const config = await writeConfig([{
    use: "upstream",
    options: { url: `http://127.0.0.1:${server.addr.port}/api/projects`, method: "GET" },
  }]);
  let now = Date.parse("2026-06-01T00:00:00Z");
  try {
    await using t = await startTestServer({
      env: { REGISTRY_CONFIG: config, REGISTRY_ADMIN_TOKEN: "", REGISTRY_REQUIRE_AUTH_FOR_READ: "true" },
      now: () => now,
    });
    const token = "Bearer acme-project-token";
    for (let i = 0; i < 3; i++) {
      assert.equal((await postCas(t.url, `object-${i}`, ACME_APP, randomBytes(10), token)).status, 204);
    }
    const read = await fetch(`${t.url}/api/cache/cas/object-0?${ACME_APP}`, { headers: { Authorization: token } });
    assert.equal(read.status, 200);
    await read.body?.cancel();
    assert.equal(calls, 1, "a valid token is checked once, then cached (10 minutes)");
    const otherAccount = await postCas(t.url, "object", project("globex", "app"), randomBytes(10), token);
    assert.equal(otherAccount.status, 403);
    assert.match((await otherAccount.json()).message, /may not publish globex\/app/);
    const bad = await postCas(t.url, "object", ACME_APP, randomBytes(10), "Bearer revoked-token");
    assert.equal(bad.status, 401);
    await bad.body?.cancel();
    const badAgain = await postCas(t.url, "object", ACME_APP, randomBytes(10), "Bearer revoked-token");
    await badAgain.body?.cancel();
    assert.equal(calls, 2, "a refusal is cached too (3 seconds)");
    now += 3_001;
    const badLater = await postCas(t.url, "object", ACME_APP, randomBytes(10), "Bearer revoked-token");
    await badLater.body?.cancel();
    assert.equal(calls, 3);
  } finally {
    await Deno.remove(config);
    await server.shutdown();
  }
});

Deno.test("clients asking where the Tuist cache is are sent to this server", async () => {
  await using t = await startTestServer({ env: { REGISTRY_PUBLIC_URL: "https://cache.example.com" } });
  const response = await fetch(`${t.url}/api/cache/endpoints?account_handle=acme`);
  assert.deepEqual(await response.json(), { endpoints: ["https://cache.example.com"] });
});

Deno.test("Tuist reads and writes are counted in the tuist namespace", async () => {
  await using t = await startTestServer();
  await postCas(t.url, "counted", ACME_APP, randomBytes(300));
  await (await fetch(`${t.url}/api/cache/cas/counted?${ACME_APP}`)).body?.cancel();
  await (await fetch(`${t.url}/api/cache/cas/absent?${ACME_APP}`)).body?.cancel();
  assert.equal(await metric(t.url, 'registry_cache_bytes_in_total{namespace="tuist"}'), 300);
  assert.equal(await metric(t.url, 'registry_cache_hits_total{namespace="tuist"}'), 1);
  assert.equal(await metric(t.url, 'registry_cache_misses_total{namespace="tuist"}'), 1);
});
