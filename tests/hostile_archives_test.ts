import assert from "node:assert/strict";
import { buildZip, headerLyingArchives, rawZip } from "./support/archives.ts";
import { readingOffsets, walk } from "./support/files.ts";
import { get, problem, publish, startTestServer, type TestServer } from "./support/server.ts";

const MANIFEST = { name: "pkg/Package.swift", content: "// swift-tools-version:5.9\n" };
const SOURCE = "public struct LinkedList {}\n";

async function assertNothingStored(t: TestServer): Promise<void> {
  const list = await get(`${t.swift}/mona/LinkedList`);
  assert.equal(list.status, 404, "no release list");
  await list.body?.cancel();
  const stored = await Array.fromAsync(walk(`${t.dataDir}/objects`)).catch(() => []);
  assert.deepEqual(stored.filter((path) => path.includes("/mona/linkedlist/")), [], "no object for the package");
}

Deno.test("archives whose headers lie about sizes, CRC-32 or names are refused with 422, nothing stored", async (t) => {
  for (const [label, archive, detail] of headerLyingArchives()) {
    await t.step(label, async () => {
      await using server = await startTestServer();
      const response = await publish(server.swift, "mona/LinkedList/1.0.0", { archive });
      assert.equal(response.status, 422);
      assert.match((await problem(response)).detail, detail);
      await assertNothingStored(server);
    });
  }
});

Deno.test("the same files with honest headers are accepted, so it is the lie that is refused", async () => {
  await using t = await startTestServer();
  const archive = rawZip([
    MANIFEST,
    { name: "pkg/Sources/LinkedList.swift", content: SOURCE },
    { name: "pkg/Sources/evil.sh", content: "rm -rf ~\n" },
  ]);
  const response = await publish(t.swift, "mona/LinkedList/1.0.0", { archive });
  assert.equal(response.status, 201, await response.text());
});

Deno.test("entries whose names differ only by case are refused: they collide on case-insensitive disks", async () => {
  await using t = await startTestServer();
  const cases: Array<[Uint8Array, RegExp]> = [
    [
      await buildZip([MANIFEST, { name: "pkg/README.md", content: "a" }, { name: "pkg/readme.md", content: "b" }]),
      /entries "pkg\/README\.md" and "pkg\/readme\.md" differ only by case/,
    ],
    [
      await buildZip([
        MANIFEST,
        { name: "pkg/Sources/A/a.swift", content: "a" },
        { name: "pkg/sources/B/b.swift", content: "b" },
      ]),
      /entries "pkg\/Sources" and "pkg\/sources" differ only by case/,
    ],
  ];
  for (const [archive, detail] of cases) {
    const response = await publish(t.swift, "mona/LinkedList/1.0.0", { archive });
    assert.equal(response.status, 422);
    assert.match((await problem(response)).detail, detail);
  }
  await assertNothingStored(t);
});

Deno.test({
  name: "/health answers while a 40,000-entry archive is still being inspected",
  ignore: Deno.build.os !== "linux", // watches the server's file offsets in /proc
  async fn() {
    await using t = await startTestServer();
    // Refused at its last entry, so the publish is answered only once the inspection has walked every entry.
    const archive = rawZip([
      MANIFEST,
      ...Array.from({ length: 40_000 }, (_, i) => ({ name: `pkg/Sources/F${i}.swift`, content: `let f${i} = ${i}\n` })),
      { name: "README.md", content: "a file at the top level" },
    ]);
    const centralDirectory = new DataView(archive.buffer).getUint32(archive.length - 22 + 16, true);
    let answered = false;
    const publishing = publish(t.swift, "mona/LinkedList/1.0.0", { archive }).finally(() => answered = true);
    // The inspection is reading entries once the server holds the upload open before its central directory.
    const readingEntries = () =>
      readingOffsets(`${t.dataDir}/tmp/uploads`).some((pos) => pos > 0 && pos < centralDirectory);
    while (!answered && !readingEntries()) await new Promise((resolve) => setTimeout(resolve, 1));
    assert.equal(answered, false, "the publish was answered before the server read the archive's entries");

    // /health, asked again and again for as long as the walk lasts, is answered during it (how often depends on
    // how fast this machine is; that it is answered at all is what shows the walk lets other requests run).
    let answeredDuringInspection = 0;
    while (!answered) {
      const health = await fetch(`${t.url}/health`);
      assert.equal(health.status, 200);
      await health.body?.cancel();
      if (!answered) answeredDuringInspection++;
    }
    assert.ok(answeredDuringInspection > 0, "/health was answered only after the inspection");
    const refused = await publishing;
    assert.equal(refused.status, 422);
    assert.match((await problem(refused)).detail, /"README\.md" is a file at the top level/);
  },
});
