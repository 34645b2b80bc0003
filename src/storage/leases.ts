/**
 * Leases: work that must run on one node at a time (a scheduled sync, an
 * eviction sweep) holds a lease object in the shared store. A lease is
 * acquired by a create-only write, renewed and released by compare-and-swap,
 * and expires after the TTL recorded in it; an expired lease is taken over
 * with `If-Match`, so at most one node wins each acquisition. Expiry is judged
 * by each node's clock: a holder must finish or renew well before
 * `expiresAt` (callers keep a margin larger than the clock skew between
 * nodes), and can check `etag` (a fencing token) before committing work. The
 * same code runs on local disk and on S3.
 *
 * @module
 */
import { readJsonDocument } from "./json_document.ts";
import { type ObjectStore, PreconditionFailedError } from "./object_store.ts";

/** The stored lease document. */
interface LeaseDocument {
  name: string;
  owner: string;
  /** Milliseconds since the epoch after which the lease is free. */
  expiresAt: number;
  ttlMs: number;
}

/** A lease this node holds. */
export interface Lease {
  name: string;
  owner: string;
  expiresAt: number;
  /** The etag of the lease object as this node last wrote it. */
  etag: string;
}

/** Options of a {@link LeaseManager}. */
export interface LeaseManagerOptions {
  /** Names this node in lease documents (e.g. its host name); a unique suffix is added. */
  owner: string;
  clock?: () => number;
  /** Key prefix of lease objects (default `leases/`). */
  prefix?: string;
}

/**
 * Acquires, renews and releases named leases in an {@link ObjectStore}.
 *
 * @example
 * const leases = new LeaseManager(store, { owner: "node-a" });
 * const lease = await leases.acquire("sync", 60_000);
 * if (lease) { try { await work(); } finally { await leases.release(lease); } }
 */
export class LeaseManager {
  readonly #store: ObjectStore;
  readonly #owner: string;
  readonly #now: () => number;
  readonly #prefix: string;

  constructor(store: ObjectStore, options: LeaseManagerOptions) {
    this.#store = store;
    // Unique per process, so two processes given the same name never share a lease.
    this.#owner = `${options.owner}#${crypto.randomUUID()}`;
    this.#now = options.clock ?? Date.now;
    this.#prefix = options.prefix ?? "leases/";
  }

  /**
   * Takes lease `name` for `ttlMs` if it is free or expired, or held by this
   * owner already (then it is renewed). Returns `null` when another live
   * owner holds it or another node won the race.
   */
  async acquire(name: string, ttlMs: number): Promise<Lease | null> {
    const key = this.#key(name);
    const head = await this.#store.head(key);
    const current = head === null ? null : await readJsonDocument<LeaseDocument>(this.#store, key, head.etag);
    if (current !== null && current.value.owner !== this.#owner && current.value.expiresAt > this.#now()) return null;
    const document: LeaseDocument = { name, owner: this.#owner, expiresAt: this.#now() + ttlMs, ttlMs };
    try {
      const info = await this.#store.put(key, encode(document), {
        ...(current === null ? { ifNoneMatch: "*" as const } : { ifMatch: current.etag }),
        contentType: "application/json",
      });
      return { name, owner: this.#owner, expiresAt: document.expiresAt, etag: info.etag };
    } catch (error) {
      if (error instanceof PreconditionFailedError) return null;
      throw error;
    }
  }

  /**
   * Extends a held lease by its TTL. Returns the renewed lease, or `null` when
   * it was lost (expired and taken over, or released elsewhere).
   */
  async renew(lease: Lease, ttlMs: number): Promise<Lease | null> {
    const document: LeaseDocument = { name: lease.name, owner: this.#owner, expiresAt: this.#now() + ttlMs, ttlMs };
    try {
      const info = await this.#store.put(this.#key(lease.name), encode(document), {
        ifMatch: lease.etag,
        contentType: "application/json",
      });
      return { ...lease, expiresAt: document.expiresAt, etag: info.etag };
    } catch (error) {
      if (error instanceof PreconditionFailedError) return null;
      throw error;
    }
  }

  /** Gives a held lease up (marks it expired), unless it was already lost. */
  async release(lease: Lease): Promise<void> {
    const document: LeaseDocument = { name: lease.name, owner: this.#owner, expiresAt: 0, ttlMs: 0 };
    try {
      await this.#store.put(this.#key(lease.name), encode(document), {
        ifMatch: lease.etag,
        contentType: "application/json",
      });
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
    }
  }

  /**
   * Gives a held lease up and deletes its object (for short-lived leases, such
   * as a claim on one version, that would otherwise pile up). Nothing happens
   * when the lease was lost meanwhile.
   */
  async remove(lease: Lease): Promise<void> {
    const key = this.#key(lease.name);
    if ((await this.#store.head(key))?.etag === lease.etag) await this.#store.delete(key);
  }

  #key(name: string): string {
    return `${this.#prefix}${name}.json`;
  }
}

function encode(document: LeaseDocument): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(document));
}
