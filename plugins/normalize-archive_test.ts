import assert from "node:assert/strict";
import * as zip from "@zip.js/zip.js";
import { buildZip, packageZip, type TestEntry } from "../tests/support/archives.ts";
import { inspectSourceArchive } from "../src/formats/swift/archive.ts";
import factory, { type NormalizeArchiveOptions } from "./normalize-archive.ts";
import type { PluginContext, PluginStorage, RegistryApi, SemverApi, TransformResult } from "./types.ts";

zip.configure({ useWebWorkers: false });

const noop = () => {};
const storage: PluginStorage = {
  read: () => Promise.reject(new Error("normalize-archive must not use storage")),
  update: () => Promise.reject(new Error("normalize-archive must not use storage")),
  list: () => Promise.reject(new Error("normalize-archive must not use storage")),
};

function context<O>(options: O): PluginContext<O> {
  return {
    options,
    logger: { debug: noop, info: noop, warn: noop, error: noop },
    fetch: globalThis.fetch,
    storage,
    semver: {} as SemverApi,
    now: Date.now,
    registry: {} as RegistryApi,
  };
}

/** A scratch directory for the transform's temporary files, checked empty and removed on dispose. */
async function scratch(): Promise<{ dir: string; files(): Promise<string[]> } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "normalize-archive-test-" });
  const files = async () => (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name);
  return {
    dir,
    files,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function normalize(
  archive: Uint8Array | ReadableStream<Uint8Array>,
  options: NormalizeArchiveOptions,
): Promise<TransformResult> {
  const plugin = await factory(context(options));
  assert.equal(plugin.name, "normalize-archive");
  const transform = plugin.transforms?.find((t) => t.name === "normalize-archive");
  assert.ok(transform);
  const stream = archive instanceof Uint8Array ? ReadableStream.from([archive]) : archive;
  return await transform.transform({
    format: "swift",
    package: { format: "swift", scope: "mona", name: "LinkedList" },
    version: "1.0.0",
    archive: stream,
    size: archive instanceof Uint8Array ? archive.length : 0,
    metadata: {},
  });
}

interface OutEntry {
  directory: boolean;
  symlink: boolean;
  executable: boolean;
  lastModDate: Date;
  content?: string;
}

/** Reads the whole result zip: its entries by name (directories end with `/`), in archive order. */
async function readResult(result: TransformResult): Promise<Map<string, OutEntry>> {
  assert.ok(result.archive, "expected a replacement archive");
  assert.equal(result.reject, undefined);
  const bytes = new Uint8Array(await new Response(result.archive).arrayBuffer());
  const reader = new zip.ZipReader(new zip.Uint8ArrayReader(bytes), { strictness: "strict" });
  const out = new Map<string, OutEntry>();
  try {
    for (const entry of await reader.getEntries()) {
      out.set(entry.filename, {
        directory: entry.directory,
        symlink: entry.symlink,
        executable: entry.executable,
        lastModDate: entry.lastModDate,
        content: entry.directory ? undefined : await entry.getData(new zip.TextWriter(), { checkSignature: true }),
      });
    }
  } finally {
    await reader.close();
  }
  return out;
}

/** Normalizes a zip (or the zip of `entries`) and checks that no temporary file is left. */
async function normalizeEntries(archive: TestEntry[] | Uint8Array): Promise<Map<string, OutEntry>> {
  await using tmp = await scratch();
  const bytes = archive instanceof Uint8Array ? archive : await buildZip(archive);
  const result = await normalize(bytes, { tempDir: tmp.dir });
  const out = await readResult(result);
  assert.deepEqual(await tmp.files(), [], "temporary files left behind");
  return out;
}

function contents(out: Map<string, OutEntry>): Record<string, string | null> {
  return Object.fromEntries([...out].map(([name, entry]) => [name, entry.content ?? null]));
}

const MANIFEST = "// swift-tools-version:5.9\nimport PackageDescription\n";

Deno.test("__MACOSX folders and .DS_Store files are stripped wherever they are", async () => {
  const out = await normalizeEntries([
    { name: "__MACOSX/" },
    { name: "__MACOSX/LinkedList/._Package.swift", content: "resource fork" },
    { name: "LinkedList/" },
    { name: "LinkedList/Package.swift", content: MANIFEST },
    { name: "LinkedList/.DS_Store", content: "finder" },
    { name: "LinkedList/Sources/.DS_Store", content: "finder" },
    { name: "LinkedList/Sources/LinkedList/LinkedList.swift", content: "struct L {}\n" },
    { name: "LinkedList/Sources/__MACOSX/._x", content: "resource fork" },
  ]);
  assert.deepEqual(contents(out), {
    "LinkedList/": null,
    "LinkedList/Package.swift": MANIFEST,
    "LinkedList/Sources/LinkedList/LinkedList.swift": "struct L {}\n",
  });
});

Deno.test("a symlink to a file inside the package becomes a regular file with the target's content", async () => {
  const out = await normalizeEntries([
    { name: "LinkedList/" },
    { name: "LinkedList/Package.swift", content: MANIFEST },
    { name: "LinkedList/Package@swift-5.9.swift", content: "Package.swift", symlink: true },
    { name: "LinkedList/Sources/LinkedList/Node.swift", content: "struct Node {}\n" },
    { name: "LinkedList/Sources/LinkedList/Alias.swift", content: "Node.swift", symlink: true },
    // A chain: a link to a link to a file.
    { name: "LinkedList/Sources/Chain.swift", content: "LinkedList/Alias.swift", symlink: true },
  ]);
  assert.deepEqual(contents(out), {
    "LinkedList/": null,
    "LinkedList/Package.swift": MANIFEST,
    "LinkedList/Package@swift-5.9.swift": MANIFEST,
    "LinkedList/Sources/LinkedList/Node.swift": "struct Node {}\n",
    "LinkedList/Sources/LinkedList/Alias.swift": "struct Node {}\n",
    "LinkedList/Sources/Chain.swift": "struct Node {}\n",
  });
  assert.ok([...out.values()].every((entry) => !entry.symlink));
});

Deno.test("a symlink to a directory inside the package becomes a copy of that directory's files", async () => {
  const out = await normalizeEntries([
    { name: "LinkedList/" },
    { name: "LinkedList/Package.swift", content: MANIFEST },
    { name: "LinkedList/Shared/" },
    { name: "LinkedList/Shared/a.swift", content: "let a = 1\n" },
    { name: "LinkedList/Shared/deep/b.swift", content: "let b = 2\n" },
    { name: "LinkedList/Shared/alias.swift", content: "a.swift", symlink: true },
    { name: "LinkedList/Sources/LinkedList", content: "../Shared", symlink: true },
  ]);
  assert.deepEqual(contents(out), {
    "LinkedList/": null,
    "LinkedList/Package.swift": MANIFEST,
    "LinkedList/Shared/": null,
    "LinkedList/Shared/a.swift": "let a = 1\n",
    "LinkedList/Shared/deep/b.swift": "let b = 2\n",
    "LinkedList/Shared/alias.swift": "let a = 1\n",
    "LinkedList/Sources/LinkedList/": null,
    "LinkedList/Sources/LinkedList/a.swift": "let a = 1\n",
    "LinkedList/Sources/LinkedList/deep/": null,
    "LinkedList/Sources/LinkedList/deep/b.swift": "let b = 2\n",
    "LinkedList/Sources/LinkedList/alias.swift": "let a = 1\n",
  });
});

Deno.test("directory symlinks pointing at each other are copied once each, without recursing forever", async () => {
  const out = await normalizeEntries([
    { name: "LinkedList/Package.swift", content: MANIFEST },
    { name: "LinkedList/b/file.txt", content: "b" },
    { name: "LinkedList/b/toC", content: "../c", symlink: true },
    { name: "LinkedList/c/file.txt", content: "c" },
    { name: "LinkedList/c/toB", content: "../b", symlink: true },
  ]);
  assert.deepEqual(contents(out), {
    "LinkedList/Package.swift": MANIFEST,
    "LinkedList/b/file.txt": "b",
    "LinkedList/b/toC/": null,
    "LinkedList/b/toC/file.txt": "c",
    // The copy of c holds a copy of b, minus b's link back to c (already being copied).
    "LinkedList/b/toC/toB/": null,
    "LinkedList/b/toC/toB/file.txt": "b",
    "LinkedList/c/file.txt": "c",
    "LinkedList/c/toB/": null,
    "LinkedList/c/toB/file.txt": "b",
    "LinkedList/c/toB/toC/": null,
    "LinkedList/c/toB/toC/file.txt": "c",
  });
});

Deno.test("symlinks that escape the package, are absolute, dangle or loop are dropped", async () => {
  const out = await normalizeEntries([
    { name: "LinkedList/" },
    { name: "LinkedList/Package.swift", content: MANIFEST },
    { name: "LinkedList/absolute", content: "/etc/passwd", symlink: true },
    { name: "LinkedList/windows", content: "C:\\Windows\\win.ini", symlink: true },
    { name: "LinkedList/up", content: "../../secret", symlink: true },
    // Climbs above the package directory, even though it comes back into it.
    { name: "LinkedList/sneaky", content: "../LinkedList/Package.swift", symlink: true },
    { name: "LinkedList/ancestor", content: "..", symlink: true },
    { name: "LinkedList/Sources/itself", content: ".", symlink: true },
    { name: "LinkedList/dangling", content: "Missing.swift", symlink: true },
    { name: "LinkedList/loop1", content: "loop2", symlink: true },
    { name: "LinkedList/loop2", content: "loop1", symlink: true },
    // Escapes through another link met on the way.
    { name: "LinkedList/tmp", content: "/tmp", symlink: true },
    { name: "LinkedList/via", content: "tmp/file", symlink: true },
    { name: "LinkedList/Sources/Lib.swift", content: "let x = 1\n" },
  ]);
  assert.deepEqual(contents(out), {
    "LinkedList/": null,
    "LinkedList/Package.swift": MANIFEST,
    "LinkedList/Sources/Lib.swift": "let x = 1\n",
  });
});

Deno.test("entries at the top level are wrapped in one directory named after the package", async () => {
  const out = await normalizeEntries([
    { name: "Package.swift", content: MANIFEST },
    { name: "Sources/" },
    { name: "Sources/LinkedList/LinkedList.swift", content: "struct L {}\n" },
  ]);
  assert.deepEqual(contents(out), {
    "LinkedList/": null,
    "LinkedList/Package.swift": MANIFEST,
    "LinkedList/Sources/": null,
    "LinkedList/Sources/LinkedList/LinkedList.swift": "struct L {}\n",
  });
});

Deno.test("several top-level directories are wrapped in one directory named after the package", async () => {
  const out = await normalizeEntries([
    { name: "Sources/" },
    { name: "Sources/LinkedList/LinkedList.swift", content: "struct L {}\n" },
    { name: "Tests/LinkedListTests/Tests.swift", content: "import XCTest\n" },
  ]);
  assert.deepEqual(contents(out), {
    "LinkedList/": null,
    "LinkedList/Sources/": null,
    "LinkedList/Sources/LinkedList/LinkedList.swift": "struct L {}\n",
    "LinkedList/Tests/LinkedListTests/Tests.swift": "import XCTest\n",
  });
});

Deno.test("a top directory is kept, not wrapped, when only junk and dropped symlinks sat beside it", async () => {
  const out = await normalizeEntries([
    { name: ".DS_Store", content: "finder" },
    { name: "escape", content: "/etc/passwd", symlink: true },
    { name: "swift-linked-list-1.0.0/Package.swift", content: MANIFEST },
  ]);
  assert.deepEqual(contents(out), { "swift-linked-list-1.0.0/Package.swift": MANIFEST });
});

Deno.test("top-level symlinks resolve inside the archive and are wrapped with everything else", async () => {
  const out = await normalizeEntries([
    { name: "Package.swift", content: "Package@swift-5.9.swift", symlink: true },
    { name: "Package@swift-5.9.swift", content: MANIFEST },
    { name: "Sources", content: "src", symlink: true },
    { name: "src/LinkedList.swift", content: "struct L {}\n" },
  ]);
  assert.deepEqual(contents(out), {
    "LinkedList/": null,
    "LinkedList/Package.swift": MANIFEST,
    "LinkedList/Package@swift-5.9.swift": MANIFEST,
    "LinkedList/Sources/": null,
    "LinkedList/Sources/LinkedList.swift": "struct L {}\n",
    "LinkedList/src/LinkedList.swift": "struct L {}\n",
  });
});

Deno.test("a messy archive comes out in the layout the registry's validation accepts", async () => {
  await using tmp = await scratch();
  const result = await normalize(
    await buildZip([
      { name: "__MACOSX/._Package.swift", content: "resource fork" },
      { name: ".DS_Store", content: "finder" },
      { name: "Package.swift", content: MANIFEST },
      { name: "Package@swift-5.8.swift", content: "Package.swift", symlink: true },
      { name: "Sources/LinkedList/LinkedList.swift", content: "struct L {}\n" },
      { name: "Sources/Alias", content: "LinkedList", symlink: true },
      { name: "Sources/Outside", content: "../../etc", symlink: true },
    ]),
    { tempDir: tmp.dir },
  );
  assert.ok(result.archive);
  const path = await Deno.makeTempFile({ dir: tmp.dir, suffix: ".zip" });
  await result.archive.pipeTo((await Deno.open(path, { write: true })).writable);
  const inspection = await inspectSourceArchive(path);
  assert.equal(inspection.topDirectory, "LinkedList");
  assert.deepEqual(inspection.manifests.map((m) => m.filename), ["Package.swift", "Package@swift-5.8.swift"]);
  assert.equal(inspection.entryCount, 6);
  await Deno.remove(path);
  assert.deepEqual(await tmp.files(), []);
});

Deno.test("an archive that needs no change returns {} and leaves no temporary file", async () => {
  await using tmp = await scratch();
  let pulled = false;
  const bytes = await packageZip({ alternates: { "5.8": "5.8" } });
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled = true;
      controller.enqueue(bytes);
      controller.close();
    },
  });
  assert.deepEqual(await normalize(stream, { tempDir: tmp.dir }), {});
  assert.ok(pulled);
  assert.deepEqual(await tmp.files(), []);
});

Deno.test("modification dates and the executable bit of entries are kept, also through symlinks", async () => {
  const date = new Date(Date.UTC(2021, 4, 6, 7, 8, 10));
  const writer = new zip.ZipWriter(new zip.Uint8ArrayWriter());
  await writer.add("LinkedList/", undefined, { directory: true, lastModDate: date });
  await writer.add("LinkedList/Package.swift", new zip.TextReader(MANIFEST), { lastModDate: date });
  await writer.add("LinkedList/run.sh", new zip.TextReader("#!/bin/sh\n"), { executable: true, lastModDate: date });
  await writer.add("LinkedList/.DS_Store", new zip.TextReader("finder"));
  await writer.add("LinkedList/go", new zip.TextReader("run.sh"), { unixMode: 0o120777, versionMadeBy: 0x031e });
  const out = await normalizeEntries(await writer.close());
  assert.deepEqual([...out.keys()], ["LinkedList/", "LinkedList/Package.swift", "LinkedList/run.sh", "LinkedList/go"]);
  for (const entry of out.values()) assert.equal(entry.lastModDate.getTime(), date.getTime());
  assert.equal(out.get("LinkedList/Package.swift")!.executable, false);
  assert.equal(out.get("LinkedList/run.sh")!.executable, true);
  assert.equal(out.get("LinkedList/go")!.executable, true);
  assert.equal(out.get("LinkedList/go")!.content, "#!/bin/sh\n");
});

Deno.test("the temporary files are removed when the result is cancelled unread", async () => {
  await using tmp = await scratch();
  const result = await normalize(
    await buildZip([{ name: "Package.swift", content: MANIFEST }]),
    { tempDir: tmp.dir },
  );
  assert.ok(result.archive);
  await result.archive.cancel();
  assert.deepEqual(await tmp.files(), []);
});

Deno.test("the temporary files are removed when the incoming archive stream fails", async () => {
  await using tmp = await scratch();
  const bytes = await buildZip([{ name: "Package.swift", content: MANIFEST }]);
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes.subarray(0, 10));
      controller.error(new Error("connection reset"));
    },
  });
  await assert.rejects(normalize(stream, { tempDir: tmp.dir }), /connection reset/);
  assert.deepEqual(await tmp.files(), []);
});

Deno.test("an archive that is not a zip file is left for validation to refuse", async () => {
  await using tmp = await scratch();
  const result = await normalize(new TextEncoder().encode("definitely not a zip"), { tempDir: tmp.dir });
  assert.deepEqual(result, {});
  assert.deepEqual(await tmp.files(), []);
});

Deno.test("an archive with an entry inside a symlink is left for validation to refuse", async () => {
  await using tmp = await scratch();
  const bytes = await buildZip([
    { name: "LinkedList/Package.swift", content: MANIFEST },
    { name: "LinkedList/out", content: "/etc", symlink: true },
    { name: "LinkedList/out/cron.d/evil", content: "* * * * * root sh" },
  ]);
  assert.deepEqual(await normalize(bytes, { tempDir: tmp.dir }), {});
  assert.deepEqual(await tmp.files(), []);
});

Deno.test("symlinks that would copy more than maxEntries entries refuse the release with 422", async () => {
  await using tmp = await scratch();
  const entries: TestEntry[] = [{ name: "LinkedList/Package.swift", content: MANIFEST }];
  for (let i = 0; i < 4; i++) entries.push({ name: `LinkedList/Shared/${i}.swift`, content: `let x${i} = ${i}\n` });
  for (let i = 0; i < 4; i++) entries.push({ name: `LinkedList/Copy${i}`, content: "Shared", symlink: true });
  const result = await normalize(await buildZip(entries), { tempDir: tmp.dir, maxEntries: 12 });
  assert.equal(result.status, 422);
  assert.match(result.reject ?? "", /more than 12 entries/);
  assert.equal(result.archive, undefined);
  assert.deepEqual(await tmp.files(), []);
});

Deno.test("symlinks that would copy more than maxCopiedBytes refuse the release with 422", async () => {
  await using tmp = await scratch();
  const result = await normalize(
    await buildZip([
      { name: "LinkedList/Package.swift", content: MANIFEST },
      { name: "LinkedList/big.bin", content: "x".repeat(1000) },
      { name: "LinkedList/a", content: "big.bin", symlink: true },
      { name: "LinkedList/b", content: "big.bin", symlink: true },
    ]),
    { tempDir: tmp.dir, maxCopiedBytes: 1500 },
  );
  assert.equal(result.status, 422);
  assert.match(result.reject ?? "", /more than 1500 bytes/);
  assert.deepEqual(await tmp.files(), []);
});

Deno.test("invalid normalize-archive options make the factory throw", () => {
  for (const options of [{ maxEntries: 0 }, { maxEntries: 1.5 }, { maxCopiedBytes: -1 }, { tempDir: "" }]) {
    assert.throws(() => factory(context(options as NormalizeArchiveOptions)), /normalize-archive: option "\w+"/);
  }
});
