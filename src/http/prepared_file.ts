/**
 * The hot path's answer for an artifact on local disk that is not held in
 * memory: headers computed once. In the fast lane (`wire`) the file is held
 * open for a second (src/http/open_files_cache.ts), a small one read before
 * its answer is sent, a larger one sent by the lane; through Deno's server
 * (`respond`) it is opened per request and read as `DiskStore.get` reads it
 * (`wholeFileBody`: small files at once with synchronous calls, larger ones
 * as Deno's own file stream). HEAD and a matching `If-None-Match` (304)
 * touch no file.
 *
 * Whatever it cannot answer exactly as the routes would, it leaves to them
 * (`undefined`): a range, a file that is gone (evicted) or not the size its
 * record says (damaged).
 *
 * @module
 */
import { wholeFileBody } from "../storage/disk_store.ts";
import type { HotRequest, WireAnswer } from "./hot_responses.ts";
import { EncodedEachSecond, encodedFor } from "./http1.ts";
import { COMMON_HEADERS, withId } from "./prepared.ts";
import type { OpenFilesCache } from "./open_files_cache.ts";
import { ifNoneMatchHits } from "./range.ts";
import { closeQuietly } from "../util/io.ts";
import { CHUNK_BYTES, giveBackChunk, takeChunk } from "./file_chunks.ts";

type HeaderList = [string, string][];

/** Files up to this size are read before their answer is sent, in the same buffer as its head (a pooled chunk). */
const SMALL_FILE_BYTES = 64 * 1024;

/** An artifact's answer from its local file (see the module doc). */
export class PreparedFileResponse {
  /** Bytes of the file. */
  readonly size: number;
  readonly etag: string;
  /** Bytes this answer holds in memory (its headers), for caches that bound their size. */
  readonly weight: number;
  readonly #path: string;
  readonly #openFiles: OpenFilesCache;
  readonly #headers: HeaderList;
  readonly #notModifiedHeaders: HeaderList;
  readonly #head: Response;
  readonly #notModified: Response;
  /** HEAD and 304 encoded for the fast lane (src/http/fast_lane.ts), each kept for the second of its `Date`. */
  readonly #wireHead = new EncodedEachSecond();
  readonly #wireNotModified = new EncodedEachSecond();

  /**
   * `headers` are those of a 200 answer (with `ETag`) besides `Content-Length`
   * and {@link COMMON_HEADERS}; `path` is the local file of exactly `size`
   * bytes; the fast lane reads it held open in `openFiles`.
   */
  constructor(path: string, size: number, headers: Record<string, string>, openFiles: OpenFilesCache) {
    this.#path = path;
    this.#openFiles = openFiles;
    this.size = size;
    const all = Object.entries({ ...headers, ...COMMON_HEADERS });
    this.etag = headers.ETag;
    this.#headers = [...all, ["Content-Length", String(size)]];
    this.#head = new Response(null, { headers: this.#headers });
    this.#notModifiedHeaders = all;
    this.#notModified = new Response(null, { status: 304, headers: all });
    let headerBytes = 0;
    for (const [name, value] of this.#headers) headerBytes += name.length + value.length;
    this.weight = headerBytes + path.length + 512;
  }

  /**
   * The answer to a GET or HEAD `request`, or `undefined` when the routes
   * must answer it. `requestId` is added as `X-Request-ID` when given.
   */
  respond(request: HotRequest, requestId?: string): Response | undefined {
    const decision = this.#decide(request);
    if (decision === undefined) return undefined;
    if (decision === "not modified") return withId(this.#notModified.clone(), requestId);
    if (decision === "head") return withId(this.#head.clone(), requestId);
    const file = this.#open();
    if (file === undefined) return undefined;
    let body: ReturnType<typeof wholeFileBody>;
    try {
      body = wholeFileBody(file, this.size);
    } catch {
      closeQuietly(file);
      return undefined;
    }
    if (body instanceof Uint8Array && body.byteLength !== this.size) return undefined; // shortened meanwhile
    const list: HeaderList = requestId === undefined ? this.#headers : [...this.#headers, ["X-Request-ID", requestId]];
    return new Response(body, { headers: list });
  }

  /**
   * The same answer as {@link respond}, encoded as HTTP/1.1 for the fast
   * lane: the head, and the file held open in `openFiles` for the lane to
   * send and give back.
   */
  wire(request: HotRequest, requestId?: string): WireAnswer | undefined {
    const decision = this.#decide(request);
    if (decision === undefined) return undefined;
    if (decision === "not modified") {
      return {
        status: 304,
        bodyBytes: 0,
        bytes: encodedFor(this.#wireNotModified, requestId, 304, this.#notModifiedHeaders),
      };
    }
    const head = encodedFor(this.#wireHead, requestId, 200, this.#headers);
    if (decision === "head") return { status: 200, bodyBytes: this.size, bytes: head };
    const file = this.#openFiles.acquire(this.#path, this.size);
    if (file === undefined) return undefined;
    let chunk: Uint8Array | undefined;
    try {
      // A file shorter than its record now is left to the routes, never sent short: a small one is read first,
      // a larger one is checked (it could still be cut short while it is sent; the connection is closed then).
      if (this.size > SMALL_FILE_BYTES || head.byteLength + this.size > CHUNK_BYTES) {
        if (file.sizeNow() !== this.size) throw new Error("changed");
        return { status: 200, bodyBytes: this.size, bytes: head, file };
      }
      chunk = takeChunk();
      const bytes = chunk.subarray(0, head.byteLength + this.size);
      bytes.set(head);
      for (let filled = 0; filled < this.size;) {
        const read = file.readAt(bytes.subarray(head.byteLength + filled), filled);
        if (read === 0) throw new Error("shorter");
        filled += read;
      }
      file.release();
      const taken = chunk;
      return { status: 200, bodyBytes: this.size, bytes, release: () => giveBackChunk(taken) };
    } catch {
      file.release(true);
      if (chunk !== undefined) giveBackChunk(chunk);
      return undefined;
    }
  }

  /** What `request` gets: a 304, a HEAD, a body, or the routes' answer (`undefined`: a range). */
  #decide(request: HotRequest): "not modified" | "head" | "body" | undefined {
    const headers = request.headers;
    const ifNoneMatch = headers.get("if-none-match");
    if (ifNoneMatch !== null && ifNoneMatchHits(ifNoneMatch, this.etag)) return "not modified";
    if (headers.has("range")) return undefined;
    return request.method === "HEAD" ? "head" : "body";
  }

  /** The file, open, when it is still there and of its recorded size. */
  #open(): Deno.FsFile | undefined {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(this.#path, { read: true });
    } catch {
      return undefined;
    }
    try {
      if (file.statSync().size === this.size) return file;
    } catch { /* unreadable: the routes answer */ }
    closeQuietly(file);
    return undefined;
  }
}
