import assert from "node:assert/strict";
import { packageZip } from "./support/archives.ts";
import { ADMIN_TOKEN, get, publish, startTestServer } from "./support/server.ts";
import { rawRequest } from "./support/raw_http.ts";
import { swiftPublishBody } from "./support/multipart.ts";

const JSON_ACCEPT = "Accept: application/vnd.swift.registry.v1+json\r\n";

Deno.test("a malformed Host header gets 400 problem+json before any route runs", async () => {
  await using t = await startTestServer();
  await (await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() })).body?.cancel();
  for (
    const host of [
      "a b",
      "[::1",
      "x:99999",
      "x/swift/mona/LinkedList/1.0.0.zip?",
      "a@b",
      "x#y",
      "h\u00e9",
      "%00",
      "[zz]",
    ]
  ) {
    for (const path of ["/health", "/swift/mona/LinkedList"]) {
      const response = await rawRequest(
        t.server.port,
        `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${JSON_ACCEPT}Connection: close\r\n\r\n`,
      );
      assert.equal(response.status, 400, `Host: ${host} on ${path}`);
      assert.match(response.head, /content-type: application\/problem\+json/i);
      assert.match(response.head, /content-version: 1/i);
      assert.match(JSON.parse(response.body).detail, /Host/);
    }
  }
  const errors = t.logs.filter((line) => JSON.parse(line).level === "error");
  assert.deepEqual(errors, []);
});

Deno.test("a Host carrying a path cannot publish or download by moving the route", async () => {
  await using t = await startTestServer();
  const { body, contentType } = swiftPublishBody({ archive: await packageZip() });
  const head = `PUT /health HTTP/1.1\r\nHost: x/swift/mona/LinkedList/2.0.0?\r\n${JSON_ACCEPT}` +
    `Authorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n` +
    `Connection: close\r\n\r\n`;
  const response = await rawRequest(t.server.port, new Uint8Array([...new TextEncoder().encode(head), ...body]));
  assert.equal(response.status, 400);
  const releases = await get(`${t.swift}/mona/LinkedList`);
  assert.equal(releases.status, 404, "nothing was published");
  await releases.body?.cancel();
});

Deno.test("valid Host forms are served: names, IPv4, IPv6 literals, ports, percent-encoding; no Host on HTTP/1.0", async () => {
  await using t = await startTestServer();
  for (
    const host of ["registry.example.com", "127.0.0.1:8080", "[::1]:80", "[::1]", "ex%41mple.com", "x:", "a_b-c.d"]
  ) {
    const response = await rawRequest(
      t.server.port,
      `GET /health HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(response.status, 200, `Host: ${host}`);
  }
  const old = await rawRequest(t.server.port, "GET /health HTTP/1.0\r\n\r\n");
  assert.equal(old.status, 200);
});

Deno.test("Location and Link URLs use the request's Host, not a path it might smuggle", async () => {
  await using t = await startTestServer();
  await (await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() })).body?.cancel();
  const response = await rawRequest(
    t.server.port,
    `GET /swift/mona/LinkedList HTTP/1.1\r\nHost: registry.example.com:8443\r\n${JSON_ACCEPT}Connection: close\r\n\r\n`,
  );
  assert.equal(response.status, 200);
  assert.match(
    response.head,
    /link: <http:\/\/registry\.example\.com:8443\/swift\/mona\/LinkedList\/1\.0\.0>; rel="latest-version"/i,
  );
});

const FORWARDED = { "X-Forwarded-Proto": "https", "X-Forwarded-Host": "registry.example.com" };

Deno.test("behind a trusted proxy, X-Forwarded-Proto and X-Forwarded-Host build Location and Link URLs", async () => {
  await using t = await startTestServer({ env: { REGISTRY_TRUSTED_PROXIES: "127.0.0.1" } });
  const published = await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() }, {
    headers: FORWARDED,
  });
  assert.equal(published.status, 201);
  assert.equal(published.headers.get("location"), "https://registry.example.com/swift/mona/LinkedList/1.0.0");
  await published.body?.cancel();
  const list = await get(`${t.swift}/mona/LinkedList`, {
    headers: { ...FORWARDED, "X-Forwarded-Host": "a.example, b" },
  });
  assert.match(list.headers.get("link") ?? "", /^<https:\/\/a\.example\/swift\/mona\/LinkedList\/1\.0\.0>/);
  await list.body?.cancel();
  const invalid = await get(`${t.swift}/mona/LinkedList`, {
    headers: { "X-Forwarded-Proto": "gopher", "X-Forwarded-Host": "x/y" },
  });
  assert.match(invalid.headers.get("link") ?? "", /^<http:\/\/127\.0\.0\.1:\d+\/swift\//, "invalid values are ignored");
  await invalid.body?.cancel();
});

Deno.test("X-Forwarded-Proto and X-Forwarded-Host from an untrusted peer are ignored; REGISTRY_PUBLIC_URL wins over both", async () => {
  await using t = await startTestServer();
  const published = await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() }, {
    headers: FORWARDED,
  });
  assert.equal(published.headers.get("location"), `${t.swift}/mona/LinkedList/1.0.0`);
  await published.body?.cancel();
  await using fixed = await startTestServer({
    env: { REGISTRY_TRUSTED_PROXIES: "127.0.0.1", REGISTRY_PUBLIC_URL: "https://public.example/base" },
  });
  const again = await publish(fixed.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() }, {
    headers: FORWARDED,
  });
  assert.equal(again.headers.get("location"), "https://public.example/base/swift/mona/LinkedList/1.0.0");
  await again.body?.cancel();
});

Deno.test("an upload whose Content-Length is over the limit gets 413 before any of it is sent", async () => {
  await using t = await startTestServer({ env: { REGISTRY_MAX_ARCHIVE_BYTES: "1MiB" } });
  const declared = 1024 * 1024 + 4 * 1024 * 1024;
  // Only the head is sent: the answer must not wait for a body.
  const response = await rawRequest(
    t.server.port,
    `PUT /swift/mona/LinkedList/1.0.0 HTTP/1.1\r\nHost: 127.0.0.1\r\n${JSON_ACCEPT}Authorization: Bearer ${ADMIN_TOKEN}\r\n` +
      `Content-Type: multipart/form-data; boundary=zz\r\nContent-Length: ${declared}\r\n\r\n`,
  );
  assert.equal(response.status, 413);
  assert.match(JSON.parse(response.body).detail, /REGISTRY_MAX_ARCHIVE_BYTES/);
  const fits = await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() });
  assert.equal(fits.status, 201, "a body within the limit is still accepted");
  await fits.body?.cancel();
});
