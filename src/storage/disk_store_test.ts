import assert from "node:assert/strict";
import { join } from "node:path";
import { DiskStore, fileRangeStream, syncDirectory, writeAll } from "./disk_store.ts";
import { readJsonDocument, updateJsonDocument } from "./json_document.ts";
import { assertValidKey, type ObjectInfo, PreconditionFailedError } from "./object_store.ts";
import { InsufficientStorageError } from "../errors.ts";
import { fullDisk } from "../../tests/support/full_disk.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Fixture {
  dir: string;
  store: DiskStore;
}

/** Runs `fn` against a fresh store in a temporary directory, removed afterwards. */
async function withStore(fn: (fixture: Fixture) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "disk_store_test_" });
  try {
    const store = new DiskStore(join(dir, "objects"), join(dir, "tmp", "objects"));
    await store.init();
    try {
      await fn({ dir, store });
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function getText(store: DiskStore, key: string, range?: { start: number; end: number }): Promise<string | null> {
  const object = await store.get(key, range ? { range } : {});
  if (object === null) return null;
  return await new Response(object.body).text();
}

async function tmpEntries(store: DiskStore): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(store.scratchDir))).map((entry) => entry.name);
}

async function listKeys(store: DiskStore, prefix: string): Promise<string[]> {
  return (await Array.fromAsync(store.list(prefix))).map((info) => info.key).sort();
}

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(chunks.map((chunk) => encoder.encode(chunk)));
}

// ---------------------------------------------------------------------------
// assertValidKey

Deno.test("assertValidKey accepts slash-separated segments of the allowed characters", () => {
  for (
    const key of [
      "a",
      "swift/mona/linkedlist/1.0.0.zip",
      "swift/mona/linkedlist/1.0.0-beta.1+exp.sha.5114f85/Package@swift-5.9.swift",
      "A-Z_a-z.0-9@+",
      `${"x/".repeat(511)}xx`,
    ]
  ) {
    assert.doesNotThrow(() => assertValidKey(key), key);
  }
});

Deno.test("assertValidKey rejects keys that could escape or hide in the store", () => {
  const invalid = [
    "",
    "../x",
    "..",
    ".",
    "a/../b",
    "a/./b",
    "a/..",
    ".hidden",
    "a/.hidden",
    "a//b",
    "a/",
    "/a",
    "/etc/passwd",
    "a\\b",
    "..\\x",
    "a b",
    "a\0b",
    "a\nb",
    "ä",
    "a:b",
  ];
  for (const key of invalid) assert.throws(() => assertValidKey(key), /invalid object key/, JSON.stringify(key));
});

Deno.test("assertValidKey refuses keys too long for a store as a client error (400)", () => {
  for (const key of ["x".repeat(1025), `a/${"x".repeat(256)}/b`]) {
    assert.throws(() => assertValidKey(key), (error: Error & { status?: number }) => error.status === 400, key);
  }
  assert.doesNotThrow(() => assertValidKey(`a/${"x".repeat(255)}`));
});

// ---------------------------------------------------------------------------
// DiskStore basics

Deno.test("DiskStore init creates the root and a scratch directory of its own; close removes the latter", async () => {
  const dir = await Deno.makeTempDir({ prefix: "disk_store_test_" });
  try {
    const store = new DiskStore(join(dir, "a", "objects"), join(dir, "a", "tmp"));
    await store.init();
    assert.ok((await Deno.stat(store.root)).isDirectory);
    const scratch = store.scratchDir;
    assert.ok(scratch.startsWith(join(dir, "a", "tmp", `${Deno.pid}-`)), scratch);
    assert.ok((await Deno.stat(scratch)).isDirectory);
    await store.init(); // idempotent
    assert.equal(store.scratchDir, scratch);
    await store.close();
    await assert.rejects(Deno.stat(scratch), Deno.errors.NotFound);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(join(dir, "a", "tmp"))), []);
    assert.throws(() => store.tempPath(), /not open/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A `deno` process that opens a store on `dir`, writes a scratch file, prints it and waits for stdin to close. */
function storeProcess(dir: string): { child: Deno.ChildProcess; scratchFile: Promise<string> } {
  const module = new URL("./disk_store.ts", import.meta.url).href;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { DiskStore } from ${JSON.stringify(module)};
       const store = new DiskStore(${JSON.stringify(join(dir, "objects"))}, ${JSON.stringify(join(dir, "tmp"))});
       await store.init();
       const path = store.tempPath();
       await Deno.writeTextFile(path, "a write in progress");
       console.log(path);
       for await (const _ of Deno.stdin.readable) { /* until the parent lets go */ }`,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const scratchFile = (async () => {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the store process exited early");
      text += value;
    }
    reader.releaseLock();
    return text.trim();
  })();
  return { child, scratchFile };
}

Deno.test("DiskStore init removes the scratch files of processes that exited, never those of a live one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "disk_store_test_" });
  const live = storeProcess(dir);
  try {
    const dead = storeProcess(dir);
    const deadFile = await dead.scratchFile;
    dead.child.kill("SIGKILL");
    await dead.child.status;
    await dead.child.stdin.close().catch(() => {});
    await dead.child.stdout.cancel().catch(() => {});
    const liveFile = await live.scratchFile;

    const store = new DiskStore(join(dir, "objects"), join(dir, "tmp"));
    await store.init();
    try {
      await assert.rejects(Deno.stat(deadFile), Deno.errors.NotFound, "the exited process's file is removed");
      assert.equal(await Deno.readTextFile(liveFile), "a write in progress", "the live process's file is kept");
      await store.put("a", encoder.encode("stored beside another process"));
      assert.equal(await getText(store, "a"), "stored beside another process");
    } finally {
      await store.close();
    }
    assert.equal(await Deno.readTextFile(liveFile), "a write in progress", "closing touches only its own directory");
  } finally {
    await live.child.stdin.close();
    assert.equal((await live.child.status).code, 0);
    await live.child.stdout.cancel().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DiskStore init removes loose temporary files (an older layout) once they are an hour old", async () => {
  await withStore(async ({ store }) => {
    await store.put("kept", encoder.encode("object"));
    const old = join(store.tmpDir, "left-by-a-crash");
    const recent = join(store.tmpDir, "perhaps-being-written");
    await Deno.writeTextFile(old, "partial write");
    await Deno.writeTextFile(recent, "partial write");
    await Deno.utime(old, new Date(Date.now() - 2 * 3_600_000), new Date(Date.now() - 2 * 3_600_000));
    const second = new DiskStore(store.root, store.tmpDir);
    await second.init();
    await second.close();
    await assert.rejects(Deno.stat(old), Deno.errors.NotFound);
    assert.equal(await Deno.readTextFile(recent), "partial write");
    assert.equal(await getText(store, "kept"), "object");
  });
});

Deno.test("DiskStore put then get returns the same bytes and metadata", async () => {
  await withStore(async ({ store }) => {
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 31) & 0xff);
    const info = await store.put("swift/mona/linkedlist/1.0.0.zip", bytes);
    assert.equal(info.key, "swift/mona/linkedlist/1.0.0.zip");
    assert.equal(info.size, 1000);
    assert.equal(typeof info.etag, "string");
    assert.match(info.etag, /^".+"$/);
    assert.ok(info.lastModified instanceof Date);

    const object = await store.get("swift/mona/linkedlist/1.0.0.zip");
    assert.ok(object);
    assert.equal(object.key, info.key);
    assert.equal(object.size, info.size);
    assert.equal(object.etag, info.etag);
    assert.equal(object.lastModified.getTime(), info.lastModified.getTime());
    assert.deepEqual(new Uint8Array(await new Response(object.body).arrayBuffer()), bytes);
  });
});

Deno.test("DiskStore put accepts a stream body", async () => {
  await withStore(async ({ store }) => {
    const info = await store.put("streamed", streamOf("hello, ", "", "streamed ", "world"));
    assert.equal(info.size, 21);
    assert.equal(await getText(store, "streamed"), "hello, streamed world");
  });
});

Deno.test("DiskStore stores an empty object", async () => {
  await withStore(async ({ store }) => {
    const info = await store.put("empty", new Uint8Array(0));
    assert.equal(info.size, 0);
    assert.equal(await getText(store, "empty"), "");
  });
});

Deno.test("DiskStore head returns the same metadata as put, without a body", async () => {
  await withStore(async ({ store }) => {
    const info = await store.put("a/b/c.json", encoder.encode("{}"));
    const head = await store.head("a/b/c.json");
    assert.deepEqual(head, info);
    assert.ok(head && !("body" in head));
  });
});

Deno.test("DiskStore head and get return null for an absent key", async () => {
  await withStore(async ({ store }) => {
    assert.equal(await store.head("missing"), null);
    assert.equal(await store.get("missing"), null);
    assert.equal(await store.head("missing/deeper/key"), null);
    assert.equal(await store.get("missing/deeper/key"), null);
  });
});

Deno.test("DiskStore put replaces an object and changes its etag", async () => {
  await withStore(async ({ store }) => {
    const first = await store.put("doc", encoder.encode("one"));
    const second = await store.put("doc", encoder.encode("two"));
    assert.notEqual(first.etag, second.etag);
    assert.equal(await getText(store, "doc"), "two");
    assert.equal((await store.head("doc"))?.etag, second.etag);
  });
});

Deno.test("DiskStore gives every write a new etag, even with identical content in quick succession", async () => {
  await withStore(async ({ store }) => {
    const etags = new Set<string>();
    for (let i = 0; i < 25; i++) etags.add((await store.put("same", encoder.encode("same bytes"))).etag);
    assert.equal(etags.size, 25);
  });
});

Deno.test("DiskStore leaves no temporary files after writes", async () => {
  await withStore(async ({ store }) => {
    await store.put("a", encoder.encode("1"));
    await store.put("a", streamOf("2"));
    await store.put("b", encoder.encode("3"), { ifNoneMatch: "*" });
    assert.deepEqual(await tmpEntries(store), []);
  });
});

Deno.test("DiskStore put of a failing stream stores nothing and cleans up", async () => {
  await withStore(async ({ store }) => {
    const failing = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode("partial"));
        controller.error(new Error("client went away"));
      },
    });
    await assert.rejects(store.put("broken", failing), /client went away/);
    assert.equal(await store.head("broken"), null);
    assert.deepEqual(await tmpEntries(store), []);
  });
});

Deno.test("DiskStore put of a failing stream keeps the previous object", async () => {
  await withStore(async ({ store }) => {
    await store.put("doc", encoder.encode("old"));
    const failing = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.error(new Error("boom"));
      },
    });
    await assert.rejects(store.put("doc", failing), /boom/);
    assert.equal(await getText(store, "doc"), "old");
  });
});

// ---------------------------------------------------------------------------
// ranged reads

Deno.test("DiskStore get returns an inclusive byte range and the whole object's size", async () => {
  await withStore(async ({ store }) => {
    await store.put("digits", encoder.encode("0123456789"));
    const object = await store.get("digits", { range: { start: 2, end: 5 } });
    assert.ok(object);
    assert.equal(object.size, 10);
    assert.equal(await new Response(object.body).text(), "2345");
  });
});

Deno.test("DiskStore get serves ranges at both ends and single bytes", async () => {
  await withStore(async ({ store }) => {
    await store.put("digits", encoder.encode("0123456789"));
    assert.equal(await getText(store, "digits", { start: 0, end: 0 }), "0");
    assert.equal(await getText(store, "digits", { start: 0, end: 3 }), "0123");
    assert.equal(await getText(store, "digits", { start: 7, end: 9 }), "789");
    assert.equal(await getText(store, "digits", { start: 9, end: 9 }), "9");
    assert.equal(await getText(store, "digits", { start: 0, end: 9 }), "0123456789");
  });
});

Deno.test("DiskStore get streams a range of a large object exactly", async () => {
  await withStore(async ({ store }) => {
    const size = 700 * 1024; // more than one 256 KiB read
    const bytes = Uint8Array.from({ length: size }, (_, i) => (i * 7 + (i >> 8)) & 0xff);
    await store.put("large.bin", bytes);
    const object = await store.get("large.bin", { range: { start: 1000, end: size - 1001 } });
    assert.ok(object);
    const read = new Uint8Array(await new Response(object.body).arrayBuffer());
    assert.deepEqual(read, bytes.subarray(1000, size - 1000));
    const whole = await store.get("large.bin");
    assert.ok(whole);
    assert.deepEqual(new Uint8Array(await new Response(whole.body).arrayBuffer()), bytes);
  });
});

Deno.test("DiskStore closes the file when a body is cancelled unread", async () => {
  await withStore(async ({ store }) => {
    await store.put("doc", encoder.encode("content"));
    const object = await store.get("doc");
    assert.ok(object);
    await object.body.cancel();
    // The test sanitizer fails this test if the file handle leaked.
  });
});

Deno.test("DiskStore closes the file when a body is cancelled after a partial read", async () => {
  await withStore(async ({ store }) => {
    await store.put("large", new Uint8Array(600 * 1024));
    const object = await store.get("large");
    assert.ok(object);
    const reader = object.body.getReader();
    const first = await reader.read();
    assert.equal(first.done, false);
    await reader.cancel();
  });
});

// ---------------------------------------------------------------------------
// delete and list

Deno.test("DiskStore delete removes an object", async () => {
  await withStore(async ({ store }) => {
    await store.put("a/b", encoder.encode("x"));
    await store.delete("a/b");
    assert.equal(await store.head("a/b"), null);
    assert.equal(await store.get("a/b"), null);
  });
});

Deno.test("DiskStore delete of an absent key is not an error", async () => {
  await withStore(async ({ store }) => {
    await store.delete("never/written");
    await store.delete("missing");
  });
});

Deno.test("DiskStore list returns every object under a prefix with its metadata", async () => {
  await withStore(async ({ store }) => {
    const a = await store.put("swift/mona/linkedlist/1.0.0.zip", encoder.encode("zip"));
    await store.put("swift/mona/linkedlist/1.1.0.zip", encoder.encode("zip2"));
    await store.put("swift/mona/other/1.0.0.zip", encoder.encode("z"));
    await store.put("swift/monalisa/x/1.0.0.zip", encoder.encode("z"));
    await store.put("swift/moby/x/1.0.0.zip", encoder.encode("z"));
    await store.put("tokens/abc", encoder.encode("t"));

    assert.deepEqual(await listKeys(store, "swift/mona/linkedlist/"), [
      "swift/mona/linkedlist/1.0.0.zip",
      "swift/mona/linkedlist/1.1.0.zip",
    ]);
    assert.deepEqual(await listKeys(store, "swift/mona/"), [
      "swift/mona/linkedlist/1.0.0.zip",
      "swift/mona/linkedlist/1.1.0.zip",
      "swift/mona/other/1.0.0.zip",
    ]);
    const listed = (await Array.fromAsync(store.list("swift/mona/linkedlist/1.0"))) as ObjectInfo[];
    assert.deepEqual(listed, [a]);
  });
});

Deno.test("DiskStore list matches prefixes that end inside a segment", async () => {
  await withStore(async ({ store }) => {
    await store.put("swift/mona/x", encoder.encode("1"));
    await store.put("swift/monalisa/y", encoder.encode("2"));
    await store.put("swift/moby/z", encoder.encode("3"));
    assert.deepEqual(await listKeys(store, "swift/mona"), ["swift/mona/x", "swift/monalisa/y"]);
    assert.deepEqual(await listKeys(store, "swift/m"), ["swift/moby/z", "swift/mona/x", "swift/monalisa/y"]);
    assert.deepEqual(await listKeys(store, "sw"), ["swift/moby/z", "swift/mona/x", "swift/monalisa/y"]);
  });
});

Deno.test("DiskStore list with an empty prefix returns every object", async () => {
  await withStore(async ({ store }) => {
    await store.put("a", encoder.encode("1"));
    await store.put("b/c", encoder.encode("2"));
    await store.put("b/d/e", encoder.encode("3"));
    assert.deepEqual(await listKeys(store, ""), ["a", "b/c", "b/d/e"]);
  });
});

Deno.test("DiskStore list returns nothing for a prefix with no objects", async () => {
  await withStore(async ({ store }) => {
    await store.put("a/b", encoder.encode("1"));
    assert.deepEqual(await listKeys(store, "nothing/here/"), []);
    assert.deepEqual(await listKeys(store, "a/c"), []);
    assert.deepEqual(await listKeys(store, "z"), []);
  });
});

Deno.test("DiskStore list no longer returns deleted objects", async () => {
  await withStore(async ({ store }) => {
    await store.put("p/a", encoder.encode("1"));
    await store.put("p/b", encoder.encode("2"));
    await store.delete("p/a");
    assert.deepEqual(await listKeys(store, "p/"), ["p/b"]);
  });
});

Deno.test("DiskStore list rejects a prefix whose directory part is not a valid key", async () => {
  await withStore(async ({ store }) => {
    for (const prefix of ["../", "../x", "a/../b/", "/abs/", ".hidden/x"]) {
      await assert.rejects(Array.fromAsync(store.list(prefix)), /invalid object key/, prefix);
    }
  });
});

// ---------------------------------------------------------------------------
// conditional writes

Deno.test("DiskStore put with ifNoneMatch '*' creates an absent object", async () => {
  await withStore(async ({ store }) => {
    const info = await store.put("once", encoder.encode("first"), { ifNoneMatch: "*" });
    assert.equal(info.size, 5);
    assert.equal(await getText(store, "once"), "first");
  });
});

Deno.test("DiskStore put with ifNoneMatch '*' fails when the object exists and keeps it", async () => {
  await withStore(async ({ store }) => {
    const first = await store.put("once", encoder.encode("first"), { ifNoneMatch: "*" });
    await assert.rejects(
      store.put("once", encoder.encode("second"), { ifNoneMatch: "*" }),
      PreconditionFailedError,
    );
    assert.equal(await getText(store, "once"), "first");
    assert.equal((await store.head("once"))?.etag, first.etag);
    assert.deepEqual(await tmpEntries(store), []);
  });
});

Deno.test("DiskStore put with ifNoneMatch '*' lets exactly one of many concurrent creators win", async () => {
  await withStore(async ({ store }) => {
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => store.put("race", encoder.encode(`writer ${i}`), { ifNoneMatch: "*" })),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r) => r.status === "rejected");
    assert.equal(won.length, 1);
    assert.equal(lost.length, 9);
    for (const r of lost) assert.ok((r as PromiseRejectedResult).reason instanceof PreconditionFailedError);
    const winner = results.findIndex((r) => r.status === "fulfilled");
    assert.equal(await getText(store, "race"), `writer ${winner}`);
    assert.deepEqual(await tmpEntries(store), []);
  });
});

Deno.test("DiskStore put with ifMatch replaces the object when the etag is current", async () => {
  await withStore(async ({ store }) => {
    const first = await store.put("doc", encoder.encode("v1"));
    const second = await store.put("doc", encoder.encode("v2"), { ifMatch: first.etag });
    assert.notEqual(second.etag, first.etag);
    assert.equal(await getText(store, "doc"), "v2");
  });
});

Deno.test("DiskStore put with a stale ifMatch etag fails and keeps the newer object", async () => {
  await withStore(async ({ store }) => {
    const first = await store.put("doc", encoder.encode("v1"));
    await store.put("doc", encoder.encode("v2"));
    await assert.rejects(store.put("doc", encoder.encode("v3"), { ifMatch: first.etag }), PreconditionFailedError);
    assert.equal(await getText(store, "doc"), "v2");
    assert.deepEqual(await tmpEntries(store), []);
  });
});

Deno.test("DiskStore put with ifMatch fails when the object is absent or was deleted", async () => {
  await withStore(async ({ store }) => {
    await assert.rejects(store.put("absent", encoder.encode("x"), { ifMatch: '"anything"' }), PreconditionFailedError);
    assert.equal(await store.head("absent"), null);
    const info = await store.put("gone", encoder.encode("x"));
    await store.delete("gone");
    await assert.rejects(store.put("gone", encoder.encode("y"), { ifMatch: info.etag }), PreconditionFailedError);
    assert.equal(await store.head("gone"), null);
  });
});

Deno.test("DiskStore lets only one of two writers holding the same etag win", async () => {
  await withStore(async ({ store }) => {
    const base = await store.put("doc", encoder.encode("base"));
    const results = await Promise.allSettled([
      store.put("doc", encoder.encode("left"), { ifMatch: base.etag }),
      store.put("doc", encoder.encode("right"), { ifMatch: base.etag }),
    ]);
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    const rejected = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    assert.ok(rejected.reason instanceof PreconditionFailedError);
  });
});

Deno.test("two DiskStores on one directory (two workers) never lose an update: compare-and-swap holds across them", async () => {
  await withStore(async ({ dir, store }) => {
    // A second writer with its own staging directory and no shared memory, as another worker has.
    const other = new DiskStore(join(dir, "objects"), join(dir, "tmp", "objects-worker1"));
    await other.init();
    const increments = 20;
    const bump = (writer: DiskStore) =>
      updateJsonDocument<{ count: number }>(
        writer,
        "counter",
        (current) => ({ count: (current?.count ?? 0) + 1 }),
        1_000,
      );
    await Promise.all(Array.from({ length: increments }, (_, i) => bump(i % 2 === 0 ? store : other)));
    assert.deepEqual((await readJsonDocument<{ count: number }>(store, "counter"))?.value, { count: increments });
  });
});

Deno.test("an object replaced through another DiskStore gets a new etag, even within the same millisecond", async () => {
  await withStore(async ({ dir, store }) => {
    const other = new DiskStore(join(dir, "objects"), join(dir, "tmp", "objects-worker1"));
    await other.init();
    const seen = new Set<string>();
    let current = await store.put("doc", encoder.encode("same size"));
    seen.add(current.etag);
    for (let i = 0; i < 20; i++) {
      current = await (i % 2 === 0 ? other : store).put("doc", encoder.encode("same size"), { ifMatch: current.etag });
      assert.ok(!seen.has(current.etag), `etag ${current.etag} was seen before`);
      seen.add(current.etag);
    }
  });
});

// ---------------------------------------------------------------------------
// invalid keys

Deno.test("DiskStore refuses invalid keys on every operation and writes nothing outside the root", async () => {
  await withStore(async ({ dir, store }) => {
    for (const key of ["../x", "a/../b", ".hidden", "a//b", "/abs", "", "a/"]) {
      await assert.rejects(store.put(key, encoder.encode("x")), /invalid object key/, `put ${key}`);
      await assert.rejects(store.get(key), /invalid object key/, `get ${key}`);
      await assert.rejects(store.head(key), /invalid object key/, `head ${key}`);
      await assert.rejects(store.delete(key), /invalid object key/, `delete ${key}`);
    }
    const top = (await Array.fromAsync(Deno.readDir(dir))).map((entry) => entry.name).sort();
    assert.deepEqual(top, ["objects", "tmp"]);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(store.root)), []);
    assert.deepEqual(await tmpEntries(store), []);
  });
});

Deno.test({
  name: "DiskStore head and get return null for a key that is only a prefix of other keys",
  async fn() {
    await withStore(async ({ store }) => {
      await store.put("swift/mona/linkedlist/1.0.0.zip", encoder.encode("zip"));
      assert.equal(await store.head("swift/mona"), null);
      const object = await store.get("swift/mona");
      if (object) await object.body.cancel();
      assert.equal(object, null);
    });
  },
});

// ---------------------------------------------------------------------------
// helpers

Deno.test("writeAll writes every byte and syncDirectory syncs a directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "disk_store_test_" });
  try {
    const path = join(dir, "file");
    const bytes = Uint8Array.from({ length: 300_000 }, (_, i) => i & 0xff);
    const file = await Deno.open(path, { write: true, create: true });
    try {
      await writeAll(file, bytes);
    } finally {
      file.close();
    }
    await syncDirectory(dir);
    assert.deepEqual(await Deno.readFile(path), bytes);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fileRangeStream streams the next length bytes from the file position", async () => {
  const dir = await Deno.makeTempDir({ prefix: "disk_store_test_" });
  try {
    const path = join(dir, "file");
    await Deno.writeTextFile(path, "abcdefghij");
    const file = await Deno.open(path, { read: true });
    await file.seek(3, Deno.SeekMode.Start);
    assert.equal(await new Response(fileRangeStream(file, 4)).text(), "defg");

    const empty = await Deno.open(path, { read: true });
    assert.equal(await new Response(fileRangeStream(empty, 0)).text(), "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fileRangeStream errors and closes the file when the file is shorter than the length", async () => {
  const dir = await Deno.makeTempDir({ prefix: "disk_store_test_" });
  try {
    const path = join(dir, "file");
    await Deno.writeTextFile(path, "short");
    const file = await Deno.open(path, { read: true });
    await assert.rejects(new Response(fileRangeStream(file, 100)).text(), /ended before the expected length/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fileRangeStream closes the file when cancelled", async () => {
  const dir = await Deno.makeTempDir({ prefix: "disk_store_test_" });
  try {
    const path = join(dir, "file");
    await Deno.writeTextFile(path, "content");
    const file = await Deno.open(path, { read: true });
    await fileRangeStream(file, 7).cancel();
    // Closing again must fail: the stream already closed it.
    assert.throws(() => file.close(), Deno.errors.BadResource);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DiskStore reads text written as UTF-8 unchanged", async () => {
  await withStore(async ({ store }) => {
    const text = "Ünïcødé 📦 日本語";
    await store.put("utf8", encoder.encode(text));
    const object = await store.get("utf8");
    assert.ok(object);
    assert.equal(decoder.decode(new Uint8Array(await new Response(object.body).arrayBuffer())), text);
  });
});

// ---------------------------------------------------------------------------
// a full disk

Deno.test("DiskStore on a full disk fails with InsufficientStorageError, keeps nothing, and works once space returns", async () => {
  const dir = await Deno.makeTempDir({ prefix: "disk_store_test_" });
  const disk = fullDisk(10);
  const store = new DiskStore(join(dir, "objects"), join(dir, "tmp"), { writeChunk: disk.writeChunk });
  try {
    await store.init();
    const old = await store.put("doc", encoder.encode("v1"));
    for (const body of [() => encoder.encode("more than ten bytes"), () => streamOf("more than ", "ten bytes")]) {
      disk.freeBytes = 10;
      const error = await store.put("doc", body(), { ifMatch: old.etag }).catch((e) => e);
      assert.ok(error instanceof InsufficientStorageError, String(error));
      assert.equal(error.status, 507);
      assert.ok(Number(error.headers["Retry-After"]) > 0);
      await assert.rejects(store.put("new", body(), { ifNoneMatch: "*" }), InsufficientStorageError);
      await assert.rejects(store.put("new", body()), InsufficientStorageError);
      assert.equal(await store.head("new"), null);
      assert.equal(await getText(store, "doc"), "v1", "the previous version is kept");
      assert.deepEqual(await tmpEntries(store), [], "no partial temporary file");
    }
    disk.freeBytes = 1024;
    await store.put("doc", streamOf("more than ", "ten bytes"), { ifMatch: old.etag });
    assert.equal(await getText(store, "doc"), "more than ten bytes");
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
