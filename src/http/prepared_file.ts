/**
 * The hot path's answer for an artifact on local disk that is not held in
 * memory: headers computed once, the file opened per request and read as
 * `DiskStore.get` reads it (`wholeFileBody`: small files at once with
 * synchronous calls, larger ones as Deno's own file stream). HEAD and a
 * matching `If-None-Match` (304) touch no file.
 *
 * Whatever it cannot answer exactly as the routes would, it leaves to them
 * (`undefined`): a range, a file that is gone (evicted) or not the size its
 * record says (damaged).
 *
 * @module
 */
import { wholeFileBody } from "../storage/disk_store.ts";
import { COMMON_HEADERS, withId } from "./prepared.ts";
import { ifNoneMatchHits } from "./range.ts";

type HeaderList = [string, string][];

/** An artifact's answer from its local file (see the module doc). */
export class PreparedFileResponse {
  /** Bytes of the file. */
  readonly size: number;
  readonly etag: string;
  /** Bytes this answer holds in memory (its headers), for caches that bound their size. */
  readonly weight: number;
  readonly #path: string;
  readonly #headers: HeaderList;
  readonly #head: Response;
  readonly #notModified: Response;

  /**
   * `headers` are those of a 200 answer (with `ETag`) besides `Content-Length`
   * and {@link COMMON_HEADERS}; `path` is the local file of exactly `size` bytes.
   */
  constructor(path: string, size: number, headers: Record<string, string>) {
    this.#path = path;
    this.size = size;
    const all = Object.entries({ ...headers, ...COMMON_HEADERS });
    this.etag = headers.ETag;
    this.#headers = [...all, ["Content-Length", String(size)]];
    this.#head = new Response(null, { headers: this.#headers });
    this.#notModified = new Response(null, { status: 304, headers: all });
    let headerBytes = 0;
    for (const [name, value] of this.#headers) headerBytes += name.length + value.length;
    this.weight = headerBytes + path.length + 512;
  }

  /**
   * The answer to a GET or HEAD `request`, or `undefined` when the routes
   * must answer it. `requestId` is added as `X-Request-ID` when given.
   */
  respond(request: Request, requestId?: string): Response | undefined {
    const headers = request.headers;
    const ifNoneMatch = headers.get("if-none-match");
    if (ifNoneMatch !== null && ifNoneMatchHits(ifNoneMatch, this.etag)) {
      return withId(this.#notModified.clone(), requestId);
    }
    if (headers.has("range")) return undefined;
    if (request.method === "HEAD") return withId(this.#head.clone(), requestId);
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(this.#path, { read: true });
    } catch {
      return undefined;
    }
    let body: ReturnType<typeof wholeFileBody>;
    try {
      if (file.statSync().size !== this.size) {
        file.close();
        return undefined;
      }
      body = wholeFileBody(file, this.size);
    } catch {
      try {
        file.close();
      } catch { /* closed already */ }
      return undefined;
    }
    if (body instanceof Uint8Array && body.byteLength !== this.size) return undefined; // shortened meanwhile
    const list: HeaderList = requestId === undefined ? this.#headers : [...this.#headers, ["X-Request-ID", requestId]];
    return new Response(body, { headers: list });
  }
}
