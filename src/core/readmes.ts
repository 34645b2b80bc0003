/**
 * READMEs inside stored zip archives (Swift source archives, Go module zips),
 * for the package pages. Extracting one is I/O (the archive's central
 * directory and one entry, read with ranges), so it happens once per archive:
 * the result, README or none, is stored beside the archive
 * (`<archive key>.readme.json`, shared by every node) and kept in memory.
 *
 * @module
 */
import * as zip from "@zip.js/zip.js";
import type { Logger } from "../log.ts";
import type { ObjectStore } from "../storage/object_store.ts";
import { readObjectBytes } from "../storage/object_store.ts";
import { LruCache } from "../util/lru_cache.ts";
import type { PageReadme } from "../formats/package_page.ts";
import type { ArtifactInfo, Artifacts } from "./artifacts.ts";

zip.configure({ useWebWorkers: false });

/** Largest README kept (bigger ones are cut at this many bytes). */
export const MAX_README_BYTES = 512 * 1024;

/** README file names, best first: Markdown, then plain text. */
const README_NAMES: ReadonlyArray<{ pattern: RegExp; markup: PageReadme["markup"] }> = [
  { pattern: /^readme\.(md|markdown|mdown|mkdn)$/i, markup: "markdown" },
  { pattern: /^readme$/i, markup: "markdown" },
  { pattern: /^readme\.(txt|rst|adoc|text)$/i, markup: "plain" },
];

/** What is stored per archive. */
interface StoredReadme {
  /** The entry it came from, or `null` when the archive has none. */
  file: string | null;
  text?: string;
  markup?: PageReadme["markup"];
}

/** Options of {@link ArchiveReadmes}. */
export interface ArchiveReadmesOptions {
  artifacts: Artifacts;
  store: ObjectStore;
  logger: Logger;
  /** Bytes of READMEs kept in memory (default 16 MiB). */
  memoryBytes?: number;
}

/** Finds, stores and remembers the README of stored zip archives. */
export class ArchiveReadmes {
  readonly #options: ArchiveReadmesOptions;
  readonly #memory: LruCache<string, StoredReadme>;
  readonly #pending = new Map<string, Promise<StoredReadme | undefined>>();

  constructor(options: ArchiveReadmesOptions) {
    this.#options = options;
    this.#memory = new LruCache(options.memoryBytes ?? 16 * 1024 * 1024, (r) => 64 + (r.text?.length ?? 0) * 2);
  }

  /**
   * The README directly inside `directory` (`"example.com/m@v1.0.0/"`; by default the archive's single
   * top-level directory) of the zip `archive`, or `undefined` when it has none (or cannot be read now:
   * then it is tried again later).
   */
  async fromZip(archive: Pick<ArtifactInfo, "key" | "size">, directory?: string): Promise<PageReadme | undefined> {
    const key = `${archive.key}.readme.json`;
    let stored = this.#memory.get(key);
    if (stored === undefined) {
      let pending = this.#pending.get(key);
      if (pending === undefined) {
        pending = this.#load(key, archive, directory).finally(() => this.#pending.delete(key));
        this.#pending.set(key, pending);
      }
      stored = await pending;
    }
    if (stored?.text === undefined) return undefined;
    return { text: stored.text, markup: stored.markup ?? "markdown" };
  }

  async #load(
    key: string,
    archive: Pick<ArtifactInfo, "key" | "size">,
    directory: string | undefined,
  ): Promise<StoredReadme | undefined> {
    const { store, logger } = this.#options;
    try {
      const kept = await readObjectBytes(store, key, MAX_README_BYTES * 4);
      let stored: StoredReadme;
      if (kept !== null) {
        stored = JSON.parse(new TextDecoder().decode(kept.bytes));
      } else {
        stored = await this.#extract(archive, directory);
        await store.put(key, new TextEncoder().encode(JSON.stringify(stored)), { contentType: "application/json" });
      }
      this.#memory.set(key, stored);
      return stored;
    } catch (error) {
      logger.log("warn", "could not read the README of an archive", { archive: archive.key, error: String(error) });
      return undefined;
    }
  }

  async #extract(archive: Pick<ArtifactInfo, "key" | "size">, directory: string | undefined): Promise<StoredReadme> {
    const reader = new zip.ZipReader(new ArtifactReader(this.#options.artifacts, archive));
    try {
      const candidates: Array<{ entry: zip.FileEntry; rank: number; markup: PageReadme["markup"] }> = [];
      for (const entry of await reader.getEntries()) {
        if (entry.directory) continue;
        const top = directory ?? `${entry.filename.split("/")[0]}/`;
        if (!entry.filename.startsWith(top)) continue;
        const name = entry.filename.slice(top.length);
        const rank = README_NAMES.findIndex(({ pattern }) => pattern.test(name));
        if (rank >= 0) candidates.push({ entry, rank, markup: README_NAMES[rank].markup });
      }
      candidates.sort((a, b) => a.rank - b.rank || a.entry.filename.localeCompare(b.entry.filename));
      const best = candidates[0];
      if (best === undefined) return { file: null };
      // Archives were checked when they were stored; the bound still keeps a huge README out of memory.
      if (best.entry.uncompressedSize > MAX_README_BYTES * 64) {
        return { file: best.entry.filename, text: "(The README is too large to show here.)", markup: "plain" };
      }
      const bytes = await best.entry.getData(new zip.Uint8ArrayWriter());
      const text = new TextDecoder().decode(bytes.subarray(0, MAX_README_BYTES));
      return { file: best.entry.filename, text, markup: best.markup };
    } finally {
      await reader.close();
    }
  }
}

/** A zip.js reader over a stored artifact: each read is a ranged read of storage (small ones from a block). */
class ArtifactReader extends zip.Reader<null> {
  readonly #artifacts: Artifacts;
  readonly #info: ArtifactInfo;
  #block = new Uint8Array(0);
  #blockOffset = 0;

  constructor(artifacts: Artifacts, archive: Pick<ArtifactInfo, "key" | "size">) {
    super(null);
    this.#artifacts = artifacts;
    this.#info = { ...archive, etag: "", lastModified: new Date(0) };
    this.size = archive.size;
  }

  override async readUint8Array(offset: number, length: number): Promise<Uint8Array> {
    const start = offset - this.#blockOffset;
    if (start >= 0 && start + length <= this.#block.length) return this.#block.slice(start, start + length);
    const span = Math.min(Math.max(length, 64 * 1024), this.size - offset);
    const body = await this.#artifacts.open(this.#info, { start: offset, end: offset + span - 1 });
    this.#block = new Uint8Array(await new Response(body.body).arrayBuffer());
    this.#blockOffset = offset;
    return this.#block.slice(0, length);
  }
}
