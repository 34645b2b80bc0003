import assert from "node:assert/strict";
import { join } from "node:path";
import { DiskStore } from "./disk_store.ts";
import { ContentionError, readJsonDocument, updateJsonDocument } from "./json_document.ts";
import {
  type ByteRange,
  type ObjectBody,
  type ObjectInfo,
  type ObjectStore,
  PreconditionFailedError,
  type PutBody,
  type PutOptions,
} from "./object_store.ts";

const encoder = new TextEncoder();

/** Runs `fn` against a fresh DiskStore in a temporary directory, removed afterwards. */
async function withStore(fn: (store: DiskStore) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "json_document_test_" });
  try {
    const store = new DiskStore(join(dir, "objects"), join(dir, "tmp"));
    await store.init();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Delegates to `inner`, recording put options and letting a test intercept puts. */
class SpyStore implements ObjectStore {
  puts: { key: string; options: PutOptions }[] = [];
  beforePut: ((key: string, options: PutOptions) => Promise<void>) | null = null;

  constructor(readonly inner: ObjectStore) {}

  head(key: string): Promise<ObjectInfo | null> {
    return this.inner.head(key);
  }
  get(key: string, options?: { range?: ByteRange }): Promise<ObjectBody | null> {
    return this.inner.get(key, options);
  }
  async put(key: string, body: PutBody, options: PutOptions = {}): Promise<ObjectInfo> {
    this.puts.push({ key, options });
    if (this.beforePut) await this.beforePut(key, options);
    return await this.inner.put(key, body, options);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix);
  }
}

interface Counter {
  n: number;
}

// ---------------------------------------------------------------------------
// readJsonDocument

Deno.test("readJsonDocument returns null for an absent document", async () => {
  await withStore(async (store) => {
    assert.equal(await readJsonDocument(store, "missing.json"), null);
  });
});

Deno.test("readJsonDocument parses the document and returns its current etag", async () => {
  await withStore(async (store) => {
    const value = { name: "LinkedList", versions: ["1.0.0", "1.1.0"], nested: { ok: true, n: null } };
    const info = await store.put("doc.json", encoder.encode(JSON.stringify(value)));
    const document = await readJsonDocument<typeof value>(store, "doc.json");
    assert.deepEqual(document, { value, etag: info.etag });
  });
});

Deno.test("readJsonDocument decodes UTF-8 content", async () => {
  await withStore(async (store) => {
    await store.put("utf8.json", encoder.encode(JSON.stringify({ text: "Ünïcødé 📦" })));
    assert.deepEqual((await readJsonDocument(store, "utf8.json"))?.value, { text: "Ünïcødé 📦" });
  });
});

Deno.test("readJsonDocument throws on a document that is not JSON", async () => {
  await withStore(async (store) => {
    await store.put("broken.json", encoder.encode("{not json"));
    await assert.rejects(readJsonDocument(store, "broken.json"), SyntaxError);
  });
});

// ---------------------------------------------------------------------------
// updateJsonDocument

Deno.test("updateJsonDocument creates an absent document, passing null to mutate", async () => {
  await withStore(async (store) => {
    const seen: (Counter | null)[] = [];
    const result = await updateJsonDocument<Counter>(store, "counter.json", (current) => {
      seen.push(current);
      return { n: 1 };
    });
    assert.deepEqual(seen, [null]);
    assert.deepEqual(result.value, { n: 1 });
    assert.deepEqual(await readJsonDocument(store, "counter.json"), result);
  });
});

Deno.test("updateJsonDocument passes the current value to mutate and stores the result", async () => {
  await withStore(async (store) => {
    await updateJsonDocument<Counter>(store, "counter.json", () => ({ n: 41 }));
    const result = await updateJsonDocument<Counter>(store, "counter.json", (current) => ({ n: current!.n + 1 }));
    assert.deepEqual(result.value, { n: 42 });
    const stored = await readJsonDocument<Counter>(store, "counter.json");
    assert.deepEqual(stored, result);
  });
});

Deno.test("updateJsonDocument returns the etag the document was stored at", async () => {
  await withStore(async (store) => {
    const result = await updateJsonDocument<Counter>(store, "counter.json", () => ({ n: 1 }));
    assert.equal((await store.head("counter.json"))?.etag, result.etag);
  });
});

Deno.test("updateJsonDocument creates with ifNoneMatch and updates with ifMatch of the read etag", async () => {
  await withStore(async (inner) => {
    const store = new SpyStore(inner);
    const created = await updateJsonDocument<Counter>(store, "c.json", () => ({ n: 1 }));
    await updateJsonDocument<Counter>(store, "c.json", (current) => ({ n: current!.n + 1 }));
    assert.deepEqual(store.puts, [
      { key: "c.json", options: { ifNoneMatch: "*", contentType: "application/json" } },
      { key: "c.json", options: { ifMatch: created.etag, contentType: "application/json" } },
    ]);
  });
});

Deno.test("updateJsonDocument leaves the document as it is when mutate returns undefined", async () => {
  await withStore(async (inner) => {
    const store = new SpyStore(inner);
    const created = await updateJsonDocument<Counter>(store, "c.json", () => ({ n: 7 }));
    const result = await updateJsonDocument<Counter>(store, "c.json", () => undefined);
    assert.deepEqual(result, created);
    assert.equal(store.puts.length, 1);
    assert.equal((await inner.head("c.json"))?.etag, created.etag);
  });
});

Deno.test("updateJsonDocument throws when mutate returns undefined for an absent document", async () => {
  await withStore(async (store) => {
    await assert.rejects(updateJsonDocument(store, "absent.json", () => undefined), /absent document absent\.json/);
    assert.equal(await store.head("absent.json"), null);
  });
});

Deno.test("updateJsonDocument aborts without writing when mutate throws", async () => {
  await withStore(async (store) => {
    const created = await updateJsonDocument<Counter>(store, "c.json", () => ({ n: 1 }));
    await assert.rejects(
      updateJsonDocument<Counter>(store, "c.json", () => {
        throw new RangeError("refused");
      }),
      RangeError,
    );
    assert.deepEqual(await readJsonDocument(store, "c.json"), created);
  });
});

Deno.test("updateJsonDocument retries with the fresh value when another writer got in first", async () => {
  await withStore(async (inner) => {
    const store = new SpyStore(inner);
    await updateJsonDocument<Counter>(store, "c.json", () => ({ n: 0 }));
    let raced = false;
    store.beforePut = async () => {
      if (raced) return;
      raced = true;
      await inner.put("c.json", encoder.encode(JSON.stringify({ n: 100 }))); // a concurrent writer
    };
    const seen: number[] = [];
    const result = await updateJsonDocument<Counter>(store, "c.json", (current) => {
      seen.push(current!.n);
      return { n: current!.n + 1 };
    });
    assert.deepEqual(seen, [0, 100]);
    assert.deepEqual(result.value, { n: 101 });
    assert.deepEqual((await readJsonDocument<Counter>(inner, "c.json"))?.value, { n: 101 });
  });
});

Deno.test("updateJsonDocument retries a create that lost to a concurrent creator", async () => {
  await withStore(async (inner) => {
    const store = new SpyStore(inner);
    let raced = false;
    store.beforePut = async () => {
      if (raced) return;
      raced = true;
      await inner.put("c.json", encoder.encode(JSON.stringify({ n: 5 })), { ifNoneMatch: "*" });
    };
    const seen: (Counter | null)[] = [];
    const result = await updateJsonDocument<Counter>(store, "c.json", (current) => {
      seen.push(current);
      return { n: (current?.n ?? 0) + 1 };
    });
    assert.deepEqual(seen, [null, { n: 5 }]);
    assert.deepEqual(result.value, { n: 6 });
  });
});

Deno.test("updateJsonDocument with 20 concurrent incrementers ends at exactly 20", async () => {
  await withStore(async (store) => {
    const results = await Promise.all(
      Array.from(
        { length: 20 },
        () => updateJsonDocument<Counter>(store, "counter.json", (current) => ({ n: (current?.n ?? 0) + 1 })),
      ),
    );
    assert.deepEqual((await readJsonDocument<Counter>(store, "counter.json"))?.value, { n: 20 });
    // Every writer's increment landed exactly once: each saw a distinct value.
    assert.deepEqual(
      results.map((r) => r.value.n).sort((a, b) => a - b),
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    assert.equal(new Set(results.map((r) => r.etag)).size, 20);
  });
});

Deno.test("updateJsonDocument keeps concurrent updates of different documents independent", async () => {
  await withStore(async (store) => {
    await Promise.all(
      ["a.json", "b.json", "c.json"].flatMap((key) =>
        Array.from(
          { length: 5 },
          () => updateJsonDocument<Counter>(store, key, (current) => ({ n: (current?.n ?? 0) + 1 })),
        )
      ),
    );
    for (const key of ["a.json", "b.json", "c.json"]) {
      assert.deepEqual((await readJsonDocument<Counter>(store, key))?.value, { n: 5 }, key);
    }
  });
});

Deno.test("updateJsonDocument gives up with a ContentionError after maxAttempts conflicts", async () => {
  await withStore(async (inner) => {
    const store = new SpyStore(inner);
    store.beforePut = () => Promise.reject(new PreconditionFailedError("c.json"));
    let calls = 0;
    await assert.rejects(
      updateJsonDocument<Counter>(store, "c.json", () => {
        calls++;
        return { n: calls };
      }, 3),
      (error: unknown) => {
        assert.ok(error instanceof ContentionError);
        assert.equal(error.name, "ContentionError");
        assert.match(error.message, /c\.json after 3 conflicting attempts/);
        return true;
      },
    );
    assert.equal(calls, 3);
    assert.equal(store.puts.length, 3);
    assert.equal(await inner.head("c.json"), null);
  });
});

Deno.test("updateJsonDocument does not retry errors other than a failed precondition", async () => {
  await withStore(async (inner) => {
    const store = new SpyStore(inner);
    store.beforePut = () => Promise.reject(new Deno.errors.PermissionDenied("disk says no"));
    let calls = 0;
    await assert.rejects(
      updateJsonDocument<Counter>(store, "c.json", () => {
        calls++;
        return { n: 1 };
      }),
      Deno.errors.PermissionDenied,
    );
    assert.equal(calls, 1);
  });
});

Deno.test("updateJsonDocument stores documents as compact JSON", async () => {
  await withStore(async (store) => {
    await updateJsonDocument(store, "doc.json", () => ({ a: [1, 2], b: "x" }));
    const object = await store.get("doc.json");
    assert.ok(object);
    assert.equal(await new Response(object.body).text(), '{"a":[1,2],"b":"x"}');
  });
});

Deno.test("compare-and-swap on one data directory loses no update across processes", async () => {
  await withStore(async (store) => {
    const modules = {
      disk: new URL("./disk_store.ts", import.meta.url).href,
      json: new URL("./json_document.ts", import.meta.url).href,
    };
    const writer = (name: string) =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "eval",
          `import { DiskStore } from ${JSON.stringify(modules.disk)};
           import { updateJsonDocument } from ${JSON.stringify(modules.json)};
           const store = new DiskStore(${JSON.stringify(store.root)}, ${JSON.stringify(store.tmpDir)});
           await store.init();
           for (let i = 0; i < 40; i++) {
             await updateJsonDocument(store, "counter.json", (doc) => ({ writers: [...(doc?.writers ?? []), "${name}"] }), 1000);
           }
           await store.close();`,
        ],
        stdout: "null",
        stderr: "piped",
      }).output();
    const results = await Promise.all(["a", "b", "c", "d"].map(writer));
    for (const result of results) assert.equal(result.code, 0, new TextDecoder().decode(result.stderr));
    const counter = await readJsonDocument<{ writers: string[] }>(store, "counter.json");
    assert.equal(counter?.value.writers.length, 160);
  });
});
