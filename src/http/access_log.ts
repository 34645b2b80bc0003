/**
 * The access log: one JSON line per request (`method`, `path` without query,
 * `status`, `ms`, `id`), never headers or bodies. Built by hand with a cached
 * timestamp and handed to the logger's batched writer, so a request pays a
 * string concatenation, not a `JSON.stringify` of an object. It can log
 * every request, a sample of them, or none (`REGISTRY_ACCESS_LOG`).
 *
 * @module
 */
import { isoTimestamp, type Logger, writesLines } from "../log.ts";

/** What is logged: every request (`1`), a share of them (`0.01`: one in a hundred, plus every 5xx), or none (`0`). */
export type AccessLogSample = number;

/** Characters that need escaping inside a JSON string (and any non-ASCII, left to `JSON.stringify`). */
// deno-lint-ignore no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/;

/** Writes access-log lines to a logger. */
export class AccessLog {
  readonly #logger: Logger;
  readonly #sample: number;
  /** `,"worker":N` for the extra workers (see src/http/workers.ts), else empty. */
  readonly #worker: string;
  /** False when nothing would be written (sample 0, or the logger drops `info`). */
  readonly enabled: boolean;

  /** `worker`: the index of the worker writing (0, the first, is not named in its lines). */
  constructor(logger: Logger, sample: AccessLogSample = 1, worker = 0) {
    this.#logger = logger;
    this.#sample = sample;
    this.#worker = worker === 0 ? "" : `,"worker":${worker}`;
    this.enabled = sample > 0 && writesLines(logger, "info");
  }

  /** Logs one request, unless it falls outside the sample. `path` is the request's path without its query. */
  record(method: string, path: string, status: number, ms: number, id: string): void {
    if (!this.enabled || (this.#sample < 1 && status < 500 && Math.random() >= this.#sample)) return;
    this.#logger.line!(
      "info",
      `{"time":"${isoTimestamp()}","level":"info","msg":"request","method":${jsonString(method)},"path":${
        jsonString(path)
      },"status":${status},"ms":${Math.round(ms * 100) / 100},"id":${jsonString(id)}${this.#worker}}`,
    );
  }
}

/** `value` as a JSON string literal; plain ASCII (the usual path or id) is quoted without `JSON.stringify`. */
function jsonString(value: string): string {
  return NEEDS_ESCAPE.test(value) ? JSON.stringify(value) : `"${value}"`;
}
