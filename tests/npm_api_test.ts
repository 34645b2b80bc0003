import assert from "node:assert/strict";
import { join } from "node:path";
import { ADMIN_TOKEN, startTestServer, type TestServer, tokenConfig } from "./support/server.ts";
import { buildTarball, escaped, gzip, packageTarball, publishBody, type TarballEntry } from "./support/npm.ts";
import { walk } from "./support/files.ts";

const CI_TOKEN = "ci-token-publish-only-0123";
const ACME_TOKEN = "acme-token-scope-limited-0123";

function put(t: TestServer, path: string, body: string, token: string | null = ADMIN_TOKEN): Promise<Response> {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  return fetch(`${t.url}/npm/${path}`, { method: "PUT", headers, body });
}

async function publish(t: TestServer, name: string, version: string, tarball?: Uint8Array, token?: string) {
  const bytes = tarball ?? await packageTarball(name, version);
  return await put(t, escaped(name), publishBody(name, version, bytes), token);
}

async function publishOk(t: TestServer, name: string, version: string, tarball?: Uint8Array) {
  const response = await publish(t, name, version, tarball);
  assert.equal(response.status, 201, await response.text());
}

/** Asserts npm's error shape and status, and returns the message. */
async function npmError(response: Response, status: number): Promise<string> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
  const { error } = JSON.parse(text);
  assert.equal(typeof error, "string");
  return error;
}

/** Every stored file of the npm format (documents and tarballs). */
async function storedNpmFiles(t: TestServer): Promise<string[]> {
  try {
    return (await Array.fromAsync(walk(join(t.dataDir, "objects/npm")))).sort();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

/** Files left in the scratch area (each process's lock file aside). */
/** Uploads left in the upload scratch directory (the store's own writes in progress, e.g. a sweep's lease, are not uploads). */
async function stagedFiles(t: TestServer): Promise<string[]> {
  return (await Array.fromAsync(walk(join(t.dataDir, "tmp", "uploads")))).filter((f) => !f.endsWith(".lock"));
}

function withTokens() {
  return tokenConfig([
    { name: "ci", token: CI_TOKEN, scopes: ["read", "publish"] },
    { name: "acme", token: ACME_TOKEN, scopes: ["read", "publish"], packageScopes: ["acme"] },
  ]);
}

Deno.test("a packument is served under every spelling of a scoped name, full or abbreviated, with ETag and 304", async () => {
  await using t = await startTestServer();
  await publishOk(t, "@acme/hello", "1.0.0");
  const full = await fetch(`${t.url}/npm/@acme%2fhello`, { headers: { Accept: "application/json" } });
  assert.equal(full.status, 200);
  assert.equal(full.headers.get("content-type"), "application/json");
  const etag = full.headers.get("etag")!;
  const document = await full.json();
  assert.equal(document.name, "@acme/hello");
  assert.equal(document._rev.split("-")[0], "1");
  assert.equal(document.versions["1.0.0"].dist.tarball, `${t.url}/npm/@acme/hello/-/hello-1.0.0.tgz`);
  assert.equal(document.versions["1.0.0"].dist.fileCount, 2);
  assert.equal(document.versions["1.0.0"]._id, "@acme/hello@1.0.0");
  assert.ok(document.time["1.0.0"]);
  for (const spelling of ["@acme%2Fhello", "@acme/hello"]) {
    const again = await fetch(`${t.url}/npm/${spelling}`, { headers: { Accept: "application/json" } });
    assert.equal(again.headers.get("etag"), etag);
    assert.deepEqual(await again.json(), document);
  }
  const notModified = await fetch(`${t.url}/npm/@acme%2fhello`, { headers: { "If-None-Match": etag } });
  assert.equal(notModified.status, 304);
  assert.equal(notModified.headers.get("etag"), etag);
  await notModified.body?.cancel();

  // npm's Accept header names the abbreviated form with q-values: it is matched by substring.
  const corgi = await fetch(`${t.url}/npm/@acme/hello`, {
    headers: { Accept: "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*" },
  });
  assert.equal(corgi.headers.get("content-type"), "application/vnd.npm.install-v1+json");
  assert.notEqual(corgi.headers.get("etag"), etag);
  assert.equal(corgi.headers.get("vary"), "Accept");
  const abbreviated = await corgi.json();
  assert.deepEqual(Object.keys(abbreviated).sort(), ["dist-tags", "modified", "name", "versions"]);
  assert.equal(abbreviated.versions["1.0.0"].dist.integrity, document.versions["1.0.0"].dist.integrity);
  assert.equal(abbreviated.versions["1.0.0"].main, undefined);

  const head = await fetch(`${t.url}/npm/@acme%2fhello`, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("content-length"), String(new TextEncoder().encode(JSON.stringify(document)).length));
  await head.body?.cancel();

  const version = await fetch(`${t.url}/npm/@acme/hello/latest`);
  assert.equal((await version.json()).version, "1.0.0");
  assert.equal(await npmError(await fetch(`${t.url}/npm/@acme/nothing`), 404), "package @acme/nothing not found");
  assert.match(await npmError(await fetch(`${t.url}/npm/%E0%A4%A`), 400), /percent-encoded/);
  assert.match(await npmError(await fetch(`${t.url}/npm/..%2f..%2fetc`), 400), /not a valid npm package name/);
});

Deno.test("a tarball is served byte for byte, immutable, with its ETag and 304, under its URL in the packument", async () => {
  await using t = await startTestServer();
  const tarball = await packageTarball("plain", "1.0.0");
  await publishOk(t, "plain", "1.0.0", tarball);
  const url = (await (await fetch(`${t.url}/npm/plain`)).json()).versions["1.0.0"].dist.tarball;
  const response = await fetch(url);
  assert.equal(response.status, 200);
  assert.deepEqual(new Uint8Array(await response.arrayBuffer()), tarball);
  assert.match(response.headers.get("cache-control")!, /immutable/);
  const cached = await fetch(url, { headers: { "If-None-Match": response.headers.get("etag")! } });
  assert.equal(cached.status, 304);
  await cached.body?.cancel();
  const missing = await fetch(`${t.url}/npm/plain/-/plain-9.9.9.tgz`);
  assert.match(await npmError(missing, 404), /no tarball plain-9\.9\.9\.tgz/);
});

Deno.test("publishing needs a token allowed to publish, scope-limited tokens only to their scopes; unpublish needs admin", async () => {
  await using tokens = await withTokens();
  await using t = await startTestServer({ env: tokens.env });
  const anonymous = await put(t, "free", publishBody("free", "1.0.0", await packageTarball("free", "1.0.0")), null);
  assert.equal(anonymous.headers.get("www-authenticate"), 'Bearer realm="npm"');
  assert.match(await npmError(anonymous, 401), /authentication is required to publish free/);
  const unscoped = await publish(t, "free", "1.0.0", undefined, ACME_TOKEN);
  assert.match(await npmError(unscoped, 403), /token:acme may not publish free/);
  const otherScope = await publish(t, "@other/x", "1.0.0", undefined, ACME_TOKEN);
  assert.equal(otherScope.status, 403);
  await otherScope.body?.cancel();
  const own = await publish(t, "@acme/x", "1.0.0", undefined, ACME_TOKEN);
  assert.equal(own.status, 201, await own.text());
  const ci = await publish(t, "free", "1.0.0", undefined, CI_TOKEN);
  assert.equal(ci.status, 201, await ci.text());

  const rev = (await (await fetch(`${t.url}/npm/free?write=true`)).json())._rev;
  const removal = await fetch(`${t.url}/npm/free/-rev/${rev}`, {
    method: "DELETE",
    headers: { Authorization: `Bearer ${CI_TOKEN}` },
  });
  assert.match(await npmError(removal, 403), /token:ci may not admin free/);
  const stale = await fetch(`${t.url}/npm/free/-rev/0-stale`, {
    method: "DELETE",
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  assert.match(await npmError(stale, 409), /changed since revision 0-stale/);
  assert.equal((await fetch(`${t.url}/npm/free`)).status, 200);
});

Deno.test("a tampered publish is refused with npm's error shape and nothing is stored", async () => {
  await using t = await startTestServer();
  const tarball = await packageTarball("tampered", "1.0.0");
  const cases: [string, (body: Record<string, unknown>) => void, number, RegExp][] = [
    [
      "wrong sha512",
      (b) => {
        manifestOf(b).dist.integrity = `sha512-${btoa("x".repeat(64))}`;
      },
      400,
      /does not match dist\.integrity/,
    ],
    [
      "wrong sha1",
      (b) => {
        manifestOf(b).dist.shasum = "0".repeat(40);
      },
      400,
      /does not match dist\.shasum/,
    ],
    [
      "no integrity",
      (b) => {
        delete manifestOf(b).dist.integrity;
      },
      400,
      /dist\.integrity must hold/,
    ],
    [
      "wrong length",
      (b) => {
        (Object.values(b._attachments as object)[0] as { length: number }).length = 5;
      },
      400,
      /but its length says 5/,
    ],
    [
      "not base64",
      (b) => {
        (Object.values(b._attachments as object)[0] as { data: string }).data = "!!!!";
      },
      400,
      /not valid base64/,
    ],
    [
      "two versions",
      (b) => {
        (b.versions as Record<string, unknown>)["1.0.1"] = manifestOf(b);
      },
      400,
      /exactly one version/,
    ],
    [
      "another name in the body",
      (b) => {
        b.name = "other";
      },
      400,
      /publishes "other" to the URL of tampered/,
    ],
    [
      "a version that is no semver",
      (b) => {
        b.versions = { "1.0": { ...manifestOf(b), version: "1.0" } };
      },
      400,
      /"1\.0" is not a valid semantic version/,
    ],
    [
      "a tag that is a range",
      (b) => {
        b["dist-tags"] = { "1.x": "1.0.0" };
      },
      400,
      /reads as a version range/,
    ],
  ];
  for (const [what, change, status, message] of cases) {
    const response = await put(t, "tampered", publishBody("tampered", "1.0.0", tarball, {}, change));
    assert.match(await npmError(response, status), message, what);
  }
  const broken = await put(t, "tampered", '{"name": "tampered", "versions": {');
  assert.match(await npmError(broken, 400), /not valid JSON/);
  assert.deepEqual(await storedNpmFiles(t), []);
  assert.deepEqual(await stagedFiles(t), []);
});

function manifestOf(body: Record<string, unknown>): { dist: Record<string, unknown> } & Record<string, unknown> {
  return Object.values(body.versions as Record<string, never>)[0];
}

Deno.test("hostile tarballs are refused with a clear error and nothing is stored", async () => {
  await using t = await startTestServer({ env: { REGISTRY_MAX_UNCOMPRESSED_BYTES: "64MiB" } });
  const pj = (name = "hostile", version = "1.0.0") => ({
    name: "package/package.json",
    content: JSON.stringify({ name, version }),
  });
  const tar = (entries: TarballEntry[]) => buildTarball(entries);
  const zeros = new Uint8Array(80 * 1024 * 1024);
  const cases: [string, Promise<Uint8Array>, number, RegExp][] = [
    ["traversal", tar([pj(), { name: "package/../../etc/passwd", content: "x" }]), 422, /not a safe relative path/],
    ["absolute path", tar([pj(), { name: "/etc/passwd", content: "x" }]), 422, /not a safe relative path/],
    ["outside package/", tar([pj(), { name: "other/file.js", content: "x" }]), 422, /lies outside "package\/"/],
    [
      "symlink out",
      tar([pj(), { name: "package/link", type: "symlink", linkname: "../../../etc/passwd" }]),
      422,
      /symlink "package\/link" points outside/,
    ],
    [
      "symlink leaving package/ and coming back into a directory of that name",
      tar([pj(), { name: "package/link", type: "symlink", linkname: "../package/package.json" }]),
      422,
      /symlink "package\/link" points outside "package\/"/,
    ],
    [
      "absolute symlink",
      tar([pj(), { name: "package/link", type: "symlink", linkname: "/etc/passwd" }]),
      422,
      /points outside/,
    ],
    [
      "hard link out",
      tar([pj(), { name: "package/hard", type: "link", linkname: "/etc/passwd" }]),
      422,
      /hard link "package\/hard" must point to a file/,
    ],
    [
      "entry inside a symlinked directory",
      tar([
        pj(),
        { name: "package/lib", type: "symlink", linkname: "." },
        { name: "package/lib/evil.js", content: "x" },
      ]),
      422,
      /lies inside the symlink "package\/lib"/,
    ],
    ["a device", tar([pj(), { name: "package/dev", type: "character-device" }]), 422, /is a character-device/],
    ["a fifo", tar([pj(), { name: "package/pipe", type: "fifo" }]), 422, /is a fifo/],
    [
      "case collision",
      tar([pj(), { name: "package/Readme.md", content: "a" }, { name: "package/README.md", content: "b" }]),
      422,
      /differ only by case/,
    ],
    [
      "duplicate",
      tar([pj(), { name: "package/a.js", content: "a" }, { name: "package/a.js", content: "b" }]),
      422,
      /more than once/,
    ],
    ["gzip bomb", tar([pj(), { name: "package/zeros.bin", content: zeros }]), 422, /inflates more than 200 times/],
    ["name mismatch", tar([pj("someone-else")]), 422, /package\.json is "someone-else"@"1\.0\.0", not hostile@1\.0\.0/],
    ["version mismatch", tar([pj("hostile", "6.6.6")]), 422, /not hostile@1\.0\.0/],
    ["no package.json", tar([{ name: "package/index.js", content: "" }]), 422, /has no package\/package\.json/],
    ["not gzip", Promise.resolve(new TextEncoder().encode("just text")), 422, /not gzip-compressed/],
    ["not tar", gzip(new TextEncoder().encode("x".repeat(2000))), 422, /not a valid tar archive/],
  ];
  for (const [what, bytes, status, message] of cases) {
    const response = await put(t, "hostile", publishBody("hostile", "1.0.0", await bytes));
    assert.match(await npmError(response, status), message, what);
  }
  assert.deepEqual(await storedNpmFiles(t), []);

  // Links that stay inside package/ are fine (npm itself skips links when it extracts).
  const linked = await tar([
    pj(),
    { name: "package/lib/real.js", content: "x" },
    { name: "package/alias.js", type: "symlink", linkname: "lib/real.js" },
    { name: "package/copy.js", type: "link", linkname: "package/lib/real.js" },
  ]);
  const ok = await put(t, "hostile", publishBody("hostile", "1.0.0", linked));
  assert.equal(ok.status, 201, await ok.text());
});

Deno.test("a tarball inflating past REGISTRY_MAX_UNCOMPRESSED_BYTES is refused with 413, whatever its ratio", async () => {
  await using t = await startTestServer({
    env: { REGISTRY_MAX_COMPRESSION_RATIO: "100000", REGISTRY_MAX_UNCOMPRESSED_BYTES: "8MiB" },
  });
  const tarball = await packageTarball("bomb", "1.0.0", [
    { name: "package/zeros.bin", content: new Uint8Array(10 * 1024 * 1024) },
  ]);
  const response = await put(t, "bomb", publishBody("bomb", "1.0.0", tarball));
  assert.match(await npmError(response, 413), /inflates to more than 8388608 bytes/);
  assert.deepEqual(await storedNpmFiles(t), []);
});

Deno.test("new package names follow npm's rules; old spellings can still be read", async () => {
  await using t = await startTestServer();
  const upper = await publish(t, "JSONThing", "1.0.0");
  assert.match(await npmError(upper, 400), /new package names are lower case/);
  assert.equal(await npmError(await fetch(`${t.url}/npm/JSONThing`), 404), "package JSONThing not found");
  assert.match(await npmError(await fetch(`${t.url}/npm/node_modules`), 400), /not a valid npm package name/);
});

Deno.test("metadata updates change deprecations only, and refuse versions that have no tarball", async () => {
  await using t = await startTestServer();
  await publishOk(t, "meta", "1.0.0");
  const packument = await (await fetch(`${t.url}/npm/meta?write=true`)).json();
  packument.versions["1.0.0"].deprecated = "old";
  packument.versions["1.0.0"].dependencies = { evil: "*" };
  packument.description = "changed";
  const response = await put(t, "meta", JSON.stringify(packument));
  assert.equal(response.status, 200, await response.text());
  const after = await (await fetch(`${t.url}/npm/meta`)).json();
  assert.equal(after.versions["1.0.0"].deprecated, "old");
  assert.equal(after.versions["1.0.0"].dependencies, undefined);
  assert.equal(after.description, undefined);

  packument.versions["2.0.0"] = { ...packument.versions["1.0.0"], version: "2.0.0" };
  assert.match(await npmError(await put(t, "meta", JSON.stringify(packument)), 400), /has no version 2\.0\.0/);
  const anonymous = await put(t, "meta", JSON.stringify(packument), null);
  assert.equal(anonymous.status, 401);
  await anonymous.body?.cancel();
});

Deno.test("dist-tags over HTTP: get, add, remove, with npm's errors for unknown versions and latest", async () => {
  await using t = await startTestServer();
  await publishOk(t, "@acme/tagged", "1.0.0");
  const tags = (method = "GET", tag = "", body?: string) =>
    fetch(`${t.url}/npm/-/package/@acme%2ftagged/dist-tags${tag ? `/${tag}` : ""}`, {
      method,
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
      body,
    });
  assert.deepEqual(await (await tags()).json(), { latest: "1.0.0" });
  assert.equal((await tags("PUT", "stable", '"1.0.0"')).status, 201);
  assert.deepEqual(await (await tags()).json(), { latest: "1.0.0", stable: "1.0.0" });
  assert.match(await npmError(await tags("PUT", "beta", '"3.0.0"'), 404), /version 3\.0\.0 of @acme\/tagged not found/);
  assert.match(await npmError(await tags("DELETE", "latest"), 400), /"latest" tag cannot be removed/);
  assert.match(await npmError(await tags("PUT", "1.x", '"1.0.0"'), 400), /reads as a version range/);
  assert.equal((await tags("DELETE", "stable")).status, 200);
  assert.match(await npmError(await tags("DELETE", "stable"), 404), /no dist-tag "stable"/);
});

Deno.test("a tarball over REGISTRY_MAX_ARCHIVE_BYTES is refused with 413 while it streams in, and nothing is kept", async () => {
  await using t = await startTestServer({ env: { REGISTRY_MAX_ARCHIVE_BYTES: "64KiB" } });
  const random = crypto.getRandomValues(new Uint8Array(60_000));
  const tarball = await packageTarball("big", "1.0.0", [
    { name: "package/a.bin", content: random },
    { name: "package/b.bin", content: crypto.getRandomValues(new Uint8Array(60_000)) },
  ]);
  const response = await put(t, "big", publishBody("big", "1.0.0", tarball));
  assert.match(await npmError(response, 413), /over the 65536-byte limit/);
  assert.deepEqual(await storedNpmFiles(t), []);
  assert.deepEqual(await stagedFiles(t), []);
});

Deno.test("search finds only packages the caller may read", async () => {
  const dir = await Deno.makeTempDir();
  const plugin = join(dir, "hide-secret.js");
  await Deno.writeTextFile(
    plugin,
    `export default () => ({ name: "hide-secret", auth: {
      authenticate: () => "abstain",
      authorize: (who, action, pkg) => action === "read" && pkg?.scope === "secret" && who === null ? "deny" : "abstain",
    } });`,
  );
  try {
    await using t = await startTestServer({ env: { REGISTRY_PLUGINS: plugin } });
    await publishOk(t, "@secret/thing", "1.0.0");
    await publishOk(t, "@open/thing", "1.0.0");
    const names = async (token?: string) => {
      const response = await fetch(`${t.url}/npm/-/v1/search?text=thing`, {
        headers: token ? { Authorization: `Bearer ${token}` } : {},
      });
      return (await response.json()).objects.map((o: { package: { name: string } }) => o.package.name).sort();
    };
    assert.deepEqual(await names(), ["@open/thing"]);
    assert.deepEqual(await names(ADMIN_TOKEN), ["@open/thing", "@secret/thing"]);
    const hidden = await fetch(`${t.url}/npm/@secret%2fthing`);
    assert.equal(hidden.status, 401);
    await hidden.body?.cancel();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("with REGISTRY_PUBLIC_URL, tarball URLs are built from it (a registry behind a proxy, under a path)", async () => {
  await using t = await startTestServer({ env: { REGISTRY_PUBLIC_URL: "https://registry.example.com/base" } });
  await publishOk(t, "@acme/hello", "1.0.0");
  for (const accept of ["application/json", "application/vnd.npm.install-v1+json"]) {
    const packument = await (await fetch(`${t.url}/npm/@acme%2fhello`, { headers: { Accept: accept } })).json();
    assert.equal(
      packument.versions["1.0.0"].dist.tarball,
      "https://registry.example.com/base/npm/@acme/hello/-/hello-1.0.0.tgz",
      accept,
    );
  }
  const version = await (await fetch(`${t.url}/npm/@acme%2fhello/1.0.0`)).json();
  assert.equal(version.dist.tarball, "https://registry.example.com/base/npm/@acme/hello/-/hello-1.0.0.tgz");
});
