import assert from "node:assert/strict";
import { packageZip } from "./support/archives.ts";
import { scratchFiles } from "./support/files.ts";
import { get, publish, sha256Hex, startTestServer } from "./support/server.ts";

Deno.test("a restart serves every acknowledged release byte for byte", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "registry-restart-" });
  try {
    const archives = new Map<string, Uint8Array<ArrayBuffer>>();
    {
      await using first = await startTestServer({ dataDir });
      for (const version of ["1.0.0", "1.1.0"]) {
        const archive = await packageZip({
          alternates: { "5.8": "5.8" },
          extra: [{ name: "LinkedList/V", content: version }],
        });
        archives.set(version, archive);
        const response = await publish(first.swift, `mona/LinkedList/${version}`, {
          archive,
          metadata: { repositoryURLs: ["https://github.com/mona/LinkedList"] },
        });
        assert.equal(response.status, 201);
        await response.body?.cancel();
      }
    }
    await using second = await startTestServer({ dataDir });
    const list = await (await get(`${second.swift}/mona/LinkedList`)).json();
    assert.deepEqual(Object.keys(list.releases), ["1.1.0", "1.0.0"]);
    for (const [version, archive] of archives) {
      const release = await (await get(`${second.swift}/mona/LinkedList/${version}`)).json();
      assert.equal(release.resources[0].checksum, await sha256Hex(archive));
      const bytes = new Uint8Array(await (await get(`${second.swift}/mona/LinkedList/${version}.zip`)).arrayBuffer());
      assert.deepEqual(bytes, archive);
      const alternate = await get(`${second.swift}/mona/LinkedList/${version}/Package.swift?swift-version=5.8`);
      assert.equal(alternate.status, 200);
      await alternate.body?.cancel();
    }
    const ids = await get(`${second.swift}/identifiers?url=git@github.com:mona/LinkedList.git`);
    assert.deepEqual(await ids.json(), { identifiers: ["mona.LinkedList"] });
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("what a crash mid-publish leaves behind is invisible and does not block a new publish", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "registry-crash-" });
  try {
    // The state a crash after storing blobs, but before the commit, would leave:
    // an orphan archive and manifest, a half-written temp object and a staged upload
    // in the scratch directories of the crashed process (their locks died with it),
    // and, from an older version, loose scratch files.
    const orphan = `${dataDir}/objects/swift/packages/mona/linkedlist/releases/1.0.0/${"ab".repeat(32)}`;
    await Deno.mkdir(orphan, { recursive: true });
    await Deno.writeTextFile(`${orphan}/source-archive.zip`, "partial");
    await Deno.writeTextFile(`${orphan}/Package.swift`, "// swift-tools-version:5.9\n");
    for (const [area, file] of [["objects", "half-written"], ["uploads", "staged"]]) {
      await Deno.mkdir(`${dataDir}/tmp/${area}/4242-crashed`, { recursive: true });
      await Deno.writeTextFile(`${dataDir}/tmp/${area}/4242-crashed.lock`, "");
      await Deno.writeTextFile(`${dataDir}/tmp/${area}/4242-crashed/${file}`, "x");
      await Deno.writeTextFile(`${dataDir}/tmp/${area}/${file}`, "x");
      const yesterday = new Date(Date.now() - 86_400_000);
      await Deno.utime(`${dataDir}/tmp/${area}/${file}`, yesterday, yesterday);
    }

    await using t = await startTestServer({ dataDir });
    const list = await get(`${t.swift}/mona/LinkedList`);
    assert.equal(list.status, 404, "an uncommitted release is not listed");
    await list.body?.cancel();
    const release = await get(`${t.swift}/mona/LinkedList/1.0.0`);
    assert.equal(release.status, 404);
    await release.body?.cancel();
    assert.deepEqual(await scratchFiles(dataDir), [], "temp objects and staged uploads are cleared");
    for (const area of ["objects", "uploads"]) {
      const left = (await Array.fromAsync(Deno.readDir(`${dataDir}/tmp/${area}`))).map((e) => e.name);
      assert.ok(left.every((name) => name.startsWith(`${Deno.pid}-`)), `only the server's own scratch: ${left}`);
    }

    const archive = await packageZip();
    const response = await publish(t.swift, "mona/LinkedList/1.0.0", { archive });
    assert.equal(response.status, 201);
    await response.body?.cancel();
    const bytes = new Uint8Array(await (await get(`${t.swift}/mona/LinkedList/1.0.0.zip`)).arrayBuffer());
    assert.deepEqual(bytes, archive);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
