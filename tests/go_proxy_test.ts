/**
 * The GOPROXY protocol over raw HTTP: reads, publishing, versions and paths,
 * tokens, pull-through rules, and the checksum database.
 */
import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../src/config.ts";
import { ADMIN_TOKEN, startTestServer, tokenConfig } from "./support/server.ts";
import { escapeCase, fakeLibrary, libraryZip, moduleZip, publishModule, startFakeGoProxy } from "./support/go.ts";

/** Reads a text error and checks its shape. */
async function textError(response: Response, status: number): Promise<string> {
  const body = await response.text();
  assert.equal(response.status, status, body);
  assert.equal(response.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.ok(body.trim() !== "", "an error body");
  return body;
}

async function publishOk(server: string, module: string, version: string, zip?: Uint8Array<ArrayBuffer>) {
  const response = await publishModule(server, module, version, zip ?? await libraryZip(module, version, version));
  const body = await response.text();
  assert.equal(response.status, 201, body);
  return body;
}

Deno.test("a published version is served as list, .info, .mod, .zip and @latest, with ETags", async () => {
  const now = Date.UTC(2025, 2, 4, 5, 6, 7, 890);
  await using t = await startTestServer({ now: () => now });
  const zip = await moduleZip("example.com/Mona/lib", "v1.0.0", {
    "go.mod": "module example.com/Mona/lib // comment\n\ngo 1.19\n",
    "lib.go": "package lib\n",
  });
  const receipt = await publishOk(t.url, "example.com/Mona/lib", "v1.0.0", zip);
  assert.match(receipt, /^example\.com\/Mona\/lib v1\.0\.0 h1:[A-Za-z0-9+/]{43}=$/m);
  assert.match(receipt, /^example\.com\/Mona\/lib v1\.0\.0\/go\.mod h1:[A-Za-z0-9+/]{43}=$/m);
  await publishOk(t.url, "example.com/Mona/lib", "v1.1.0-beta.1");
  await publishOk(t.url, "example.com/Mona/lib", "v0.0.0-20240102030405-abcdefabcdef");

  // The go command sends ! as %21; both spellings work.
  for (const base of [`${t.url}/go/example.com/%21mona/lib/@v/`, `${t.url}/go/example.com/!mona/lib/@v/`]) {
    const list = await fetch(`${base}list`);
    assert.equal(list.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(await list.text(), "v1.0.0\nv1.1.0-beta.1\n", "pseudo-versions are left out of the list");
  }
  const base = `${t.url}/go/example.com/!mona/lib/@v/`;
  const info = await fetch(`${base}v1.0.0.info`);
  assert.deepEqual(await info.json(), { Version: "v1.0.0", Time: "2025-03-04T05:06:07Z" });
  const etag = info.headers.get("etag")!;
  const again = await fetch(`${base}v1.0.0.info`, { headers: { "If-None-Match": etag } });
  assert.equal(again.status, 304);
  await again.body?.cancel();
  assert.equal(await (await fetch(`${base}v1.0.0.mod`)).text(), "module example.com/Mona/lib // comment\n\ngo 1.19\n");
  const download = await fetch(`${base}v1.0.0.zip`);
  assert.equal(download.headers.get("content-type"), "application/zip");
  assert.deepEqual(new Uint8Array(await download.arrayBuffer()), zip);
  const head = await fetch(`${base}v1.0.0.zip`, { method: "HEAD" });
  assert.equal(head.headers.get("content-length"), String(zip.byteLength));
  const pseudo = await fetch(`${base}v0.0.0-20240102030405-abcdefabcdef.info`);
  assert.equal((await pseudo.json()).Version, "v0.0.0-20240102030405-abcdefabcdef");
  const latest = await fetch(`${t.url}/go/example.com/!mona/lib/@latest`);
  assert.equal((await latest.json()).Version, "v1.0.0", "@latest is the highest release");
});

Deno.test("a version is never replaced: publishing it again is a 409 with a text body", async () => {
  await using t = await startTestServer();
  await publishOk(t.url, "example.com/lib", "v1.0.0");
  const again = await publishModule(
    t.url,
    "example.com/lib",
    "v1.0.0",
    await libraryZip("example.com/lib", "v1.0.0", "x"),
  );
  assert.match(await textError(again, 409), /example\.com\/lib@v1\.0\.0 already exists; a version is never replaced/);
});

Deno.test("non-canonical versions, malformed paths and unknown modules answer 404 text; publishing to them 400", async () => {
  await using t = await startTestServer();
  await publishOk(t.url, "example.com/lib", "v1.2.0");
  const go = `${t.url}/go`;
  assert.match(await textError(await fetch(`${go}/example.com/lib/@v/v1.2.info`), 404), /canonical versions only/);
  assert.match(await textError(await fetch(`${go}/example.com/lib/@v/master.info`), 404), /canonical versions only/);
  assert.match(await textError(await fetch(`${go}/Example.com/lib/@v/list`), 404), /malformed case-encoded/);
  assert.match(await textError(await fetch(`${go}/example.com/lib/v1/@v/list`), 404), /invalid version suffix/);
  assert.match(await textError(await fetch(`${go}/nodot/lib/@v/list`), 404), /missing dot in first path element/);
  assert.match(await textError(await fetch(`${go}/example.com/lib/@v/v1.2.0.tar`), 404), /not list/);
  // The go command probes every prefix of a package path: each is a quick 404.
  for (const prefix of ["example.com/lib/sub/pkg", "example.com/lib/sub", "example.com"]) {
    assert.match(await textError(await fetch(`${go}/${prefix}/@v/list`), 404), /has no versions here/);
  }
  const zip = await libraryZip("example.com/lib", "v1.3.0", "x");
  const put = (path: string) =>
    fetch(`${go}/${path}`, { method: "PUT", body: zip, headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.match(await textError(await put("example.com/lib/@v/v1.3.zip"), 400), /not a canonical version/);
  assert.match(await textError(await put("example.com/lib/@v/v1.3.0.info"), 405), /PUT \/go\/<module>\/@v/);
  assert.match(await textError(await put("example.com/Lib/@v/v1.3.0.zip"), 400), /malformed case-encoded/);
});

Deno.test("major versions: v2 needs /v2, +incompatible is for code without a go.mod, and its .mod is synthesized", async () => {
  await using t = await startTestServer();
  const v2 = await publishModule(t.url, "example.com/m", "v2.0.0", await libraryZip("example.com/m", "v2.0.0", "x"));
  assert.match(await textError(v2, 400), /v2 needs the module path to end in \/v2/);
  await publishOk(t.url, "example.com/m/v2", "v2.0.0");
  const wrongMajor = await publishModule(
    t.url,
    "example.com/m/v2",
    "v3.0.0",
    await libraryZip("example.com/m/v2", "v3.0.0", "x"),
  );
  assert.match(await textError(wrongMajor, 400), /suffix \/v2 needs v2 versions/);

  const legacy = await moduleZip("example.com/old", "v3.1.0+incompatible", { "old.go": "package old\n" }, {
    goMod: false,
  });
  await publishOk(t.url, "example.com/old", "v3.1.0+incompatible", legacy);
  const mod = await fetch(`${t.url}/go/example.com/old/@v/v3.1.0+incompatible.mod`);
  assert.equal(await mod.text(), "module example.com/old\n");
  const withGoMod = await publishModule(
    t.url,
    "example.com/old",
    "v4.0.0+incompatible",
    await moduleZip("example.com/old", "v4.0.0+incompatible", { "old.go": "package old\n" }),
  );
  assert.match(await textError(withGoMod, 422), /\+incompatible suffix not allowed: module contains a go\.mod file/);
  const compatible = await publishModule(
    t.url,
    "example.com/old",
    "v1.0.0+incompatible",
    legacy,
  );
  assert.match(await textError(compatible, 400), /major version v1 is compatible/);
});

Deno.test("publishing needs a token with publish scope; tokens limited to package scopes cannot publish Go modules", async () => {
  await using tokens = await tokenConfig([
    { name: "reader", token: "read-only-token-0123456789", scopes: ["read"] },
    { name: "scoped", token: "scoped-token-0123456789", scopes: ["publish"], packageScopes: ["mona"] },
  ]);
  {
    await using t = await startTestServer({ env: tokens.env });
    const zip = await libraryZip("example.com/lib", "v1.0.0", "x");
    const anonymous = await publishModule(t.url, "example.com/lib", "v1.0.0", zip, null);
    await textError(anonymous, 401);
    assert.match(anonymous.headers.get("www-authenticate")!, /^Basic realm="go"/);
    await textError(await publishModule(t.url, "example.com/lib", "v1.0.0", zip, "read-only-token-0123456789"), 403);
    await textError(await publishModule(t.url, "example.com/lib", "v1.0.0", zip, "scoped-token-0123456789"), 403);
    // Basic credentials with the token as password work too (what ~/.netrc gives the go command).
    const basic = await fetch(`${t.url}/go/example.com/lib/@v/v1.0.0.zip`, {
      method: "PUT",
      body: zip,
      headers: { Authorization: `Basic ${btoa(`ci:${ADMIN_TOKEN}`)}` },
    });
    assert.equal(basic.status, 201, await basic.text());
  }
});

Deno.test("a module with versions of its own never shows the upstream's versions", async () => {
  await using upstream = startFakeGoProxy([
    await fakeLibrary("example.com/lib", "v1.0.0", "upstream"),
    await fakeLibrary("example.com/lib", "v1.5.0", "upstream"),
  ]);
  await using t = await startTestServer({ env: { REGISTRY_GO_UPSTREAM: upstream.url } });
  await publishOk(t.url, "example.com/lib", "v1.1.0");
  const go = `${t.url}/go/example.com/lib`;
  assert.equal(await (await fetch(`${go}/@v/list`)).text(), "v1.1.0\n");
  assert.match(await textError(await fetch(`${go}/@v/v1.5.0.info`), 404), /unknown version/);
  assert.match(await textError(await fetch(`${go}/@v/v1.5.0.zip`), 404), /unknown version/);
  assert.deepEqual(upstream.requests.filter((p) => p.startsWith("example.com/lib")), []);
});

Deno.test("pull-through pins a version when first served: a changed upstream copy is never served", async () => {
  let now = Date.UTC(2025, 0, 1);
  await using upstream = startFakeGoProxy([await fakeLibrary("example.org/dep", "v1.0.0", "first")]);
  await using t = await startTestServer({ env: { REGISTRY_GO_UPSTREAM: upstream.url }, now: () => now });
  const go = `${t.url}/go/example.org/dep/@v`;
  assert.equal(await (await fetch(`${go}/list`)).text(), "v1.0.0\n");
  assert.deepEqual(await (await fetch(`${go}/v1.0.0.info`)).json(), {
    Version: "v1.0.0",
    Time: "2024-05-06T07:08:09Z",
  });
  const first = new Uint8Array(await (await fetch(`${go}/v1.0.0.zip`)).arrayBuffer());
  assert.equal(await (await fetch(`${go}/v1.0.0.mod`)).text(), "module example.org/dep\n\ngo 1.19\n");

  upstream.replaceZip("example.org/dep", "v1.0.0", await libraryZip("example.org/dep", "v1.0.0", "second"));
  now += 24 * 3600 * 1000; // far past the upstream TTL
  const later = new Uint8Array(await (await fetch(`${go}/v1.0.0.zip`)).arrayBuffer());
  assert.deepEqual(later, first);
  assert.equal(upstream.requests.filter((p) => p.endsWith("v1.0.0.zip")).length, 1, "downloaded once");

  // A version served from the upstream cannot be published here.
  const publish = await publishModule(
    t.url,
    "example.org/dep",
    "v1.0.0",
    await libraryZip("example.org/dep", "v1.0.0", "x"),
  );
  assert.match(await textError(publish, 409), /was already served from the upstream; a version is never replaced/);
});

Deno.test("an upstream zip the go command would refuse is not stored, and the client gets a 502 text", async () => {
  await using upstream = startFakeGoProxy([{
    module: "example.org/bad",
    version: "v1.0.0",
    time: "2024-01-01T00:00:00Z",
    mod: "module example.org/bad\n",
    zip: await moduleZip("example.org/other", "v1.0.0", { "x.go": "package x\n" }),
  }]);
  await using t = await startTestServer({ env: { REGISTRY_GO_UPSTREAM: upstream.url } });
  const response = await fetch(`${t.url}/go/example.org/bad/@v/v1.0.0.zip`);
  assert.match(
    await textError(response, 502),
    /path does not have prefix "example\.org\/bad@v1\.0\.0\/"; it was not stored/,
  );
  upstream.route("example.org/down/@v/list", () => new Response("boom", { status: 500 }));
  assert.match(await textError(await fetch(`${t.url}/go/example.org/down/@v/list`), 502), /answered 500/);
});

Deno.test("REGISTRY_GO_EXCLUDE modules are never asked of the upstream, nor looked up in its checksum database", async () => {
  await using upstream = startFakeGoProxy([await fakeLibrary("corp.example.com/team/lib", "v1.0.0", "leak")]);
  upstream.route("sumdb/sum.golang.org/supported", () => new Response(""));
  upstream.route("sumdb/sum.golang.org/lookup/example.org/pub@v1.0.0", () => new Response("123\nexample.org/pub\n"));
  await using t = await startTestServer({
    env: { REGISTRY_GO_UPSTREAM: upstream.url, REGISTRY_GO_EXCLUDE: "*.example.com,example.net/private" },
  });
  const go = `${t.url}/go`;
  assert.match(await textError(await fetch(`${go}/corp.example.com/team/lib/@v/list`), 404), /REGISTRY_GO_EXCLUDE/);
  await textError(await fetch(`${go}/corp.example.com/team/lib/@v/v1.0.0.zip`), 404);
  await textError(await fetch(`${go}/example.net/private/x/@v/list`), 404);
  assert.deepEqual(upstream.requests.filter((p) => !p.startsWith("sumdb/")), []);

  assert.equal((await fetch(`${go}/sumdb/sum.golang.org/supported`)).status, 200);
  const lookup = await fetch(`${go}/sumdb/sum.golang.org/lookup/example.org/pub@v1.0.0`);
  assert.equal(await lookup.text(), "123\nexample.org/pub\n");
  const privateLookup = await fetch(`${go}/sumdb/sum.golang.org/lookup/corp.example.com/team/lib@v1.0.0`);
  assert.match(await textError(privateLookup, 403), /GONOSUMDB/);
  assert.ok(!upstream.requests.some((p) => p.includes("corp.example.com")));
});

Deno.test("without an upstream the checksum database is not proxied, so the go command goes to it directly", async () => {
  await using t = await startTestServer();
  await textError(await fetch(`${t.url}/go/sumdb/sum.golang.org/supported`), 404);
});

Deno.test("module paths are stored under keys that keep nested modules apart", async () => {
  await using t = await startTestServer();
  await publishOk(t.url, "example.com/a", "v1.0.0");
  await publishOk(t.url, "example.com/a/index.json", "v1.0.0");
  await publishOk(t.url, "example.com/a/v1.0.0-x", "v1.0.0");
  for (const module of ["example.com/a", "example.com/a/index.json", "example.com/a/v1.0.0-x"]) {
    const zip = await fetch(`${t.url}/go/${escapeCase(module)}/@v/v1.0.0.zip`);
    assert.equal(zip.status, 200, module);
    await zip.body?.cancel();
  }
});

Deno.test("a malformed REGISTRY_GO_EXCLUDE is a config error naming the setting", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      loadConfig({ dataDir }, { REGISTRY_GO_EXCLUDE: "example.com/[" }),
      (error) =>
        error instanceof ConfigError &&
        /^REGISTRY_GO_EXCLUDE: malformed pattern "example\.com\/\["$/.test(error.message),
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
