/**
 * Pull-through from an upstream registry, the same for every format: the
 * format says which upstream paths it needs and how to check what comes back;
 * this component fetches, caches and verifies.
 *
 * - Metadata documents (an npm packument, a PyPI project page, a Go version
 *   list) are cached in storage (shared by every node of a cluster, kept over
 *   restarts) and in memory, fresh for the TTL, then revalidated with a
 *   conditional request. When the upstream fails, the cached copy is served
 *   stale (with a warning log and a metric); a miss then is a 502/504.
 * - Artifacts are downloaded once however many clients miss at once, checked
 *   against the upstream's checksums before they are stored, and then served
 *   like local ones, forever (their bytes never change).
 * - Credentials go only to the upstream's own origin, never to another host a
 *   document points at (a CDN for files, say).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { BadGatewayError, GatewayTimeoutError, RegistryError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { readJsonDocument } from "../storage/json_document.ts";
import { moveObject, type ObjectInfo, type ObjectStore } from "../storage/object_store.ts";
import { LruCache } from "../util/lru_cache.ts";
import { hashFile, type StagedFile, stageStream } from "./staging.ts";

/** Settings of one format's upstream. */
export interface UpstreamSettings {
  /** Base URL of the upstream registry (`REGISTRY_<FORMAT>_UPSTREAM`), without a trailing slash. */
  url: string;
  /** `Authorization` header value for the upstream's own origin (a bearer token or basic credentials). */
  authorization?: string;
  /** How long a metadata document is used without asking the upstream again (`REGISTRY_UPSTREAM_TTL`). */
  ttlMs: number;
}

/** Dependencies of an {@link Upstream}. */
export interface UpstreamOptions extends UpstreamSettings {
  /** The format this upstream serves (storage keys, logs, metrics). */
  format: string;
  store: ObjectStore;
  scratchDir: string;
  logger: Logger;
  fetch?: typeof fetch;
  now?: () => number;
  /** Deadline of each request to the upstream: to answer, and of silence while a body streams (default 30 s). */
  timeoutMs?: number;
  /** Largest artifact accepted from the upstream. */
  maxArtifactBytes: number;
  /** Told each time a stale document is served because the upstream failed. */
  onStale?: (format: string) => void;
}

/** A metadata document from the upstream. */
export interface UpstreamDocument {
  /** The body as received. */
  body: Uint8Array<ArrayBuffer>;
  contentType: string;
  /** When it was last confirmed with the upstream (ms since the epoch). */
  checkedAt: number;
  /** True when the upstream could not be asked and this is an older copy. */
  stale: boolean;
  /** Until when it is served without asking the upstream again (`checkedAt` + `REGISTRY_UPSTREAM_TTL`). */
  freshUntil: number;
  /** The `Link` header it came with (release lists, alternate manifests). */
  link?: string;
}

/** Digests an artifact must have, as the upstream states them (any subset). */
export interface ExpectedDigests {
  /** Lowercase hex. */
  sha256?: string;
  /** Lowercase hex. */
  sha1?: string;
  /** Base64 (as in an npm `integrity`). */
  sha512?: string;
  size?: number;
}

/** How an upstream has been answering, as this process saw it. */
export interface UpstreamHealth {
  format: string;
  /** The upstream's base URL (credentials are never part of it). */
  url: string;
  /** When it last answered a request (ISO 8601). */
  lastSuccessAt?: string;
  /** The last request it failed, and why. */
  lastFailure?: { at: string; error: string };
  /** Documents served stale since start because it failed. */
  staleServed: number;
}

/** The cached form of a document (in storage and memory). */
interface CachedDocument {
  url: string;
  status: 200 | 404;
  /** Base64 of the body (200 only). */
  body?: string;
  contentType?: string;
  etag?: string;
  lastModified?: string;
  link?: string;
  checkedAt: number;
}

/** Pull-through from one upstream registry. */
export class Upstream {
  readonly #options: UpstreamOptions;
  readonly #origin: string;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #memory = new LruCache<string, CachedDocument>(2_000);
  readonly #documents = new Map<string, Promise<CachedDocument>>();
  readonly #artifacts = new Map<string, Promise<ObjectInfo>>();
  readonly #health: { lastSuccessAt?: number; lastFailure?: { at: number; error: string }; staleServed: number } = {
    staleServed: 0,
  };

  constructor(options: UpstreamOptions) {
    this.#options = options;
    this.#origin = new URL(options.url).origin;
    this.#fetch = options.fetch ?? fetch;
    this.#now = options.now ?? Date.now;
  }

  /** The upstream's base URL. */
  get url(): string {
    return this.#options.url;
  }

  /** How the upstream has been answering (for the operators' status). */
  health(): UpstreamHealth {
    const { lastSuccessAt, lastFailure, staleServed } = this.#health;
    const iso = (ms: number) => new Date(ms).toISOString();
    return {
      format: this.#options.format,
      url: this.#options.url,
      ...(lastSuccessAt === undefined ? {} : { lastSuccessAt: iso(lastSuccessAt) }),
      ...(lastFailure === undefined ? {} : { lastFailure: { at: iso(lastFailure.at), error: lastFailure.error } }),
      staleServed,
    };
  }

  /**
   * The document at `path` (relative to the upstream's URL, or an absolute
   * URL), or `null` when the upstream does not have it.
   *
   * @throws {BadGatewayError} / {GatewayTimeoutError} when the upstream fails and nothing is cached.
   */
  async document(path: string, accept = "application/json"): Promise<UpstreamDocument | null> {
    const url = this.#resolve(path);
    const key = `upstream/${this.#options.format}/documents/${sha256Hex(`${accept}\n${url}`)}.json`;
    let cached = this.#memory.get(key) ?? undefined;
    if (cached === undefined) {
      cached = (await readJsonDocument<CachedDocument>(this.#options.store, key))?.value;
      if (cached !== undefined) this.#memory.set(key, cached);
    }
    if (cached !== undefined && this.#now() - cached.checkedAt < this.#options.ttlMs) {
      return view(cached, false, this.#options.ttlMs);
    }
    // One revalidation per document at a time; concurrent readers share it.
    let pending = this.#documents.get(key);
    if (pending === undefined) {
      pending = this.#revalidate(url, key, accept, cached).finally(() => this.#documents.delete(key));
      this.#documents.set(key, pending);
    }
    try {
      return view(await pending, false, this.#options.ttlMs);
    } catch (error) {
      if (cached === undefined) throw error;
      this.#options.logger.log("warn", "upstream failed; serving a stale copy", {
        format: this.#options.format,
        url,
        error: (error as Error).message,
      });
      this.#health.staleServed++;
      this.#options.onStale?.(this.#options.format);
      return view(cached, true, this.#options.ttlMs);
    }
  }

  /**
   * Makes sure the artifact at `url` is stored at `key`: downloaded once
   * (concurrent callers share the download), checked against `expected`, and
   * stored; nothing is stored when it does not match. Returns the stored object.
   * A copy kept at `legacyKey` (where an earlier version of this registry
   * stored it, checked then) is moved to `key` instead of downloading it again.
   *
   * @throws {BadGatewayError} when the upstream fails or its bytes do not match its checksums.
   */
  async fetchArtifact(
    url: string,
    key: string,
    expected: ExpectedDigests,
    contentType: string,
    legacyKey?: string,
  ): Promise<ObjectInfo> {
    // Join a fetch in progress before anything else, so concurrent callers can never start two.
    let pending = this.#artifacts.get(key);
    if (pending === undefined) {
      pending = (async () => {
        const store = this.#options.store;
        const stored = await store.head(key);
        if (stored !== null) return stored;
        const moved = legacyKey !== undefined && await moveObject(store, legacyKey, key, contentType);
        if (!moved) await this.#download(url, key, expected, contentType);
        // As every node will see it (a bucket's own modification time, not this node's clock).
        const kept = await store.head(key);
        if (kept === null) throw new BadGatewayError(`${url} could not be kept; try again`);
        return kept;
      })().finally(() => this.#artifacts.delete(key));
      this.#artifacts.set(key, pending);
    }
    return await pending;
  }

  /** Headers for a request to `url`: credentials only for the upstream's own origin. */
  headers(url: string, accept: string): Record<string, string> {
    const headers: Record<string, string> = { Accept: accept };
    if (this.#options.authorization !== undefined && new URL(url).origin === this.#origin) {
      headers.Authorization = this.#options.authorization;
    }
    return headers;
  }

  async #revalidate(
    url: string,
    key: string,
    accept: string,
    cached: CachedDocument | undefined,
  ): Promise<CachedDocument> {
    const headers = this.headers(url, accept);
    if (cached?.etag) headers["If-None-Match"] = cached.etag;
    if (cached?.lastModified) headers["If-Modified-Since"] = cached.lastModified;
    const response = await this.#request(url, headers);
    let next: CachedDocument;
    if (response.status === 304 && cached !== undefined) {
      await response.body?.cancel();
      next = { ...cached, checkedAt: this.#now() };
    } else if (response.status === 404 || response.status === 410) {
      await response.body?.cancel();
      next = { url, status: 404, checkedAt: this.#now() };
    } else if (response.ok) {
      next = {
        url,
        status: 200,
        body: Buffer.from(await this.#readBody(response, url)).toString("base64"),
        contentType: response.headers.get("content-type") ?? "application/octet-stream",
        etag: response.headers.get("etag") ?? undefined,
        lastModified: response.headers.get("last-modified") ?? undefined,
        link: response.headers.get("link") ?? undefined,
        checkedAt: this.#now(),
      };
    } else {
      await response.body?.cancel();
      throw new BadGatewayError(`the upstream answered ${response.status} for ${url}`);
    }
    this.#memory.set(key, next);
    await this.#options.store.put(key, new TextEncoder().encode(JSON.stringify(next)), {
      contentType: "application/json",
    }).catch((error) =>
      this.#options.logger.log("warn", "could not keep an upstream document", { url, error: String(error) })
    );
    return next;
  }

  /**
   * Downloads the artifact at `url` into a scratch file, for formats whose
   * upstream states no checksums: the caller checks the bytes, stores them,
   * and disposes of the file. `null` when the upstream does not have it.
   *
   * @throws {BadGatewayError} / {GatewayTimeoutError} when the upstream fails.
   */
  async stage(url: string): Promise<StagedFile | null> {
    url = this.#resolve(url);
    const response = await this.#request(url, this.headers(url, "*/*"));
    if (response.status === 404 || response.status === 410) {
      await response.body?.cancel();
      return null;
    }
    if (!response.ok || response.body === null) {
      await response.body?.cancel();
      throw new BadGatewayError(`the upstream answered ${response.status} for ${url}`);
    }
    try {
      return await stageStream(this.#options.scratchDir, this.#guarded(response.body), this.#options.maxArtifactBytes);
    } catch (error) {
      if (error instanceof RegistryError && error.status === 413) {
        throw new BadGatewayError(`the upstream's ${url} is larger than this registry accepts`);
      }
      throw new BadGatewayError(`downloading ${url} from the upstream failed: ${(error as Error).message}`);
    }
  }

  async #download(url: string, key: string, expected: ExpectedDigests, contentType: string): Promise<void> {
    const staged = await this.stage(url);
    if (staged === null) throw new BadGatewayError(`the upstream does not have ${url}`);
    try {
      const mismatch = await checkDigests(staged, expected);
      if (mismatch !== null) {
        this.#options.logger.log("error", "upstream artifact does not match its checksum; not stored", {
          format: this.#options.format,
          url,
          mismatch,
        });
        throw new BadGatewayError(`the upstream's ${url} does not match its ${mismatch}; it was not stored`);
      }
      await this.#options.store.put(key, { file: staged.path }, { contentType });
    } finally {
      await staged.dispose();
    }
  }

  /**
   * A request whose answer must come within the timeout (its body is then
   * guarded for silence by the reader); network failures become 502,
   * timeouts 504.
   */
  async #request(url: string, headers: Record<string, string>): Promise<Response> {
    const timeoutMs = this.#timeoutMs;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException("timed out", "TimeoutError")), timeoutMs);
    try {
      const response = await this.#fetch(url, { headers, redirect: "follow", signal: controller.signal });
      if (response.status >= 500) this.#failed(`it answered ${response.status} for ${url}`);
      else this.#health.lastSuccessAt = this.#now();
      return response;
    } catch (error) {
      if (controller.signal.aborted) {
        this.#failed(`no answer within ${timeoutMs} ms for ${url}`);
        throw new GatewayTimeoutError(`the upstream did not answer within ${timeoutMs} ms (${url})`);
      }
      this.#failed(`cannot be reached (${url}): ${(error as Error).message}`);
      throw new BadGatewayError(`the upstream cannot be reached (${url}): ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  #failed(error: string): void {
    this.#health.lastFailure = { at: this.#now(), error };
  }

  /** A whole (metadata) body, failing as 502 when it breaks off or goes silent. */
  async #readBody(response: Response, url: string): Promise<Uint8Array<ArrayBuffer>> {
    try {
      return new Uint8Array(await new Response(this.#guarded(response.body!)).arrayBuffer());
    } catch (error) {
      throw new BadGatewayError(`reading ${url} from the upstream failed: ${(error as Error).message}`);
    }
  }

  #guarded(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
    return guardSilence(body, this.#timeoutMs);
  }

  get #timeoutMs(): number {
    return this.#options.timeoutMs ?? 30_000;
  }

  #resolve(path: string): string {
    if (/^https?:\/\//i.test(path)) return path;
    return `${this.#options.url}/${path.replace(/^\/+/, "")}`;
  }
}

function view(cached: CachedDocument, stale: boolean, ttlMs: number): UpstreamDocument | null {
  if (cached.status === 404) return null;
  return {
    body: new Uint8Array(Buffer.from(cached.body ?? "", "base64")),
    contentType: cached.contentType ?? "application/octet-stream",
    checkedAt: cached.checkedAt,
    stale,
    freshUntil: cached.checkedAt + ttlMs,
    ...(cached.link === undefined ? {} : { link: cached.link }),
  };
}

/** The first digest (or the size) of `file` that differs from `expected`, or `null` when all match. */
async function checkDigests(file: StagedFile, expected: ExpectedDigests): Promise<string | null> {
  if (expected.size !== undefined && expected.size !== file.size) return "size";
  if (expected.sha256 !== undefined && expected.sha256.toLowerCase() !== file.sha256Hex) return "sha256";
  const algorithms = (["sha1", "sha512"] as const).filter((algorithm) => expected[algorithm] !== undefined);
  if (algorithms.length === 0) return null;
  const digests = await hashFile(file.path, algorithms);
  if (digests.sha1 !== undefined && digests.sha1.toString("hex") !== expected.sha1!.toLowerCase()) return "sha1";
  if (digests.sha512 !== undefined && digests.sha512.toString("base64") !== expected.sha512) return "sha512";
  return null;
}

/** Errors the stream when no chunk arrives for `timeoutMs` (a stalled upstream). */
function guardSilence(body: ReadableStream<Uint8Array>, timeoutMs: number): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const silence = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no data for ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        const { done, value } = await Promise.race([reader.read(), silence]);
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        await reader.cancel().catch(() => {});
        controller.error(error);
      } finally {
        clearTimeout(timer);
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
