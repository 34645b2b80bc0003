import assert from "node:assert/strict";
import { packageZip } from "./support/archives.ts";
import { get, problem, publish, sha256Hex, startTestServer, type TestServer } from "./support/server.ts";

async function publishOk(t: TestServer, path: string, archive: Uint8Array, metadata?: unknown): Promise<void> {
  const response = await publish(t.swift, path, { archive, metadata });
  assert.equal(response.status, 201, await response.text());
}

Deno.test("list releases: highest first, .json alias, case-insensitive, Link latest/canonical/alternate", async () => {
  await using t = await startTestServer();
  const repositoryURLs = ["https://github.com/mona/LinkedList", "git@github.com:mona/LinkedList.git"];
  for (const version of ["1.0.0", "1.10.0", "1.2.0", "2.0.0-beta.1"]) {
    await publishOk(t, `mona/LinkedList/${version}`, await packageZip(), { repositoryURLs });
  }
  for (const path of ["mona/LinkedList", "mona/LinkedList.json", "MONA/linkedlist"]) {
    const response = await get(`${t.swift}/${path}`);
    assert.equal(response.status, 200, path);
    assert.equal(response.headers.get("content-type"), "application/json");
    assert.equal(response.headers.get("content-version"), "1");
    const body = await response.json();
    assert.deepEqual(Object.keys(body.releases), ["2.0.0-beta.1", "1.10.0", "1.2.0", "1.0.0"]);
    assert.equal(body.releases["1.2.0"].url, `${t.swift}/mona/LinkedList/1.2.0`);
    assert.equal(
      response.headers.get("link"),
      `<${t.swift}/mona/LinkedList/2.0.0-beta.1>; rel="latest-version", ` +
        `<https://github.com/mona/LinkedList>; rel="canonical", ` +
        `<git@github.com:mona/LinkedList.git>; rel="alternate"`,
    );
  }
});

Deno.test("list releases: more than REGISTRY_SWIFT_PAGE_SIZE releases are paged, newest first, as SwiftPM follows next", async () => {
  await using t = await startTestServer({ env: { REGISTRY_SWIFT_PAGE_SIZE: "2" } });
  const versions = ["1.0.0", "1.1.0", "1.10.0", "2.0.0-beta.1", "1.2.0"];
  for (const version of versions) await publishOk(t, `mona/LinkedList/${version}`, await packageZip());
  const pkg = `${t.swift}/mona/LinkedList`;

  // What SwiftPM 6.2+ does: follow a bare `<url>; rel="next"` until there is none, merging pages.
  const seen: string[] = [];
  let url: string | undefined = pkg;
  let pages = 0;
  while (url !== undefined) {
    const response = await get(url);
    assert.equal(response.status, 200, url);
    seen.push(...Object.keys((await response.json()).releases));
    const links = response.headers.get("link")!.split(", ");
    for (const value of links) assert.equal(value.split(";").length, 2, value);
    url = links.find((l) => l.endsWith('; rel="next"'))?.slice(1, -'>; rel="next"'.length);
    pages++;
  }
  assert.equal(pages, 3);
  assert.deepEqual(seen, ["2.0.0-beta.1", "1.10.0", "1.2.0", "1.1.0", "1.0.0"]);

  const middle = await get(`${pkg}?page=2`);
  await middle.body?.cancel();
  assert.equal(
    middle.headers.get("link"),
    `<${pkg}/2.0.0-beta.1>; rel="latest-version", <${pkg}?page=1>; rel="first", <${pkg}?page=1>; rel="prev", ` +
      `<${pkg}?page=3>; rel="next", <${pkg}?page=3>; rel="last"`,
  );
  const past = await get(`${pkg}?page=4`);
  assert.equal(past.status, 404);
  await problem(past);
  for (const page of ["0", "-1", "two", "1.5"]) {
    const bad = await get(`${pkg}?page=${page}`);
    assert.equal(bad.status, 400, page);
    await problem(bad);
  }
  // One page: no pagination links at all.
  await using single = await startTestServer();
  await publishOk(single, "mona/LinkedList/1.0.0", await packageZip());
  const only = await get(`${single.swift}/mona/LinkedList`);
  await only.body?.cancel();
  assert.equal(only.headers.get("link"), `<${single.swift}/mona/LinkedList/1.0.0>; rel="latest-version"`);
});

Deno.test("list releases: unknown package is 404, invalid scope or name is 400", async () => {
  await using t = await startTestServer();
  const missing = await get(`${t.swift}/mona/Nothing`);
  assert.equal(missing.status, 404);
  await problem(missing);
  for (
    const path of [
      "-mona/LinkedList",
      "mo--na/LinkedList",
      "mona/Linked.List",
      "mona/_LinkedList",
      `${"a".repeat(40)}/x`,
    ]
  ) {
    const response = await get(`${t.swift}/${path}`);
    assert.equal(response.status, 400, path);
    await problem(response);
  }
});

Deno.test("release metadata: id, version, resources, metadata, whole-second publishedAt, neighbour links", async () => {
  await using t = await startTestServer();
  const metadata = {
    description: "A linked list",
    author: { name: "Mona" },
    repositoryURLs: ["https://github.com/mona/LinkedList"],
  };
  const archives = new Map<string, Uint8Array<ArrayBuffer>>();
  for (const version of ["1.0.0", "1.1.0", "1.2.0"]) {
    archives.set(version, await packageZip({ extra: [{ name: "LinkedList/VERSION", content: version }] }));
    await publishOk(t, `mona/LinkedList/${version}`, archives.get(version)!, metadata);
  }
  for (
    const path of ["mona/LinkedList/1.1.0", "mona/LinkedList/1.1.0.json", "mona/linkedlist/v1.1", "mona/LinkedList/1.1"]
  ) {
    const response = await get(`${t.swift}/${path}`);
    assert.equal(response.status, 200, path);
    assert.equal(response.headers.get("content-type"), "application/json");
    const body = await response.json();
    assert.equal(body.id, "mona.LinkedList");
    assert.equal(body.version, "1.1.0");
    assert.deepEqual(body.resources, [{
      name: "source-archive",
      type: "application/zip",
      checksum: await sha256Hex(archives.get("1.1.0")!),
    }]);
    assert.deepEqual(body.metadata, metadata);
    assert.match(body.publishedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(
      response.headers.get("link"),
      `<${t.swift}/mona/LinkedList/1.2.0>; rel="latest-version", ` +
        `<${t.swift}/mona/LinkedList/1.2.0>; rel="successor-version", ` +
        `<${t.swift}/mona/LinkedList/1.0.0>; rel="predecessor-version"`,
    );
  }
  const latest = await get(`${t.swift}/mona/LinkedList/1.2.0`);
  await latest.body?.cancel();
  assert.equal(
    latest.headers.get("link"),
    `<${t.swift}/mona/LinkedList/1.2.0>; rel="latest-version", <${t.swift}/mona/LinkedList/1.1.0>; rel="predecessor-version"`,
  );
});

Deno.test("release metadata: unknown version 404, invalid version 400, ETag revalidation 304", async () => {
  await using t = await startTestServer();
  await publishOk(t, "mona/LinkedList/1.0.0", await packageZip());
  const missing = await get(`${t.swift}/mona/LinkedList/9.9.9`);
  assert.equal(missing.status, 404);
  await problem(missing);
  for (const version of ["1.0.0.0", "01.0.0", "latest", "1.0.0-", "1..0"]) {
    const response = await get(`${t.swift}/mona/LinkedList/${version}`);
    assert.equal(response.status, 400, version);
    await problem(response);
  }
  const first = await get(`${t.swift}/mona/LinkedList/1.0.0`);
  await first.body?.cancel();
  const etag = first.headers.get("etag")!;
  assert.ok(etag);
  const again = await get(`${t.swift}/mona/LinkedList/1.0.0`, { headers: { "If-None-Match": etag } });
  assert.equal(again.status, 304);
  assert.equal(again.body, null);
});

Deno.test("Package.swift: content, headers and exact 4-field alternate links", async () => {
  await using t = await startTestServer();
  const archive = await packageZip({ alternates: { "5.8": "5.8", "4.2": "4.2", "6": "6.0" } });
  await publishOk(t, "mona/LinkedList/1.0.0", archive);
  const response = await get(`${t.swift}/mona/LinkedList/1.0.0/Package.swift`, {
    accept: "application/vnd.swift.registry.v1+swift",
  });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/x-swift");
  assert.equal(response.headers.get("content-version"), "1");
  assert.equal(response.headers.get("content-disposition"), 'attachment; filename="Package.swift"');
  const text = await response.text();
  assert.match(text, /^\/\/ swift-tools-version:5\.9\n/);
  assert.equal(response.headers.get("content-length"), String(new TextEncoder().encode(text).length));
  const links = response.headers.get("link")!.split(", ");
  assert.deepEqual(links, [
    `<${t.swift}/mona/LinkedList/1.0.0/Package.swift?swift-version=4.2>; rel="alternate"; filename="Package@swift-4.2.swift"; swift-tools-version="4.2"`,
    `<${t.swift}/mona/LinkedList/1.0.0/Package.swift?swift-version=5.8>; rel="alternate"; filename="Package@swift-5.8.swift"; swift-tools-version="5.8"`,
    `<${t.swift}/mona/LinkedList/1.0.0/Package.swift?swift-version=6>; rel="alternate"; filename="Package@swift-6.swift"; swift-tools-version="6.0"`,
  ]);
  for (const value of links) assert.equal(value.split(";").length, 4);
});

Deno.test("Package.swift?swift-version= resolves exact, then .0, then .0.0, else 303 to the unqualified manifest", async () => {
  await using t = await startTestServer();
  await publishOk(t, "mona/LinkedList/1.0.0", await packageZip({ alternates: { "5.8": "5.8", "6": "6.0" } }));
  const base = `${t.swift}/mona/LinkedList/1.0.0/Package.swift`;
  const cases: Array<[string, string]> = [
    ["5.8", "Package@swift-5.8.swift"],
    ["5.8.0", "Package@swift-5.8.swift"],
    ["6", "Package@swift-6.swift"],
    ["6.0", "Package@swift-6.swift"],
    ["6.0.0", "Package@swift-6.swift"],
  ];
  for (const [requested, filename] of cases) {
    const response = await get(`${base}?swift-version=${requested}`, { redirect: "manual" });
    assert.equal(response.status, 200, requested);
    assert.equal(response.headers.get("content-type"), "text/x-swift");
    assert.equal(response.headers.get("content-disposition"), `attachment; filename="${filename}"`);
    assert.equal(response.headers.get("link"), null);
    const expectedTools = filename.includes("6") ? "6.0" : "5.8";
    assert.match(await response.text(), new RegExp(`swift-tools-version:${expectedTools.replace(".", "\\.")}`));
  }
  for (const requested of ["5.9", "5.8.1", "4"]) {
    const miss = await get(`${base}?swift-version=${requested}`, { redirect: "manual" });
    assert.equal(miss.status, 303, requested);
    assert.equal(miss.headers.get("location"), base);
    assert.equal(miss.headers.get("content-version"), "1");
    await miss.body?.cancel();
  }
  const bad = await get(`${base}?swift-version=five`);
  assert.equal(bad.status, 400);
  await problem(bad);
  const missingRelease = await get(`${t.swift}/mona/LinkedList/2.0.0/Package.swift`);
  assert.equal(missingRelease.status, 404);
  await problem(missingRelease);
});

Deno.test("source archive: the exact bytes with Content-Length, Disposition, Digest, ETag and Accept-Ranges", async () => {
  await using t = await startTestServer();
  const archive = await packageZip();
  await publishOk(t, "mona/LinkedList/1.0.0", archive);
  const response = await get(`${t.swift}/mona/LinkedList/1.0.0.zip`, {
    accept: "application/vnd.swift.registry.v1+zip",
  });
  assert.equal(response.status, 200);
  const bytes = new Uint8Array(await response.arrayBuffer());
  assert.deepEqual(bytes, archive);
  assert.equal(response.headers.get("content-type"), "application/zip");
  assert.equal(response.headers.get("content-length"), String(archive.length));
  assert.equal(response.headers.get("content-disposition"), 'attachment; filename="LinkedList-1.0.0.zip"');
  assert.equal(response.headers.get("accept-ranges"), "bytes");
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", archive));
  assert.equal(response.headers.get("digest"), `sha-256=${btoa(String.fromCharCode(...digest))}`);
  assert.equal(response.headers.get("etag"), `"${await sha256Hex(archive)}"`);
});

Deno.test("source archive: single ranges get 206, impossible ranges 416, multi-range the whole file", async () => {
  await using t = await startTestServer();
  const archive = await packageZip();
  await publishOk(t, "mona/LinkedList/1.0.0", archive);
  const url = `${t.swift}/mona/LinkedList/1.0.0.zip`;
  const size = archive.length;
  const ranges: Array<[string, number, number]> = [
    ["bytes=0-9", 0, 9],
    ["bytes=10-", 10, size - 1],
    ["bytes=-20", size - 20, size - 1],
    [`bytes=5-${size + 100}`, 5, size - 1],
  ];
  for (const [range, start, end] of ranges) {
    const response = await get(url, { headers: { Range: range } });
    assert.equal(response.status, 206, range);
    assert.equal(response.headers.get("content-range"), `bytes ${start}-${end}/${size}`);
    assert.equal(response.headers.get("content-length"), String(end - start + 1));
    assert.deepEqual(new Uint8Array(await response.arrayBuffer()), archive.subarray(start, end + 1));
  }
  const unsatisfiable = await get(url, { headers: { Range: `bytes=${size}-` } });
  assert.equal(unsatisfiable.status, 416);
  assert.equal(unsatisfiable.headers.get("content-range"), `bytes */${size}`);
  await problem(unsatisfiable);

  const multi = await get(url, { headers: { Range: "bytes=0-1,5-6" } });
  assert.equal(multi.status, 200);
  assert.deepEqual(new Uint8Array(await multi.arrayBuffer()), archive);
});

Deno.test("source archive: If-None-Match gives 304, a stale If-Range gives the whole file", async () => {
  await using t = await startTestServer();
  const archive = await packageZip();
  await publishOk(t, "mona/LinkedList/1.0.0", archive);
  const url = `${t.swift}/mona/LinkedList/1.0.0.zip`;
  const etag = `"${await sha256Hex(archive)}"`;
  const cached = await get(url, { headers: { "If-None-Match": etag } });
  assert.equal(cached.status, 304);
  assert.equal(cached.body, null);

  const stale = await get(url, { headers: { Range: "bytes=0-9", "If-Range": '"something-else"' } });
  assert.equal(stale.status, 200);
  assert.equal((await stale.arrayBuffer()).byteLength, archive.length);

  const fresh = await get(url, { headers: { Range: "bytes=0-9", "If-Range": etag } });
  assert.equal(fresh.status, 206);
  assert.equal((await fresh.arrayBuffer()).byteLength, 10);
});

Deno.test("source archive of an unknown release is 404", async () => {
  await using t = await startTestServer();
  await publishOk(t, "mona/LinkedList/1.0.0", await packageZip());
  const response = await get(`${t.swift}/mona/LinkedList/1.0.1.zip`);
  assert.equal(response.status, 404);
  await problem(response);
});
