import assert from "node:assert/strict";
import { eventually } from "./support/eventually.ts";
import * as zip from "@zip.js/zip.js";
import { mainCommand, runMain } from "./support/cli.ts";
import { packageZip } from "./support/archives.ts";
import { type FakeRepository, manifest, startFakeGitHub } from "./support/fake_github.ts";
import { startTestS3 } from "./support/s3.ts";
import { loadConfig } from "../src/config.ts";
import { openRegistry } from "../src/core/open_registry.ts";
import { createIngestion } from "../src/ingest/ingestion.ts";
import { createMemoryLogger } from "../src/log.ts";
import { ADMIN_TOKEN, get, publish, startTestServer } from "./support/server.ts";

function repositories(): FakeRepository[] {
  return [
    {
      owner: "mona",
      repo: "LinkedList",
      description: "A linked list",
      tags: [
        {
          name: "v1.0",
          files: { "Package.swift": manifest(), "Sources/L/L.swift": "public let a = 1\n", LICENSE: "MIT" },
        },
        { name: "1.0.0", files: { "Package.swift": manifest(), "Sources/L/L.swift": "public let a = 2\n" } },
        {
          name: "v1.1.0",
          files: {
            "Package.swift": manifest("5.9"),
            "Package@swift-5.8.swift": manifest("5.8"),
            "Sources/L/L.swift": "public let a = 3\n",
            "README.md": "# L",
          },
          date: "2025-06-07T08:09:10Z",
        },
        { name: "2.0.0-beta.1", files: { "Package.swift": manifest(), "Sources/L/L.swift": "x" } },
        { name: "not-a-version", files: { "Package.swift": manifest() } },
        { name: "0.9.0", files: { "README.md": "no manifest yet" } },
      ],
    },
    {
      owner: "mona",
      repo: "uri.template.swift",
      tags: [{
        name: "3.0.0",
        files: { "Package.swift": manifest(), "Sources/U/U.swift": "public let u = 1\n" },
        symlinks: { "Sources/U/Alias.swift": "U.swift", "escape": "../../../etc/passwd" },
      }],
    },
  ];
}

async function sync(dataDir: string, apiUrl: string, extra: Record<string, string> = {}, args: string[] = []) {
  return await runMain(["sync", "--data-dir", dataDir, ...args], {
    REGISTRY_GITHUB_TOKEN: "fake-token",
    REGISTRY_GITHUB_API_URL: apiUrl,
    REGISTRY_SYNC_PACKAGES: "mona/*",
    ...extra,
  });
}

Deno.test("main.ts sync mirrors tags as SemVer releases: alternates, skipped tags, symlinks, metadata, identifiers", async () => {
  await using github = startFakeGitHub(repositories());
  const dataDir = await Deno.makeTempDir();
  try {
    const first = await sync(dataDir, github.url);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /packages 2, new versions 4, skipped 1, failed 0, API requests \d+/);

    await using t = await startTestServer({ dataDir });
    const list = await (await get(`${t.swift}/mona/LinkedList`)).json();
    assert.deepEqual(
      Object.keys(list.releases),
      ["2.0.0-beta.1", "1.1.0", "1.0.0"],
      "v1.0 and 1.0.0 clash: 1.0.0 wins",
    );
    const release = await (await get(`${t.swift}/mona/LinkedList/1.1.0`)).json();
    assert.equal(release.metadata.originalPublicationTime, "2025-06-07T08:09:10Z");
    assert.equal(release.metadata.description, "A linked list");
    assert.match(release.metadata.readmeURL, /README\.md$/);
    assert.ok(release.metadata.repositoryURLs.some((u: string) => u.startsWith("git@")), "ssh form recorded");
    const manifestResponse = await get(`${t.swift}/mona/LinkedList/1.1.0/Package.swift`);
    assert.match(
      manifestResponse.headers.get("link")!,
      /filename="Package@swift-5\.8\.swift"; swift-tools-version="5\.8"/,
    );
    await manifestResponse.body?.cancel();
    const oneZero = new Uint8Array(await (await get(`${t.swift}/mona/LinkedList/1.0.0.zip`)).arrayBuffer());
    const reader = new zip.ZipReader(new zip.Uint8ArrayReader(oneZero));
    const source = (await reader.getEntries()).find((e) => e.filename.endsWith("Sources/L/L.swift")) as zip.FileEntry;
    assert.equal(await source.getData(new zip.TextWriter()), "public let a = 2\n", "the exact tag 1.0.0 won, not v1.0");
    await reader.close();

    // A repository name with dots becomes a valid package name; its zipball's symlinks are resolved.
    const uri = await (await get(`${t.swift}/mona/uri_template_swift`)).json();
    assert.deepEqual(Object.keys(uri.releases), ["3.0.0"]);
    const archive = new Uint8Array(await (await get(`${t.swift}/mona/uri_template_swift/3.0.0.zip`)).arrayBuffer());
    const uriReader = new zip.ZipReader(new zip.Uint8ArrayReader(archive));
    const names = (await uriReader.getEntries()).map((e) => e.filename);
    await uriReader.close();
    assert.ok(names.some((n) => n.endsWith("Sources/U/Alias.swift")), "the symlink became a file");
    assert.ok(!names.some((n) => n.endsWith("/escape")), "the escaping symlink was dropped");

    const ids = await get(
      `${t.swift}/identifiers?url=${encodeURIComponent(`git@${github.sshHost}:mona/LinkedList.git`)}`,
    );
    assert.deepEqual(await ids.json(), { identifiers: ["mona.LinkedList"] });
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("mirrored releases carry the URLs of the repository document, so /identifiers finds them on hosts other than the API's", async () => {
  await using github = startFakeGitHub(repositories(), { webHost: "git.corp.example", sshHost: "ssh.corp.example" });
  const dataDir = await Deno.makeTempDir();
  try {
    const result = await sync(dataDir, github.url, { REGISTRY_SYNC_PACKAGES: "mona/LinkedList" });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(github.count(/^GET \/repos\/mona\/LinkedList 200$/), 1, "one repository document per pass");

    await using t = await startTestServer({ dataDir });
    const urls = [
      "https://git.corp.example/mona/LinkedList", // html_url
      "https://git.corp.example/mona/LinkedList.git", // clone_url
      "git@ssh.corp.example:mona/LinkedList.git", // ssh_url
      "ssh://git@ssh.corp.example/mona/LinkedList.git", // its ssh:// form
    ];
    const release = await (await get(`${t.swift}/mona/LinkedList/1.1.0`)).json();
    assert.deepEqual(release.metadata.repositoryURLs, urls);
    for (const url of urls) {
      const found = await get(`${t.swift}/identifiers?url=${encodeURIComponent(url)}`);
      assert.equal(found.status, 200, url);
      assert.deepEqual(await found.json(), { identifiers: ["mona.LinkedList"] }, url);
    }
    const apiHost = await get(`${t.swift}/identifiers?url=${encodeURIComponent(`${github.url}/mona/LinkedList`)}`);
    assert.equal(apiHost.status, 404, "the API's host name is not where the repository lives");
    await apiHost.body?.cancel();
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a server whose repository documents name no URL: the URLs are built from the API's host", async () => {
  const [linkedList] = repositories();
  await using github = startFakeGitHub([{ ...linkedList, urls: false }]);
  const dataDir = await Deno.makeTempDir();
  try {
    const result = await sync(dataDir, github.url, { REGISTRY_SYNC_PACKAGES: "mona/LinkedList" });
    assert.equal(result.code, 0, result.stderr);
    await using t = await startTestServer({ dataDir });
    for (const url of [`https://${new URL(github.url).host}/mona/LinkedList`, "git@127.0.0.1:mona/LinkedList.git"]) {
      const found = await get(`${t.swift}/identifiers?url=${encodeURIComponent(url)}`);
      assert.deepEqual(await found.json(), { identifiers: ["mona.LinkedList"] }, url);
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a package holding another repository's releases is not mirrored into; one declaring this repository is", async () => {
  await using github = startFakeGitHub(repositories());
  await using t = await startTestServer();
  const publishWith = async (path: string, repositoryURLs: string[]) => {
    const response = await publish(t.swift, path, { archive: await packageZip(), metadata: { repositoryURLs } });
    assert.equal(response.status, 201, await response.text());
  };
  await publishWith("mona/LinkedList/0.1.0", ["https://elsewhere.example/someone/LinkedList"]);
  // Declared by its ssh URL: this repository's, in another spelling than the mirror records first.
  await publishWith("mona/uri_template_swift/0.1.0", [`git@${github.sshHost}:mona/uri.template.swift.git`]);

  const result = await sync(t.dataDir, github.url);
  assert.equal(result.code, 1, result.stdout);
  assert.match(result.stdout, /packages 2, new versions 1, skipped 0, failed 1/);
  assert.match(result.stderr, /mona\.LinkedList already holds releases from another source/);
  let versions: string[] = [];
  for (let attempt = 0; attempt < 100 && versions.length < 2; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 100)); // the server revalidates within 2 s
    versions = Object.keys((await (await get(`${t.swift}/mona/uri_template_swift`)).json()).releases);
  }
  assert.deepEqual(versions, ["3.0.0", "0.1.0"]);
  assert.deepEqual(Object.keys((await (await get(`${t.swift}/mona/LinkedList`)).json()).releases), ["0.1.0"]);
});

Deno.test("an unchanged second sync costs only 304s: no zipball, no contents, no new versions", async () => {
  await using github = startFakeGitHub(repositories());
  const dataDir = await Deno.makeTempDir();
  try {
    assert.equal((await sync(dataDir, github.url)).code, 0);
    const before = github.requests.length;
    const second = await sync(dataDir, github.url);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /new versions 0, skipped 0, failed 0, API requests 3/);
    const made = github.requests.slice(before);
    assert.deepEqual(made.filter((r) => r.includes("/tags")).map((r) => r.split(" ")[2]), ["304", "304"]);
    assert.equal(made.filter((r) => /zipball|contents|commits/.test(r)).length, 0);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a rate limit stops the pass and records when to resume; the next pass after that time resumes", async () => {
  await using github = startFakeGitHub(repositories());
  const dataDir = await Deno.makeTempDir();
  try {
    // That no pass asks before the resume time is the next test's (with a margin no slow machine eats up).
    github.rateLimit(1, new Date(Date.now() + 1_500));
    const limited = await sync(dataDir, github.url);
    assert.equal(limited.code, 1);
    assert.match(limited.stdout, /rate limited until \d{4}-/);
    const until = Date.parse(/rate limited until (\S+)/.exec(limited.stdout)![1]);
    await new Promise((r) => setTimeout(r, Math.max(0, until - Date.now()) + 100));
    const resumed = await sync(dataDir, github.url);
    assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
    assert.match(resumed.stdout, /new versions 4/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a version that failed is retried after REGISTRY_SYNC_RETRY_AFTER; others are not downloaded again", async () => {
  await using github = startFakeGitHub(repositories());
  const dataDir = await Deno.makeTempDir();
  let now = Date.parse("2026-01-01T00:00:00Z");
  const config = await loadConfig({ dataDir }, {
    REGISTRY_GITHUB_TOKEN: "fake-token",
    REGISTRY_GITHUB_API_URL: github.url,
    REGISTRY_SYNC_RETRY_AFTER: "5m",
  });
  const logger = createMemoryLogger();
  const open = await openRegistry(config, logger, { now: () => now });
  try {
    const ingestion = createIngestion(config.github!, open, logger, { now: () => now });
    github.failZipball("v1.1.0", 1);
    const first = await ingestion.pass(["mona/LinkedList"]);
    assert.deepEqual([first.newVersions, first.skipped, first.failed], [2, 1, 1]);
    const zipballsBefore = github.count(/zipball.* 200$/);
    now += 4 * 60_000;
    const tooSoon = await ingestion.pass(["mona/LinkedList"]);
    assert.deepEqual([tooSoon.newVersions, tooSoon.skipped, tooSoon.failed], [0, 0, 0], "backing off");
    now += 2 * 60_000;
    const second = await ingestion.pass(["mona/LinkedList"]);
    assert.deepEqual([second.newVersions, second.skipped, second.failed], [1, 0, 0]);
    assert.equal(github.count(/zipball.* 200$/) - zipballsBefore, 1, "only the failed version was downloaded again");
  } finally {
    await open.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a new tag on a later page of a long tag list is found (each page has its own ETag)", async () => {
  const many: FakeRepository = {
    owner: "mona",
    repo: "Many",
    tags: Array.from({ length: 100 }, (_, i) => ({ name: `0.${i}.0`, files: { "README.md": "no manifest" } })),
  };
  await using github = startFakeGitHub([many]);
  const dataDir = await Deno.makeTempDir();
  try {
    assert.match((await sync(dataDir, github.url, {}, ["mona/Many"])).stdout, /new versions 0, skipped 100/);
    github.repositories.get("mona/many")!.tags.push({ name: "1.0.0", files: { "Package.swift": manifest() } });
    const second = await sync(dataDir, github.url, {}, ["mona/Many"]);
    assert.match(second.stdout, /new versions 1, skipped 0, failed 0/);
    const third = await sync(dataDir, github.url, {}, ["mona/Many"]);
    assert.match(third.stdout, /new versions 0, skipped 0, failed 0, API requests 2/, "one 304 per page");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a sync killed midway is completed by the next one, each version stored once", async () => {
  await using github = startFakeGitHub(repositories());
  github.zipballDelayMs = 300;
  const dataDir = await Deno.makeTempDir();
  try {
    const child = mainCommand(["sync", "--data-dir", dataDir, "mona/LinkedList"], {
      REGISTRY_GITHUB_TOKEN: "fake-token",
      REGISTRY_GITHUB_API_URL: github.url,
    }).spawn();
    while (github.count(/zipball.* 200$/) < 1) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGKILL");
    await child.status;
    await child.stdout.cancel();
    await child.stderr.cancel();
    github.zipballDelayMs = 0;
    const rerun = await sync(dataDir, github.url, {}, ["mona/LinkedList"]);
    assert.equal(rerun.code, 0, rerun.stderr);
    await using t = await startTestServer({ dataDir });
    const list = await (await get(`${t.swift}/mona/LinkedList`)).json();
    assert.deepEqual(Object.keys(list.releases), ["2.0.0-beta.1", "1.1.0", "1.0.0"]);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a rate limit met inside a pass (listing tags) stops it and is honoured by the next pass", async () => {
  await using github = startFakeGitHub(repositories());
  const dataDir = await Deno.makeTempDir();
  try {
    github.rateLimit(1, new Date(Date.now() + 60_000));
    const limited = await sync(dataDir, github.url, {}, ["mona/LinkedList"]);
    assert.equal(limited.code, 1);
    assert.match(limited.stdout, /rate limited until/);
    const before = github.requests.length;
    const waiting = await sync(dataDir, github.url, {}, ["mona/LinkedList"]);
    assert.match(waiting.stdout, /rate limited until/);
    assert.equal(github.requests.length, before, "no request while the limit lasts");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("two nodes syncing at once into one bucket commit each version once", async () => {
  await using github = startFakeGitHub(repositories());
  await using s3 = await startTestS3();
  const [a, b] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  try {
    const results = await Promise.all([a, b].map((dir) => sync(dir, github.url, s3.env)));
    for (const result of results) assert.equal(result.code, 0, result.stdout + result.stderr);
    await using t = await startTestServer({ env: s3.env });
    const list = await (await get(`${t.swift}/mona/LinkedList`)).json();
    assert.deepEqual(Object.keys(list.releases), ["2.0.0-beta.1", "1.1.0", "1.0.0"]);
    for (const version of Object.keys(list.releases)) {
      const puts = s3.requests.filter((r) =>
        r.startsWith("PUT ") && r.includes(`/releases/${version}/`) && r.endsWith(".zip")
      );
      const release = await (await get(`${t.swift}/mona/LinkedList/${version}`)).json();
      assert.ok(puts.every((r) => r.includes(release.resources[0].checksum)), `${version}: one archive, one checksum`);
    }
  } finally {
    await Deno.remove(a, { recursive: true });
    await Deno.remove(b, { recursive: true });
  }
});

Deno.test("REGISTRY_SPI_PACKAGE_LIST mirrors the listed repositories, filtered by REGISTRY_SYNC_PACKAGES", async () => {
  await using github = startFakeGitHub(repositories());
  github.rawFiles.set(
    "SwiftPackageIndex/PackageList/packages.json",
    JSON.stringify([
      `${github.url.replace("http:", "https:")}/mona/LinkedList.git`,
      `${github.url.replace("http:", "https:")}/mona/uri.template.swift.git`,
      "https://gitlab.example/mona/uri.template.swift.git", // another forge: never mirrored from this one
    ]),
  );
  const dataDir = await Deno.makeTempDir();
  try {
    const result = await sync(dataDir, github.url, {
      REGISTRY_SPI_PACKAGE_LIST: "SwiftPackageIndex/PackageList/packages.json",
      REGISTRY_SYNC_PACKAGES: "mona/uri.template.swift",
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /packages 1, new versions 1/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("sync without REGISTRY_GITHUB_TOKEN says ingestion is off and exits 2", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    const result = await runMain(["sync", "--data-dir", dataDir], {});
    assert.equal(result.code, 2);
    assert.match(result.stderr, /REGISTRY_GITHUB_TOKEN is not set: ingestion is off/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("the server mirrors on its scheduler, one node at a time, and admins see per-package state at /swift/-/status", async () => {
  await using github = startFakeGitHub(repositories());
  await using s3 = await startTestS3();
  const env = {
    ...s3.env,
    REGISTRY_GITHUB_TOKEN: "fake-token",
    REGISTRY_GITHUB_API_URL: github.url,
    REGISTRY_SYNC_PACKAGES: "mona/*",
    REGISTRY_SYNC_INTERVAL: "1s",
  };
  await using a = await startTestServer({ env });
  await using b = await startTestServer({ env });
  const versions = await eventually("three versions listed on the other node", async () => {
    const response = await get(`${b.swift}/mona/LinkedList`);
    if (!response.ok) return void await response.body?.cancel();
    const listed = Object.keys((await response.json()).releases);
    return listed.length >= 3 ? listed : undefined;
  });
  assert.deepEqual(versions, ["2.0.0-beta.1", "1.1.0", "1.0.0"]);
  await new Promise((r) => setTimeout(r, 2_500)); // more passes on both nodes
  assert.equal(github.count(/zipball.* 200$/), 4, "each version was downloaded once across the cluster");

  const anonymous = await get(`${a.swift}/-/status`);
  assert.equal(anonymous.status, 401);
  await anonymous.body?.cancel();
  const status = await (await get(`${a.swift}/-/status`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } }))
    .json();
  assert.equal(status.ingestion.enabled, true);
  const linkedList = status.ingestion.repositories.find((r: { repository: string }) =>
    r.repository === "mona/linkedlist"
  );
  assert.ok(linkedList.lastSuccess, "last success per package");
  assert.deepEqual(Object.keys(linkedList.skipped), ["0.9.0"]);
  assert.ok(status.ingestion.lastPass.finishedAt);
  assert.ok(status.jobs.some((j: { name: string }) => j.name === "source-github"));
});

Deno.test("the filesystem source picks up new releases while the server runs, zips and folders alike", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/mona/LinkedList`, { recursive: true });
    await Deno.writeFile(`${root}/mona/LinkedList/1.0.0.zip`, await packageZip());
    await Deno.writeTextFile(`${root}/mona/LinkedList/notes.txt`, "not a release");
    await using t = await startTestServer({ env: { REGISTRY_FILESYSTEM_ROOT: root, REGISTRY_SYNC_INTERVAL: "1h" } });
    const versionsEventually = (count: number) =>
      eventually(`${count} versions listed`, async () => {
        const response = await get(`${t.swift}/mona/LinkedList`);
        if (!response.ok) return void await response.body?.cancel();
        const listed = Object.keys((await response.json()).releases);
        return listed.length >= count ? listed : undefined;
      });
    assert.deepEqual(await versionsEventually(1), ["1.0.0"], "the first pass after start-up");

    // A new version folder, written while the server runs: the watcher triggers a pass.
    await Deno.mkdir(`${root}/mona/LinkedList/v1.1/Sources/L`, { recursive: true });
    await Deno.writeTextFile(`${root}/mona/LinkedList/v1.1/Sources/L/L.swift`, "public let x = 1\n");
    await Deno.writeTextFile(`${root}/mona/LinkedList/v1.1/Package.swift`, manifest("5.9"));
    assert.deepEqual(await versionsEventually(2), ["1.1.0", "1.0.0"]);
    const archive = new Uint8Array(await (await get(`${t.swift}/mona/LinkedList/1.1.0.zip`)).arrayBuffer());
    const reader = new zip.ZipReader(new zip.Uint8ArrayReader(archive));
    const names = (await reader.getEntries()).map((e) => e.filename).sort();
    await reader.close();
    assert.deepEqual(names, ["LinkedList/", "LinkedList/Package.swift", "LinkedList/Sources/L/L.swift"]);

    // A broken release is refused once and not retried until it changes.
    await Deno.writeTextFile(`${root}/mona/LinkedList/2.0.0.zip`, "not a zip");
    await eventually("the broken release refused", () => t.logs.some((l) => l.includes("filesystem release refused")));
    assert.ok(t.logs.some((l) => l.includes("filesystem release refused") && l.includes("2.0.0.zip")));
    await t.server.scheduler.runNow("source-filesystem");
    const refusals = t.logs.filter((l) => l.includes("filesystem release refused")).length;
    assert.equal(refusals, 1, "an unchanged refused release is not tried again");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
