/**
 * Edge nodes on local disk alone (no S3): what they pull through from
 * upstream registries stays within REGISTRY_DISK_MAX_BYTES, least recently
 * used first out, and an evicted copy is fetched again (and checked again)
 * on its next request, for every format. Memory caching is off so that every
 * read goes to disk.
 */
import assert from "node:assert/strict";
import { packageZip } from "./support/archives.ts";
import { randomBytes } from "./support/cache.ts";
import { walk } from "./support/files.ts";
import { escapeCase, fakeLibrary, libraryZip, startFakeGoProxy } from "./support/go.ts";
import { startFakeNpmUpstream } from "./support/fake_npm_upstream.ts";
import { projectJson, wheel } from "./support/pypi.ts";
import { startFakeIndex } from "./support/python.ts";
import { ADMIN_TOKEN, get, problem, publish, sha256Hex, startTestServer, type TestServer } from "./support/server.ts";

/** Bytes of upstream copies on the node's disk. */
async function upstreamBytes(t: TestServer): Promise<number> {
  let total = 0;
  for await (const path of walk(`${t.dataDir}/objects/upstream`)) total += (await Deno.stat(path)).size;
  return total;
}

async function status(t: TestServer): Promise<{ copies: number; usedBytes: number; evictions: number }> {
  const response = await fetch(`${t.url}/-/status`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
  return (await response.json()).storage.upstreamCopies;
}

const edgeEnv = (budget: string) => ({ REGISTRY_DISK_MAX_BYTES: budget, REGISTRY_MEMORY_CACHE_BYTES: "0" });

Deno.test("npm: an edge's upstream copies stay within its disk budget; an evicted tarball is fetched again", async () => {
  const names = ["left-pad", "right-pad", "up-pad", "down-pad", "mid-pad", "no-pad"];
  await using upstream = await startFakeNpmUpstream(names.map((name) => ({ name, version: "1.0.0" })));
  await using edge = await startTestServer({ env: { REGISTRY_NPM_UPSTREAM: upstream.url, ...edgeEnv("6KiB") } });
  const tarballs = new Map<string, string>();
  for (const name of names) {
    const response = await fetch(`${edge.url}/npm/${name}/-/${name}-1.0.0.tgz`);
    assert.equal(response.status, 200, name);
    tarballs.set(name, await sha256Hex(new Uint8Array(await response.arrayBuffer())));
    assert.ok(await upstreamBytes(edge) <= 6 * 1024, `within the budget after ${name}`);
  }
  const copies = await status(edge);
  assert.ok(copies.evictions > 0, "packuments and tarballs of six packages do not fit in 6 KiB");
  assert.ok(copies.usedBytes <= 6 * 1024);

  // The first tarball was evicted: it is downloaded again, checked, and served with the same bytes.
  const path = "/left-pad/-/left-pad-1.0.0.tgz";
  assert.equal(upstream.count(path), 1);
  const again = await fetch(`${edge.url}/npm${path}`);
  assert.equal(again.status, 200);
  assert.equal(await sha256Hex(new Uint8Array(await again.arrayBuffer())), tarballs.get("left-pad"));
  assert.equal(upstream.count(path), 2, "fetched again from the upstream");
  assert.ok(await upstreamBytes(edge) <= 6 * 1024);
});

Deno.test("PyPI: an evicted upstream file is fetched again and served with the same bytes", async () => {
  const wheels = await Promise.all(["alpha", "beta", "gamma"].map((name) => wheel(name, "1.0")));
  await using index = await startFakeIndex(
    Object.fromEntries(wheels.map((w, i) => [["alpha", "beta", "gamma"][i], [w]])),
  );
  await using edge = await startTestServer({ env: { REGISTRY_PYPI_UPSTREAM: index.url, ...edgeEnv("3KiB") } });
  const urls: string[] = [];
  for (const [i, name] of ["alpha", "beta", "gamma"].entries()) {
    const url = (await projectJson(edge.url, name)).files[0].url;
    urls.push(url);
    const file = await fetch(url);
    assert.equal(file.status, 200);
    assert.deepEqual(new Uint8Array(await file.arrayBuffer()), wheels[i].bytes);
  }
  assert.ok((await status(edge)).evictions > 0);
  assert.ok(await upstreamBytes(edge) <= 3 * 1024);
  const first = `/files/${wheels[0].filename}`;
  const before = index.requests.filter((p) => p === first).length;
  const again = await fetch(urls[0]);
  assert.equal(again.status, 200);
  assert.deepEqual(new Uint8Array(await again.arrayBuffer()), wheels[0].bytes);
  assert.equal(index.requests.filter((p) => p === first).length, before + 1, "fetched again from the upstream");
});

Deno.test("Go: an evicted pinned part is fetched again only if the upstream still serves the pinned bytes", async () => {
  const modules = ["example.org/a/lib", "example.org/b/lib", "example.org/c/lib"];
  await using proxy = startFakeGoProxy(await Promise.all(modules.map((m) => fakeLibrary(m, "v1.0.0", "hi"))));
  const dataDir = await Deno.makeTempDir({ prefix: "edge-" });
  const env = { REGISTRY_GO_UPSTREAM: proxy.url, ...edgeEnv("2KiB") };
  let edge = await startTestServer({ env, dataDir });
  const zips = new Map<string, string>();
  for (const module of modules) {
    const base = `${edge.url}/go/${escapeCase(module)}/@v/v1.0.0`;
    for (const part of ["info", "mod"]) assert.equal((await (await fetch(`${base}.${part}`)).text()).length > 0, true);
    const zip = await fetch(`${base}.zip`);
    assert.equal(zip.status, 200, module);
    zips.set(module, await sha256Hex(new Uint8Array(await zip.arrayBuffer())));
  }
  assert.ok((await status(edge)).evictions > 0);
  assert.ok(await upstreamBytes(edge) <= 2 * 1024 + 1024, "within the budget, beside the copy just stored");

  // The upstream now serves other bytes for the pinned version: refused, nothing stored.
  const [first] = modules;
  proxy.replaceZip(first, "v1.0.0", await libraryZip(first, "v1.0.0", "changed"));
  const base = `${edge.url}/go/${escapeCase(first)}/@v/v1.0.0`;
  const refused = await fetch(`${base}.zip`);
  assert.equal(refused.status, 502);
  assert.match(await refused.text(), /not the copy pinned here; it was not stored/);
  // Back to the pinned bytes: fetched again and served.
  proxy.replaceZip(first, "v1.0.0", (await fakeLibrary(first, "v1.0.0", "hi")).zip);
  const again = await fetch(`${base}.zip`);
  assert.equal(again.status, 200);
  assert.equal(await sha256Hex(new Uint8Array(await again.arrayBuffer())), zips.get(first));
  // Its .mod was evicted too; after a restart (nothing in memory), it is stored again, checked against its pin.
  await edge.close();
  edge = await startTestServer({ env, dataDir });
  const modsOnDisk = async () => {
    const found: string[] = [];
    for await (const path of walk(`${edge.dataDir}/objects/upstream/go/parts`)) {
      if (path.includes("/a/lib/") && path.endsWith("/go.mod")) found.push(path);
    }
    return found.length;
  };
  assert.equal(await modsOnDisk(), 0);
  const mod = await fetch(`${edge.url}/go/${escapeCase(first)}/@v/v1.0.0.mod`);
  assert.equal(mod.status, 200);
  assert.equal(await mod.text(), (await fakeLibrary(first, "v1.0.0", "hi")).mod);
  assert.equal(await modsOnDisk(), 1);
  await edge.close();
  await Deno.remove(dataDir, { recursive: true });
});

Deno.test("Swift: an edge fetches an evicted archive again from its central registry; once that is down, a clear 502", async () => {
  await using central = await startTestServer();
  const archives = new Map<string, Uint8Array>();
  for (const name of ["First", "Second", "Third"]) {
    const archive = await packageZip({ top: name, extra: [{ name: `${name}/blob.bin`, content: randomBytes(4096) }] });
    archives.set(name, archive);
    const response = await publish(central.swift, `mona/${name}/1.0.0`, { archive });
    assert.equal(response.status, 201, await response.text());
  }
  await using edge = await startTestServer({
    env: { REGISTRY_SWIFT_UPSTREAM: central.swift, REGISTRY_UPSTREAM_TTL: "1h", ...edgeEnv("12KiB") },
  });
  const zip = (name: string) =>
    get(`${edge.swift}/mona/${name}/1.0.0.zip`, { accept: "application/vnd.swift.registry.v1+zip" });
  for (const name of archives.keys()) {
    const response = await zip(name);
    assert.equal(response.status, 200, name);
    assert.deepEqual(new Uint8Array(await response.arrayBuffer()), archives.get(name));
  }
  assert.ok((await status(edge)).evictions > 0);
  assert.ok(await upstreamBytes(edge) <= 12 * 1024);

  const again = await zip("First");
  assert.equal(again.status, 200);
  assert.deepEqual(new Uint8Array(await again.arrayBuffer()), archives.get("First"), "the same bytes (TOFU)");

  await central.close();
  const recent = await zip("First");
  assert.equal(recent.status, 200, "what the edge still holds is served");
  await recent.body?.cancel();
  const evicted = await zip("Second");
  assert.equal(evicted.status, 502);
  assert.equal(evicted.headers.get("content-type"), "application/problem+json");
  assert.match((await problem(evicted)).detail, /upstream/);
});

/** An edge behind nginx (REGISTRY_ACCEL_REDIRECT) pulling npm packages `names` through, on a 3 KiB budget. */
async function offloadingEdge(names: string[]) {
  const upstream = await startFakeNpmUpstream(names.map((name) => ({ name, version: "1.0.0" })));
  const edge = await startTestServer({
    env: { REGISTRY_NPM_UPSTREAM: upstream.url, REGISTRY_ACCEL_REDIRECT: "/_files/", ...edgeEnv("3KiB") },
  });
  /** Asks for a tarball as nginx would; returns the file nginx is sent to. */
  const offload = async (name: string) => {
    const response = await fetch(`${edge.url}/npm/${name}/-/${name}-1.0.0.tgz`);
    assert.equal(response.status, 200, name);
    await response.body?.cancel();
    const target = response.headers.get("x-accel-redirect")!;
    assert.ok(target.startsWith("/_files/upstream/npm/tarballs/"), target);
    return `${edge.dataDir}/objects/${target.slice("/_files/".length)}`;
  };
  /** How often the upstream was asked for a package's tarball. */
  const downloads = (name: string) => upstream.count(`/${name}/-/${name}-1.0.0.tgz`);
  return {
    edge,
    offload,
    downloads,
    async [Symbol.asyncDispose]() {
      await edge.close();
      await upstream.close();
    },
  };
}

Deno.test("with REGISTRY_ACCEL_REDIRECT, nginx is never sent to an evicted copy: it is fetched again first", async () => {
  const names = ["one-pkg", "two-pkg", "three-pkg", "four-pkg"];
  await using t = await offloadingEdge(names);
  const first = await t.offload(names[0]);
  for (const name of names.slice(1)) await t.offload(name);
  assert.equal(await Deno.stat(first).then(() => true, () => false), false, "the first tarball was evicted");
  assert.equal(await t.offload(names[0]), first);
  assert.ok((await Deno.stat(first)).isFile, "stored again before nginx is sent to it");
  assert.equal(t.downloads(names[0]), 2);
});

Deno.test("with REGISTRY_ACCEL_REDIRECT, a copy nginx keeps sending counts as read and is not the one evicted", async () => {
  const names = ["one-pkg", "two-pkg", "three-pkg", "four-pkg", "five-pkg", "six-pkg"];
  await using t = await offloadingEdge(names);
  for (const name of names.slice(1)) {
    await t.offload(names[0]); // the popular one, read between every other
    await t.offload(name);
  }
  await t.offload(names[0]);
  assert.ok((await status(t.edge)).evictions > 0);
  assert.equal(t.downloads(names[0]), 1, "never evicted, never fetched again");
});

/** Moves the stored file under `objects/` whose path contains `marker` from `from` to `to` (path prefixes). */
async function moveStored(t: TestServer, from: string, to: string, marker: string): Promise<string> {
  for await (const path of walk(`${t.dataDir}/objects/${from}`)) {
    if (!path.includes(marker)) continue;
    const target = path.replace(`/objects/${from}`, `/objects/${to}`);
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    await Deno.rename(path, target);
    return target;
  }
  throw new Error(`nothing stored under ${from} matches ${marker}`);
}

Deno.test("copies kept where earlier versions kept them are moved under upstream/ on first use, upstream or not", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "edge-" });
  await using central = await startTestServer();
  const archive = await packageZip();
  assert.equal((await publish(central.swift, "mona/LinkedList/1.0.0", { archive })).status, 201);
  const whl = await wheel("alpha", "1.0");
  await using index = await startFakeIndex({ alpha: [whl] });
  const module = "example.org/a/lib";
  const proxy = startFakeGoProxy([await fakeLibrary(module, "v1.0.0", "hi")]);
  const env = {
    REGISTRY_SWIFT_UPSTREAM: central.swift,
    REGISTRY_PYPI_UPSTREAM: index.url,
    REGISTRY_GO_UPSTREAM: proxy.url,
    REGISTRY_MEMORY_CACHE_BYTES: "0",
  };
  const zipUrl = (t: TestServer) => `${t.swift}/mona/LinkedList/1.0.0.zip`;
  const goZip = (t: TestServer) => `${t.url}/go/${escapeCase(module)}/@v/v1.0.0.zip`;
  let edge = await startTestServer({ env, dataDir });
  const wheelUrl = (await projectJson(edge.url, "alpha")).files[0].url;
  for (const url of [zipUrl(edge), wheelUrl, goZip(edge)]) assert.equal((await fetch(url)).status, 200, url);
  // As an earlier version of this registry kept them.
  const legacy = [
    await moveStored(edge, "upstream/swift/archives/", "swift/upstream/", "source-archive.zip"),
    await moveStored(edge, "upstream/pypi/files/alpha/", "pypi/packages/alpha/upstream/", ".whl"),
    await moveStored(edge, "upstream/go/parts/", "go/packages/", "module.zip"),
  ];
  await edge.close();
  await proxy.close();
  await index.stop();
  await central.close();

  // Nothing upstream answers now: each is served from the copy kept before, moved to its new place.
  edge = await startTestServer({ env, dataDir });
  const swift = await fetch(zipUrl(edge));
  assert.equal(swift.status, 200);
  assert.deepEqual(new Uint8Array(await swift.arrayBuffer()), archive);
  const python = await fetch(wheelUrl.replace(/^http:\/\/[^/]+/, edge.url));
  assert.equal(python.status, 200);
  assert.deepEqual(new Uint8Array(await python.arrayBuffer()), whl.bytes);
  const go = await fetch(goZip(edge));
  assert.equal(go.status, 200);
  await go.body?.cancel();
  for (const path of legacy) assert.equal(await Deno.stat(path).then(() => true, () => false), false, path);
  await edge.close();
  await Deno.remove(dataDir, { recursive: true });
});
