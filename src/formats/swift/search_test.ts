import assert from "node:assert/strict";
import { join } from "node:path";
import { Catalog, type CatalogEntry } from "../../core/catalog.ts";
import { BadRequestError } from "../../errors.ts";
import { createMemoryLogger } from "../../log.ts";
import { DiskStore } from "../../storage/disk_store.ts";
import { DocumentCache } from "../../storage/document_cache.ts";
import { parseSearchQuery, SwiftSearch } from "./search.ts";

Deno.test("the query parser: OR groups bind tighter than AND, NOT and - negate, quotes keep spaces", () => {
  assert.deepEqual(parseSearchQuery('a scope:B OR -name:"c d" NOT author:e'), [
    [{ negated: false, term: { kind: "text", value: "a" } }],
    [
      { negated: false, term: { kind: "scope", value: "b" } },
      { negated: true, term: { kind: "name", value: "c d" } },
    ],
    [{ negated: true, term: { kind: "author", value: "e" } }],
  ]);
  assert.deepEqual(parseSearchQuery("pkg:swift/Mona/LinkedList@v1.2 AND -"), [
    [{ negated: false, term: { kind: "pkg", scope: "mona", name: "linkedlist", version: "1.2.0" } }],
    [{ negated: false, term: { kind: "text", value: "-" } }],
  ]);
  assert.deepEqual(parseSearchQuery('"scope:not-a-qualifier"'), [
    [{ negated: false, term: { kind: "text", value: "scope:not-a-qualifier" } }],
  ]);
  assert.deepEqual(parseSearchQuery("  "), []);
  for (const bad of ["x:y", "AND a", "a NOT", "NOT NOT a", "pkg:swift/a.b/c", 'a "b']) {
    assert.throws(() => parseSearchQuery(bad), BadRequestError, bad);
  }
});

Deno.test("deep pages (past the first thousand results) come in the same order as the first ones", async () => {
  const dir = await Deno.makeTempDir({ prefix: "search_test_" });
  try {
    const store = new DiskStore(join(dir, "objects"), join(dir, "tmp"));
    await store.init();
    const documents = new DocumentCache(store, { maxAgeMs: Infinity });
    const entries: Record<string, CatalogEntry> = {};
    for (let i = 0; i < 1500; i++) {
      const name = `pkg${(i * 7919) % 1500}`;
      // Three relevance levels: exact name, prefix, substring of the description.
      const scope = i % 3 === 0 ? "s" : "t";
      const key = `${scope}/${name}`;
      entries[key] = {
        format: "swift",
        key,
        id: `${scope}.${name}`,
        scope,
        name: i % 5 === 0 ? "match" : i % 5 === 1 ? `match${i}` : name,
        description: "has match inside",
        latestVersion: "1.0.0",
        versions: 1,
        updatedAt: "2026-01-01T00:00:00Z",
        origin: "local",
      };
    }
    await documents.update("catalog/swift.json", () => ({ entries }));
    const search = new SwiftSearch({
      catalog: new Catalog({ documents, formats: ["swift"], logger: createMemoryLogger() }),
      versionsOf: () => Promise.resolve(null),
    });
    const query = parseSearchQuery("match");
    const everyone = () => Promise.resolve(true);
    const all = await search.search(query, everyone, 0, 1500);
    assert.equal(all.total, 1500);
    const ids = all.results.map((e) => e.id);
    const paged: string[] = [];
    for (let offset = 0; offset < 1500; offset += 100) {
      const page = await search.search(query, everyone, offset, 100);
      assert.equal(page.total, 1500);
      paged.push(...page.results.map((e) => e.id));
    }
    assert.deepEqual(paged, ids, "ranked-as-found pages and sorted deep pages agree");
    const firstNames = all.results.slice(0, 300).map((e) => e.name);
    assert.ok(firstNames.every((n) => n === "match"), "exact names first");
    const hidden = await search.search(query, (e) => Promise.resolve(e.scope !== "s"), 1200, 100);
    assert.equal(hidden.total, 1000, "unreadable packages are not counted");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
