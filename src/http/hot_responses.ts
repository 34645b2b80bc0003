/**
 * The hot path: a GET or HEAD that was answered before with a prepared
 * response (src/http/prepared.ts) is answered again by one lookup, before
 * Hono routes anything, as long as what it was derived from still stands.
 *
 * A format serves a prepared response with {@link HotResponses.serve}; that
 * answers the request and remembers the response under the request's key: its
 * `Accept`, its URL (scheme, `Host`, path and query) and, from a trusted
 * proxy, its `X-Forwarded-Proto`/`-Host`: everything a format's answer may
 * depend on. (The key is remembered only by requests the routes answered, so a
 * `Host` in a key passed the routes' checks.) The
 * next request with the same key is answered by {@link HotResponses.answer}
 * (or, when the fast lane read it, src/http/fast_lane.ts, by
 * {@link HotResponses.answerWire}, encoded as HTTP/1.1): the freshness check
 * the format gave (a document still current), a token from the rate limiter
 * when limits are on, the prepared answer (304 and ranges included), then the
 * same request id, metrics and access log as any request.
 * A request the hot path cannot answer exactly as the routes would (an
 * `Authorization` header while rate limits are on, an unsatisfiable range, a
 * stale entry) goes on to the routes.
 *
 * When reads are public (`Authenticator.publicReads`) a remembered answer is
 * given to any request with the same key. When they need the auth chain but
 * every provider decides from the credentials alone
 * (`Authenticator.decidesFromCredentials`: the built-in tokens), the key also
 * holds the request's credentials (hashed), and they are authenticated again
 * before the answer is given: an answer reaches only the credentials the
 * routes allowed it to, listings filtered per caller included. The auth chain
 * is asked with a `Request` holding only those credentials (and, for the
 * built-in token providers, their digest: `credentialsRequest`), built once
 * when the answer is remembered: a `Request` built per read cost a third of the
 * read, and its garbage outlived the young generation, making GC pauses the
 * slowest reads' wait. Otherwise
 * every request goes through the routes, which still use the prepared
 * responses. Entries are bounded in bytes (least recently used
 * first out), so clients varying `Host` or query strings cannot grow memory.
 *
 * @module
 */
import type { Context } from "hono";
import { credentialsRequest, sha256Hex } from "../../plugins/credentials.ts";
import { LruCache } from "../util/lru_cache.ts";
import type { AccessLog } from "./access_log.ts";
import type { HeadRequest } from "./http1.ts";
import type { OpenFile } from "./open_files_cache.ts";
import { type Metrics, type RouteMetrics, routePattern } from "./metrics.ts";
import { clientRequestId, localRequestId } from "./middleware.ts";
import type { PreparedResponse } from "./prepared.ts";
import type { PublicUrlPolicy } from "./public_url.ts";
import type { RateLimiter } from "./rate_limit.ts";

/** Says whether a remembered response still stands (e.g. the document it came from is still current). */
export type Freshness = () => boolean;

/**
 * What the hot path reads of a request: a `Request`, or a request head the
 * fast lane read itself (src/http/http1.ts).
 */
export interface HotRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: { get(name: string): string | null; has(name: string): boolean };
}

/** Told of each request the hot path answers with a remembered response (e.g. to count a use of what it serves). */
export type HotUse = (request: HotRequest) => void;

/** A hot answer encoded as HTTP/1.1 for the fast lane (src/http/fast_lane.ts). */
export interface WireAnswer {
  status: number;
  /** Bytes of the body, for the metrics (for a HEAD, those of its GET, as the routes count them). */
  bodyBytes: number;
  /** The whole response; its head only when `file` follows. */
  bytes: Uint8Array;
  /** The body, a file held open: the fast lane sends it and gives it back. */
  file?: OpenFile;
  /** Called once `bytes` were sent (or could not be): they lie in a buffer kept for reuse. */
  release?: () => void;
}

/**
 * An answer the hot path can give again: a {@link PreparedResponse} from
 * memory, or a `PreparedFileResponse` from a local file (src/http/prepared_file.ts). `respond`
 * answers a GET or HEAD, and `wire` gives the same answer encoded for the
 * fast lane; either returns `undefined` (or throws) when the routes must
 * answer it.
 */
export interface HotAnswer {
  /** Bytes of a whole body. */
  readonly size: number;
  /** Bytes held in memory by this answer. */
  readonly weight: number;
  respond(request: HotRequest, requestId?: string): Response | undefined;
  wire(request: HotRequest, requestId?: string): WireAnswer | undefined;
}

interface HotEntry {
  prepared: HotAnswer;
  /** Per-credential reads: what the auth chain is asked before each answer (the credentials, nothing else). */
  credentials: Request | undefined;
  fresh: Freshness;
  used: HotUse | undefined;
  route: RouteMetrics;
  /** The request path without query, for the access log. */
  path: string;
}

/**
 * Who a remembered answer is given to: any request (reads are public), only
 * requests presenting the same credentials, once those authenticate again
 * (`Authenticator.decidesFromCredentials`), or none.
 */
export type HotReads = "public" | "per-credential" | "off";

/** What the hot path needs. */
export interface HotResponsesOptions {
  reads: HotReads;
  /** Authenticates a request again before a per-credential answer is given (rejects when the credentials fail). */
  authenticate: (request: Request) => Promise<unknown>;
  /** Bytes of remembered responses (bodies and headers). */
  maxBytes: number;
  metrics: Metrics;
  accessLog: AccessLog;
  rateLimiter: RateLimiter;
  urlPolicy: PublicUrlPolicy;
}

/** Remembered answers to hot reads, and the hot path that serves them. */
export class HotResponses {
  readonly #options: HotResponsesOptions;
  readonly #entries: LruCache<string, HotEntry>;

  constructor(options: HotResponsesOptions) {
    this.#options = options;
    this.#entries = new LruCache(
      options.maxBytes,
      (entry) => entry.prepared.weight + (entry.credentials === undefined ? 0 : CREDENTIALS_WEIGHT),
    );
  }

  /** Remembered responses. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Answers `request` from memory when a remembered response for it stands;
   * `undefined` when the routes must answer it.
   */
  answer(
    request: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
  ): Response | Promise<Response | undefined> | undefined {
    return this.#answer(request, info.remoteAddr.hostname, AS_RESPONSE);
  }

  /**
   * {@link answer} for the fast lane: the answer encoded as HTTP/1.1, for a
   * request head it read itself from `peer`.
   */
  answerWire(request: HeadRequest, peer: string): WireAnswer | Promise<WireAnswer | undefined> | undefined {
    return this.#answer(request, peer, ON_THE_WIRE);
  }

  #answer<R>(request: HotRequest, peer: string, form: AnswerForm<R>): R | Promise<R | undefined> | undefined {
    const method = request.method;
    if ((method !== "GET" && method !== "HEAD") || this.#entries.size === 0) return undefined;
    const started = performance.now();
    const headers = request.headers;
    const key = this.#key(request, peer);
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (!entry.fresh()) {
      this.#entries.delete(key);
      return undefined;
    }
    const limiter = this.#options.rateLimiter;
    if (
      limiter.enabled && (headers.has("authorization") || limiter.anonymous(peer, headers.get("x-forwarded-for")) > 0)
    ) {
      return undefined;
    }
    if (entry.credentials !== undefined) {
      // The same credentials were allowed this answer; they must still authenticate (a revoked token fails).
      return this.#options.authenticate(entry.credentials).then(
        // Authenticating may have taken a while (a token store in S3): the answer must still stand.
        () => entry.fresh() ? this.#respond(request, entry, started, form) : undefined,
        () => undefined, // the routes answer 401 in the format's shape
      );
    }
    return this.#respond(request, entry, started, form);
  }

  #respond<R>(request: HotRequest, entry: HotEntry, started: number, form: AnswerForm<R>): R | undefined {
    const clientId = clientRequestId(request.headers);
    let answer: R | undefined;
    try {
      answer = form.render(entry.prepared, request, clientId);
    } catch {
      return undefined; // e.g. an unsatisfiable range: the routes answer it in the format's error shape
    }
    if (answer === undefined) return undefined;
    entry.used?.(request);
    const status = form.status(answer);
    const bytes = form.bodyBytes(answer, entry.prepared);
    const ms = performance.now() - started;
    entry.route.record(request.method, status, ms / 1000, bytes);
    const log = this.#options.accessLog;
    if (log.enabled) log.record(request.method, entry.path, status, ms, clientId ?? localRequestId());
    return answer;
  }

  /**
   * Answers the request of `c` (a GET or HEAD) with `prepared` and remembers
   * it as {@link remember} does. Call it after the request was authorized.
   * `used` is told of each request answered from memory (the routes account
   * for this one).
   */
  serve(c: Context, prepared: PreparedResponse, fresh: Freshness, used?: HotUse): Response {
    const response = prepared.respond(c.req.raw);
    this.remember(c, prepared, fresh, used);
    return response;
  }

  /**
   * Remembers `answer` for requests with the same key as that of `c` (a GET
   * or HEAD; with per-credential reads, the same credentials too) while
   * `fresh()` holds, unless hot reads are off; the routes answer `c` themselves.
   */
  remember(c: Context, answer: HotAnswer, fresh: Freshness, used?: HotUse): void {
    const request = c.req.raw;
    // An answer that never stands (a listing filtered for its caller) is not kept.
    const reads = this.#options.reads;
    if (reads !== "off" && (request.method === "GET" || request.method === "HEAD") && fresh()) {
      const peer = (c.env as { remoteAddr?: { hostname?: string } } | undefined)?.remoteAddr?.hostname;
      const authorization = request.headers.get("authorization");
      this.#entries.set(this.#key(request, peer), {
        prepared: answer,
        credentials: reads === "per-credential" ? credentialsRequest(request.url, authorization) : undefined,
        fresh,
        used,
        route: this.#options.metrics.route(routePattern(c)),
        path: c.req.path,
      });
    }
  }

  /**
   * Everything a remembered answer may depend on: with per-credential reads,
   * the credentials too (hashed: no secret is kept as a key).
   */
  #key(request: HotRequest, peer: string | undefined): string {
    const headers = request.headers;
    let key = `${headers.get("accept")}\n${request.url}`;
    if (this.#options.reads === "per-credential") {
      const credentials = headers.get("authorization");
      key += `\n${credentials === null ? "" : sha256Hex(credentials)}`;
    }
    if (peer === undefined || !this.#options.urlPolicy.trustedProxies.has(peer)) return key;
    return `${key}\n${headers.get("x-forwarded-proto")}\n${headers.get("x-forwarded-host")}`;
  }
}

/** Bytes counted for the credentials `Request` a per-credential entry keeps (an estimate of the object's size). */
const CREDENTIALS_WEIGHT = 1024;

/** How an answer is given: as a `Response`, or encoded for the fast lane; and what it sent. */
interface AnswerForm<R> {
  render(prepared: HotAnswer, request: HotRequest, requestId: string | undefined): R | undefined;
  status(answer: R): number;
  bodyBytes(answer: R, prepared: HotAnswer): number;
}

const AS_RESPONSE: AnswerForm<Response> = {
  render: (prepared, request, requestId) => prepared.respond(request, requestId),
  status: (response) => response.status,
  bodyBytes: (response, prepared) =>
    response.status === 200
      ? prepared.size
      : response.status === 206
      ? Number(response.headers.get("content-length"))
      : 0,
};

const ON_THE_WIRE: AnswerForm<WireAnswer> = {
  render: (prepared, request, requestId) => prepared.wire(request, requestId),
  status: (answer) => answer.status,
  bodyBytes: (answer) => answer.bodyBytes,
};
