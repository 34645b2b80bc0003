import assert from "node:assert/strict";
import { join } from "node:path";
import { createMemoryLogger } from "../log.ts";
import { DiskStore } from "../storage/disk_store.ts";
import { DocumentCache } from "../storage/document_cache.ts";
import { Catalog, type CatalogEntry } from "./catalog.ts";

function entry(format: string, name: string, updatedAt: string, extra: Partial<CatalogEntry> = {}): CatalogEntry {
  return {
    format,
    key: name.toLowerCase(),
    id: name,
    name,
    latestVersion: "1.0.0",
    versions: 1,
    updatedAt,
    origin: "local",
    ...extra,
  };
}

Deno.test("the catalog lists every format's packages newest first, with lower-cased search text", async () => {
  const dir = await Deno.makeTempDir({ prefix: "catalog_test_" });
  try {
    const store = new DiskStore(join(dir, "objects"), join(dir, "tmp"));
    await store.init();
    const documents = new DocumentCache(store, { maxAgeMs: Infinity });
    const catalog = new Catalog({ documents, formats: ["swift", "npm"], logger: createMemoryLogger() });
    await catalog.record(entry("swift", "mona.LinkedList", "2026-01-02T00:00:00Z", { description: "A Linked List" }));
    await catalog.record(entry("npm", "left-pad", "2026-01-03T00:00:00Z", { keywords: ["Pad"] }));
    await catalog.record(entry("swift", "mona.Old", "2026-01-01T00:00:00Z"));
    const all = await catalog.entries();
    assert.deepEqual(all.map((e) => e.entry.id), ["left-pad", "mona.LinkedList", "mona.Old"]);
    assert.match(all[1].text, /a linked list/);
    assert.match(all[0].text, /\npad$/);
    assert.deepEqual((await catalog.entries(["swift"])).map((e) => e.entry.id), ["mona.LinkedList", "mona.Old"]);

    await catalog.record(entry("swift", "mona.Old", "2026-01-04T00:00:00Z", { versions: 2 }));
    assert.equal((await catalog.entries(["swift"]))[0].entry.id, "mona.Old", "a change moves it up");
    assert.equal((await catalog.get("swift", "mona.old"))?.versions, 2);
    await catalog.remove("swift", "mona.old");
    await catalog.remove("swift", "never.there");
    assert.deepEqual((await catalog.entries(["swift"])).map((e) => e.entry.id), ["mona.LinkedList"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
