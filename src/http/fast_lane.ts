/**
 * The fast lane: a plain-HTTP connection is read by JavaScript first. Deno's
 * HTTP server costs about 7 µs per request before any code of ours runs (its
 * parsing, a `Request`, the promise that carries the `Response` back); this
 * loop costs one read and one write for a hot read.
 *
 * - A hot read (src/http/hot_responses.ts) is answered with bytes encoded
 *   once a second (src/http/http1.ts), in one write.
 * - Any other request with a plain head goes to the app as a `Request`, its
 *   body read from the connection as the app reads it (src/http/inbox.ts),
 *   and its `Response` is written here ({@link sendResponse}: with its
 *   length when known, else chunked). A body the app did not read to its end
 *   closes the connection after the answer ({@link linger}).
 * - The first request the lane does not read itself (HTTP/1.0, an unusual
 *   head, a head over {@link MAX_HEAD_BYTES}) hands the connection over for
 *   good: its bytes and everything after are relayed over loopback to Deno's
 *   own server ({@link RelayListener}, {@link relay}), which answers them as
 *   it answers any connection.
 *
 * @module
 */
import { encodeResponse, headEnd, type HeadRequest, parseHead, UNSUPPORTED } from "./http1.ts";
import { Inbox, requestBody } from "./inbox.ts";
import type { WireAnswer } from "./hot_responses.ts";
import { giveBackChunk, takeChunk } from "./file_chunks.ts";
import type { Handler } from "./listen.ts";
import { closeQuietly, writeFully } from "../util/io.ts";

/** The longest request head the lane reads before leaving the connection to Deno's server to judge. */
export const MAX_HEAD_BYTES = 16 * 1024;
const FIRST_BUFFER_BYTES = 4096;
const RELAY_CHUNK_BYTES = 16 * 1024;

/** What a fast-lane connection needs. */
export interface FastLaneOptions {
  /** The hot answer to a request head from `peer`, or `undefined` when the app must answer it. */
  answer(request: HeadRequest, peer: string): WireAnswer | Promise<WireAnswer | undefined> | undefined;
  /** The app's routes, for every other request the lane reads (its hot answer was asked for already). */
  routes: Handler;
  /** The answer when the app throws (its own errors it answers itself). */
  onError(error: unknown): Response;
  /** A connection to Deno's server to relay this one to ({@link RelayListener.connect}). */
  connectRelay(): Promise<Relay>;
  /** A request was read (for the connection bounds and timeouts: src/http/connections.ts). */
  requestStarted(): void;
  /** Its answer was sent. */
  requestEnded(): void;
}

const decoder = new TextDecoder();

/** One client connection served by the fast lane until it is handed over. */
export class FastConnection {
  /** Settles when the connection is closed (by either side), relayed or not. */
  readonly finished: Promise<void>;
  readonly #conn: Deno.Conn;
  readonly #remoteAddr: Deno.NetAddr;
  readonly #peer: string;
  readonly #options: FastLaneOptions;
  /** A request is being answered. */
  #busy = false;
  #closing = false;
  /** Settles once the connection is being closed from this side ({@link closeGracefully}, {@link closeNow}). */
  readonly #closed: Promise<void>;
  #markClosed!: () => void;
  #relay: Relay | undefined;

  constructor(conn: Deno.Conn, options: FastLaneOptions) {
    this.#conn = conn;
    this.#remoteAddr = conn.remoteAddr as Deno.NetAddr;
    this.#peer = this.#remoteAddr.hostname;
    this.#options = options;
    this.#closed = new Promise((resolve) => this.#markClosed = resolve);
    this.finished = this.#serve();
  }

  /**
   * Closes the connection once the answer in flight is sent (at once when
   * idle); a relayed one is closed by Deno's server once its response in
   * flight is sent.
   */
  closeGracefully(): void {
    this.#closing = true;
    this.#markClosed();
    if (this.#relay !== undefined) this.#relay.closeGracefully();
    else if (!this.#busy) closeQuietly(this.#conn);
  }

  /** Closes the connection now. */
  closeNow(): void {
    this.#closing = true;
    this.#markClosed();
    closeQuietly(this.#conn);
    if (this.#relay !== undefined) closeQuietly(this.#relay.inner);
  }

  async #serve(): Promise<void> {
    const options = this.#options;
    const inbox = new Inbox(this.#conn, FIRST_BUFFER_BYTES);
    let handedOver = false;
    const handOver = async () => {
      handedOver = true;
      await this.#handOver(inbox.buffer.subarray(inbox.start, inbox.end));
    };
    try {
      while (!this.#closing) {
        const end = inbox.size === 0 ? -1 : headEnd(inbox.buffer, inbox.start, inbox.end);
        if (end === UNSUPPORTED) return await handOver();
        if (end === -1) {
          const more = await inbox.fill(MAX_HEAD_BYTES);
          if (more === "full") return await handOver();
          if (!more) return;
          continue;
        }
        const request = parseHead(decoder.decode(inbox.buffer.subarray(inbox.start, end)));
        if (request === UNSUPPORTED) return await handOver();
        this.#busy = true;
        options.requestStarted();
        let after: After | "hand over" = request.close ? "close" : "keep open";
        try {
          const answering = options.answer(request, this.#peer);
          const answer = answering instanceof Promise ? await answering : answering;
          if (answer !== undefined) {
            inbox.consume(end - inbox.start);
            await this.#send(answer);
          } else {
            const asked = this.#ask(request, inbox, end);
            after = asked === undefined ? "hand over" : worse(after, await asked);
          }
        } finally {
          this.#busy = false;
          options.requestEnded();
        }
        if (after === "hand over") return await handOver();
        if (after === "linger") await linger(this.#conn, this.#closed);
        if (after !== "keep open") return;
      }
    } catch {
      // The client reset the connection, or it was closed here: nothing is left to answer.
    } finally {
      if (!handedOver) closeQuietly(this.#conn);
    }
  }

  /** Relays the connection to Deno's server from now on, starting with `unanswered` (bytes read, not answered). */
  async #handOver(unanswered: Uint8Array): Promise<void> {
    let relayTo: Relay;
    try {
      relayTo = await this.#options.connectRelay();
    } catch {
      closeQuietly(this.#conn);
      return;
    }
    this.#relay = relayTo;
    if (this.#closing) relayTo.closeGracefully();
    try {
      await relay(this.#conn, relayTo.inner, unanswered);
    } finally {
      relayTo.ended();
    }
  }

  /**
   * Answers `request` (its head ending at `end` in `inbox`, its body after
   * it) with the app's response, and says what becomes of the connection: it
   * closes when the response says so, and lingers when the body was not read
   * to its end. `undefined` (nothing consumed) when the head makes no
   * `Request` (a `Host` that is no host): Deno's server answers it.
   */
  #ask(request: HeadRequest, inbox: Inbox, end: number): Promise<After> | undefined {
    let done!: () => void;
    const completed = new Promise<void>((resolve) => done = resolve);
    const body = request.framing.kind === "none" ? undefined : requestBody(inbox, request.framing);
    let asRequest: Request;
    try {
      asRequest = request.toRequest(body?.stream ?? null);
    } catch {
      return undefined;
    }
    inbox.consume(end - inbox.start);
    return (async () => {
      try {
        let response: Response;
        try {
          const result = this.#options.routes(asRequest, { remoteAddr: this.#remoteAddr, completed });
          response = result instanceof Promise ? await result : result;
        } catch (error) {
          response = this.#options.onError(error);
        }
        const keepOpen = await sendResponse(this.#conn, response, request.method === "HEAD");
        if (body !== undefined && !body.complete) return "linger";
        return keepOpen ? "keep open" : "close";
      } finally {
        done();
      }
    })();
  }

  async #send(answer: WireAnswer): Promise<void> {
    const file = answer.file;
    if (file === undefined) {
      const bytes = answer.bytes;
      try {
        // One write nearly always takes it all (and costs less than writeFully's loop on every answer).
        const written = await this.#conn.write(bytes);
        if (written < bytes.byteLength) await writeFully(this.#conn, bytes.subarray(written));
      } finally {
        answer.release?.();
      }
      return;
    }
    const chunk = takeChunk();
    let short = false;
    try {
      // The head and the file (or its first part) go out in one write.
      chunk.set(answer.bytes);
      let used = answer.bytes.byteLength;
      for (let position = 0; position < file.size;) {
        const read = file.readAt(
          chunk.subarray(used, Math.min(chunk.byteLength, used + file.size - position)),
          position,
        );
        // A file cut short after its head went out: closing the connection tells the client.
        if (read === 0) {
          short = true;
          throw new Error("the file ended before its recorded size");
        }
        position += read;
        await writeFully(this.#conn, chunk.subarray(0, used + read));
        used = 0;
      }
    } finally {
      file.release(short);
      giveBackChunk(chunk);
    }
  }
}

/** What becomes of a connection after a response. */
type After = "keep open" | "close" | "linger";

function worse(a: After, b: After): After {
  return a === "linger" || b === "linger" ? "linger" : a === "close" || b === "close" ? "close" : "keep open";
}

/** Bytes of an unread request body read and dropped after the response, at most. */
const LINGER_BYTES = 256 * 1024;
/** How long a connection with an unread request body stays open after its response, at most. */
const LINGER_MS = 2000;

/**
 * Ends a connection whose request body was not read to its end: closing at
 * once with unread bytes would reset it, and the client could lose the
 * response before reading it (as nginx's lingering close). So the write side
 * is shut, and the connection stays open until the client closes it, or for
 * {@link LINGER_MS}; meanwhile up to {@link LINGER_BYTES} of what it still
 * sends are read and dropped, then it is left to wait (a client sending more
 * waits with it). `closed` ends the wait (the server is stopping).
 */
async function linger(conn: Deno.Conn, closed: Promise<void>): Promise<void> {
  await conn.closeWrite();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const waited = new Promise<void>((resolve) => timer = setTimeout(resolve, LINGER_MS));
  const clientClosed = (async () => {
    const sink = new Uint8Array(RELAY_CHUNK_BYTES);
    for (let drained = 0; drained < LINGER_BYTES;) {
      const read = await conn.read(sink);
      if (read === null) return;
      drained += read;
    }
    await waited;
  })().catch(() => {});
  await Promise.race([clientClosed, waited, closed]);
  clearTimeout(timer);
}

/**
 * Writes `response` to `conn` as HTTP/1.1 (no body for a HEAD, 204 or 304):
 * with its `Content-Length`, or the length of a body that comes in one
 * piece, else chunked. False when the connection must close after it (the
 * body failed or was not the length it said, or the response asks to close).
 */
export async function sendResponse(conn: Deno.Conn, response: Response, head: boolean): Promise<boolean> {
  const status = response.status;
  const headers: [string, string][] = [];
  let length: string | undefined;
  let keepOpen = true;
  for (const [name, value] of response.headers) {
    if (name === "content-length") length = /^\d{1,15}$/.test(value) ? value : undefined;
    else if (name === "connection" && /\bclose\b/i.test(value)) keepOpen = false;
    // Framing and the date are this writer's.
    else if (name !== "transfer-encoding" && name !== "date" && name !== "connection" && name !== "keep-alive") {
      headers.push([name, value]);
    }
  }
  if (!keepOpen) headers.push(["connection", "close"]);
  const body = response.body;
  if (head || status === 204 || status === 304 || body === null) {
    await body?.cancel().catch(() => {});
    // A HEAD says the length its GET would have; a 304 may; a 204 does not.
    if (length !== undefined && status !== 204) headers.push(["content-length", length]);
    else if (body === null && !head && status !== 204 && status !== 304) headers.push(["content-length", "0"]);
    await writeFully(conn, encodeResponse(status, headers));
    return keepOpen;
  }
  const reader = body.getReader();
  let finished = false;
  try {
    const first = await reader.read();
    if (length !== undefined) {
      headers.push(["content-length", length]);
      let left = Number(length);
      const start = first.done ? undefined : first.value;
      if (start !== undefined && start.byteLength > left) return false; // longer than it says
      await writeFully(conn, encodeResponse(status, headers, start));
      left -= start?.byteLength ?? 0;
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        if (chunk.value.byteLength > left) return false;
        await writeFully(conn, chunk.value);
        left -= chunk.value.byteLength;
      }
      finished = true;
      return keepOpen && left === 0; // a shorter body leaves the client waiting: closing tells it
    }
    const second = first.done ? first : await reader.read();
    if (second.done) {
      const whole = first.done ? new Uint8Array() : first.value;
      headers.push(["content-length", String(whole.byteLength)]);
      await writeFully(conn, encodeResponse(status, headers, whole));
      finished = true;
      return keepOpen;
    }
    headers.push(["transfer-encoding", "chunked"]);
    await writeFully(conn, encodeResponse(status, headers, chunked(first.value!)));
    await writeFully(conn, chunked(second.value));
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      await writeFully(conn, chunked(chunk.value));
    }
    await writeFully(conn, LAST_CHUNK);
    finished = true;
    return keepOpen;
  } finally {
    if (!finished) await reader.cancel().catch(() => {});
  }
}

const LAST_CHUNK = new TextEncoder().encode("0\r\n\r\n");

/** `bytes` framed as one chunk of a chunked body (none for no bytes: an empty chunk would end the body). */
function chunked(bytes: Uint8Array): Uint8Array {
  if (bytes.byteLength === 0) return bytes;
  const size = `${bytes.byteLength.toString(16)}\r\n`;
  const framed = new Uint8Array(size.length + bytes.byteLength + 2);
  for (let i = 0; i < size.length; i++) framed[i] = size.charCodeAt(i);
  framed.set(bytes, size.length);
  framed[framed.length - 2] = 13;
  framed[framed.length - 1] = 10;
  return framed;
}

/** A connection to Deno's server that a client's connection is relayed to. */
export interface Relay {
  inner: Deno.Conn;
  /** Has Deno's server close it once its response in flight is sent. */
  closeGracefully(): void;
  /** Told when relaying has ended. */
  ended(): void;
}

/** Who is at the other end of a relayed connection, and the handler for its requests. */
interface Relayed {
  remoteAddr: Deno.NetAddr;
  handler: Handler;
}

/** A connection served by Deno's server, and how to close it gracefully. */
interface NativelyServed {
  graceful(): void;
  finished: Promise<void>;
}

/**
 * Deno's server on a loopback port for the connections the fast lane hands
 * over. Each relayed connection's requests go to the handler given for it,
 * with the client's address as theirs; a connection to this port that the
 * fast lane did not make gets 403.
 */
export class RelayListener {
  readonly #listener: Deno.Listener;
  readonly #serve: (conn: Deno.Conn, handler: Handler) => NativelyServed | undefined;
  /** By the local port of the connection to Deno's server. */
  readonly #relayed = new Map<number, Relayed>();
  readonly #served = new Map<number, NativelyServed>();
  readonly #accepting: Promise<void>;

  /** `serve` serves a connection with Deno's server (src/http/listen.ts). */
  constructor(serve: (conn: Deno.Conn, handler: Handler) => NativelyServed | undefined) {
    this.#serve = serve;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#accepting = this.#accept();
  }

  /** The loopback port it listens on. */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  /** Connects to Deno's server for a client at `remoteAddr` whose requests `handler` answers. */
  async connect(remoteAddr: Deno.NetAddr, handler: Handler): Promise<Relay> {
    const inner = await Deno.connect({ hostname: "127.0.0.1", port: this.port });
    const port = (inner.localAddr as Deno.NetAddr).port;
    this.#relayed.set(port, { remoteAddr, handler });
    return {
      inner,
      closeGracefully: () => {
        const served = this.#served.get(port);
        if (served === undefined) closeQuietly(inner); // not served yet: nothing is in flight
        else served.graceful();
      },
      ended: () => this.#relayed.delete(port),
    };
  }

  /** Stops listening and closes every relayed connection once its response in flight is sent. */
  async close(): Promise<void> {
    closeQuietly(this.#listener);
    await this.#accepting;
    const served = [...this.#served.values()];
    for (const one of served) one.graceful();
    await Promise.all(served.map((one) => one.finished));
  }

  async #accept(): Promise<void> {
    const handler: Handler = (request, info) => {
      const from = this.#relayed.get(info.remoteAddr.port);
      if (from === undefined) return new Response("not a relayed connection\n", { status: 403 });
      return from.handler(request, { remoteAddr: from.remoteAddr, completed: info.completed });
    };
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return; // closed
      }
      const port = (conn.remoteAddr as Deno.NetAddr).port;
      const served = this.#serve(conn, handler);
      if (served === undefined) continue;
      this.#served.set(port, served);
      served.finished.then(() => this.#served.delete(port));
    }
  }
}

/**
 * Relays bytes both ways between a client and a connection to Deno's server,
 * `first` first, until Deno's server closes its side (the client closing
 * its side is passed on and lets Deno's server finish); then closes both.
 */
export async function relay(client: Deno.Conn, inner: Deno.Conn, first: Uint8Array): Promise<void> {
  const upstream = (async () => {
    await writeFully(inner, first);
    await pump(client, inner);
    closeWriteQuietly(inner);
  })().catch(() => {
    closeQuietly(inner);
  });
  try {
    await pump(inner, client);
  } catch {
    // Either side went away.
  } finally {
    closeQuietly(client);
    closeQuietly(inner);
    await upstream;
  }
}

async function pump(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(RELAY_CHUNK_BYTES);
  for (;;) {
    const read = await from.read(buffer);
    if (read === null) return;
    await writeFully(to, buffer.subarray(0, read));
  }
}

function closeWriteQuietly(conn: Deno.Conn): void {
  conn.closeWrite().catch(() => {});
}
