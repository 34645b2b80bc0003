/**
 * What the fast lane (src/http/fast_lane.ts) has read from a connection and
 * not consumed yet, and request bodies read from it: `Content-Length` bytes,
 * or a chunked body decoded (RFC 9112 §7.1), as the stream a `Request` reads.
 *
 * @module
 */
import { BadRequestError } from "../errors.ts";

/** Bytes read from a connection and not consumed yet, in one buffer that grows up to a bound. */
export class Inbox {
  readonly #conn: Deno.Conn;
  #buffer: Uint8Array<ArrayBuffer>;
  /** The unconsumed bytes are `buffer[start, end)`. */
  start = 0;
  end = 0;

  constructor(conn: Deno.Conn, size = 4096) {
    this.#conn = conn;
    this.#buffer = new Uint8Array(size);
  }

  /** The buffer the unconsumed bytes are in (at `start` to `end`). */
  get buffer(): Uint8Array<ArrayBuffer> {
    return this.#buffer;
  }

  /** Unconsumed bytes. */
  get size(): number {
    return this.end - this.start;
  }

  /**
   * Reads more from the connection, making room first (the unconsumed bytes
   * move to the front; the buffer doubles up to `max` bytes): false at the end
   * of the stream, "full" when `max` bytes are unconsumed already.
   */
  async fill(max: number): Promise<boolean | "full"> {
    if (this.end === this.#buffer.byteLength) {
      if (this.start > 0) {
        this.#buffer.copyWithin(0, this.start, this.end);
        this.end -= this.start;
        this.start = 0;
      } else if (this.#buffer.byteLength >= max) {
        return "full";
      } else {
        const larger = new Uint8Array(Math.min(max, this.#buffer.byteLength * 2));
        larger.set(this.#buffer.subarray(0, this.end));
        this.#buffer = larger;
      }
    }
    const read = await this.#conn.read(this.#buffer.subarray(this.end));
    if (read === null) return false;
    this.end += read;
    return true;
  }

  /** Consumes and returns a copy of the next `count` bytes (at most {@link size}). */
  take(count: number): Uint8Array<ArrayBuffer> {
    const bytes = this.#buffer.slice(this.start, this.start + count);
    this.consume(count);
    return bytes;
  }

  /** Consumes `count` bytes. */
  consume(count: number): void {
    this.start += count;
    if (this.start === this.end) this.start = this.end = 0;
  }

  /**
   * The next bytes of a body, at most `max`: those read already, else read
   * straight from the connection into a buffer of their own.
   *
   * @throws {BodyFramingError} when the connection ends first.
   */
  async next(max: number): Promise<Uint8Array> {
    if (this.size > 0) return this.take(Math.min(max, this.size));
    const chunk = new Uint8Array(Math.min(max, CHUNK_BYTES));
    const read = await this.#conn.read(chunk);
    if (read === null) throw new BodyFramingError("the connection ended inside the body");
    return chunk.subarray(0, read);
  }
}

/** How a request's body is delimited. */
export type BodyFraming = { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" };

/** A request body being read from an {@link Inbox}. */
export interface RequestBody {
  stream: ReadableStream<Uint8Array>;
  /** The whole body has been read: the next request follows in the inbox. */
  readonly complete: boolean;
}

/** Thrown into a body stream whose bytes break its framing, or whose connection ended inside it (a 400). */
export class BodyFramingError extends BadRequestError {}

const CHUNK_BYTES = 64 * 1024;
/** The longest chunk-size line, and all trailer fields together, read before the body is refused. */
const MAX_LINE_BYTES = 4096;

/** The body framed by `framing`, read from `inbox` as the app reads it. */
export function requestBody(inbox: Inbox, framing: Exclude<BodyFraming, { kind: "none" }>): RequestBody {
  return framing.kind === "chunked" ? chunkedBody(inbox) : lengthBody(inbox, framing.length);
}

function lengthBody(inbox: Inbox, length: number): RequestBody {
  let left = length;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (left === 0) return controller.close();
      let bytes: Uint8Array;
      try {
        bytes = await inbox.next(left);
      } catch (error) {
        return controller.error(error);
      }
      left -= bytes.byteLength;
      controller.enqueue(bytes);
      if (left === 0) controller.close();
    },
  });
  return {
    stream,
    get complete() {
      return left === 0;
    },
  };
}

function chunkedBody(inbox: Inbox): RequestBody {
  let state: "size" | "data" | "data end" | "trailers" | "done" = "size";
  /** Bytes left of the current chunk. */
  let left = 0;
  let trailerBytes = 0;

  /** The next line (without CRLF), consumed; throws at the end of the connection or past {@link MAX_LINE_BYTES}. */
  const line = async (): Promise<string> => {
    for (;;) {
      const bytes = inbox.buffer;
      for (let i = inbox.start; i + 1 < inbox.end; i++) {
        if (bytes[i] === 13 && bytes[i + 1] === 10) {
          const text = String.fromCharCode(...bytes.subarray(inbox.start, i));
          inbox.consume(i + 2 - inbox.start);
          return text;
        }
      }
      if (inbox.size >= MAX_LINE_BYTES) throw new BodyFramingError("a chunk-size line is too long");
      const more = await inbox.fill(2 * MAX_LINE_BYTES);
      if (more !== true) throw new BodyFramingError("the connection ended inside the body");
    }
  };

  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          if (state === "size") {
            const size = /^([0-9A-Fa-f]{1,12})[ \t]*(;.*)?$/.exec(await line());
            if (size === null) throw new BodyFramingError("a chunk size is not hexadecimal");
            left = parseInt(size[1], 16);
            state = left === 0 ? "trailers" : "data";
          } else if (state === "data") {
            const bytes = await inbox.next(left);
            left -= bytes.byteLength;
            if (left === 0) state = "data end";
            controller.enqueue(bytes);
            return;
          } else if (state === "data end") {
            if (await line() !== "") throw new BodyFramingError("a chunk does not end where its size says");
            state = "size";
          } else if (state === "trailers") {
            const field = await line();
            trailerBytes += field.length + 2;
            if (trailerBytes > MAX_LINE_BYTES) throw new BodyFramingError("the trailer fields are too long");
            if (field === "") state = "done";
          } else {
            return controller.close();
          }
        }
      } catch (error) {
        controller.error(error);
      }
    },
  });
  return {
    stream,
    get complete() {
      return state === "done";
    },
  };
}
