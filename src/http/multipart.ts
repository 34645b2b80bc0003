/**
 * A streaming `multipart/form-data` reader. Each part's body is yielded as a
 * stream of chunks, so a large part (a source archive) goes to disk without
 * ever being held in memory, whether or not the part has a `filename`.
 *
 * Hand-written because the maintained parsers either buffer every part in
 * memory or decode parts without a `filename` as text (which corrupts the
 * `source-archive` part SwiftPM sends).
 *
 * @module
 */
import { readBounded } from "../util/bytes.ts";
import { Buffer } from "node:buffer";
import { BadRequestError, RegistryError } from "../errors.ts";

/** One part of a multipart body. Consume `body` before asking for the next part (or it is skipped). */
export interface MultipartPart {
  /** The `name` parameter of `Content-Disposition`. */
  name: string;
  /** The `filename` parameter, when present. */
  filename?: string;
  headers: Headers;
  body: AsyncIterable<Uint8Array>;
}

/** Bounds on the structure of a multipart body. */
export interface MultipartLimits {
  maxParts: number;
  maxHeaderBytes: number;
}

/** Work done while reading, for tests and benchmarks: bytes copied between buffers. */
export interface MultipartStats {
  bytesCopied: number;
}

const DEFAULT_LIMITS: MultipartLimits = { maxParts: 16, maxHeaderBytes: 8 * 1024 };
const encoder = new TextEncoder();

/** The `boundary` parameter of a `multipart/form-data` content type, or `null`. */
export function multipartBoundary(contentType: string | null | undefined): string | null {
  if (!contentType || !/^\s*multipart\/form-data\s*(;|$)/i.test(contentType)) return null;
  const match = /;\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^\s;"]{1,70}))\s*(?:;|$)/i.exec(contentType);
  return match ? (match[1] ?? match[2]) : null;
}

/**
 * Reads the parts of a multipart body in order.
 *
 * @throws {BadRequestError} on malformed or truncated input.
 * @example
 * for await (const part of readMultipart(request.body!, boundary)) {
 *   if (part.name === "metadata") console.log(await new Response(ReadableStream.from(part.body)).text());
 * }
 */
export async function* readMultipart(
  body: ReadableStream<Uint8Array>,
  boundary: string,
  limits: MultipartLimits = DEFAULT_LIMITS,
  stats: MultipartStats = { bytesCopied: 0 },
): AsyncGenerator<MultipartPart> {
  const source = new ByteSource(body.getReader(), stats);
  try {
    await source.skipPast(encoder.encode(`--${boundary}`), "no multipart boundary found in the body");
    const delimiter = encoder.encode(`\r\n--${boundary}`);
    for (let count = 0;; count++) {
      const next = await source.take(2);
      if (next === "--") return;
      if (next !== "\r\n") throw new BadRequestError("malformed multipart body: bad boundary line");
      if (count >= limits.maxParts) throw new BadRequestError(`multipart body has more than ${limits.maxParts} parts`);
      const headers = parseHeaders(await source.readHeaderBlock(limits.maxHeaderBytes));
      const disposition = parseDisposition(utf8(headers.get("content-disposition")));
      const part = source.startBody(delimiter);
      yield {
        ...disposition,
        headers,
        body: (async function* () {
          for (let chunk = await source.nextBodyChunk(part); chunk !== null; chunk = await source.nextBodyChunk(part)) {
            yield chunk;
          }
        })(),
      };
      while (await source.nextBodyChunk(part) !== null) { /* skip what the caller left unread */ }
    }
  } finally {
    await source.cancel();
  }
}

/** Reads an entire part body into memory, refusing more than `maxBytes`. */
export function readPartBytes(part: MultipartPart, maxBytes: number, onTooLarge: () => Error): Promise<Uint8Array> {
  return readBounded(part.body, maxBytes, onTooLarge);
}

/**
 * The body's bytes, read chunk by chunk. Part bodies are handed out as views
 * of the chunks read, never copied: only the few bytes where a delimiter may
 * straddle two chunks are (see {@link nextBodyChunk}), so reading is linear in
 * the body's size whatever its chunking.
 */
class ByteSource {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #stats: MultipartStats;
  #buffer: Uint8Array = new Uint8Array(0);
  #delimiter: Uint8Array | null = null;
  #part = 0;

  constructor(reader: ReadableStreamDefaultReader<Uint8Array>, stats: MultipartStats) {
    this.#reader = reader;
    this.#stats = stats;
  }

  /** The next chunk, or null at the end. A body the client cut off or framed badly is the client's error (400). */
  async #read(): Promise<Uint8Array | null> {
    let next: ReadableStreamReadResult<Uint8Array>;
    try {
      next = await this.#reader.read();
    } catch (error) {
      if (error instanceof RegistryError) throw error;
      throw new BadRequestError(`the request body could not be read: ${(error as Error).message}`);
    }
    return next.done ? null : next.value;
  }

  /** Appends the next chunk to the buffer (used for small amounts: preamble tails and part headers). */
  async #fill(): Promise<boolean> {
    const value = await this.#read();
    if (value === null) return false;
    this.#buffer = this.#concat(this.#buffer, value);
    return true;
  }

  #concat(a: Uint8Array, b: Uint8Array): Uint8Array {
    if (a.length === 0) return b;
    this.#stats.bytesCopied += a.length + b.length;
    return Buffer.concat([a, b]);
  }

  #indexOf(needle: Uint8Array, haystack: Uint8Array = this.#buffer): number {
    return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(needle);
  }

  async skipPast(needle: Uint8Array, message: string): Promise<void> {
    for (;;) {
      const index = this.#indexOf(needle);
      if (index >= 0) {
        this.#buffer = this.#buffer.subarray(index + needle.length);
        return;
      }
      this.#buffer = this.#buffer.subarray(Math.max(0, this.#buffer.length - needle.length));
      if (!(await this.#fill())) throw new BadRequestError(message);
    }
  }

  async take(count: number): Promise<string> {
    while (this.#buffer.length < count) {
      if (!(await this.#fill())) throw new BadRequestError("multipart body ended early");
    }
    const text = latin1(this.#buffer.subarray(0, count));
    this.#buffer = this.#buffer.subarray(count);
    return text;
  }

  async readHeaderBlock(maxBytes: number): Promise<string> {
    const end = encoder.encode("\r\n\r\n");
    for (;;) {
      if (this.#buffer.length >= 2 && this.#buffer[0] === 13 && this.#buffer[1] === 10) {
        this.#buffer = this.#buffer.subarray(2); // a part with no headers
        return "";
      }
      const index = this.#indexOf(end);
      if (index >= 0) {
        if (index > maxBytes) break;
        // Latin-1 keeps every byte as one char (Headers accept only such strings); see utf8().
        const text = latin1(this.#buffer.subarray(0, index));
        this.#buffer = this.#buffer.subarray(index + end.length);
        return text;
      }
      // Without the terminator, the block is at least length - 3 bytes long.
      if (this.#buffer.length - (end.length - 1) > maxBytes) break;
      if (!(await this.#fill())) throw new BadRequestError("multipart body ended inside part headers");
    }
    throw new BadRequestError(`multipart part headers are longer than ${maxBytes} bytes`);
  }

  /** Starts reading a part's body; returns the part's number for {@link nextBodyChunk}. */
  startBody(delimiter: Uint8Array): number {
    this.#delimiter = delimiter;
    return ++this.#part;
  }

  /**
   * The next chunk of part `part`'s body, or `null` once its closing delimiter
   * is consumed (or when a later part has started: the body was skipped).
   */
  async nextBodyChunk(part: number): Promise<Uint8Array | null> {
    const delimiter = this.#delimiter;
    if (delimiter === null || part !== this.#part) return null;
    for (;;) {
      const index = this.#indexOf(delimiter);
      if (index >= 0) return this.#endBody(this.#buffer.subarray(0, index), index + delimiter.length);
      const safe = this.#buffer.length - (delimiter.length - 1);
      if (safe > 0) {
        const chunk = this.#buffer.subarray(0, safe);
        this.#buffer = this.#buffer.subarray(safe);
        return chunk;
      }
      // The buffer is a tail shorter than the delimiter that may begin one: look across the seam
      // with the next chunk, copying only the tail and the next chunk's first bytes.
      const next = await this.#read();
      if (next === null) throw new BadRequestError("multipart body ended inside a part (missing closing boundary)");
      const tail = this.#buffer;
      if (next.length < delimiter.length - 1) {
        this.#buffer = this.#concat(tail, next);
        continue;
      }
      const seam = this.#concat(tail, next.subarray(0, delimiter.length - 1));
      const at = this.#indexOf(delimiter, seam);
      if (at >= 0 && at < tail.length) {
        this.#buffer = next;
        return this.#endBody(tail.subarray(0, at), at + delimiter.length - tail.length);
      }
      this.#buffer = next;
      if (tail.length > 0) return tail;
    }
  }

  /** Ends the current part's body with `last`, dropping the buffer up to `resumeAt` (past the delimiter). */
  #endBody(last: Uint8Array, resumeAt: number): Uint8Array | null {
    this.#buffer = this.#buffer.subarray(resumeAt);
    this.#delimiter = null;
    return last.length > 0 ? last : null;
  }

  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
    this.#reader.releaseLock();
  }
}

function parseHeaders(block: string): Headers {
  const headers = new Headers();
  for (const line of block.split("\r\n")) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new BadRequestError(`malformed multipart part header: ${JSON.stringify(line.slice(0, 80))}`);
    try {
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    } catch {
      throw new BadRequestError(`malformed multipart part header: ${JSON.stringify(line.slice(0, 80))}`);
    }
  }
  return headers;
}

/** Bytes as ISO-8859-1, one char per byte (TextDecoder's "latin1" is windows-1252). */
function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

/** Re-reads a header value kept as Latin-1 (one char per byte) as the UTF-8 clients send. */
function utf8(value: string | null): string | null {
  if (value === null) return null;
  const bytes = Uint8Array.from(value, (c) => c.charCodeAt(0));
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return value;
  }
}

function parseDisposition(value: string | null): { name: string; filename?: string } {
  if (value === null || !/^\s*form-data\s*(;|$)/i.test(value)) {
    throw new BadRequestError('every multipart part needs "Content-Disposition: form-data; name=..."');
  }
  const params = new Map<string, string>();
  for (const match of value.matchAll(/;\s*([^=;\s]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g)) {
    params.set(match[1].toLowerCase(), match[2] !== undefined ? match[2].replace(/\\(.)/g, "$1") : match[3].trim());
  }
  const name = params.get("name");
  if (!name) throw new BadRequestError("a multipart part has no name");
  const filename = params.get("filename");
  return filename === undefined ? { name } : { name, filename };
}
