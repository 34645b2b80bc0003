/**
 * When build-cache entries were last read, shared by every node of a cluster
 * without a storage write per read.
 *
 * A read only notes the key in memory, stamped with the time rounded up to
 * the minute (coarse: repeated reads in one minute are one stamp). Each node
 * writes what it noted as one batch object, `cache/meta/access/<time>-<node>-<n>.json`,
 * about once a minute (one PUT per node per minute at most, and none when
 * nothing was read). The sweep merges the batches into one record,
 * `cache/meta/stamps.json`, keeping only stamps newer than their entry's
 * write, and deletes the batches it merged. No object is written by two
 * nodes, so nothing needs compare-and-swap.
 *
 * @module
 */
import { type ObjectStore, readObjectBytes } from "../../storage/object_store.ts";
import { META_PREFIX } from "./keys.ts";

const BATCH_PREFIX = `${META_PREFIX}access/`;
const RECORD_KEY = `${META_PREFIX}stamps.json`;
/** Largest record read (about five million stamps). */
const MAX_RECORD_BYTES = 512 * 1024 * 1024;

/** Options of {@link AccessStamps}. */
export interface AccessStampsOptions {
  store: ObjectStore;
  /** Names this node in batch keys (one object key segment). */
  node: string;
  now: () => number;
  /** Stamps are rounded up to a multiple of this (default one minute). */
  granularityMs?: number;
  /** Keys noted before a batch is written early (default 50,000). */
  maxPending?: number;
}

/** The stamps of one node, noted in memory and written in batches. */
export class AccessStamps {
  readonly #store: ObjectStore;
  readonly #node: string;
  readonly #now: () => number;
  readonly #granularityMs: number;
  readonly #maxPending: number;
  #pending = new Map<string, number>();
  #sequence = 0;
  #flushing: Promise<void> | null = null;

  constructor(options: AccessStampsOptions) {
    this.#store = options.store;
    this.#node = options.node;
    this.#now = options.now;
    this.#granularityMs = options.granularityMs ?? 60_000;
    this.#maxPending = options.maxPending ?? 50_000;
  }

  /** Notes that `key` was used now (a map update; no I/O). */
  touch(key: string): void {
    const stamp = Math.ceil(this.#now() / this.#granularityMs) * this.#granularityMs;
    this.#pending.set(key, stamp);
    if (this.#pending.size >= this.#maxPending && this.#flushing === null) {
      this.#flushing = this.flush().catch(() => {}).finally(() => this.#flushing = null);
    }
  }

  /** Writes what was noted since the last batch as one batch object (nothing when nothing was noted). */
  async flush(): Promise<void> {
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    const key = `${BATCH_PREFIX}${this.#now()}-${this.#node}-${++this.#sequence}.json`;
    try {
      await this.#store.put(key, new TextEncoder().encode(JSON.stringify(Object.fromEntries(batch))), {
        contentType: "application/json",
      });
    } catch (error) {
      // Keep the stamps for the next attempt (newer ones noted meanwhile win).
      for (const [k, stamp] of batch) if ((this.#pending.get(k) ?? 0) < stamp) this.#pending.set(k, stamp);
      throw error;
    }
  }
}

/** Every stamp in storage, and the batch objects they were read from. */
export interface StoredStamps {
  stamps: Map<string, number>;
  batches: string[];
}

/** Reads the merged record and every batch written since (unreadable batches are skipped and listed for removal). */
export async function readStamps(store: ObjectStore): Promise<StoredStamps> {
  const stamps = new Map<string, number>();
  const merge = (record: unknown) => {
    if (typeof record !== "object" || record === null) return;
    for (const [key, stamp] of Object.entries(record)) {
      if (typeof stamp === "number" && stamp > (stamps.get(key) ?? 0)) stamps.set(key, stamp);
    }
  };
  // The record is rewritten by whichever node sweeps: ask the source of truth for its current version.
  const current = await store.head(RECORD_KEY);
  if (current !== null) merge((await readRecord(store, RECORD_KEY, current.etag))?.stamps);
  const batches: string[] = [];
  for await (const info of store.list(BATCH_PREFIX)) {
    merge(await readRecord(store, info.key));
    batches.push(info.key);
  }
  return { stamps, batches };
}

/** Replaces the merged record with `stamps`, then removes the batches merged into it. */
export async function writeStamps(store: ObjectStore, stamps: Map<string, number>, merged: string[]): Promise<void> {
  const body = JSON.stringify({ stamps: Object.fromEntries(stamps) });
  await store.put(RECORD_KEY, new TextEncoder().encode(body), { contentType: "application/json" });
  for (const key of merged) await store.delete(key);
}

/** A stored record, or `null` when absent or damaged (storage failures are thrown: a sweep must not lose stamps). */
async function readRecord(store: ObjectStore, key: string, etag?: string): Promise<Record<string, unknown> | null> {
  const object = await readObjectBytes(store, key, MAX_RECORD_BYTES, etag);
  if (object === null) return null;
  try {
    return JSON.parse(new TextDecoder().decode(object.bytes));
  } catch {
    return null;
  }
}
