/**
 * Cross-cutting HTTP middleware: the frame every answer of the routes gets
 * (request id, headers, metrics, access log) and deadlines. (Hot reads
 * answered by src/http/hot_responses.ts do the same work without Hono.)
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { ServiceUnavailableError } from "../errors.ts";
import { withDeadline } from "../util/deadlines.ts";
import type { AccessLog } from "./access_log.ts";
import type { PublicUrlPolicy } from "./public_url.ts";

/** Hono environment shared by the app: per-request variables. */
export type AppEnv = { Variables: { requestId: string; urlPolicy: PublicUrlPolicy } };

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:@+=/-]{1,128}$/;

/** The client's `X-Request-ID` when it sent a sane one. */
export function clientRequestId(headers: Pick<Headers, "get">): string | undefined {
  const incoming = headers.get("x-request-id");
  return incoming !== null && CLIENT_REQUEST_ID.test(incoming) ? incoming : undefined;
}

/** The id of a request: the client's `X-Request-ID` when it is sane, else a new UUID. */
export function requestIdOf(headers: Headers): string {
  return clientRequestId(headers) ?? crypto.randomUUID();
}

const LOCAL_ID_PREFIX = crypto.randomUUID().slice(0, 8);
let localIds = 0;

/**
 * A cheap id, unique in this process and very likely across processes (a
 * random prefix and a counter), for log lines of hot reads that are not sent
 * back: a UUID and a response header would cost more than the rest of a hot read.
 */
export function localRequestId(): string {
  return `${LOCAL_ID_PREFIX}-${(localIds++).toString(36)}`;
}

/** Records a finished request: its route's counters, latency and bytes (src/http/metrics.ts). */
export type ResponseRecorder = (c: Context<AppEnv>, seconds: number) => void;

/**
 * What every answer of the routes gets, in one layer (each layer of
 * middleware costs a few microseconds): a request id (`X-Request-ID`, the
 * client's when it sent a sane one, else a new UUID), `Content-Version: 1`
 * (SE-0292 §3.5), the `Content-Length` a HEAD's GET would have, the request's
 * metrics and its access-log line (method, path without query, status, ms,
 * id).
 */
export function requestFrame(log: AccessLog, record: ResponseRecorder): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const id = requestIdOf(c.req.raw.headers);
    c.set("requestId", id);
    await next();
    if (c.req.method === "HEAD") await headContentLength(c);
    setHeader(c, "Content-Version", "1");
    const ms = performance.now() - started;
    record(c, ms / 1000);
    if (log.enabled) log.record(c.req.method, c.req.path, c.res.status, ms, id);
    setHeader(c, "X-Request-ID", id);
  };
}

/**
 * Gives a HEAD response the Content-Length its GET would have. Hono answers
 * HEAD by running the GET handler; handlers that stream large bodies set the
 * length themselves and skip the body, so only small bodies are measured here.
 */
async function headContentLength(c: Context<AppEnv>): Promise<void> {
  if (c.res.body === null || c.res.headers.has("content-length")) return;
  const length = (await c.res.arrayBuffer()).byteLength;
  const headers = new Headers(c.res.headers);
  headers.set("Content-Length", String(length));
  c.res = new Response(null, { status: c.res.status, headers });
}

/**
 * Answers 503 when a request is not done within `timeoutMs` (the work
 * itself cannot be recalled; its late result is dropped). Publishes (PUT,
 * and POST for PyPI uploads) are exempt: a publish that went on after a 503
 * could still commit, and uploads are bounded by REGISTRY_MAX_ARCHIVE_BYTES
 * instead. No timer per request: the shared deadline sweeper watches them
 * (src/util/deadlines.ts).
 */
export function requestTimeout(timeoutMs: number): MiddlewareHandler<AppEnv> {
  const timeout = () =>
    new ServiceUnavailableError(`the request took longer than ${timeoutMs} ms (REGISTRY_REQUEST_TIMEOUT)`);
  return (c, next) => {
    if (c.req.method === "PUT" || c.req.method === "POST") return next();
    return withDeadline(next(), timeoutMs, timeout);
  };
}

/** Sets a header on the final response, copying it first when its headers are immutable. */
export function setHeader(c: Context, name: string, value: string): void {
  try {
    c.res.headers.set(name, value);
  } catch {
    c.res = new Response(c.res.body, c.res);
    c.res.headers.set(name, value);
  }
}
