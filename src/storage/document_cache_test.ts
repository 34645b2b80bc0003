import assert from "node:assert/strict";
import { join } from "node:path";
import { DiskStore } from "./disk_store.ts";
import { DocumentCache } from "./document_cache.ts";
import type { PutBody, PutOptions } from "./object_store.ts";

/** A disk store that counts writes. */
class CountingStore extends DiskStore {
  writes = 0;
  override put(key: string, body: PutBody, options?: PutOptions) {
    this.writes++;
    return super.put(key, body, options);
  }
}

async function withCache(fn: (cache: DocumentCache, store: CountingStore) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "document_cache_test_" });
  try {
    const store = new CountingStore(join(dir, "objects"), join(dir, "tmp"));
    await store.init();
    await fn(new DocumentCache(store, { maxAgeMs: Infinity }), store);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

type Releases = { releases: Record<string, number> };

Deno.test("100 concurrent updates of one document all land, in far fewer writes", async () => {
  await withCache(async (cache, store) => {
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        cache.update<Releases>("pkg/index.json", (current) => ({
          releases: { ...current?.releases, [`1.0.${i}`]: i },
        }))),
    );
    const stored = await cache.read<Releases>("pkg/index.json");
    assert.equal(Object.keys(stored!.releases).length, 100);
    for (const [i, result] of results.entries()) assert.equal(result.releases[`1.0.${i}`], i, "sees its own change");
    assert.ok(store.writes < 10, `${store.writes} writes`);
  });
});

Deno.test("an update that throws fails alone; the others of its batch are written", async () => {
  await withCache(async (cache) => {
    await cache.update<Releases>("pkg/index.json", () => ({ releases: { "1.0.0": 0 } }));
    const outcomes = await Promise.allSettled(
      ["1.0.1", "1.0.0", "1.0.2"].map((version) =>
        cache.update<Releases>("pkg/index.json", (current) => {
          if (current?.releases[version] !== undefined) throw new Error(`${version} exists`);
          return { releases: { ...current?.releases, [version]: 1 } };
        })
      ),
    );
    assert.deepEqual(outcomes.map((o) => o.status), ["fulfilled", "rejected", "fulfilled"]);
    assert.match(String((outcomes[1] as PromiseRejectedResult).reason), /1\.0\.0 exists/);
    const stored = await cache.read<Releases>("pkg/index.json");
    assert.deepEqual(Object.keys(stored!.releases).sort(), ["1.0.0", "1.0.1", "1.0.2"]);
  });
});

Deno.test("updates that change nothing leave an absent document absent", async () => {
  await withCache(async (cache, store) => {
    await assert.rejects(cache.update("missing.json", () => undefined), /returned nothing/);
    await assert.rejects(
      cache.update("missing.json", () => {
        throw new Error("refused");
      }),
      /refused/,
    );
    assert.equal(await cache.read("missing.json"), null);
    assert.equal(store.writes, 0);
  });
});
