/**
 * The little of HTTP/1.1 the fast lane (src/http/fast_lane.ts) speaks itself:
 * reading a request head, and encoding a response head (with a small body,
 * in one buffer).
 *
 * The parser is strict on purpose: it recognizes only plain request heads
 * (ASCII; `GET`, `HEAD`, `POST`, `PUT`, `DELETE`, `PATCH` or `OPTIONS` in
 * origin form; `HTTP/1.1`; one `Host`; a body framed by one `Content-Length`
 * or by `Transfer-Encoding: chunked`, not both, and none for GET and HEAD;
 * `Connection` only `keep-alive` or `close`; no `Expect` or `Upgrade`) and
 * calls everything else {@link UNSUPPORTED}, for Deno's own HTTP server to
 * answer (or refuse) as it always does.
 *
 * @module
 */
import { STATUS_CODES } from "node:http";
import type { BodyFraming } from "./inbox.ts";

/** A parsed request head's headers: lowercase names, repeated fields joined with ", " (as `Headers` does). */
export class HeadHeaders {
  readonly #fields: Map<string, string>;

  constructor(fields: Map<string, string>) {
    this.#fields = fields;
  }

  get(name: string): string | null {
    return this.#fields.get(name.toLowerCase()) ?? null;
  }

  has(name: string): boolean {
    return this.#fields.has(name.toLowerCase());
  }

  entries(): IterableIterator<[string, string]> {
    return this.#fields.entries();
  }
}

/** A request head read off the wire; `url` is built as Deno builds it: `http://` + `Host` + target. */
export class HeadRequest {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly headers: HeadHeaders,
    /** How its body is delimited. */
    readonly framing: BodyFraming,
    /** It asked to close the connection after its response (`Connection: close`). */
    readonly close: boolean,
  ) {}

  /** The same request as a `Request`, with `body` (for the app, and code such as the auth chain). */
  toRequest(body: ReadableStream<Uint8Array> | null = null): Request {
    return new Request(this.url, { method: this.method, headers: [...this.headers.entries()], body });
  }
}

/** A request head the fast lane leaves to Deno's server. */
export const UNSUPPORTED = "unsupported";

/** Where a complete head ends (the index after its blank line), or -1; {@link UNSUPPORTED} for a non-ASCII or NUL byte. */
export function headEnd(bytes: Uint8Array, from: number, to: number): number | typeof UNSUPPORTED {
  for (let i = from; i < to; i++) {
    const byte = bytes[i];
    if (byte === 0 || byte > 0x7e) return UNSUPPORTED;
    if (byte === 10 && i >= from + 3 && bytes[i - 1] === 13 && bytes[i - 2] === 10 && bytes[i - 3] === 13) {
      return i + 1;
    }
  }
  return -1;
}

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Control characters other than HT in a field value. */
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;
/** A target in origin form: a path and maybe a query, printable, no fragment. */
const ORIGIN_FORM = /^\/[!-~]*$/;
const HOST = /^[A-Za-z0-9.\-_~%!$&'()*+,;=:[\]]+$/;
const LENGTH = /^\d{1,15}$/;

/**
 * Reads the request head `text` (ASCII, with its final blank line): a
 * {@link HeadRequest}, or {@link UNSUPPORTED} for anything but the plainest
 * heads (see the module doc).
 */
export function parseHead(text: string): HeadRequest | typeof UNSUPPORTED {
  const lines = text.split("\r\n");
  const [method, target, version, extra] = lines[0].split(" ");
  if (!METHODS.has(method) || version !== "HTTP/1.1" || extra !== undefined) return UNSUPPORTED;
  if (!ORIGIN_FORM.test(target) || target.includes("#")) return UNSUPPORTED;
  const fields = new Map<string, string>();
  let host: string | undefined;
  let length: string | undefined;
  let chunked = false;
  let close = false;
  // The head ends with "\r\n\r\n": the last two lines are empty.
  if (lines.length < 3 || lines.at(-1) !== "" || lines.at(-2) !== "") return UNSUPPORTED;
  for (let i = 1; i < lines.length - 2; i++) {
    const line = lines[i];
    const colon = line.indexOf(":");
    if (colon <= 0) return UNSUPPORTED;
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (!TOKEN.test(name) || CONTROL.test(value)) return UNSUPPORTED;
    switch (name) {
      case "host":
        if (host !== undefined || !HOST.test(value)) return UNSUPPORTED;
        host = value;
        break;
      case "connection": {
        const option = value.toLowerCase();
        if (option === "close") close = true;
        else if (option !== "keep-alive") return UNSUPPORTED;
        break;
      }
      case "content-length":
        if (length !== undefined || !LENGTH.test(value)) return UNSUPPORTED;
        length = value;
        break;
      case "transfer-encoding":
        if (chunked || value.toLowerCase() !== "chunked") return UNSUPPORTED;
        chunked = true;
        break;
      case "expect":
      case "upgrade":
        return UNSUPPORTED;
    }
    const before = fields.get(name);
    fields.set(name, before === undefined ? value : `${before}, ${value}`);
  }
  // Both framings at once is how requests are smuggled; a GET or HEAD with a body, an oddity: Deno's server decides.
  if (host === undefined || (chunked && length !== undefined)) return UNSUPPORTED;
  const framing: BodyFraming = chunked
    ? { kind: "chunked" }
    : length === undefined || length === "0"
    ? { kind: "none" }
    : { kind: "length", length: Number(length) };
  if ((method === "GET" || method === "HEAD") && framing.kind !== "none") return UNSUPPORTED;
  return new HeadRequest(method, `http://${host}${target}`, new HeadHeaders(fields), framing, close);
}

/** A header list: names and values (byte strings, as `Headers` holds them). */
export type HeaderList = readonly (readonly [string, string])[];

let dateSecond = -1;
let dateText = "";

/** Now as an HTTP date (`Wed, 02 Dec 2026 16:09:04 GMT`), computed once a second. */
export function httpDate(now = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}

/**
 * A whole HTTP/1.1 response in one buffer: status line, `headers`,
 * `X-Request-ID: requestId` when given, `Date`, the blank line, then `body`
 * if given. Names and values are byte strings (one byte per character).
 */
export function encodeResponse(
  status: number,
  headers: HeaderList,
  body?: Uint8Array,
  requestId?: string,
): Uint8Array<ArrayBuffer> {
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\n`;
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
  if (requestId !== undefined) head += `X-Request-ID: ${requestId}\r\n`;
  head += `Date: ${httpDate()}\r\n\r\n`;
  const bytes = new Uint8Array(head.length + (body?.byteLength ?? 0));
  for (let i = 0; i < head.length; i++) bytes[i] = head.charCodeAt(i);
  if (body !== undefined) bytes.set(body, head.length);
  return bytes;
}

/**
 * One encoded response kept for the current second (its `Date` changes once
 * a second): rebuilt by `build` on the first use of each second.
 */
export class EncodedEachSecond {
  #date = "";
  #bytes: Uint8Array<ArrayBuffer> | undefined;

  get(build: () => Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
    const date = httpDate();
    if (this.#bytes === undefined || this.#date !== date) {
      this.#bytes = build();
      this.#date = date;
    }
    return this.#bytes;
  }
}

/**
 * A response encoded by {@link encodeResponse}: with `X-Request-ID:
 * requestId` when one is given (built for this request), else the one kept
 * in `kept` for the current second.
 */
export function encodedFor(
  kept: EncodedEachSecond,
  requestId: string | undefined,
  status: number,
  headers: HeaderList,
  body?: Uint8Array,
): Uint8Array<ArrayBuffer> {
  if (requestId === undefined) return kept.get(() => encodeResponse(status, headers, body));
  return encodeResponse(status, headers, body, requestId);
}
