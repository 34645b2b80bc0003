/**
 * Raw TCP helpers for tests that need what `fetch` cannot do: odd `Host`
 * headers, partial request heads, idle connections, and watching a
 * connection get closed by the server.
 *
 * @module
 */
import { concatBytes } from "../../src/util/bytes.ts";
import { writeFully } from "../../src/util/io.ts";

/** Opens a TCP connection to 127.0.0.1:`port`. */
export function connect(port: number): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port });
}

/** Writes `text` (UTF-8) to `conn`. */
export async function send(conn: Deno.Conn, text: string | Uint8Array): Promise<void> {
  await writeFully(conn, typeof text === "string" ? new TextEncoder().encode(text) : text);
}

/**
 * Reads until the server closes `conn` (or resets it), up to `boundMs`.
 * Resolves to what was read, or to `"still open"` when the bound passed first:
 * the bound only keeps a broken server from hanging the test run.
 */
export async function readUntilClosed(conn: Deno.Conn, boundMs = 20_000): Promise<string | "still open"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<"still open">((resolve) => timer = setTimeout(() => resolve("still open"), boundMs));
  const read = (async () => {
    const chunks: string[] = [];
    const buffer = new Uint8Array(65536);
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) break;
        chunks.push(decoder.decode(buffer.subarray(0, n), { stream: true }));
      }
    } catch { /* reset by the server: closed too */ }
    return chunks.join("");
  })();
  const outcome = await Promise.race([read, bound]);
  clearTimeout(timer);
  try {
    conn.close();
  } catch { /* already closed */ }
  if (outcome === "still open") await read;
  return outcome;
}

/** Reads one HTTP/1.1 response with a Content-Length body from `conn` (keeping the connection open). */
export async function readResponse(conn: Deno.Conn): Promise<{ status: number; head: string; body: string }> {
  const decoder = new TextDecoder();
  let text = "";
  const buffer = new Uint8Array(65536);
  for (;;) {
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) {
      const head = text.slice(0, end);
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (text.length - end - 4 >= length) {
        return { status: Number(head.split(" ")[1]), head, body: text.slice(end + 4, end + 4 + length) };
      }
    }
    const n = await conn.read(buffer);
    if (n === null) throw new Error(`connection closed after ${JSON.stringify(text.slice(0, 200))}`);
    text += decoder.decode(buffer.subarray(0, n), { stream: true });
  }
}

/**
 * Sends one request on a new connection and reads the response; the connection
 * is closed after. Throws when no answer came within `boundMs` (which only
 * keeps a server that never answers from hanging the test run).
 */
export async function rawRequest(
  port: number,
  request: string | Uint8Array,
  boundMs = 20_000,
): Promise<{ status: number; head: string; body: string }> {
  const conn = await connect(port);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    conn.close();
  }, boundMs);
  try {
    await send(conn, request);
    return await readResponse(conn);
  } catch (error) {
    throw timedOut ? new Error(`no answer within ${boundMs} ms`) : error;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed already */ }
  }
}

/** One response read by a {@link ResponseReader}. */
export interface RawResponse {
  status: number;
  /** The status line and header lines as sent. */
  head: string;
  headers: Headers;
  body: Uint8Array;
  /** The body was chunked. */
  chunked: boolean;
}

/**
 * Reads HTTP/1.1 responses one after another from a connection, pipelined
 * ones included: bodies by `Content-Length`, chunked, or none (HEAD, 204,
 * 304). Throws when the connection closes before a whole response.
 */
export class ResponseReader {
  readonly #conn: Deno.Conn;
  #bytes = new Uint8Array(0);

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** The next response; `head`: it answers a HEAD (no body whatever its headers say). */
  async next(options: { head?: boolean } = {}): Promise<RawResponse> {
    const end = await this.#find(new Uint8Array([13, 10, 13, 10]), 0);
    const head = new TextDecoder().decode(this.#take(end + 4)).slice(0, -4);
    const [statusLine, ...lines] = head.split("\r\n");
    const headers = new Headers();
    for (const line of lines) {
      headers.append(line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1).trim());
    }
    const status = Number(statusLine.split(" ")[1]);
    const chunked = /chunked/i.test(headers.get("transfer-encoding") ?? "");
    if (options.head || status === 204 || status === 304) {
      return { status, head, headers, body: new Uint8Array(), chunked };
    }
    if (!chunked) {
      const length = Number(headers.get("content-length") ?? 0);
      await this.#fill(length);
      return { status, head, headers, body: this.#take(length), chunked };
    }
    const parts: Uint8Array[] = [];
    for (;;) {
      const lineEnd = await this.#find(new Uint8Array([13, 10]), 0);
      const size = parseInt(new TextDecoder().decode(this.#take(lineEnd + 2)), 16);
      await this.#fill(size + 2);
      parts.push(this.#take(size));
      this.#take(2);
      if (size === 0) break;
    }
    return { status, head, headers, body: concatBytes(parts), chunked };
  }

  /**
   * True when the server closes the connection (or resets it) before sending
   * anything more; false when it sends more, or is still open after `boundMs`
   * (the bound only keeps a broken server from hanging the test run).
   */
  async closed(boundMs = 20_000): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bound = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), boundMs));
    const read = this.#fill(this.#bytes.length + 1).then(() => false, () => true);
    const outcome = await Promise.race([read, bound]);
    clearTimeout(timer);
    return outcome;
  }

  async #find(needle: Uint8Array, from: number): Promise<number> {
    for (;;) {
      for (let i = from; i + needle.length <= this.#bytes.length; i++) {
        if (needle.every((byte, j) => this.#bytes[i + j] === byte)) return i;
      }
      await this.#fill(this.#bytes.length + 1);
    }
  }

  async #fill(count: number): Promise<void> {
    const buffer = new Uint8Array(65536);
    while (this.#bytes.length < count) {
      const read = await this.#conn.read(buffer);
      if (read === null) throw new Error(`the connection closed after ${this.#bytes.length} bytes`);
      this.#bytes = concatBytes([this.#bytes, buffer.subarray(0, read)]);
    }
  }

  #take(count: number): Uint8Array {
    const taken = this.#bytes.slice(0, count);
    this.#bytes = this.#bytes.slice(count);
    return taken;
  }
}
