/**
 * The catalog: one summary per package of every format (name, description,
 * keywords, latest version, when it changed, whether it is local or cached
 * from an upstream), kept up to date as releases are published, yanked or
 * filled from an upstream. It feeds package listings and search (the web
 * pages, SwiftPM's registry search, `npm search`) without scanning storage.
 *
 * Each format's entries are one JSON document in storage, updated with
 * compare-and-swap and revalidated by every node within the documents'
 * bound (2 s with S3); each node answers listings and searches from memory.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import type { PackageRef } from "./package.ts";
import type { DocumentCache } from "../storage/document_cache.ts";

/** The summary of one package. */
export interface CatalogEntry {
  format: string;
  /** The package's storage key within its format. */
  key: string;
  /** How the format's clients write its name (`mona.LinkedList`, `@mona/pkg`, ...). */
  id: string;
  scope?: string;
  name: string;
  description?: string;
  keywords?: string[];
  /** Author or organization names. */
  authors?: string[];
  license?: string;
  /** The highest non-pre-release version (or the highest of all when there are only pre-releases). */
  latestVersion: string;
  /** How many versions the package has. */
  versions: number;
  /** ISO 8601 time of the last change (a publish, most often). */
  updatedAt: string;
  /** Who signed the latest version, for people (Swift: the certificate's subject), when it is signed. */
  signer?: string;
  /** `local` (published or mirrored here) or `upstream` (cached from an upstream registry). */
  origin: "local" | "upstream";
}

/** The fields of a catalog entry that name the package, as its ref does (`format`, `key`, `id`, `scope`, `name`). */
export function catalogIdentity(ref: PackageRef): Pick<CatalogEntry, "format" | "key" | "id" | "scope" | "name"> {
  return {
    format: ref.format,
    key: ref.key,
    id: ref.id,
    ...(ref.scope === undefined ? {} : { scope: ref.scope }),
    name: ref.name,
  };
}

/** A catalog entry with its lower-cased search text, prepared once per change. */
export interface IndexedEntry {
  entry: CatalogEntry;
  /** Lower-cased id, name, scope, description and keywords, for substring search. */
  text: string;
}

interface CatalogDocument {
  entries: Record<string, CatalogEntry>;
}

/** Options of a {@link Catalog}. */
export interface CatalogOptions {
  documents: DocumentCache;
  /** The served formats, in listing order. */
  formats: readonly string[];
  logger: Logger;
}

/** Package summaries of every served format, for listings and search. */
export class Catalog {
  readonly #documents: DocumentCache;
  readonly #formats: readonly string[];
  readonly #logger: Logger;
  /** Indexed entries per stored document (documents are replaced, never mutated, when they change). */
  readonly #indexed = new WeakMap<CatalogDocument, IndexedEntry[]>();
  /** Entries of several formats merged, by format list, with the per-format lists they were merged from. */
  readonly #combined = new Map<string, { parts: IndexedEntry[][]; all: IndexedEntry[] }>();

  constructor(options: CatalogOptions) {
    this.#documents = options.documents;
    this.#formats = options.formats;
    this.#logger = options.logger;
  }

  /**
   * Records (or replaces) a package's summary; nothing is written when the
   * current catalog (as this node holds it) already says the same. A failure
   * is logged, not thrown: the release it follows is already committed, and
   * the package's next change records it again.
   */
  async record(entry: CatalogEntry): Promise<void> {
    try {
      if (JSON.stringify(await this.get(entry.format, entry.key)) === JSON.stringify(entry)) return;
      await this.#documents.update<CatalogDocument>(documentKey(entry.format), (current) => {
        const known = current?.entries[entry.key];
        if (known !== undefined && JSON.stringify(known) === JSON.stringify(entry)) return undefined;
        return { entries: { ...current?.entries, [entry.key]: entry } };
      });
    } catch (error) {
      this.#logger.log("warn", "could not update the package catalog", {
        format: entry.format,
        package: entry.id,
        error: String(error),
      });
    }
  }

  /** Removes a package's summary (its last version was removed). */
  async remove(format: string, key: string): Promise<void> {
    if (await this.get(format, key) === undefined) return;
    await this.#documents.update<CatalogDocument>(documentKey(format), (current) => {
      const { [key]: _removed, ...entries } = current?.entries ?? {};
      return { entries };
    });
  }

  /**
   * Replaces the local entries of `format` with `entries` (rebuilt from the
   * stored packages at `since`): upstream entries stay, and so do local ones
   * recorded after `since` by publishes that ran meanwhile.
   */
  async replaceLocal(format: string, entries: CatalogEntry[], since: string): Promise<void> {
    await this.#documents.update<CatalogDocument>(documentKey(format), (current) => {
      const kept = Object.values(current?.entries ?? {}).filter((e) => e.origin === "upstream" || e.updatedAt > since);
      const rebuilt = Object.fromEntries(entries.map((e) => [e.key, e]));
      for (const entry of kept) if (!(entry.key in rebuilt) || entry.origin === "local") rebuilt[entry.key] = entry;
      if (current !== null && JSON.stringify(current.entries) === JSON.stringify(rebuilt)) return undefined;
      return { entries: rebuilt };
    });
  }

  /** True when `format` has a catalog document (a registry that predates the catalog has none to start with). */
  async has(format: string): Promise<boolean> {
    return (await this.#documents.read<CatalogDocument>(documentKey(format))) !== null;
  }

  /** The summary of one package, or `undefined`. */
  async get(format: string, key: string): Promise<CatalogEntry | undefined> {
    return (await this.#documents.read<CatalogDocument>(documentKey(format)))?.entries[key];
  }

  /**
   * Every entry of `formats` (default: all served), with its search text;
   * newest change first. The list is shared until a document changes (the
   * same array while nothing changed): do not modify it.
   */
  async entries(formats: readonly string[] = this.#formats): Promise<IndexedEntry[]> {
    const parts: IndexedEntry[][] = [];
    for (const format of formats) {
      const document = await this.#documents.read<CatalogDocument>(documentKey(format));
      if (document !== null) parts.push(this.#index(document));
    }
    if (parts.length <= 1) return parts[0] ?? [];
    const key = formats.join(",");
    const known = this.#combined.get(key);
    if (known !== undefined && known.parts.length === parts.length && known.parts.every((p, i) => p === parts[i])) {
      return known.all;
    }
    const all = parts.flat().sort(newestFirst);
    this.#combined.set(key, { parts, all });
    return all;
  }

  /**
   * The entries of one format (newest first) and a check that stays true
   * while they are its current ones, for answers built from them and kept
   * (src/http/prepared.ts): the array is the same object while nothing changed.
   */
  async current(format: string): Promise<{ entries: readonly IndexedEntry[]; fresh: () => boolean }> {
    const key = documentKey(format);
    const document = await this.#documents.read<CatalogDocument>(key);
    return {
      entries: document === null ? NO_ENTRIES : this.#index(document),
      fresh: () => this.#documents.isCurrent(key, document),
    };
  }

  #index(document: CatalogDocument): IndexedEntry[] {
    let indexed = this.#indexed.get(document);
    if (indexed === undefined) {
      indexed = Object.values(document.entries).map((entry) => ({ entry, text: searchText(entry) })).sort(newestFirst);
      this.#indexed.set(document, indexed);
    }
    return indexed;
  }
}

/** The entries of a format without a catalog document (one object, so answers built from it are kept). */
const NO_ENTRIES: readonly IndexedEntry[] = Object.freeze([]);

function documentKey(format: string): string {
  return `catalog/${format}.json`;
}

function searchText(entry: CatalogEntry): string {
  return [entry.id, entry.scope ?? "", entry.name, entry.description ?? "", ...(entry.keywords ?? [])]
    .join("\n").toLowerCase();
}

function newestFirst(a: IndexedEntry, b: IndexedEntry): number {
  return b.entry.updatedAt.localeCompare(a.entry.updatedAt) || a.entry.id.localeCompare(b.entry.id);
}
