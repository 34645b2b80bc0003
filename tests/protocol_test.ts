import assert from "node:assert/strict";
import { packageZip } from "./support/archives.ts";
import { ADMIN_TOKEN, get, problem, publish, startTestServer } from "./support/server.ts";

Deno.test("every response carries Content-Version: 1, errors and unknown routes included", async () => {
  await using t = await startTestServer();
  assert.equal((await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() })).status, 201);
  const urls = [
    `${t.url}/health`,
    `${t.swift}/mona/LinkedList`,
    `${t.swift}/mona/LinkedList/1.0.0`,
    `${t.swift}/mona/LinkedList/1.0.0/Package.swift`,
    `${t.swift}/mona/LinkedList/1.0.0.zip`,
    `${t.swift}/mona/missing`,
    `${t.swift}/identifiers`,
    `${t.url}/no/such/route`,
    `${t.swift}/availability`,
  ];
  for (const url of urls) {
    const response = await get(url);
    await response.body?.cancel();
    assert.equal(response.headers.get("content-version"), "1", url);
  }
});

Deno.test("errors are problem+json with a detail and a matching status", async () => {
  await using t = await startTestServer();
  const response = await get(`${t.swift}/mona/LinkedList`);
  assert.equal(response.status, 404);
  const body = await problem(response);
  assert.match(body.detail, /mona\.LinkedList not found/);
  assert.equal(response.headers.get("content-language"), "en");

  const unknown = await get(`${t.url}/nope`);
  assert.equal(unknown.status, 404);
  await problem(unknown);
});

Deno.test("Accept negotiation: v1 and no Accept are served, v2 gets 415, malformed gets 400", async () => {
  await using t = await startTestServer();
  await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() });
  const url = `${t.swift}/mona/LinkedList`;
  for (const accept of ["application/vnd.swift.registry.v1+json", "application/vnd.swift.registry.v1", "*/*"]) {
    const response = await get(url, { accept });
    assert.equal(response.status, 200, accept);
    assert.equal(response.headers.get("content-type"), "application/json");
    await response.body?.cancel();
  }
  const none = await fetch(url);
  assert.equal(none.status, 200);
  assert.equal(none.headers.get("content-type"), "application/json");
  await none.body?.cancel();

  const v2 = await get(url, { accept: "application/vnd.swift.registry.v2+json" });
  assert.equal(v2.status, 415);
  assert.match((await problem(v2)).detail, /version 2/);

  for (const accept of ["application/vnd.swift.registry.vx+json", "application/vnd.swift.registry.v1+xml"]) {
    const bad = await get(url, { accept });
    assert.equal(bad.status, 400, accept);
    await problem(bad);
  }
});

Deno.test("HEAD answers every GET endpoint with the same status and headers and no body", async () => {
  await using t = await startTestServer();
  const archive = await packageZip({ alternates: { "5.8": "5.8" } });
  await publish(t.swift, "mona/LinkedList/1.0.0", { archive });
  const paths = [
    "mona/LinkedList",
    "mona/LinkedList.json",
    "mona/LinkedList/1.0.0",
    "mona/LinkedList/1.0.0.json",
    "mona/LinkedList/1.0.0/Package.swift",
    "mona/LinkedList/1.0.0.zip",
    "mona/missing",
    "availability",
  ];
  for (const path of paths) {
    const getResponse = await get(`${t.swift}/${path}`);
    const getBody = new Uint8Array(await getResponse.arrayBuffer());
    const head = await get(`${t.swift}/${path}`, { method: "HEAD" });
    assert.equal(head.status, getResponse.status, path);
    assert.equal((await head.arrayBuffer()).byteLength, 0, path);
    for (const name of ["content-type", "content-version", "link", "etag", "digest"]) {
      assert.equal(head.headers.get(name), getResponse.headers.get(name), `${path} ${name}`);
    }
    if (getResponse.ok) assert.equal(head.headers.get("content-length"), String(getBody.length), path);
  }
});

Deno.test("request ids: a client's X-Request-ID is echoed, otherwise one is generated; one log line per request", async () => {
  await using t = await startTestServer();
  const echoed = await get(`${t.url}/health`, { headers: { "X-Request-ID": "ci-run-42" } });
  await echoed.body?.cancel();
  assert.equal(echoed.headers.get("x-request-id"), "ci-run-42");

  const generated = await get(`${t.url}/health`, { headers: { "X-Request-ID": "bad id with spaces" } });
  await generated.body?.cancel();
  assert.match(generated.headers.get("x-request-id")!, /^[0-9a-f-]{36}$/);

  const line = t.logs.map((l) => JSON.parse(l)).find((l) => l.msg === "request" && l.id === "ci-run-42");
  assert.ok(line, "the request is logged");
  assert.equal(line.method, "GET");
  assert.equal(line.path, "/health");
  assert.equal(line.status, 200);
  assert.equal(typeof line.ms, "number");
});

Deno.test("tokens never appear in logs, whether valid or not", async () => {
  await using t = await startTestServer();
  await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() });
  const wrong = await publish(t.swift, "mona/LinkedList/1.0.1", { archive: await packageZip() }, {
    token: "wrong-token-value-xyz",
  });
  await wrong.body?.cancel();
  const basic = await fetch(`${t.swift}/login`, {
    method: "POST",
    headers: { Authorization: `Basic ${btoa(`user:${ADMIN_TOKEN}`)}` },
  });
  await basic.body?.cancel();
  const all = t.logs.join("\n");
  assert.ok(!all.includes(ADMIN_TOKEN));
  assert.ok(!all.includes("wrong-token-value-xyz"));
  assert.ok(!all.includes(btoa(`user:${ADMIN_TOKEN}`)));
});

Deno.test("login works by POST on the base path and on /login", async () => {
  await using t = await startTestServer();
  for (const path of ["", "/login"]) {
    const ok = await fetch(`${t.swift}${path}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    await ok.body?.cancel();
    assert.equal(ok.status, 200, path);
    assert.equal(ok.headers.get("content-version"), "1");

    const basic = await fetch(`${t.swift}${path}`, {
      method: "POST",
      headers: { Authorization: `Basic ${btoa(`token:${ADMIN_TOKEN}`)}` },
    });
    await basic.body?.cancel();
    assert.equal(basic.status, 200, `${path} basic`);

    const wrong = await fetch(`${t.swift}${path}`, { method: "POST", headers: { Authorization: "Bearer nope" } });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get("www-authenticate")!, /Bearer/);
    await problem(wrong);

    const missing = await fetch(`${t.swift}${path}`, { method: "POST" });
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get("www-authenticate"), 'Bearer realm="swift-registry"');
    await problem(missing);
  }
});

Deno.test("login answers 501 when the registry has no credentials configured", async () => {
  await using t = await startTestServer({ env: { REGISTRY_ADMIN_TOKEN: "" } });
  const response = await fetch(`${t.swift}/login`, { method: "POST", headers: { Authorization: "Bearer whatever" } });
  assert.equal(response.status, 501);
  assert.match((await problem(response)).detail, /does not support authentication/);
});

Deno.test("availability answers 200 with the search capability (SE-0536), health 200", async () => {
  await using t = await startTestServer();
  // SwiftPM sends no Accept here.
  const availability = await fetch(`${t.swift}/availability`);
  assert.equal(availability.status, 200);
  assert.equal(availability.headers.get("content-type"), "application/json");
  assert.equal(availability.headers.get("content-version"), "1");
  assert.deepEqual(await availability.json(), { capabilities: { search: {} } });
  const health = await fetch(`${t.url}/health`);
  assert.equal(health.status, 200);
  assert.equal((await health.json()).status, "ok");
});

Deno.test("unsupported methods on known resources get 405 with Allow", async () => {
  await using t = await startTestServer();
  const response = await fetch(`${t.swift}/mona/LinkedList/1.0.0`, { method: "DELETE" });
  assert.equal(response.status, 405);
  assert.equal(response.headers.get("allow"), "GET, HEAD, PUT");
  await problem(response);
  const list = await fetch(`${t.swift}/mona/LinkedList`, { method: "POST" });
  assert.equal(list.status, 405);
  await problem(list);
});

Deno.test("REGISTRY_PUBLIC_URL is the base of every Link and Location", async () => {
  await using t = await startTestServer({ env: { REGISTRY_PUBLIC_URL: "https://registry.test/prefix/" } });
  const published = await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() });
  await published.body?.cancel();
  assert.equal(published.headers.get("location"), "https://registry.test/prefix/swift/mona/LinkedList/1.0.0");
  const list = await get(`${t.swift}/mona/LinkedList`);
  assert.equal(
    list.headers.get("link"),
    '<https://registry.test/prefix/swift/mona/LinkedList/1.0.0>; rel="latest-version"',
  );
  assert.deepEqual(await list.json(), {
    releases: { "1.0.0": { url: "https://registry.test/prefix/swift/mona/LinkedList/1.0.0" } },
  });
});

Deno.test("a registry URL set with a trailing slash works for login, availability and reads", async () => {
  await using t = await startTestServer();
  await (await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() })).body?.cancel();
  const login = await fetch(`${t.swift}/`, { method: "POST", headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(login.status, 200);
  await login.body?.cancel();
  for (const path of ["availability/", "mona/LinkedList/"]) {
    const response = await get(`${t.swift}/${path}`);
    assert.equal(response.status, 200, path);
    await response.body?.cancel();
  }
});

Deno.test("reads stay public when the client sends stale or unknown credentials", async () => {
  await using t = await startTestServer();
  await (await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() })).body?.cancel();
  for (const authorization of ["Bearer stale-token-from-keychain", `Basic ${btoa("user:old")}`]) {
    for (const path of ["mona/LinkedList", "mona/LinkedList/1.0.0", "mona/LinkedList/1.0.0.zip"]) {
      const response = await get(`${t.swift}/${path}`, { headers: { Authorization: authorization } });
      assert.equal(response.status, 200, `${authorization} ${path}`);
      await response.body?.cancel();
    }
  }
  const publishWithStale = await publish(t.swift, "mona/LinkedList/1.0.1", { archive: await packageZip() }, {
    token: "stale-token-from-keychain",
  });
  assert.equal(publishWithStale.status, 401, "publishing still checks credentials");
  await publishWithStale.body?.cancel();
});
