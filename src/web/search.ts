/**
 * Searching the catalog for the pages: every word of the query must occur in
 * an entry's id, name, scope, description or keywords. Matches on the name
 * rank first (exact, then prefix, then anywhere), then local packages before
 * those cached from an upstream, then the most recently changed. Results are
 * kept per catalog snapshot and query, so paging through them searches once.
 *
 * @module
 */
import type { CatalogEntry, IndexedEntry } from "../core/catalog.ts";
import { LruCache } from "../util/lru_cache.ts";

/** The words of a query, lower-cased (at most 16, each at most 100 characters). */
export function queryWords(query: string): string[] {
  return query.toLowerCase().split(/\s+/).filter((w) => w !== "").slice(0, 16).map((w) => w.slice(0, 100));
}

function nameRank(entry: CatalogEntry, words: string[]): number {
  const names = [entry.id.toLowerCase(), entry.name.toLowerCase()];
  const phrase = words.join(" ");
  if (names.includes(phrase)) return 0;
  if (names.some((n) => n.startsWith(phrase))) return 1;
  if (words.every((w) => names.some((n) => n.includes(w)))) return 2;
  return 3;
}

/** Searches catalog snapshots, remembering recent queries per snapshot. */
export class CatalogSearch {
  readonly #results = new WeakMap<readonly IndexedEntry[], LruCache<string, IndexedEntry[]>>();

  /** The entries of `entries` (newest first) matching `query`, best first. */
  search(entries: readonly IndexedEntry[], query: string): IndexedEntry[] {
    const words = queryWords(query);
    let cache = this.#results.get(entries);
    if (cache === undefined) this.#results.set(entries, cache = new LruCache(256));
    const key = words.join(" ");
    const known = cache.get(key);
    if (known !== undefined) return known;
    const ranked: Array<{ indexed: IndexedEntry; rank: number; position: number }> = [];
    entries.forEach((indexed, position) => {
      if (!words.every((w) => indexed.text.includes(w))) return;
      const rank = nameRank(indexed.entry, words) * 2 + (indexed.entry.origin === "upstream" ? 1 : 0);
      ranked.push({ indexed, rank, position });
    });
    const results = ranked.sort((a, b) => a.rank - b.rank || a.position - b.position).map((r) => r.indexed);
    cache.set(key, results);
    return results;
  }
}
