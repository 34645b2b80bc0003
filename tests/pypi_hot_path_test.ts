/**
 * PyPI's hot reads (the index, project pages, files and their `.metadata`) as
 * prepared responses the hot path answers from memory: the same answers as
 * the routes, and never one that outlived what it came from.
 */
import assert from "node:assert/strict";
import { coreMetadata, type Dist, PIP_ACCEPT, projectJson, sdist, upload, wheel } from "./support/pypi.ts";
import { ADMIN_TOKEN, sha256Hex, startTestServer } from "./support/server.ts";

/** A response reduced to what a client sees, without what differs per request. */
async function seen(response: Response): Promise<{ status: number; headers: [string, string][]; body: string }> {
  const headers = [...response.headers].filter(([name]) => name !== "x-request-id" && name !== "date");
  return { status: response.status, headers, body: await response.text() };
}

/** Requests `url` three times (through the routes, then from memory) and asserts the answers are the same. */
async function sameThrice(url: string, init: RequestInit = {}): Promise<void> {
  const answers = [];
  for (let i = 0; i < 3; i++) answers.push(await seen(await fetch(url, { redirect: "manual", ...init })));
  const label = `${init.method ?? "GET"} ${url} ${JSON.stringify(init.headers ?? {})}`;
  assert.deepEqual(answers[1], answers[0], label);
  assert.deepEqual(answers[2], answers[0], label);
}

async function uploadOk(server: string, dist: Dist): Promise<void> {
  const response = await upload(server, dist);
  assert.equal(response.status, 200, await response.text());
}

async function yank(server: string, action: "yank" | "unyank", project: string, version: string): Promise<void> {
  const response = await fetch(`${server}/pypi/-/${action}/${project}/${version}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  assert.equal(response.status, 200, await response.text());
}

/** The projects the index lists, as JSON. */
async function indexNames(server: string): Promise<string[]> {
  const response = await fetch(`${server}/pypi/simple/`, { headers: { Accept: PIP_ACCEPT } });
  return (await response.json()).projects.map((p: { name: string }) => p.name);
}

Deno.test("PyPI hot reads answer exactly as the routes do: pages by Accept and ?format=, files and metadata with 304, HEAD and ranges", async () => {
  await using t = await startTestServer();
  const metadata = coreMetadata("hot-lib", "1.0", "Requires-Python: >=3.8");
  const whl = await wheel("hot-lib", "1.0", {
    metadata,
    entries: [{ name: "hot_lib/blob.bin", content: crypto.getRandomValues(new Uint8Array(2048)) }],
  });
  await uploadOk(t.url, whl);
  await uploadOk(t.url, await sdist("hot-lib", "1.0"));
  const pypi = `${t.url}/pypi`;
  const file = `${pypi}/files/hot-lib/${whl.filename}`;
  const pageEtag = (await fetch(`${pypi}/simple/hot-lib/`, { method: "HEAD" })).headers.get("etag")!;
  const fileEtag = `"${await sha256Hex(whl.bytes)}"`;
  const metadataEtag = `"${await sha256Hex(new TextEncoder().encode(metadata))}"`;
  const cases: [string, RequestInit][] = [
    ["simple/", {}],
    ["simple/", { headers: { Accept: PIP_ACCEPT } }],
    ["simple/?format=json", {}],
    ["simple/", { method: "HEAD" }],
    ["simple/hot-lib/", {}],
    ["simple/hot-lib/", { headers: { Accept: PIP_ACCEPT } }],
    ["simple/hot-lib/", { headers: { Accept: "application/vnd.pypi.simple.v1+html" } }],
    ["simple/hot-lib/?format=json", {}],
    ["simple/hot-lib/?format=html", { headers: { Accept: PIP_ACCEPT } }],
    ["simple/hot-lib/", { headers: { "If-None-Match": pageEtag } }],
    ["simple/hot-lib/", { method: "HEAD" }],
    ["simple/hot-lib/", { headers: { Accept: "image/png" } }],
    ["simple/hot-lib/?format=xml", {}],
    ["simple/Hot_Lib/", {}],
    ["simple/hot-lib", {}],
    ["simple/nothing-here/", {}],
    [`files/hot-lib/${whl.filename}`, {}],
    [`files/hot-lib/${whl.filename}`, { method: "HEAD" }],
    [`files/hot-lib/${whl.filename}`, { headers: { Range: "bytes=5-14" } }],
    [`files/hot-lib/${whl.filename}`, { headers: { Range: "bytes=5-14", "If-Range": fileEtag } }],
    [`files/hot-lib/${whl.filename}`, { headers: { Range: "bytes=5-14", "If-Range": '"other"' } }],
    [`files/hot-lib/${whl.filename}`, { headers: { Range: "bytes=999999-" } }],
    [`files/hot-lib/${whl.filename}`, { headers: { "If-None-Match": fileEtag } }],
    [`files/hot-lib/${whl.filename}.metadata`, {}],
    [`files/hot-lib/${whl.filename}.metadata`, { method: "HEAD" }],
    [`files/hot-lib/${whl.filename}.metadata`, { headers: { "If-None-Match": metadataEtag } }],
    ["files/hot-lib/hot_lib-1.0.tar.gz.metadata", {}],
    ["files/hot-lib/hot_lib-9.9-py3-none-any.whl", {}],
  ];
  for (const [path, init] of cases) await sameThrice(`${pypi}/${path}`, init);

  const whole = await fetch(file);
  assert.equal(whole.headers.get("content-type"), "application/zip");
  assert.equal(whole.headers.get("etag"), fileEtag);
  assert.deepEqual(new Uint8Array(await whole.arrayBuffer()), whl.bytes);
  const range = await fetch(file, { headers: { Range: "bytes=5-14" } });
  assert.equal(range.status, 206);
  assert.deepEqual(new Uint8Array(await range.arrayBuffer()), whl.bytes.subarray(5, 15));
  const unsatisfiable = await fetch(file, { headers: { Range: "bytes=999999-" } });
  assert.equal(unsatisfiable.status, 416);
  assert.equal(unsatisfiable.headers.get("content-type"), "text/plain; charset=utf-8");
  await unsatisfiable.body?.cancel();
  const served = await fetch(`${file}.metadata`);
  assert.equal(served.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.equal(served.headers.get("etag"), metadataEtag);
  assert.equal(await served.text(), metadata);
  const json = await fetch(`${pypi}/simple/hot-lib/?format=json`);
  assert.equal(json.headers.get("content-type"), "application/vnd.pypi.simple.v1+json");
  assert.equal(json.headers.get("vary"), "Accept");
  assert.equal((await json.json()).name, "hot-lib");
  const html = await fetch(`${pypi}/simple/hot-lib/`);
  assert.equal(html.headers.get("content-type"), "text/html; charset=utf-8");
  assert.match(await html.text(), /<a href="[^"]+hot_lib-1\.0-py3-none-any\.whl#sha256=/);
  const redirect = await fetch(`${pypi}/simple/Hot_Lib/?format=json`, { redirect: "manual" });
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers.get("location"), `${pypi}/simple/hot-lib/?format=json`);
  await redirect.body?.cancel();
});

Deno.test("an upload, yank or unyank is seen by the very next PyPI read, and a new project by the next index read", async () => {
  await using t = await startTestServer();
  const pypi = `${t.url}/pypi`;
  await uploadOk(t.url, await wheel("first", "1.0"));
  const reads = async () => {
    for (const path of ["simple/", "simple/first/", "files/first/first-1.0-py3-none-any.whl"]) {
      await sameThrice(`${pypi}/${path}`);
      await sameThrice(`${pypi}/${path}`, { headers: { Accept: PIP_ACCEPT } });
    }
  };
  await reads();

  await uploadOk(t.url, await wheel("first", "1.1"));
  assert.deepEqual((await projectJson(t.url, "first")).versions, ["1.0", "1.1"]);
  assert.match(await (await fetch(`${pypi}/simple/first/`)).text(), /first-1\.1-py3-none-any\.whl/);
  await reads();

  await uploadOk(t.url, await wheel("second", "1.0"));
  assert.deepEqual(await indexNames(t.url), ["first", "second"]);
  assert.match(await (await fetch(`${pypi}/simple/`)).text(), />second<\/a>/);
  await reads();

  await yank(t.url, "yank", "first", "1.1");
  assert.deepEqual((await projectJson(t.url, "first")).files.map((f) => f.yanked), [false, true]);
  assert.match(await (await fetch(`${pypi}/simple/first/`)).text(), /data-yanked="">first-1\.1-/);
  await reads();

  await yank(t.url, "unyank", "first", "1.1");
  assert.deepEqual((await projectJson(t.url, "first")).files.map((f) => f.yanked), [false, false]);
  assert.doesNotMatch(await (await fetch(`${pypi}/simple/first/`)).text(), /data-yanked/);
});

/** A stand-in upstream simple index (PEP 691 JSON) whose projects can gain files during the test. */
function mutableIndex() {
  const projects = new Map<string, { dist: Dist; sha256: string }[]>();
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const path = new URL(request.url).pathname;
    requests.push(path);
    const page = /^\/simple\/([^/]+)\/$/.exec(path);
    if (page) {
      const files = projects.get(page[1]);
      if (files === undefined) return new Response(null, { status: 404 });
      return Response.json({
        meta: { "api-version": "1.1" },
        name: page[1],
        files: files.map(({ dist, sha256 }) => ({
          filename: dist.filename,
          url: `../../files/${dist.filename}`,
          hashes: { sha256 },
          size: dist.bytes.byteLength,
        })),
      }, { headers: { "Content-Type": "application/vnd.pypi.simple.v1+json" } });
    }
    const name = /^\/files\/([^/]+)$/.exec(path)?.[1];
    const dist = [...projects.values()].flat().find((f) => f.dist.filename === name)?.dist;
    return dist === undefined ? new Response(null, { status: 404 }) : new Response(dist.bytes);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/simple`,
    requests,
    async add(project: string, dist: Dist) {
      projects.set(project, [...projects.get(project) ?? [], { dist, sha256: await sha256Hex(dist.bytes) }]);
    },
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test("PyPI reads from the upstream are remembered within REGISTRY_UPSTREAM_TTL only, and an upload takes the name at once", async () => {
  await using index = await mutableIndex();
  const remote = await wheel("far", "1.0");
  await index.add("far", remote);
  let clock = Date.parse("2026-06-01T00:00:00Z");
  await using t = await startTestServer({
    env: { REGISTRY_PYPI_UPSTREAM: index.url, REGISTRY_UPSTREAM_TTL: "1m" },
    now: () => clock,
  });
  const pypi = `${t.url}/pypi`;
  for (const path of ["simple/far/", `files/far/${remote.filename}`]) {
    await sameThrice(`${pypi}/${path}`);
    await sameThrice(`${pypi}/${path}`, { headers: { Accept: PIP_ACCEPT } });
  }
  assert.equal(index.requests.filter((p) => p === "/simple/far/").length, 1, "asked once within the TTL");
  assert.equal(index.requests.filter((p) => p === `/files/${remote.filename}`).length, 1, "downloaded once");

  await index.add("far", await wheel("far", "2.0"));
  clock += 61_000;
  assert.deepEqual((await projectJson(t.url, "far")).versions, ["1.0", "2.0"]);
  assert.match(await (await fetch(`${pypi}/simple/far/`)).text(), /far-2\.0-py3-none-any\.whl/);
  await sameThrice(`${pypi}/simple/far/`);

  const local = await wheel("far", "0.1");
  await uploadOk(t.url, local);
  assert.deepEqual((await projectJson(t.url, "far")).files.map((f) => f.filename), [local.filename]);
  assert.match(await (await fetch(`${pypi}/simple/far/`)).text(), /far-0\.1-py3-none-any\.whl/);
  const hidden = await fetch(`${pypi}/files/far/${remote.filename}`);
  assert.equal(hidden.status, 404);
  await hidden.body?.cancel();
});

Deno.test("with REGISTRY_REQUIRE_AUTH_FOR_READ, a PyPI read given to a reader is never given to an anonymous client", async () => {
  await using t = await startTestServer({ env: { REGISTRY_REQUIRE_AUTH_FOR_READ: "true" } });
  const whl = await wheel("private", "1.0");
  await uploadOk(t.url, whl);
  const basic = `Basic ${btoa(`__token__:${ADMIN_TOKEN}`)}`;
  for (const path of ["simple/", "simple/private/", `files/private/${whl.filename}`]) {
    for (let i = 0; i < 3; i++) {
      const allowed = await fetch(`${t.url}/pypi/${path}`, { headers: { Authorization: basic } });
      assert.equal(allowed.status, 200, path);
      await allowed.body?.cancel();
      const anonymous = await fetch(`${t.url}/pypi/${path}`);
      assert.equal(anonymous.status, 401, path);
      assert.match(anonymous.headers.get("www-authenticate") ?? "", /^Basic/);
      await anonymous.body?.cancel();
    }
  }
});
