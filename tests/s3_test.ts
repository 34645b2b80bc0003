import assert from "node:assert/strict";
import { eventually } from "./support/eventually.ts";
import { packageZip } from "./support/archives.ts";
import { startTestS3 } from "./support/s3.ts";
import { get, problem, publish, sha256Hex, startTestServer, type TestServer } from "./support/server.ts";
import { walk } from "./support/files.ts";

/** These tests look at the disk cache itself: keep small archives out of the memory cache. */
const DISK_ONLY = { REGISTRY_MEMORY_CACHE_BYTES: "0" };

async function publishOk(t: TestServer, path: string, archive: Uint8Array, metadata?: unknown) {
  const response = await publish(t.swift, path, { archive, metadata });
  assert.equal(response.status, 201, await response.text());
}

async function download(url: string): Promise<Uint8Array> {
  const response = await get(url);
  assert.equal(response.status, 200, url);
  return new Uint8Array(await response.arrayBuffer());
}

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(length, i + 65536)));
  return bytes;
}

/** A package archive padded with `kib` KiB of incompressible bytes. */
function sizedZip(kib: number, tag: string) {
  return packageZip({
    extra: [
      { name: "LinkedList/blob.bin", content: randomBytes(kib * 1024) },
      { name: "LinkedList/TAG", content: tag },
    ],
  });
}

Deno.test("with S3, a fresh node with an empty disk serves every release byte for byte", async () => {
  await using s3 = await startTestS3();
  const archive = await packageZip({ alternates: { "5.8": "5.8" } });
  {
    await using first = await startTestServer({ env: s3.env });
    await publishOk(first, "mona/LinkedList/1.0.0", archive, {
      repositoryURLs: ["https://github.com/mona/LinkedList"],
    });
  }
  await using fresh = await startTestServer({ env: s3.env });
  const list = await (await get(`${fresh.swift}/mona/LinkedList`)).json();
  assert.deepEqual(Object.keys(list.releases), ["1.0.0"]);
  assert.deepEqual(await download(`${fresh.swift}/mona/LinkedList/1.0.0.zip`), archive);
  const manifest = await get(`${fresh.swift}/mona/LinkedList/1.0.0/Package.swift?swift-version=5.8`);
  assert.match(await manifest.text(), /swift-tools-version:5\.8/);
  const ids = await get(`${fresh.swift}/identifiers?url=git@github.com:mona/LinkedList.git`);
  assert.deepEqual(await ids.json(), { identifiers: ["mona.LinkedList"] });
  // The second download is a disk hit: no further S3 GET of the archive.
  const before = s3.count("GET", "source-archive.zip");
  assert.deepEqual(await download(`${fresh.swift}/mona/LinkedList/1.0.0.zip`), archive);
  assert.equal(s3.count("GET", "source-archive.zip"), before);
});

Deno.test("two nodes on one bucket: a release published on one is listed on the other within 2 seconds", async () => {
  await using s3 = await startTestS3();
  await using a = await startTestServer({ env: s3.env });
  // B's clock only moves when the test moves it: the bound is checked on B's time, not on how fast this machine is.
  let clockB = Date.now();
  await using b = await startTestServer({ env: s3.env, now: () => clockB });
  await publishOk(a, "mona/LinkedList/1.0.0", await packageZip());
  const cachedOnB = await (await get(`${b.swift}/mona/LinkedList`)).json();
  assert.deepEqual(Object.keys(cachedOnB.releases), ["1.0.0"]);

  const archive = await packageZip({ extra: [{ name: "LinkedList/V", content: "1.1.0" }] });
  await publishOk(a, "mona/LinkedList/1.1.0", archive);
  clockB += 2_000;
  const versions = Object.keys((await (await get(`${b.swift}/mona/LinkedList`)).json()).releases);
  assert.deepEqual(versions, ["1.1.0", "1.0.0"], "listed on B once 2 s have passed there");
  assert.deepEqual(await download(`${b.swift}/mona/LinkedList/1.1.0.zip`), archive);

  // The same version published on both nodes at once: exactly one wins across the cluster.
  const rival = await packageZip({ extra: [{ name: "LinkedList/V", content: "rival" }] });
  const [ra, rb] = await Promise.all([
    publish(a.swift, "mona/LinkedList/2.0.0", { archive: await packageZip() }),
    publish(b.swift, "mona/LinkedList/2.0.0", { archive: rival }),
  ]);
  await ra.body?.cancel();
  await rb.body?.cancel();
  assert.deepEqual([ra.status, rb.status].sort(), [201, 409]);
});

Deno.test("50 concurrent misses of one archive cause one S3 GET, and all get the right bytes", async () => {
  await using s3 = await startTestS3();
  const archive = await sizedZip(512, "x");
  {
    await using origin = await startTestServer({ env: s3.env });
    await publishOk(origin, "mona/LinkedList/1.0.0", archive);
  }
  await using fresh = await startTestServer({ env: s3.env });
  // Warm the metadata so only archive GETs are counted.
  await (await get(`${fresh.swift}/mona/LinkedList/1.0.0`)).body?.cancel();
  const before = s3.count("GET", "source-archive.zip");
  const bodies = await Promise.all(
    Array.from({ length: 50 }, () => download(`${fresh.swift}/mona/LinkedList/1.0.0.zip`)),
  );
  for (const body of bodies) assert.deepEqual(body, archive);
  assert.equal(s3.count("GET", "source-archive.zip") - before, 1);

  // Ranges on a cold node are served from the same single download.
  await using other = await startTestServer({ env: s3.env });
  await (await get(`${other.swift}/mona/LinkedList/1.0.0`)).body?.cancel();
  const countBefore = s3.count("GET", "source-archive.zip");
  const ranges = await Promise.all(
    [0, 1000, 200_000].map((start) =>
      get(`${other.swift}/mona/LinkedList/1.0.0.zip`, { headers: { Range: `bytes=${start}-${start + 99}` } })
    ),
  );
  for (const [i, start] of [0, 1000, 200_000].entries()) {
    assert.equal(ranges[i].status, 206);
    assert.deepEqual(new Uint8Array(await ranges[i].arrayBuffer()), archive.subarray(start, start + 100));
  }
  assert.equal(s3.count("GET", "source-archive.zip") - countBefore, 1);
});

Deno.test("the disk cache stays under REGISTRY_DISK_MAX_BYTES by evicting the least recently used, and still serves everything", async () => {
  await using s3 = await startTestS3();
  const budget = 600 * 1024;
  await using t = await startTestServer({ env: { ...s3.env, REGISTRY_DISK_MAX_BYTES: String(budget) } });
  const archives = new Map<string, Uint8Array>();
  for (let i = 0; i < 6; i++) {
    const archive = await sizedZip(150, String(i));
    archives.set(`1.0.${i}`, archive);
    await publishOk(t, `mona/LinkedList/1.0.${i}`, archive);
    assert.ok(t.server.cache!.usedBytes <= budget, `after publish ${i}: ${t.server.cache!.usedBytes} > ${budget}`);
  }
  assert.ok(t.server.cache!.stats.evictions > 0, "something was evicted");
  for (const [version, archive] of archives) {
    assert.deepEqual(await download(`${t.swift}/mona/LinkedList/${version}.zip`), archive);
    assert.ok(t.server.cache!.usedBytes <= budget, `serving ${version}: ${t.server.cache!.usedBytes} > ${budget}`);
  }
  await t.server.cache!.settle();
  let onDisk = 0;
  for await (const entry of walk(`${t.dataDir}/cache/objects`)) onDisk += (await Deno.stat(entry)).size;
  assert.ok(onDisk <= budget, `files on disk: ${onDisk} > ${budget}`);
});

Deno.test("S3 down: disk hits keep serving, misses and publishes get 503 with Retry-After; S3 back: service resumes", async () => {
  await using s3 = await startTestS3();
  await using a = await startTestServer({ env: s3.env });
  await using b = await startTestServer({ env: s3.env });
  const cached = await packageZip();
  const uncached = await sizedZip(64, "uncached");
  await publishOk(a, "mona/LinkedList/1.0.0", cached);
  await publishOk(a, "mona/LinkedList/1.1.0", uncached);
  // b reads 1.0.0 once (now on its disk) and learns the package index.
  assert.deepEqual(await download(`${b.swift}/mona/LinkedList/1.0.0.zip`), cached);
  await (await get(`${b.swift}/mona/LinkedList/1.1.0`)).body?.cancel();

  await s3.stop();
  await new Promise((r) => setTimeout(r, 2_100)); // past the metadata revalidation bound
  assert.deepEqual(await download(`${b.swift}/mona/LinkedList/1.0.0.zip`), cached);
  const list = await get(`${b.swift}/mona/LinkedList`);
  assert.equal(list.status, 200, "metadata is served from memory/disk while S3 is down");
  await list.body?.cancel();

  const miss = await get(`${b.swift}/mona/LinkedList/1.1.0.zip`);
  assert.equal(miss.status, 503);
  assert.ok(Number(miss.headers.get("retry-after")) > 0);
  await problem(miss);

  const refused = await publish(a.swift, "mona/LinkedList/2.0.0", { archive: await packageZip() });
  assert.equal(refused.status, 503);
  assert.ok(Number(refused.headers.get("retry-after")) > 0);
  await problem(refused);

  s3.start();
  assert.deepEqual(await download(`${b.swift}/mona/LinkedList/1.1.0.zip`), uncached);
  const accepted = await sizedZip(8, "accepted"); // other bytes than the refused publish
  await publishOk(a, "mona/LinkedList/2.0.0", accepted);
  const release = await (await get(`${a.swift}/mona/LinkedList/2.0.0`)).json();
  assert.equal(release.resources[0].checksum, await sha256Hex(accepted as Uint8Array<ArrayBuffer>));
  assert.deepEqual(await download(`${a.swift}/mona/LinkedList/2.0.0.zip`), accepted);
  const stored = s3.requests.filter((r) => r.startsWith("PUT ") && r.includes("/releases/2.0.0/"));
  assert.ok(stored.every((r) => r.includes(release.resources[0].checksum)), "only the accepted archive was stored");
});

Deno.test("a corrupt or truncated cached file is detected and fetched again, never served", async () => {
  await using s3 = await startTestS3();
  const archive = await packageZip();
  const dataDir = await Deno.makeTempDir();
  try {
    {
      await using t = await startTestServer({ env: { ...s3.env, ...DISK_ONLY }, dataDir });
      await publishOk(t, "mona/LinkedList/1.0.0", archive);
    }
    const checksum = await sha256Hex(archive);
    const path =
      `${dataDir}/cache/objects/swift/packages/mona/linkedlist/releases/1.0.0/${checksum}/source-archive.zip`;

    // Same size, one byte flipped.
    const flipped = new Uint8Array(archive);
    flipped[100] ^= 0xff;
    await Deno.writeFile(path, flipped);
    {
      await using t = await startTestServer({ env: { ...s3.env, ...DISK_ONLY }, dataDir });
      assert.deepEqual(await download(`${t.swift}/mona/LinkedList/1.0.0.zip`), archive);
      assert.equal(t.server.cache!.stats.corruptions, 1);
    }
    assert.deepEqual(await Deno.readFile(path), archive, "the cache holds the good copy again");

    // Truncated while the server runs.
    await using t = await startTestServer({ env: { ...s3.env, ...DISK_ONLY }, dataDir });
    assert.deepEqual(await download(`${t.swift}/mona/LinkedList/1.0.0.zip`), archive);
    await Deno.truncate(path, 50);
    assert.deepEqual(await download(`${t.swift}/mona/LinkedList/1.0.0.zip`), archive);
    assert.ok(t.server.cache!.stats.corruptions >= 1);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("two nodes publishing one version asynchronously: the loser gets 409 on the publish itself", async () => {
  await using s3 = await startTestS3();
  await using a = await startTestServer({ env: s3.env });
  await using b = await startTestServer({ env: s3.env });
  for (let round = 0; round < 5; round++) {
    const version = `1.0.${round}`;
    const responses = await Promise.all(
      [a, b].map(async (node, i) =>
        publish(node.swift, `mona/LinkedList/${version}`, {
          archive: await packageZip({ extra: [{ name: "LinkedList/N", content: String(i) }] }),
        }, { prefer: "respond-async" })
      ),
    );
    assert.deepEqual(responses.map((r) => r.status).sort(), [202, 409], `round ${round}`);
    const accepted = responses.find((r) => r.status === 202)!;
    await accepted.body?.cancel();
    await problem(responses.find((r) => r.status === 409)!);
    const poll = await eventually("the publish finished", async () => {
      const answer = await get(accepted.headers.get("location")!, { redirect: "manual" });
      await answer.body?.cancel();
      return answer.status === 202 ? undefined : answer;
    });
    assert.equal(poll.status, 301, "an accepted publish keeps its promise");
  }
});

Deno.test("two nodes publishing one version at once: one 201, one 409, and the loser's identifier mapping never answers", async () => {
  await using s3 = await startTestS3();
  await using a = await startTestServer({ env: s3.env });
  await using b = await startTestServer({ env: s3.env });
  const responses = await Promise.all([a, b].map(async (node, i) =>
    publish(node.swift, "mona/LinkedList/1.0.0", {
      archive: await packageZip({ extra: [{ name: "LinkedList/N", content: String(i) }] }),
      metadata: { repositoryURLs: [`https://github.com/mona/Fork${i}`] },
    })
  ));
  const outcomes = responses.map((r) => r.status);
  assert.deepEqual([...outcomes].sort(), [201, 409]);
  for (const response of responses) {
    if (response.status === 409) await problem(response);
    else await response.body?.cancel();
  }
  // A loser that got as far as writing its identifier mapping must not be found by it.
  const winner = outcomes.indexOf(201);
  const won = await get(`${a.swift}/identifiers?url=https://github.com/mona/Fork${winner}`);
  assert.deepEqual(await won.json(), { identifiers: ["mona.LinkedList"] });
  const lost = await get(`${a.swift}/identifiers?url=https://github.com/mona/Fork${1 - winner}`);
  assert.equal(lost.status, 404);
  await problem(lost);
});

Deno.test("a failing disk does not stop service: misses stream from S3, the error is logged, nothing is half-written", async () => {
  await using s3 = await startTestS3();
  const archive = await sizedZip(200, "disk");
  {
    await using origin = await startTestServer({ env: s3.env });
    await publishOk(origin, "mona/LinkedList/1.0.0", archive);
  }
  await using t = await startTestServer({ env: s3.env });
  await (await get(`${t.swift}/mona/LinkedList/1.0.0`)).body?.cancel();
  // Break the cache's scratch space: every new cache file now fails to be created.
  await Deno.remove(`${t.dataDir}/cache/tmp/objects`, { recursive: true });
  await Deno.writeTextFile(`${t.dataDir}/cache/tmp/objects`, "not a directory");

  for (let i = 0; i < 3; i++) assert.deepEqual(await download(`${t.swift}/mona/LinkedList/1.0.0.zip`), archive);
  const ranged = await get(`${t.swift}/mona/LinkedList/1.0.0.zip`, { headers: { Range: "bytes=10-19" } });
  assert.equal(ranged.status, 206);
  assert.deepEqual(new Uint8Array(await ranged.arrayBuffer()), archive.subarray(10, 20));
  assert.ok(t.server.cache!.stats.diskErrors > 0);
  assert.ok(t.logs.some((line) => JSON.parse(line).msg.startsWith("disk cache error")), "the disk error is logged");
  const cachedCopy = `${t.dataDir}/cache/objects/swift/packages/mona/linkedlist/releases/1.0.0/${await sha256Hex(
    archive as Uint8Array<ArrayBuffer>,
  )}/source-archive.zip`;
  await assert.rejects(Deno.stat(cachedCopy), Deno.errors.NotFound, "no partial copy was kept");
});

Deno.test("two nodes publishing different versions at the same time lose none of them", async () => {
  await using s3 = await startTestS3();
  await using a = await startTestServer({ env: s3.env });
  await using b = await startTestServer({ env: s3.env });
  const versions = Array.from({ length: 12 }, (_, i) => `1.${i}.0`);
  const responses = await Promise.all(
    versions.map(async (version, i) =>
      publish((i % 2 === 0 ? a : b).swift, `mona/LinkedList/${version}`, { archive: await packageZip() })
    ),
  );
  for (const response of responses) {
    assert.equal(response.status, 201);
    await response.body?.cancel();
  }
  await new Promise((r) => setTimeout(r, 2_100));
  for (const node of [a, b]) {
    const list = await (await get(`${node.swift}/mona/LinkedList`)).json();
    assert.deepEqual(Object.keys(list.releases).sort(), [...versions].sort());
  }
});

Deno.test("a large cached file that is corrupt is never served: it is checked before its first byte goes out", async () => {
  await using s3 = await startTestS3();
  const archive = await sizedZip(1500, "large"); // over the 1 MiB checked-in-memory threshold
  const dataDir = await Deno.makeTempDir();
  try {
    {
      await using t = await startTestServer({ env: s3.env, dataDir });
      await publishOk(t, "mona/LinkedList/1.0.0", archive);
    }
    const checksum = await sha256Hex(archive as Uint8Array<ArrayBuffer>);
    const path =
      `${dataDir}/cache/objects/swift/packages/mona/linkedlist/releases/1.0.0/${checksum}/source-archive.zip`;
    const flipped = new Uint8Array(archive);
    flipped[archive.length - 10] ^= 0xff;
    await Deno.writeFile(path, flipped);
    await using t = await startTestServer({ env: s3.env, dataDir });
    const ranged = await get(`${t.swift}/mona/LinkedList/1.0.0.zip`, {
      headers: { Range: `bytes=${archive.length - 20}-` },
    });
    assert.equal(ranged.status, 206);
    assert.deepEqual(new Uint8Array(await ranged.arrayBuffer()), archive.subarray(archive.length - 20));
    assert.deepEqual(await download(`${t.swift}/mona/LinkedList/1.0.0.zip`), archive);
    assert.equal(t.server.cache!.stats.corruptions, 1);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("an archive larger than the disk budget is served from S3, ranges included, and never written to disk", async () => {
  await using s3 = await startTestS3();
  const archive = await sizedZip(300, "huge");
  await using t = await startTestServer({ env: { ...s3.env, REGISTRY_DISK_MAX_BYTES: "200KiB" } });
  await publishOk(t, "mona/LinkedList/1.0.0", archive);
  assert.deepEqual(await download(`${t.swift}/mona/LinkedList/1.0.0.zip`), archive);
  const ranged = await get(`${t.swift}/mona/LinkedList/1.0.0.zip`, { headers: { Range: "bytes=100-199" } });
  assert.equal(ranged.status, 206);
  assert.deepEqual(new Uint8Array(await ranged.arrayBuffer()), archive.subarray(100, 200));
  await t.server.cache!.settle();
  assert.ok(t.server.cache!.usedBytes <= 200 * 1024);
  let onDisk = 0;
  for await (const entry of walk(`${t.dataDir}/cache`)) onDisk += (await Deno.stat(entry)).size;
  assert.ok(onDisk < archive.length, `${onDisk} bytes on disk`);
});

Deno.test("a hung S3 is answered with 503 within REGISTRY_S3_TIMEOUT, and a stalled download is dropped and fetched again", async () => {
  await using s3 = await startTestS3();
  const archive = await sizedZip(256, "stall");
  {
    await using origin = await startTestServer({ env: s3.env });
    await publishOk(origin, "mona/LinkedList/1.0.0", archive);
  }
  await using t = await startTestServer({ env: { ...s3.env, REGISTRY_S3_TIMEOUT: "2s", ...DISK_ONLY } });
  await (await get(`${t.swift}/mona/LinkedList/1.0.0`)).body?.cancel();

  s3.fault("stall", "source-archive.zip");
  const stalled = await get(`${t.swift}/mona/LinkedList/1.0.0.zip`);
  await assert.rejects(stalled.arrayBuffer(), "the response is cut, never completed with wrong bytes");
  s3.fault(null);
  assert.deepEqual(await download(`${t.swift}/mona/LinkedList/1.0.0.zip`), archive);

  await using fresh = await startTestServer({ env: { ...s3.env, REGISTRY_S3_TIMEOUT: "2s", ...DISK_ONLY } });
  s3.fault("hang");
  // Without deadlines this request would never be answered.
  const response = await get(`${fresh.swift}/mona/LinkedList/1.0.0.zip`);
  assert.equal(response.status, 503);
  await problem(response);
  s3.fault(null);
});

Deno.test("a conditional write whose answer is lost is not reported as a conflict", async () => {
  await using s3 = await startTestS3();
  await using t = await startTestServer({ env: s3.env });
  s3.fault("lose-answer", "/index.json");
  await publishOk(t, "mona/LinkedList/1.0.0", await packageZip());
  const list = await (await get(`${t.swift}/mona/LinkedList`)).json();
  assert.deepEqual(Object.keys(list.releases), ["1.0.0"]);
});

Deno.test("two nodes on one bucket take a burst of 100 concurrent publishes to one package, every one committed", async () => {
  await using s3 = await startTestS3();
  await using a = await startTestServer({ env: s3.env });
  await using b = await startTestServer({ env: s3.env });
  const archive = await packageZip();
  const responses = await Promise.all(
    Array.from({ length: 100 }, (_, i) => publish((i % 2 ? a : b).swift, `mona/LinkedList/1.0.${i}`, { archive })),
  );
  const statuses = await Promise.all(responses.map(async (r) => {
    await r.body?.cancel();
    return r.status;
  }));
  assert.deepEqual(statuses.filter((s) => s !== 201), [], "every publish is accepted");
  const list = await eventually("all 100 listed", async () => {
    const listed = Object.keys((await (await get(`${a.swift}/mona/LinkedList`)).json()).releases);
    return listed.length === 100 ? listed : undefined;
  });
  assert.equal(list.length, 100);
});
