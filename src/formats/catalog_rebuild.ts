/**
 * Rebuilding the catalog from the stored package documents of every format:
 * for a registry whose packages predate the catalog, and as a daily repair of
 * entries whose update failed after a commit.
 *
 * @module
 */
import type { Catalog, CatalogEntry } from "../core/catalog.ts";
import type { Logger } from "../log.ts";
import type { DocumentCache } from "../storage/document_cache.ts";
import type { ObjectStore } from "../storage/object_store.ts";
import type { Format } from "./format.ts";

/** Rebuilds the local catalog entries of every format that can describe its documents; returns counts by format. */
export async function rebuildCatalog(
  formats: readonly Format[],
  store: ObjectStore,
  documents: DocumentCache,
  catalog: Catalog,
  logger: Logger,
  now: () => number,
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const format of formats) {
    if (format.catalogEntry === undefined) continue;
    const since = new Date(now()).toISOString();
    const entries: CatalogEntry[] = [];
    for await (const object of store.list(`${format.id}/packages/`)) {
      if (!object.key.endsWith("/index.json")) continue;
      const document = await documents.read(object.key);
      const entry = document === null ? null : format.catalogEntry(document);
      if (entry !== null) entries.push(entry);
    }
    counts[format.id] = entries.length;
    if (entries.length === 0 && !await catalog.has(format.id)) continue; // nothing to list, nothing to write
    await catalog.replaceLocal(format.id, entries, since);
  }
  logger.log("info", "catalog rebuilt", counts);
  return counts;
}

/** True when a format has stored packages but no catalog document (a registry from before the catalog). */
export async function catalogMissing(
  formats: readonly Format[],
  store: ObjectStore,
  catalog: Catalog,
): Promise<boolean> {
  for (const format of formats) {
    if (format.catalogEntry === undefined || await catalog.has(format.id)) continue;
    for await (const object of store.list(`${format.id}/packages/`)) {
      if (object.key.endsWith("/index.json")) return true;
    }
  }
  return false;
}
