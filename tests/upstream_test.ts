import assert from "node:assert/strict";
import { packageZip } from "./support/archives.ts";
import { walk } from "./support/files.ts";
import { ADMIN_TOKEN, get, problem, publish, sha256Hex, startTestServer, type TestServer } from "./support/server.ts";

const SWIFT_ACCEPT = "application/vnd.swift.registry.v1+swift";
const ZIP_ACCEPT = "application/vnd.swift.registry.v1+zip";

async function publishOk(t: TestServer, path: string, archive: Uint8Array, metadata?: unknown): Promise<void> {
  const response = await publish(t.swift, path, { archive, metadata });
  assert.equal(response.status, 201, await response.text());
}

/** GET requests the central registry's access log shows for `path` (no query). */
function served(t: TestServer, path: string): number {
  return t.logs.map((line) => JSON.parse(line))
    .filter((l) => l.msg === "request" && l.method === "GET" && l.path === path).length;
}

/** An edge in front of `central`, with a clock the test moves. */
function startEdge(central: TestServer, clock: { now: number }, env: Record<string, string> = {}) {
  return startTestServer({
    env: { REGISTRY_SWIFT_UPSTREAM: central.swift, REGISTRY_UPSTREAM_TTL: "1m", ...env },
    now: () => clock.now,
  });
}

async function json(response: Response): Promise<Record<string, unknown>> {
  assert.equal(response.status, 200, await response.clone().text());
  assert.equal(response.headers.get("content-version"), "1");
  assert.equal(response.headers.get("content-type"), "application/json");
  return await response.json();
}

async function bytes(response: Response): Promise<Uint8Array> {
  assert.equal(response.status, 200, response.url);
  return new Uint8Array(await response.arrayBuffer());
}

Deno.test("an edge serves SwiftPM's requests from its central registry, then keeps serving them when it stops", async () => {
  const clock = { now: Date.parse("2026-06-01T00:00:00Z") };
  // The central registry requires credentials to read; the edge has a token for it.
  await using central = await startTestServer({ env: { REGISTRY_REQUIRE_AUTH_FOR_READ: "true" } });
  const repositoryURLs = ["https://github.com/mona/LinkedList", "git@github.com:mona/LinkedList.git"];
  const metadata = { description: "One thing links to another.", author: { name: "Mona" }, repositoryURLs };
  const archive = await packageZip({ alternates: { "5.8": "5.8", "6": "6.0" } });
  await publishOk(central, "mona/LinkedList/1.0.0", await packageZip(), metadata);
  await publishOk(central, "mona/LinkedList/1.1.0", archive, metadata);
  await using edge = await startEdge(central, clock, { REGISTRY_SWIFT_UPSTREAM_TOKEN: ADMIN_TOKEN });
  const pkg = `${edge.swift}/mona/LinkedList`;

  const swiftpmReads = async () => {
    const list = await get(pkg);
    assert.deepEqual(await json(list), {
      releases: { "1.1.0": { url: `${pkg}/1.1.0` }, "1.0.0": { url: `${pkg}/1.0.0` } },
    });
    assert.equal(
      list.headers.get("link"),
      `<${pkg}/1.1.0>; rel="latest-version", <https://github.com/mona/LinkedList>; rel="canonical", ` +
        `<git@github.com:mona/LinkedList.git>; rel="alternate"`,
    );
    const release = await get(`${pkg}/1.1.0`);
    const body = await json(release);
    assert.equal(body.id, "mona.LinkedList");
    assert.equal(body.version, "1.1.0");
    assert.deepEqual(body.resources, [{
      name: "source-archive",
      type: "application/zip",
      checksum: await sha256Hex(archive),
    }]);
    assert.deepEqual(body.metadata, metadata);
    assert.equal(
      release.headers.get("link"),
      `<${pkg}/1.1.0>; rel="latest-version", <${pkg}/1.0.0>; rel="predecessor-version"`,
    );

    const manifest = await get(`${pkg}/1.1.0/Package.swift`, { accept: SWIFT_ACCEPT });
    assert.equal(manifest.status, 200);
    assert.equal(manifest.headers.get("content-type"), "text/x-swift");
    assert.equal(manifest.headers.get("content-version"), "1");
    assert.match(await manifest.text(), /^\/\/ swift-tools-version:5\.9\n/);
    assert.deepEqual(manifest.headers.get("link")!.split(", "), [
      `<${pkg}/1.1.0/Package.swift?swift-version=5.8>; rel="alternate"; filename="Package@swift-5.8.swift"; swift-tools-version="5.8"`,
      `<${pkg}/1.1.0/Package.swift?swift-version=6>; rel="alternate"; filename="Package@swift-6.swift"; swift-tools-version="6.0"`,
    ]);
    // SwiftPM asks for the alternate it picked as M.m.p.
    const alternate = await get(`${pkg}/1.1.0/Package.swift?swift-version=6.0.0`, { accept: SWIFT_ACCEPT });
    assert.equal(alternate.status, 200);
    assert.equal(alternate.headers.get("content-disposition"), 'attachment; filename="Package@swift-6.swift"');
    assert.match(await alternate.text(), /swift-tools-version:6\.0/);
    const none = await get(`${pkg}/1.1.0/Package.swift?swift-version=4.2`, { redirect: "manual" });
    assert.equal(none.status, 303);
    assert.equal(none.headers.get("location"), `${pkg}/1.1.0/Package.swift`);

    const zip = await get(`${pkg}/1.1.0.zip`, { accept: ZIP_ACCEPT });
    assert.deepEqual(await bytes(zip), archive);
    assert.equal(zip.headers.get("content-type"), "application/zip");
    assert.equal(zip.headers.get("etag"), `"${await sha256Hex(archive)}"`);
    assert.equal(zip.headers.get("content-length"), String(archive.length));

    const identifiers = await get(`${edge.swift}/identifiers?url=git@github.com:mona/LinkedList.git`);
    assert.deepEqual(await json(identifiers), { identifiers: ["mona.LinkedList"] });
  };
  await swiftpmReads();
  assert.equal(served(central, "/swift/mona/LinkedList/1.1.0.zip"), 1);
  assert.ok(edge.logs.every((line) => !line.includes(ADMIN_TOKEN)), "the upstream token is never logged");

  // The central registry goes away: what the edge has is still served, within the TTL and after it.
  await central.close();
  await swiftpmReads();
  clock.now += 5 * 60_000;
  await swiftpmReads();
  assert.ok(edge.logs.some((line) => line.includes("serving a stale copy")));

  // What it never fetched is a clear 502, at once.
  for (const path of ["mona/LinkedList/1.0.0.zip", "mona/Other", "other/Thing/1.0.0"]) {
    const missing = await get(`${edge.swift}/${path}`);
    assert.equal(missing.status, 502, path);
    assert.equal(missing.headers.get("retry-after"), "5");
    assert.match((await problem(missing)).detail, /upstream cannot be reached/);
  }
});

Deno.test("an edge without the central registry's token gets 502, not the packages", async () => {
  await using central = await startTestServer({ env: { REGISTRY_REQUIRE_AUTH_FOR_READ: "true" } });
  await publishOk(central, "mona/LinkedList/1.0.0", await packageZip());
  await using edge = await startEdge(central, { now: Date.now() });
  const response = await get(`${edge.swift}/mona/LinkedList`);
  assert.equal(response.status, 502);
  assert.match((await problem(response)).detail, /answered 401/);
});

Deno.test("concurrent misses of one archive make one download from the upstream", async () => {
  await using central = await startTestServer();
  const archive = await packageZip({ extra: [{ name: "LinkedList/blob", content: "x".repeat(300_000) }] });
  await publishOk(central, "mona/LinkedList/1.0.0", archive);
  await using edge = await startEdge(central, { now: Date.now() });
  const downloads = await Promise.all(
    Array.from({ length: 20 }, () => get(`${edge.swift}/mona/LinkedList/1.0.0.zip`, { accept: ZIP_ACCEPT })),
  );
  for (const response of downloads) assert.deepEqual(await bytes(response), archive);
  assert.equal(served(central, "/swift/mona/LinkedList/1.0.0.zip"), 1);
  assert.equal(served(central, "/swift/mona/LinkedList/1.0.0"), 1, "and one metadata request");
});

Deno.test("an upstream's paged release list is merged and paged again on the edge's own terms", async () => {
  await using central = await startTestServer({ env: { REGISTRY_SWIFT_PAGE_SIZE: "2" } });
  for (const version of ["1.0.0", "1.1.0", "1.2.0", "2.0.0", "2.1.0"]) {
    await publishOk(central, `mona/LinkedList/${version}`, await packageZip());
  }
  await using edge = await startEdge(central, { now: Date.now() }, { REGISTRY_SWIFT_PAGE_SIZE: "3" });
  const first = await get(`${edge.swift}/mona/LinkedList`);
  assert.deepEqual(Object.keys((await json(first)).releases as object), ["2.1.0", "2.0.0", "1.2.0"]);
  assert.match(first.headers.get("link")!, new RegExp(`<${edge.swift}/mona/LinkedList\\?page=2>; rel="next"`));
  const second = await get(`${edge.swift}/mona/LinkedList?page=2`);
  assert.deepEqual(Object.keys((await json(second)).releases as object), ["1.1.0", "1.0.0"]);
  assert.equal(served(central, "/swift/mona/LinkedList"), 3, "every upstream page, once");
});

Deno.test("lists and metadata revalidate after REGISTRY_UPSTREAM_TTL: new releases, yanks and takedowns reach the edge", async () => {
  const clock = { now: Date.parse("2026-06-01T00:00:00Z") };
  await using central = await startTestServer();
  const archive = await packageZip();
  await publishOk(central, "mona/LinkedList/1.0.0", archive);
  await publishOk(central, "mona/LinkedList/1.1.0", await packageZip());
  await using edge = await startEdge(central, clock);
  const versions = async () => Object.keys((await json(await get(`${edge.swift}/mona/LinkedList`))).releases as object);
  assert.deepEqual(await versions(), ["1.1.0", "1.0.0"]);
  assert.deepEqual(await bytes(await get(`${edge.swift}/mona/LinkedList/1.0.0.zip`)), archive);

  await publishOk(central, "mona/LinkedList/1.2.0", await packageZip());
  const admin = { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" };
  const yank = await fetch(`${central.swift}/-/yank/mona/LinkedList/1.1.0`, {
    method: "POST",
    headers: admin,
    body: JSON.stringify({ reason: "regression" }),
  });
  await yank.body?.cancel();
  clock.now += 30_000;
  assert.deepEqual(await versions(), ["1.1.0", "1.0.0"], "fresh for the TTL");
  clock.now += 31_000;
  assert.deepEqual(await versions(), ["1.2.0", "1.1.0", "1.0.0"]);
  const listed = (await json(await get(`${edge.swift}/mona/LinkedList`))).releases as Record<
    string,
    { problem?: { status: number; detail: string } }
  >;
  assert.equal(listed["1.1.0"].problem?.status, 410, "the upstream's yank passes through");
  assert.match(listed["1.1.0"].problem!.detail, /yanked: regression/);

  const takedown = await fetch(`${central.swift}/-/takedown/mona/LinkedList/1.0.0`, {
    method: "POST",
    headers: admin,
    body: JSON.stringify({ reason: "legal" }),
  });
  await takedown.body?.cancel();
  clock.now += 61_000;
  for (const path of ["1.0.0", "1.0.0.zip"]) {
    const gone = await get(`${edge.swift}/mona/LinkedList/${path}`);
    assert.equal(gone.status, 410, path);
    assert.match((await problem(gone)).detail, /taken down: legal/);
  }
  const kept: string[] = [];
  for await (const file of walk(`${edge.dataDir}/objects/upstream/swift/archives`)) {
    if (file.endsWith(".zip")) kept.push(file);
  }
  assert.equal(kept.some((f) => f.includes("/1.0.0/")), false, "the edge dropped its copy of the taken-down archive");
});

Deno.test("a scope with local packages is never filled from the upstream; REGISTRY_SWIFT_UPSTREAM_SCOPES narrows the rest", async () => {
  await using central = await startTestServer();
  const repositoryURLs = ["https://github.com/mycorp/newthing"];
  await publishOk(central, "mycorp/newthing/1.0.0", await packageZip(), { repositoryURLs });
  await publishOk(central, "mona/LinkedList/1.0.0", await packageZip());
  await publishOk(central, "other/Thing/1.0.0", await packageZip());
  const dataDir = await Deno.makeTempDir({ prefix: "edge-" });
  try {
    {
      await using edge = await startTestServer({ dataDir, env: { REGISTRY_SWIFT_UPSTREAM: central.swift } });
      await publishOk(edge, "mycorp/internal/1.0.0", await packageZip());
      for (const path of ["mycorp/newthing", "mycorp/newthing/1.0.0", "mycorp/newthing/1.0.0.zip"]) {
        const refused = await get(`${edge.swift}/${path}`);
        assert.equal(refused.status, 404, path);
        await problem(refused);
      }
      const ids = await get(`${edge.swift}/identifiers?url=https://github.com/mycorp/newthing`);
      assert.equal(ids.status, 404, "no identifier for a package that cannot be served");
      await ids.body?.cancel();
      assert.equal((await get(`${edge.swift}/mona/LinkedList`)).status, 200);

      // A local publish makes the scope local: what came from the upstream stops being served.
      await publishOk(edge, "mona/Local/1.0.0", await packageZip());
      const now404 = await get(`${edge.swift}/mona/LinkedList`);
      assert.equal(now404.status, 404);
      await now404.body?.cancel();
    }
    // Data from before scopes were marked: the scope is found local by looking at storage, and marked.
    await Deno.remove(`${dataDir}/objects/swift/scopes/mycorp.json`);
    await using restarted = await startTestServer({ dataDir, env: { REGISTRY_SWIFT_UPSTREAM: central.swift } });
    const legacy = await get(`${restarted.swift}/mycorp/newthing`);
    assert.equal(legacy.status, 404);
    await legacy.body?.cancel();
    await Deno.stat(`${dataDir}/objects/swift/scopes/mycorp.json`);

    await using narrowed = await startTestServer({
      env: { REGISTRY_SWIFT_UPSTREAM: central.swift, REGISTRY_SWIFT_UPSTREAM_SCOPES: "MONA, mycorp" },
    });
    assert.equal((await get(`${narrowed.swift}/mona/LinkedList`)).status, 200);
    const other = await get(`${narrowed.swift}/other/Thing`);
    assert.equal(other.status, 404);
    await other.body?.cancel();
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("packages filled from the upstream are in the catalog with origin upstream, and search finds them", async () => {
  await using central = await startTestServer();
  await publishOk(central, "mona/LinkedList/1.0.0", await packageZip(), {
    description: "One thing links to another.",
    author: { name: "Mona" },
  });
  await using edge = await startEdge(central, { now: Date.now() });
  const before = await get(`${edge.swift}/search?q=linked&limit=20&offset=0`);
  assert.deepEqual((await json(before)).results, [], "nothing filled yet");
  await (await get(`${edge.swift}/MONA/linkedlist`)).body?.cancel();
  const found = await json(await get(`${edge.swift}/search?q=links&limit=20&offset=0`));
  assert.deepEqual(found.results, [{
    identity: "mona.LinkedList",
    summary: "One thing links to another.",
    latestVersion: "1.0.0",
    author: "Mona",
    url: `${edge.swift}/mona/LinkedList`,
  }]);
  const catalog = JSON.parse(await Deno.readTextFile(`${edge.dataDir}/objects/catalog/swift.json`));
  assert.equal(catalog.entries["mona/linkedlist"].origin, "upstream");
  const pkg = await json(await get(`${edge.swift}/search?q=pkg:swift/mona/LinkedList@1.0.0&limit=20&offset=0`));
  assert.equal(pkg.total, 1);
});

/**
 * A stand-in upstream registry on 127.0.0.1 serving one release whose
 * metadata states `checksum` (and a signature) for `archive`.
 */
function fakeRegistry(release: { archive: Uint8Array; checksum: () => string }) {
  const requests: string[] = [];
  const signing = { signatureBase64Encoded: "MEUCIQD+signature+bytes/==", signatureFormat: "cms-1.0.0" };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const path = new URL(request.url).pathname;
    requests.push(path);
    const headers = { "Content-Type": "application/json", "Content-Version": "1" };
    if (path === "/mona/Signed") return Response.json({ releases: { "1.0.0": {} } }, { headers });
    if (path === "/mona/Signed/1.0.0") {
      return Response.json({
        id: "mona.Signed",
        version: "1.0.0",
        resources: [{ name: "source-archive", type: "application/zip", checksum: release.checksum(), signing }],
        metadata: {},
      }, { headers });
    }
    if (path === "/mona/Signed/1.0.0.zip") {
      return new Response(release.archive.slice(), { headers: { "Content-Type": "application/zip" } });
    }
    return new Response(JSON.stringify({ detail: "not found" }), { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    signing,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test("an archive whose bytes do not match the upstream's checksum is refused and never stored", async () => {
  const archive = await packageZip();
  await using fake = fakeRegistry({ archive, checksum: () => "0".repeat(64) });
  await using edge = await startTestServer({ env: { REGISTRY_SWIFT_UPSTREAM: fake.url } });
  for (let attempt = 1; attempt <= 2; attempt++) {
    const response = await get(`${edge.swift}/mona/Signed/1.0.0.zip`);
    assert.equal(response.status, 502);
    assert.match((await problem(response)).detail, /does not match its sha256; it was not stored/);
    assert.equal(fake.requests.filter((p) => p.endsWith(".zip")).length, attempt, "asked again: nothing was kept");
  }
  const stored: string[] = [];
  for await (const file of walk(`${edge.dataDir}/objects`)) if (file.endsWith(".zip")) stored.push(file);
  assert.deepEqual(stored, []);
});

Deno.test("signatures pass through byte for byte, and the first checksum seen stays pinned", async () => {
  const archive = await packageZip();
  let checksum = await sha256Hex(archive);
  await using fake = fakeRegistry({ archive, checksum: () => checksum });
  const clock = { now: Date.parse("2026-06-01T00:00:00Z") };
  await using edge = await startTestServer({
    env: { REGISTRY_SWIFT_UPSTREAM: fake.url, REGISTRY_UPSTREAM_TTL: "1m" },
    now: () => clock.now,
  });
  const metadata = async () => (await json(await get(`${edge.swift}/mona/Signed/1.0.0`))).resources;
  const pinned = [{ name: "source-archive", type: "application/zip", checksum, signing: fake.signing }];
  assert.deepEqual(await metadata(), pinned);
  const zip = await get(`${edge.swift}/mona/Signed/1.0.0.zip`);
  assert.deepEqual(await bytes(zip), archive);
  assert.equal(zip.headers.get("x-swift-package-signature-format"), "cms-1.0.0");
  assert.equal(zip.headers.get("x-swift-package-signature"), fake.signing.signatureBase64Encoded);

  // The upstream now claims other bytes for the same version: clients keep getting the first ones (TOFU).
  checksum = "f".repeat(64);
  clock.now += 2 * 60_000;
  assert.deepEqual(await metadata(), pinned);
  assert.deepEqual(await bytes(await get(`${edge.swift}/mona/Signed/1.0.0.zip`)), archive);
  assert.ok(edge.logs.some((line) => line.includes("the upstream changed the checksum of a release")));
});
