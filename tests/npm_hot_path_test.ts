/**
 * npm's hot reads (packuments, version documents, dist-tags, tarballs) as
 * prepared responses the hot path answers from memory: the same answers as
 * the routes, and never one that outlived what it came from.
 */
import assert from "node:assert/strict";
import { escaped, npmDigests, packageTarball, publishBody } from "./support/npm.ts";
import { ADMIN_TOKEN, startTestServer, type TestServer } from "./support/server.ts";

/** npm's own `Accept` for installs (abbreviated packuments). */
const NPM_ACCEPT = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";

/** A response reduced to what a client sees, without what differs per request. */
async function seen(response: Response): Promise<{ status: number; headers: [string, string][]; body: string }> {
  const headers = [...response.headers].filter(([name]) => name !== "x-request-id" && name !== "date");
  return { status: response.status, headers, body: await response.text() };
}

/** Requests `url` three times (through the routes, then from memory) and asserts the answers are the same. */
async function sameThrice(url: string, init: RequestInit = {}): Promise<{ status: number; body: string }> {
  const answers = [];
  for (let i = 0; i < 3; i++) answers.push(await seen(await fetch(url, init)));
  const label = `${init.method ?? "GET"} ${url} ${JSON.stringify(init.headers ?? {})}`;
  assert.deepEqual(answers[1], answers[0], label);
  assert.deepEqual(answers[2], answers[0], label);
  return answers[0];
}

function send(t: TestServer, method: string, path: string, body?: string): Promise<Response> {
  return fetch(`${t.url}/npm/${path}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
    body,
  });
}

async function ok(response: Promise<Response>, status = 200): Promise<void> {
  const answer = await response;
  assert.equal(answer.status, status, await answer.text());
}

async function publish(t: TestServer, name: string, version: string, tarball?: Uint8Array): Promise<void> {
  const bytes = tarball ?? await packageTarball(name, version);
  await ok(send(t, "PUT", escaped(name), publishBody(name, version, bytes)), 201);
}

async function json(url: string, init: RequestInit = {}) {
  const response = await fetch(url, init);
  assert.equal(response.status, 200, url);
  return await response.json();
}

Deno.test("npm hot reads answer exactly as the routes do: packuments by Accept, versions, dist-tags, tarballs with 304, HEAD and ranges", async () => {
  await using t = await startTestServer();
  const tarball = await packageTarball("@acme/hot", "1.0.0", [
    { name: "package/blob.bin", content: crypto.getRandomValues(new Uint8Array(2048)) },
  ]);
  await publish(t, "@acme/hot", "1.0.0", tarball);
  await publish(t, "@acme/hot", "1.1.0");
  const npm = `${t.url}/npm`;
  const packument = await fetch(`${npm}/@acme%2fhot`);
  const etag = packument.headers.get("etag")!;
  const document = await packument.json();
  const tarballUrl = document.versions["1.0.0"].dist.tarball;
  const tarballEtag = (await fetch(tarballUrl, { method: "HEAD" })).headers.get("etag")!;
  const cases: [string, RequestInit][] = [
    ["@acme%2fhot", {}],
    ["@acme/hot", {}],
    ["@acme%2fhot", { headers: { Accept: "application/json" } }],
    ["@acme%2fhot", { headers: { Accept: NPM_ACCEPT } }],
    ["@acme%2fhot", { headers: { "If-None-Match": etag } }],
    ["@acme%2fhot", { headers: { "If-None-Match": `W/${etag}` } }],
    ["@acme%2fhot", { method: "HEAD" }],
    ["@acme%2fhot", { method: "HEAD", headers: { Accept: NPM_ACCEPT } }],
    ["@acme/hot/1.0.0", {}],
    ["@acme/hot/latest", {}],
    ["-/package/@acme%2fhot/dist-tags", {}],
    ["-/package/@acme%2fhot/dist-tags", { method: "HEAD" }],
    ["@acme/hot/-/hot-1.0.0.tgz", {}],
    ["@acme/hot/-/hot-1.0.0.tgz", { method: "HEAD" }],
    ["@acme/hot/-/hot-1.0.0.tgz", { headers: { Range: "bytes=5-14" } }],
    ["@acme/hot/-/hot-1.0.0.tgz", { headers: { Range: "bytes=5-14", "If-Range": tarballEtag } }],
    ["@acme/hot/-/hot-1.0.0.tgz", { headers: { Range: "bytes=5-14", "If-Range": '"other"' } }],
    ["@acme/hot/-/hot-1.0.0.tgz", { headers: { Range: "bytes=999999-" } }],
    ["@acme/hot/-/hot-1.0.0.tgz", { headers: { "If-None-Match": tarballEtag } }],
    ["@acme/hot/-/hot-9.9.9.tgz", {}],
    ["@acme/hot/9.9.9", {}],
  ];
  for (const [path, init] of cases) await sameThrice(`${npm}/${path}`, init);

  const full = await fetch(`${npm}/@acme%2fhot`, { headers: { Accept: "application/json" } });
  const abbreviated = await fetch(`${npm}/@acme%2fhot`, { headers: { Accept: NPM_ACCEPT } });
  assert.equal(full.headers.get("content-type"), "application/json");
  assert.equal(abbreviated.headers.get("content-type"), "application/vnd.npm.install-v1+json");
  for (const answer of [full, abbreviated]) assert.equal(answer.headers.get("vary"), "Accept");
  assert.deepEqual(await full.json(), document);
  assert.deepEqual(Object.keys(await abbreviated.json()).sort(), ["dist-tags", "modified", "name", "versions"]);
  const whole = await fetch(tarballUrl);
  assert.deepEqual(new Uint8Array(await whole.arrayBuffer()), tarball);
  const range = await fetch(tarballUrl, { headers: { Range: "bytes=5-14" } });
  assert.equal(range.status, 206);
  assert.deepEqual(new Uint8Array(await range.arrayBuffer()), tarball.subarray(5, 15));
  const unsatisfiable = await fetch(tarballUrl, { headers: { Range: "bytes=999999-" } });
  assert.equal(unsatisfiable.status, 416);
  assert.equal(typeof (await unsatisfiable.json()).error, "string", "npm's error shape");
  const missing = await fetch(`${npm}/@acme/hot/-/hot-9.9.9.tgz`);
  assert.equal(missing.status, 404);
  assert.match((await missing.json()).error, /no tarball hot-9\.9\.9\.tgz/);
});

Deno.test("a publish, deprecation, dist-tag change or unpublish is seen by the very next npm read", async () => {
  await using t = await startTestServer();
  const npm = `${t.url}/npm`;
  await publish(t, "hot", "1.0.0");
  const reads = async () => {
    for (let i = 0; i < 3; i++) {
      await sameThrice(`${npm}/hot`);
      await sameThrice(`${npm}/hot`, { headers: { Accept: NPM_ACCEPT } });
      await sameThrice(`${npm}/hot/latest`);
      await sameThrice(`${npm}/-/package/hot/dist-tags`);
      await sameThrice(`${npm}/hot/-/hot-1.0.0.tgz`);
    }
  };
  await reads();

  await publish(t, "hot", "1.1.0");
  assert.deepEqual(Object.keys((await json(`${npm}/hot`)).versions), ["1.0.0", "1.1.0"]);
  const abbreviated = await json(`${npm}/hot`, { headers: { Accept: NPM_ACCEPT } });
  assert.deepEqual(Object.keys(abbreviated.versions), ["1.0.0", "1.1.0"]);
  assert.equal((await json(`${npm}/hot/latest`)).version, "1.1.0");
  assert.deepEqual(await json(`${npm}/-/package/hot/dist-tags`), { latest: "1.1.0" });
  await reads();

  const update = await json(`${npm}/hot?write=true`);
  update.versions["1.0.0"].deprecated = "use 1.1.0";
  await ok(send(t, "PUT", "hot", JSON.stringify(update)));
  assert.equal((await json(`${npm}/hot`)).versions["1.0.0"].deprecated, "use 1.1.0");
  assert.equal(
    (await json(`${npm}/hot`, { headers: { Accept: NPM_ACCEPT } })).versions["1.0.0"].deprecated,
    "use 1.1.0",
  );
  assert.equal((await json(`${npm}/hot/1.0.0`)).deprecated, "use 1.1.0");
  await reads();

  await ok(send(t, "PUT", "-/package/hot/dist-tags/latest", '"1.0.0"'), 201);
  assert.deepEqual(await json(`${npm}/-/package/hot/dist-tags`), { latest: "1.0.0" });
  assert.equal((await json(`${npm}/hot/latest`)).version, "1.0.0");
  assert.deepEqual((await json(`${npm}/hot`, { headers: { Accept: NPM_ACCEPT } }))["dist-tags"], { latest: "1.0.0" });
  await reads();

  const { _rev } = await json(`${npm}/hot?write=true`);
  await ok(send(t, "DELETE", `hot/-rev/${_rev}`));
  for (const path of ["hot", "hot/latest", "-/package/hot/dist-tags", "hot/-/hot-1.0.0.tgz"]) {
    const gone = await fetch(`${npm}/${path}`);
    assert.equal(gone.status, 404, path);
    assert.equal(typeof (await gone.json()).error, "string");
  }
});

/** A stand-in upstream npm registry whose packages can change during the test. */
function mutableUpstream() {
  const packuments = new Map<string, Record<string, unknown>>();
  const tarballs = new Map<string, Uint8Array<ArrayBuffer>>();
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname);
    requests.push(path);
    const tarball = tarballs.get(path);
    if (tarball !== undefined) return new Response(tarball);
    const packument = packuments.get(path.slice(1));
    return packument === undefined ? Response.json({ error: "not found" }, { status: 404 }) : Response.json(packument);
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  return {
    url,
    requests,
    async add(name: string, version: string) {
      const bytes = await packageTarball(name, version);
      const path = `/${name}/-/${name}-${version}.tgz`;
      tarballs.set(path, bytes);
      const packument = packuments.get(name) ?? { name, "dist-tags": {}, versions: {}, time: {} };
      const versions = packument.versions as Record<string, unknown>;
      packuments.set(name, {
        ...packument,
        "dist-tags": { latest: version },
        versions: {
          ...versions,
          [version]: { name, version, dist: { ...npmDigests(bytes), tarball: `${url}${path}` } },
        },
      });
    },
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test("npm reads from the upstream are remembered within REGISTRY_UPSTREAM_TTL only, and a local publish takes the name at once", async () => {
  await using upstream = await mutableUpstream();
  await upstream.add("far", "1.0.0");
  let clock = Date.parse("2026-06-01T00:00:00Z");
  await using t = await startTestServer({
    env: { REGISTRY_NPM_UPSTREAM: upstream.url, REGISTRY_UPSTREAM_TTL: "1m" },
    now: () => clock,
  });
  const npm = `${t.url}/npm`;
  for (const path of ["far", "far/latest", "-/package/far/dist-tags", "far/-/far-1.0.0.tgz"]) {
    await sameThrice(`${npm}/${path}`);
    await sameThrice(`${npm}/${path}`, { headers: { Accept: NPM_ACCEPT } });
  }
  assert.equal(upstream.requests.filter((p) => p === "/far").length, 1, "asked once within the TTL");
  assert.equal(upstream.requests.filter((p) => p === "/far/-/far-1.0.0.tgz").length, 1, "downloaded once");

  await upstream.add("far", "2.0.0");
  clock += 61_000;
  assert.deepEqual(Object.keys((await json(`${npm}/far`)).versions), ["1.0.0", "2.0.0"]);
  assert.deepEqual(await json(`${npm}/-/package/far/dist-tags`), { latest: "2.0.0" });
  assert.equal((await json(`${npm}/far/latest`)).version, "2.0.0");
  await sameThrice(`${npm}/far`);

  await publish(t, "far", "0.1.0");
  assert.deepEqual(Object.keys((await json(`${npm}/far`)).versions), ["0.1.0"]);
  assert.deepEqual(await json(`${npm}/-/package/far/dist-tags`), { latest: "0.1.0" });
  const hidden = await fetch(`${npm}/far/-/far-1.0.0.tgz`);
  assert.equal(hidden.status, 404);
  await hidden.body?.cancel();
});

Deno.test("with REGISTRY_REQUIRE_AUTH_FOR_READ, an npm read given to a reader is never given to an anonymous client", async () => {
  await using t = await startTestServer({ env: { REGISTRY_REQUIRE_AUTH_FOR_READ: "true" } });
  await publish(t, "private", "1.0.0");
  for (const path of ["private", "private/latest", "-/package/private/dist-tags", "private/-/private-1.0.0.tgz"]) {
    for (let i = 0; i < 3; i++) {
      const allowed = await fetch(`${t.url}/npm/${path}`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
      assert.equal(allowed.status, 200, path);
      await allowed.body?.cancel();
      const anonymous = await fetch(`${t.url}/npm/${path}`);
      assert.equal(anonymous.status, 401, path);
      assert.equal(typeof (await anonymous.json()).error, "string");
    }
  }
});
