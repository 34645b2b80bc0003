import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { eventually } from "./support/eventually.ts";
import { buildZip, packageZip } from "./support/archives.ts";
import { scratchFiles } from "./support/files.ts";
import { swiftPublishBody } from "./support/multipart.ts";
import { ADMIN_TOKEN, get, problem, publish, sha256Hex, startTestServer } from "./support/server.ts";
import { signedPackage, TestPki } from "./support/signing.ts";

Deno.test("publish stores the archive as received: 201, Location, checksum of the uploaded bytes", async () => {
  await using t = await startTestServer();
  const archive = await packageZip();
  const response = await publish(t.swift, "mona/LinkedList/1.0.0", { archive, metadata: { description: "d" } });
  assert.equal(response.status, 201);
  assert.equal(response.headers.get("content-version"), "1");
  assert.equal(response.headers.get("location"), `${t.swift}/mona/LinkedList/1.0.0`);
  assert.equal((await response.json()).url, `${t.swift}/mona/LinkedList/1.0.0`);

  const release = await (await get(`${t.swift}/mona/LinkedList/1.0.0`)).json();
  assert.equal(release.resources[0].checksum, await sha256Hex(archive));
  const downloaded = new Uint8Array(await (await get(`${t.swift}/mona/LinkedList/1.0.0.zip`)).arrayBuffer());
  assert.deepEqual(downloaded, archive);
});

Deno.test("publish normalises a v-prefixed or two-part version and never stores the raw form", async () => {
  await using t = await startTestServer();
  const response = await publish(t.swift, "mona/LinkedList/v1.2", { archive: await packageZip() });
  assert.equal(response.status, 201);
  assert.equal(response.headers.get("location"), `${t.swift}/mona/LinkedList/1.2.0`);
  const list = await (await get(`${t.swift}/mona/LinkedList`)).json();
  assert.deepEqual(Object.keys(list.releases), ["1.2.0"]);
  const again = await publish(t.swift, "mona/LinkedList/1.2.0", { archive: await packageZip() });
  assert.equal(again.status, 409);
  await problem(again);
});

Deno.test("Prefer: respond-async gives 202 with Location and Retry-After; the status URL ends in a 301 to the release", async () => {
  await using t = await startTestServer();
  const response = await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() }, {
    prefer: "respond-async",
    headers: { Expect: "100-continue" },
  });
  assert.equal(response.status, 202);
  assert.equal(response.headers.get("content-version"), "1");
  assert.equal(response.headers.get("retry-after"), "1");
  const location = response.headers.get("location")!;
  assert.match(location, new RegExp(`^${t.swift}/-/publishes/[0-9a-f-]{36}$`));
  await response.body?.cancel();

  const poll = await eventually("the publish finished", async () => {
    const response = await get(location, { redirect: "manual" });
    await response.body?.cancel();
    return response.status === 202 ? undefined : response;
  });
  assert.equal(poll.status, 301);
  assert.equal(poll.headers.get("location"), `${t.swift}/mona/LinkedList/1.0.0`);
  const release = await get(`${t.swift}/mona/LinkedList/1.0.0`);
  assert.equal(release.status, 200);
  await release.body?.cancel();
});

Deno.test("an asynchronous publish of a bad archive or of a taken version is refused at once, not accepted", async () => {
  await using t = await startTestServer();
  const noManifest = await buildZip([{ name: "pkg/README.md", content: "no manifest" }]);
  const bad = await publish(t.swift, "mona/LinkedList/1.0.0", { archive: noManifest }, { prefer: "respond-async" });
  assert.equal(bad.status, 422);
  assert.match((await problem(bad)).detail, /no Package\.swift/);

  const archive = await packageZip();
  const responses = await Promise.all(
    Array.from(
      { length: 5 },
      () => publish(t.swift, "mona/LinkedList/1.0.0", { archive }, { prefer: "respond-async" }),
    ),
  );
  const statuses = await Promise.all(responses.map(async (r) => {
    await r.body?.cancel();
    return r.status;
  }));
  assert.deepEqual(statuses.filter((s) => s === 202).length, 1, `statuses: ${statuses}`);
  assert.deepEqual(statuses.filter((s) => s === 409).length, 4, `statuses: ${statuses}`);
  await t.server.shutdown(); // lets the accepted publish finish
});

Deno.test("a restart forgets asynchronous publish statuses but keeps the releases they published", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    let location: string;
    {
      await using t = await startTestServer({ dataDir });
      const response = await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() }, {
        prefer: "respond-async",
      });
      assert.equal(response.status, 202);
      await response.body?.cancel();
      location = response.headers.get("location")!.slice(t.url.length);
    }
    await using t2 = await startTestServer({ dataDir });
    const gone = await get(`${t2.url}${location}`);
    assert.equal(gone.status, 404);
    await problem(gone);
    const release = await get(`${t2.swift}/mona/LinkedList/1.0.0`);
    assert.equal(release.status, 200);
    await release.body?.cancel();
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a second publish of the same version is 409 and changes nothing", async () => {
  await using t = await startTestServer();
  const first = await packageZip();
  assert.equal((await publish(t.swift, "mona/LinkedList/1.0.0", { archive: first })).status, 201);
  const other = await packageZip({ extra: [{ name: "LinkedList/CHANGED", content: "x" }] });
  const second = await publish(t.swift, "MONA/linkedlist/1.0.0", { archive: other });
  assert.equal(second.status, 409);
  assert.match((await problem(second)).detail, /already exists/);
  const downloaded = new Uint8Array(await (await get(`${t.swift}/mona/LinkedList/1.0.0.zip`)).arrayBuffer());
  assert.deepEqual(downloaded, first);
});

Deno.test("concurrent publishes of one version: exactly one wins, the others get 409, the winner's bytes are served", async () => {
  await using t = await startTestServer();
  const archives = await Promise.all(
    Array.from({ length: 8 }, (_, i) => packageZip({ extra: [{ name: "LinkedList/N", content: String(i) }] })),
  );
  const responses = await Promise.all(
    archives.map((archive) => publish(t.swift, "mona/LinkedList/1.0.0", { archive })),
  );
  const statuses = await Promise.all(responses.map(async (r) => {
    await r.body?.cancel();
    return r.status;
  }));
  assert.equal(statuses.filter((s) => s === 201).length, 1, `statuses: ${statuses}`);
  assert.equal(statuses.filter((s) => s === 409).length, 7, `statuses: ${statuses}`);
  const winner = archives[statuses.indexOf(201)];
  const release = await (await get(`${t.swift}/mona/LinkedList/1.0.0`)).json();
  assert.equal(release.resources[0].checksum, await sha256Hex(winner));
  const downloaded = new Uint8Array(await (await get(`${t.swift}/mona/LinkedList/1.0.0.zip`)).arrayBuffer());
  assert.deepEqual(downloaded, winner);
});

Deno.test("concurrent publishes of different versions all land", async () => {
  await using t = await startTestServer();
  const versions = Array.from({ length: 10 }, (_, i) => `1.0.${i}`);
  const responses = await Promise.all(
    versions.map(async (v) => publish(t.swift, `mona/LinkedList/${v}`, { archive: await packageZip() })),
  );
  for (const r of responses) {
    assert.equal(r.status, 201);
    await r.body?.cancel();
  }
  const list = await (await get(`${t.swift}/mona/LinkedList`)).json();
  assert.equal(Object.keys(list.releases).length, 10);
});

Deno.test("publishing needs the admin token: none or a wrong one is 401 with WWW-Authenticate; Basic works", async () => {
  await using t = await startTestServer();
  const archive = await packageZip();
  for (const token of [null, "wrong-token"]) {
    const response = await publish(t.swift, "mona/LinkedList/1.0.0", { archive }, { token });
    assert.equal(response.status, 401, String(token));
    assert.match(response.headers.get("www-authenticate")!, /Bearer realm=/);
    await problem(response);
  }
  const { body, contentType } = swiftPublishBody({ archive });
  const basic = await fetch(`${t.swift}/mona/LinkedList/1.0.0`, {
    method: "PUT",
    headers: { "Content-Type": contentType, Authorization: `Basic ${btoa(`token:${ADMIN_TOKEN}`)}` },
    body,
  });
  assert.equal(basic.status, 201);
  await basic.body?.cancel();
});

Deno.test("without REGISTRY_ADMIN_TOKEN publishing is disabled with 405", async () => {
  await using t = await startTestServer({ env: { REGISTRY_ADMIN_TOKEN: "" } });
  const response = await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() });
  assert.equal(response.status, 405);
  assert.match((await problem(response)).detail, /REGISTRY_ADMIN_TOKEN/);
});

Deno.test("publish rejects invalid scope, name and version with 400", async () => {
  await using t = await startTestServer();
  const archive = await packageZip();
  for (
    const path of ["mo_na/LinkedList/1.0.0", "mona/Linked.List/1.0.0", "mona/LinkedList/1.0.0.0", "mona/LinkedList/x"]
  ) {
    const response = await publish(t.swift, path, { archive });
    assert.equal(response.status, 400, path);
    await problem(response);
  }
});

Deno.test("publish rejects bodies that are not SwiftPM's multipart form", async () => {
  await using t = await startTestServer();
  const url = `${t.swift}/mona/LinkedList/1.0.0`;
  const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };

  const notMultipart = await fetch(url, {
    method: "PUT",
    headers: { ...auth, "Content-Type": "application/zip" },
    body: "x",
  });
  assert.equal(notMultipart.status, 415);
  await problem(notMultipart);

  const noArchive = await publish(t.swift, "mona/LinkedList/1.0.0", { metadata: { description: "x" } });
  assert.equal(noArchive.status, 422);
  assert.match((await problem(noArchive)).detail, /source-archive/);

  const { body, contentType } = swiftPublishBody({ archive: await packageZip() });
  const truncated = await fetch(url, {
    method: "PUT",
    headers: { ...auth, "Content-Type": contentType },
    body: body.subarray(0, body.length - 30),
  });
  assert.equal(truncated.status, 400);
  await problem(truncated);

  const boundary = "b0undary";
  const unexpected = await fetch(url, {
    method: "PUT",
    headers: { ...auth, "Content-Type": `multipart/form-data; boundary=${boundary}` },
    body: `--${boundary}\r\nContent-Disposition: form-data; name="surprise"\r\n\r\nhi\r\n--${boundary}--\r\n`,
  });
  assert.equal(unexpected.status, 400);
  assert.match((await problem(unexpected)).detail, /surprise/);

  const list = await get(`${t.swift}/mona/LinkedList`);
  assert.equal(list.status, 404, "nothing was stored");
  await list.body?.cancel();
});

Deno.test("publish validates the archive layout and refuses bad archives with 422", async () => {
  await using t = await startTestServer();
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ["not a zip", new TextEncoder().encode("this is not a zip file at all"), /not a valid zip/],
    [
      "two top-level directories",
      await buildZip([
        { name: "a/Package.swift", content: "// swift-tools-version:5.9\n" },
        { name: "b/Package.swift", content: "// swift-tools-version:5.9\n" },
      ]),
      /exactly one top-level directory/,
    ],
    [
      "a file at the top level",
      await buildZip([
        { name: "pkg/Package.swift", content: "// swift-tools-version:5.9\n" },
        { name: "README.md", content: "x" },
      ]),
      /exactly one top-level directory/,
    ],
    [
      "zip-slip entry",
      await buildZip([
        { name: "pkg/Package.swift", content: "// swift-tools-version:5.9\n" },
        { name: "pkg/../../evil.txt", content: "x" },
      ]),
      /"(pkg\/\.\.\/\.\.\/evil\.txt|\/etc\/evil)" is not a safe relative path/,
    ],
    [
      "absolute entry",
      await buildZip([
        { name: "pkg/Package.swift", content: "// swift-tools-version:5.9\n" },
        { name: "/etc/evil", content: "x" },
      ]),
      /"(pkg\/\.\.\/\.\.\/evil\.txt|\/etc\/evil)" is not a safe relative path/,
    ],
    [
      "symlink escaping the root",
      await packageZip({
        top: "pkg",
        extra: [{ name: "pkg/Sources/link", content: "../../../etc/passwd", symlink: true }],
      }),
      /symlink .* points outside/,
    ],
    [
      "absolute symlink",
      await packageZip({ top: "pkg", extra: [{ name: "pkg/link", content: "/etc/passwd", symlink: true }] }),
      /symlink .* points outside/,
    ],
    [
      "symlink chain escaping through an inner link",
      await packageZip({
        top: "pkg",
        extra: [
          { name: "pkg/x/up", content: "..", symlink: true },
          { name: "pkg/esc", content: "x/up/../..", symlink: true },
        ],
      }),
      /symlink "pkg\/esc" points outside/,
    ],
    [
      "symlink leaving the package directory and coming back into one of the same name",
      await packageZip({
        top: "pkg",
        extra: [{ name: "pkg/Sources/link", content: "../../pkg/Package.swift", symlink: true }],
      }),
      /symlink "pkg\/Sources\/link" points outside the package directory/,
    ],
    [
      "entry written through a symlinked directory",
      await packageZip({
        top: "pkg",
        extra: [
          { name: "pkg/dir", content: "Sources", symlink: true },
          { name: "pkg/dir/evil.swift", content: "x" },
        ],
      }),
      /lies inside the symlink "pkg\/dir"/,
    ],
    [
      "symlink loop",
      await packageZip({
        top: "pkg",
        extra: [
          { name: "pkg/a", content: "b", symlink: true },
          { name: "pkg/b", content: "a", symlink: true },
        ],
      }),
      /symlink "pkg\/[ab]" points outside/,
    ],
    [
      "missing manifest",
      await buildZip([{ name: "pkg/Sources/main.swift", content: "print(1)" }]),
      /no Package\.swift/,
    ],
    [
      "manifest only deeper than the top directory",
      await buildZip([{ name: "pkg/sub/Package.swift", content: "// swift-tools-version:5.9\n" }]),
      /no Package\.swift/,
    ],
    [
      "manifest without a tools version",
      await buildZip([{ name: "pkg/Package.swift", content: "import PackageDescription\n" }]),
      /tools version/,
    ],
    [
      "alternate manifest without a tools version",
      await buildZip([
        { name: "pkg/Package.swift", content: "// swift-tools-version:5.9\n" },
        { name: "pkg/Package@swift-5.swift", content: "import PackageDescription\n" },
      ]),
      /Package@swift-5\.swift does not declare a tools version/,
    ],
  ];
  for (const [label, archive, detail] of cases) {
    const response = await publish(t.swift, "mona/LinkedList/1.0.0", { archive });
    assert.equal(response.status, 422, label);
    assert.match((await problem(response)).detail, detail, label);
  }
  const list = await get(`${t.swift}/mona/LinkedList`);
  assert.equal(list.status, 404, "no rejected archive was stored");
  await list.body?.cancel();
  assert.deepEqual(await scratchFiles(t.dataDir), [], "rejected uploads leave no scratch files");
});

Deno.test("symlinks inside the package root are accepted, including a symlinked alternate manifest", async () => {
  await using t = await startTestServer();
  const archive = await packageZip({
    extra: [
      { name: "LinkedList/Sources/alias", content: "LinkedList", symlink: true },
      { name: "LinkedList/Package@swift-5.8.swift", content: "Package.swift", symlink: true },
    ],
  });
  const response = await publish(t.swift, "mona/LinkedList/1.0.0", { archive });
  assert.equal(response.status, 201, await response.text());
  const alternate = await get(`${t.swift}/mona/LinkedList/1.0.0/Package.swift?swift-version=5.8`);
  assert.equal(alternate.status, 200);
  assert.match(await alternate.text(), /swift-tools-version:5\.9/);
});

Deno.test("publish validates metadata: invalid JSON or shapes SwiftPM cannot decode are 422", async () => {
  await using t = await startTestServer();
  const archive = await packageZip();
  const cases: Array<[unknown, RegExp]> = [
    ["{not json", /not valid JSON/],
    [[1, 2], /JSON object/],
    [{ author: { email: "a@b.c" } }, /author/],
    [{ repositoryURLs: "https://github.com/mona/LinkedList" }, /repositoryURLs/],
    [{ originalPublicationTime: "yesterday" }, /originalPublicationTime/],
    // A date alone makes the release unreadable for every SwiftPM client (seen with SwiftPM 6.3.1).
    [{ originalPublicationTime: "2024-01-02" }, /originalPublicationTime.*2024-01-02T03:04:05Z/],
    [{ originalPublicationTime: "2024-01-02T03:04:05.123Z" }, /whole seconds/],
    [{ originalPublicationTime: "2024-01-02T03:04:05" }, /zone/],
    [{ author: { name: 42 } }, /metadata\.author must be an object with a non-empty "name"/],
    [{ author: { name: "Mona", email: ["x"] } }, /metadata\.author\.email must be a string/],
    [{ author: { name: "Mona", organization: { url: "https://x.y" } } }, /metadata\.author\.organization/],
    [{ author: { name: "Mona", organization: { name: "O", url: "not a url" } } }, /organization\.url/],
    [{ licenseURL: "LICENSE" }, /metadata\.licenseURL must be an absolute URL/],
    [{ readmeURL: 7 }, /metadata\.readmeURL must be a string/],
    [{ description: { text: "x" } }, /metadata\.description/],
    [{ repositoryURLs: ["https://github.com/mona/LinkedList", "no url"] }, /"no url"/],
  ];
  for (const [metadata, detail] of cases) {
    const response = await publish(t.swift, "mona/LinkedList/1.0.0", { archive, metadata });
    assert.equal(response.status, 422, JSON.stringify(metadata));
    assert.match((await problem(response)).detail, detail);
  }
  const list = await get(`${t.swift}/mona/LinkedList`);
  assert.equal(list.status, 404, "nothing was stored");
  await list.body?.cancel();

  const valid = {
    description: "A linked list",
    licenseURL: "https://github.com/mona/LinkedList/blob/main/LICENSE",
    originalPublicationTime: "2024-01-02T03:04:05+02:00",
    author: { name: "Mona", email: "mona@example.com", organization: { name: "Octo", url: "https://octo.example" } },
    repositoryURLs: ["https://github.com/mona/LinkedList", "git@github.com:mona/LinkedList.git"],
  };
  const accepted = await publish(t.swift, "mona/LinkedList/1.0.0", { archive, metadata: valid });
  assert.equal(accepted.status, 201);
  await accepted.body?.cancel();
});

Deno.test("signed releases: signature stored in metadata and sent with the archive; a format is required", async () => {
  await using t = await startTestServer();
  await using pki = await TestPki.create();
  const mona = await pki.identity({ commonName: "Mona", organization: "Octo" });
  const { archive, archiveSignature, metadata, metadataSignature } = await signedPackage(mona);

  const noFormat = await publish(t.swift, "mona/LinkedList/1.0.0", { archive, archiveSignature });
  assert.equal(noFormat.status, 400);
  assert.match((await problem(noFormat)).detail, /X-Swift-Package-Signature-Format/);

  const unpaired = await publish(t.swift, "mona/LinkedList/1.0.0", { archive, metadata, archiveSignature }, {
    headers: { "X-Swift-Package-Signature-Format": "cms-1.0.0" },
  });
  assert.equal(unpaired.status, 422);
  assert.match((await problem(unpaired)).detail, /needs a metadata-signature/);

  const signed = await publish(
    t.swift,
    "mona/LinkedList/1.0.0",
    { archive, metadata, archiveSignature, metadataSignature },
    { headers: { "X-Swift-Package-Signature-Format": "cms-1.0.0" } },
  );
  assert.equal(signed.status, 201, await signed.text());
  const release = await (await get(`${t.swift}/mona/LinkedList/1.0.0`)).json();
  const expected = Buffer.from(archiveSignature).toString("base64");
  const { signer, ...signing } = release.resources[0].signing;
  assert.deepEqual(signing, { signatureBase64Encoded: expected, signatureFormat: "cms-1.0.0" });
  assert.equal(signer.commonName, "Mona");
  const download = await get(`${t.swift}/mona/LinkedList/1.0.0.zip`);
  await download.body?.cancel();
  assert.equal(download.headers.get("x-swift-package-signature-format"), "cms-1.0.0");
  assert.equal(download.headers.get("x-swift-package-signature"), expected);
});

Deno.test("an archive over REGISTRY_MAX_ARCHIVE_BYTES is refused with 413 and nothing is kept", async () => {
  await using t = await startTestServer({ env: { REGISTRY_MAX_ARCHIVE_BYTES: "2KiB" } });
  const archive = await packageZip({
    extra: [{ name: "LinkedList/big.bin", content: crypto.getRandomValues(new Uint8Array(4096)) }],
  });
  const response = await publish(t.swift, "mona/LinkedList/1.0.0", { archive });
  assert.equal(response.status, 413);
  assert.match((await problem(response)).detail, /REGISTRY_MAX_ARCHIVE_BYTES/);
  assert.deepEqual(await scratchFiles(t.dataDir), []);
  const small = await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() });
  assert.equal(small.status, 201);
  await small.body?.cancel();
});

Deno.test("a burst of 100 concurrent publishes of distinct versions to one package all succeed", async () => {
  await using t = await startTestServer();
  const archive = await packageZip();
  const responses = await Promise.all(
    Array.from({ length: 100 }, (_, i) => publish(t.swift, `mona/LinkedList/1.0.${i}`, { archive })),
  );
  const statuses = await Promise.all(responses.map(async (r) => {
    await r.body?.cancel();
    return r.status;
  }));
  assert.deepEqual(statuses.filter((s) => s !== 201), [], "every publish is accepted");
  const list = await (await get(`${t.swift}/mona/LinkedList`)).json();
  assert.equal(Object.keys(list.releases).length, 100);
});
