/**
 * Responses computed once: a body held in memory and every header it is
 * served with (ETag, Content-Type, Content-Length, Link, Digest, caching),
 * built when the document they come from changes and answered many times.
 * {@link PreparedResponse.respond} answers GET and HEAD, `If-None-Match`
 * (304), and for binary bodies `Range` / `If-Range` (206, 416), with no work
 * beyond reading those request headers.
 *
 * Formats get them with `HttpServices.prepare` (built once per document and
 * resource, kept in a {@link PreparedCache}) and answer with
 * `HttpServices.serve`, which also lets the hot path
 * (src/http/hot_responses.ts) answer the next identical request before any
 * routing.
 *
 * @example
 * const prepared = await http.prepare(pkg, `list ${base}`, () =>
 *   PreparedResponse.json({ releases }, { Link: links, "Cache-Control": "no-cache" }));
 * return http.serve(c, prepared, publisher.stillCurrent(ref, pkg));
 *
 * @module
 */
import { createHash } from "node:crypto";
import { RangeNotSatisfiableError } from "../errors.ts";
import { LruCache } from "../util/lru_cache.ts";
import { EncodedEachSecond, encodedFor, encodeResponse } from "./http1.ts";
import type { HotRequest, WireAnswer } from "./hot_responses.ts";
import { ifNoneMatchHits, parseRange } from "./range.ts";

/** Headers every response of the registry carries (SE-0292 §3.5 asks for `Content-Version: 1`). */
export const COMMON_HEADERS: Readonly<Record<string, string>> = { "Content-Version": "1" };

type HeaderList = [string, string][];

/** A response body and its headers, computed once and answered many times. */
export class PreparedResponse {
  /**
   * The body's bytes (text is encoded once here: Deno would encode a string
   * body again for every response).
   */
  readonly body: Uint8Array<ArrayBuffer>;
  /** Bytes of the body. */
  readonly size: number;
  /** The strong ETag, quoted (`"…"`), when the response has one. */
  readonly etag: string | undefined;
  /** Bytes this response holds in memory, for caches that bound their size. */
  readonly weight: number;
  readonly #headers: HeaderList;
  readonly #ranges: boolean;
  /**
   * Responses built once and cloned for each request: Deno validates and
   * converts every header when a `Response` is constructed (about a
   * microsecond each), while a clone copies the checked list and shares the
   * body without copying it.
   */
  readonly #ok: Response;
  readonly #head: Response;
  readonly #notModified: Response;
  /** The same three answers encoded for the fast lane (src/http/fast_lane.ts), each kept for the second of its `Date`. */
  readonly #wireOk = new EncodedEachSecond();
  readonly #wireHead = new EncodedEachSecond();
  readonly #wireNotModified = new EncodedEachSecond();
  readonly #withLength: HeaderList;
  readonly #notModifiedHeaders: HeaderList;

  /**
   * `headers` are those of a 200 answer besides `Content-Length` (computed
   * here) and {@link COMMON_HEADERS}. Ranges are answered for byte bodies
   * whose headers say `Accept-Ranges: bytes`.
   */
  constructor(body: string | Uint8Array<ArrayBuffer>, headers: Record<string, string>) {
    this.body = typeof body === "string" ? new TextEncoder().encode(body) : body;
    this.size = this.body.byteLength;
    const all: Record<string, string> = { ...headers, ...COMMON_HEADERS };
    this.etag = all.ETag ?? all.etag;
    this.#ranges = typeof body !== "string" && /^bytes$/i.test(all["Accept-Ranges"] ?? "");
    this.#headers = Object.entries(all);
    const withLength: HeaderList = [...this.#headers, ["Content-Length", String(this.size)]];
    this.#withLength = withLength;
    this.#ok = new Response(this.body, { headers: withLength });
    this.#head = new Response(null, { headers: withLength });
    // A 304 carries what a 200 would, except the body's length (RFC 9110 §15.4.5) and, since it has no body,
    // any X-Accel-Redirect (nginx would send the file instead: src/http/artifact_response.ts).
    this.#notModifiedHeaders = this.#headers.filter(([name]) => name.toLowerCase() !== "x-accel-redirect");
    this.#notModified = new Response(null, { status: 304, headers: this.#notModifiedHeaders });
    let headerBytes = 0;
    for (const [name, value] of withLength) headerBytes += name.length + value.length;
    // The body is held once more, encoded with its headers for the fast lane.
    this.weight = 2 * (this.size + headerBytes) + 512;
  }

  /**
   * A JSON body with a strong ETag (SHA-1 of the bytes) and
   * `Content-Type: application/json`, besides `headers`.
   */
  static json(value: unknown, headers: Record<string, string> = {}): PreparedResponse {
    const body = JSON.stringify(value);
    return new PreparedResponse(body, { "Content-Type": "application/json", ETag: strongEtag(body), ...headers });
  }

  /**
   * The answer to a GET or HEAD `request`: 304 when `If-None-Match` matches,
   * 206 for one satisfiable range (when ranges are served and `If-Range`, if
   * any, matches), else 200. `requestId` is added as `X-Request-ID` when given.
   *
   * @throws {RangeNotSatisfiableError} for a range that starts past the end.
   */
  respond(request: HotRequest, requestId?: string): Response {
    const answer = this.#decide(request);
    switch (answer.kind) {
      case "not modified":
        return withId(this.#notModified.clone(), requestId);
      case "head":
        return withId(this.#head.clone(), requestId);
      case "ok":
        return withId(this.#ok.clone(), requestId);
      case "partial": {
        const headers = this.#partialHeaders(answer.start, answer.end);
        if (requestId !== undefined) headers.push(["X-Request-ID", requestId]);
        const body = request.method === "HEAD" ? null : this.body.subarray(answer.start, answer.end + 1);
        return new Response(body, { status: 206, headers });
      }
    }
  }

  /**
   * The same answer as {@link respond}, encoded as HTTP/1.1 for the fast lane.
   *
   * @throws {RangeNotSatisfiableError} for a range that starts past the end.
   */
  wire(request: HotRequest, requestId?: string): WireAnswer {
    const answer = this.#decide(request);
    switch (answer.kind) {
      case "not modified": {
        const bytes = encodedFor(this.#wireNotModified, requestId, 304, this.#notModifiedHeaders);
        return { status: 304, bodyBytes: 0, bytes };
      }
      case "head":
        return {
          status: 200,
          bodyBytes: this.size,
          bytes: encodedFor(this.#wireHead, requestId, 200, this.#withLength),
        };
      case "ok": {
        const bytes = encodedFor(this.#wireOk, requestId, 200, this.#withLength, this.body);
        return { status: 200, bodyBytes: this.size, bytes };
      }
      case "partial": {
        const body = request.method === "HEAD" ? undefined : this.body.subarray(answer.start, answer.end + 1);
        const bytes = encodeResponse(206, this.#partialHeaders(answer.start, answer.end), body, requestId);
        return { status: 206, bodyBytes: body?.byteLength ?? 0, bytes };
      }
    }
  }

  #decide(request: HotRequest): Decision {
    const headers = request.headers;
    if (this.etag !== undefined) {
      const ifNoneMatch = headers.get("if-none-match");
      if (ifNoneMatch !== null && ifNoneMatchHits(ifNoneMatch, this.etag)) return NOT_MODIFIED;
    }
    if (this.#ranges) {
      const range = headers.get("range");
      if (range !== null) {
        const ifRange = headers.get("if-range");
        const decision = ifRange !== null && ifRange.trim() !== this.etag
          ? { kind: "full" as const }
          : parseRange(range, this.size);
        if (decision.kind === "unsatisfiable") throw new RangeNotSatisfiableError(this.size);
        if (decision.kind === "partial") return { kind: "partial", start: decision.start, end: decision.end };
      }
    }
    return request.method === "HEAD" ? HEAD : OK;
  }

  #partialHeaders(start: number, end: number): HeaderList {
    return [
      ...this.#headers,
      ["Content-Range", `bytes ${start}-${end}/${this.size}`],
      ["Content-Length", String(end - start + 1)],
    ];
  }
}

/** Which answer a request gets. */
type Decision = { kind: "not modified" | "head" | "ok" } | { kind: "partial"; start: number; end: number };
const NOT_MODIFIED: Decision = { kind: "not modified" };
const HEAD: Decision = { kind: "head" };
const OK: Decision = { kind: "ok" };

/** `response` with `X-Request-ID: requestId` when an id is given. */
export function withId(response: Response, requestId: string | undefined): Response {
  if (requestId !== undefined) response.headers.set("X-Request-ID", requestId);
  return response;
}

/** A strong ETag for `body`: its SHA-1, hex, quoted. */
export function strongEtag(body: string | Uint8Array): string {
  return `"${createHash("sha1").update(body).digest("hex")}"`;
}

/**
 * Prepared responses by the document they were built from and what they
 * answer, bounded in bytes (least recently used first out). Documents are
 * replaced, never changed in place, so a changed document gets new responses;
 * the old ones age out.
 */
export class PreparedCache {
  readonly #responses: LruCache<string, PreparedResponse>;
  readonly #ids = new WeakMap<object, number>();
  #nextId = 0;

  constructor(maxBytes: number) {
    this.#responses = new LruCache(maxBytes, (prepared) => prepared.weight);
  }

  /**
   * The prepared response `resource` of `document` (a name that says
   * everything else it depends on, e.g. the base URL of its links), built by
   * `build` when not held.
   */
  async get(
    document: object,
    resource: string,
    build: () => PreparedResponse | Promise<PreparedResponse>,
  ): Promise<PreparedResponse> {
    let id = this.#ids.get(document);
    if (id === undefined) this.#ids.set(document, id = this.#nextId++);
    const key = `${id} ${resource}`;
    let prepared = this.#responses.get(key);
    if (prepared === undefined) {
      prepared = await build();
      this.#responses.set(key, prepared);
    }
    return prepared;
  }
}
