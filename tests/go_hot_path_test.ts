/**
 * The Go proxy's reads on the hot path: answered from memory exactly as the
 * routes answer them, and never after what they came from changed (a
 * publish, a pin, the upstream's TTL), in any worker.
 */
import assert from "node:assert/strict";
import { fakeLibrary, libraryZip, publishModule, startFakeGoProxy } from "./support/go.ts";
import { sameThreeTimes } from "./support/hot.ts";
import { startTestServer } from "./support/server.ts";
import { fromBothWorkers } from "./support/workers.ts";

async function publishOk(server: string, module: string, version: string): Promise<Uint8Array<ArrayBuffer>> {
  const zip = await libraryZip(module, version, version);
  const response = await publishModule(server, module, version, zip);
  assert.equal(response.status, 201, await response.text());
  return zip;
}

async function text(url: string): Promise<string> {
  const response = await fetch(url);
  assert.equal(response.status, 200, url);
  return await response.text();
}

Deno.test("hot Go reads answer exactly as the routes do: list, @latest, .info, .mod and .zip, with 304, HEAD and ranges", async () => {
  await using upstream = startFakeGoProxy([await fakeLibrary("example.org/dep", "v1.0.0", "upstream")]);
  upstream.route("example.org/dep/@latest", () => Response.json({ Version: "v1.0.0", Time: "2024-05-06T07:08:09Z" }));
  await using t = await startTestServer({ env: { REGISTRY_GO_UPSTREAM: upstream.url } });
  await publishOk(t.url, "example.com/hot/lib", "v1.0.0");
  const zip = await publishOk(t.url, "example.com/hot/lib", "v1.1.0");

  for (const module of ["example.com/hot/lib", "example.org/dep"]) {
    const base = `${t.url}/go/${module}`;
    const version = module === "example.org/dep" ? "v1.0.0" : "v1.1.0";
    const info = await fetch(`${base}/@v/${version}.info`);
    const infoEtag = info.headers.get("etag")!;
    await info.body?.cancel();
    const zipEtag = (await fetch(`${base}/@v/${version}.zip`, { method: "HEAD" })).headers.get("etag")!;
    const cases: [string, RequestInit][] = [
      ["@v/list", {}],
      ["@v/list", { method: "HEAD" }],
      ["@latest", {}],
      [`@v/${version}.info`, {}],
      [`@v/${version}.info`, { headers: { "If-None-Match": infoEtag } }],
      [`@v/${version}.info`, { method: "HEAD" }],
      [`@v/${version}.mod`, {}],
      [`@v/${version}.mod`, { method: "HEAD" }],
      [`@v/${version}.zip`, {}],
      [`@v/${version}.zip`, { method: "HEAD" }],
      [`@v/${version}.zip`, { headers: { "If-None-Match": zipEtag } }],
      [`@v/${version}.zip`, { headers: { Range: "bytes=5-14" } }],
      [`@v/${version}.zip`, { headers: { Range: "bytes=5-14", "If-Range": zipEtag } }],
      [`@v/${version}.zip`, { headers: { Range: "bytes=5-14", "If-Range": '"other"' } }],
      [`@v/${version}.zip`, { headers: { Range: "bytes=999999-" } }],
    ];
    for (const [path, init] of cases) await sameThreeTimes(`${base}/${path}`, init);
  }

  const base = `${t.url}/go/example.com/hot/lib/@v`;
  assert.equal(await text(`${base}/list`), "v1.0.0\nv1.1.0\n");
  const range = await fetch(`${base}/v1.1.0.zip`, { headers: { Range: "bytes=5-14" } });
  assert.equal(range.status, 206);
  assert.deepEqual(new Uint8Array(await range.arrayBuffer()), zip.subarray(5, 15));
  const unsatisfiable = await fetch(`${base}/v1.1.0.zip`, { headers: { Range: "bytes=999999-" } });
  assert.equal(unsatisfiable.status, 416);
  assert.equal(unsatisfiable.headers.get("content-type"), "text/plain; charset=utf-8");
  await unsatisfiable.body?.cancel();
  assert.equal(upstream.requests.filter((p) => p.endsWith(".zip")).length, 1, "the upstream zip was pinned once");
});

Deno.test("a Go publish is seen by the very next read: the list, @latest and the new version", async () => {
  await using t = await startTestServer();
  await publishOk(t.url, "example.com/hot/lib", "v1.0.0");
  const go = `${t.url}/go/example.com/hot/lib`;
  for (let i = 0; i < 3; i++) {
    assert.equal(await text(`${go}/@v/list`), "v1.0.0\n");
    assert.equal(JSON.parse(await text(`${go}/@latest`)).Version, "v1.0.0");
    const missing = await fetch(`${go}/@v/v1.1.0.info`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  }
  await publishOk(t.url, "example.com/hot/lib", "v1.1.0");
  assert.equal(await text(`${go}/@v/list`), "v1.0.0\nv1.1.0\n");
  assert.equal(JSON.parse(await text(`${go}/@latest`)).Version, "v1.1.0");
  assert.equal(JSON.parse(await text(`${go}/@v/v1.1.0.info`)).Version, "v1.1.0");
});

Deno.test("with REGISTRY_WORKERS=2, a Go version published through one worker is listed by the other at once", async () => {
  await using t = await startTestServer({ env: { REGISTRY_WORKERS: "2" } });
  await publishOk(t.url, "example.com/hot/lib", "v1.0.0");
  const go = `${t.url}/go/example.com/hot/lib`;
  // Both workers remember the list and @latest.
  for (const { body } of await fromBothWorkers(t, `${go}/@v/list`)) assert.equal(body, "v1.0.0\n");
  for (const { body } of await fromBothWorkers(t, `${go}/@latest`)) assert.equal(JSON.parse(body).Version, "v1.0.0");

  await publishOk(t.url, "example.com/hot/lib", "v1.1.0");
  for (const { body } of await fromBothWorkers(t, `${go}/@v/list`)) assert.equal(body, "v1.0.0\nv1.1.0\n");
  for (const { body } of await fromBothWorkers(t, `${go}/@latest`)) assert.equal(JSON.parse(body).Version, "v1.1.0");
});

Deno.test("an upstream list and @latest are remembered no longer than REGISTRY_UPSTREAM_TTL; a version pinned since is listed at once", async () => {
  let now = Date.UTC(2025, 0, 1);
  await using upstream = startFakeGoProxy([await fakeLibrary("example.org/dep", "v1.0.0", "first")]);
  let latest = "v1.0.0";
  upstream.route("example.org/dep/@latest", () => Response.json({ Version: latest, Time: "2024-05-06T07:08:09Z" }));
  await using t = await startTestServer({
    env: { REGISTRY_GO_UPSTREAM: upstream.url, REGISTRY_UPSTREAM_TTL: "5m" },
    now: () => now,
  });
  const go = `${t.url}/go/example.org/dep`;
  for (let i = 0; i < 3; i++) {
    assert.equal(await text(`${go}/@v/list`), "v1.0.0\n");
    assert.equal(JSON.parse(await text(`${go}/@latest`)).Version, "v1.0.0");
  }
  upstream.add(await fakeLibrary("example.org/dep", "v1.1.0", "second"));
  latest = "v1.1.0";
  now += 4 * 60_000; // within the TTL: the upstream is not asked again, by the routes or from memory
  assert.equal(await text(`${go}/@v/list`), "v1.0.0\n");
  assert.equal(JSON.parse(await text(`${go}/@latest`)).Version, "v1.0.0");
  assert.equal(upstream.requests.filter((p) => p === "example.org/dep/@v/list").length, 1);

  now += 2 * 60_000; // past it
  assert.equal(await text(`${go}/@v/list`), "v1.0.0\nv1.1.0\n");
  assert.equal(JSON.parse(await text(`${go}/@latest`)).Version, "v1.1.0");
  assert.equal(upstream.requests.filter((p) => p === "example.org/dep/@v/list").length, 2);

  // A version the upstream serves but does not list joins the list once it is pinned here.
  upstream.route(
    "example.org/dep/@v/v1.2.0.info",
    () => Response.json({ Version: "v1.2.0", Time: "2024-06-07T08:09:10Z" }),
  );
  assert.equal(JSON.parse(await text(`${go}/@v/v1.2.0.info`)).Version, "v1.2.0");
  assert.equal(await text(`${go}/@v/list`), "v1.0.0\nv1.1.0\nv1.2.0\n");
});
