/**
 * Structured logging: one JSON object per line. Callers pass fields, never
 * secrets; the request logger only ever records method, path (without query),
 * status, duration and request id.
 *
 * @module
 */

/** Severity of a log line. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** A logger that writes structured lines. */
export interface Logger {
  /** Writes one line at `level` with a message and extra fields. */
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
  /**
   * Writes a line the caller built by hand (one JSON object, `time` and
   * `level` first, as {@link Logger.log} writes them), for hot paths such as
   * the access log. Absent on loggers that drop everything.
   */
  line?(level: LogLevel, json: string): void;
  /** The lowest level written (absent: every level). */
  readonly minLevel?: LogLevel;
  /** Writes lines another worker logged (newline-separated, already formatted and filtered by level). */
  writeLines?(text: string): void;
  /** Waits until every line written so far has reached its destination. */
  flush?(): Promise<void>;
}

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** True when `logger` writes hand-built lines ({@link Logger.line}) at `level`. */
export function writesLines(logger: Logger, level: LogLevel): boolean {
  return logger.line !== undefined && (logger.minLevel === undefined || ORDER[level] >= ORDER[logger.minLevel]);
}

let isoMs = NaN;
let iso = "";

/** `new Date().toISOString()`, computed at most once per millisecond. */
export function isoTimestamp(now = Date.now()): string {
  if (now !== isoMs) {
    isoMs = now;
    iso = new Date(now).toISOString();
  }
  return iso;
}

/**
 * Creates a logger writing JSON lines to `write` (stdout by default, in
 * batches), dropping lines below `minLevel`; `common` fields end every line
 * (e.g. the worker that wrote it).
 *
 * @example
 * const logger = createJsonLogger("info");
 * logger.log("info", "listening", { url: "http://127.0.0.1:8080" });
 */
export function createJsonLogger(
  minLevel: LogLevel = "info",
  write?: (line: string) => void,
  common: Record<string, unknown> = {},
): Logger {
  const out = write ? { write, flush: () => Promise.resolve() } : batchedStdout();
  return {
    log(level, msg, fields = {}) {
      if (ORDER[level] < ORDER[minLevel]) return;
      out.write(JSON.stringify({ time: isoTimestamp(), level, msg, ...fields, ...common }));
    },
    line(level, json) {
      if (ORDER[level] >= ORDER[minLevel]) out.write(json);
    },
    writeLines(text) {
      for (const line of text.split("\n")) if (line !== "") out.write(line);
    },
    flush: out.flush,
    minLevel,
  };
}

/**
 * Lines to stdout without blocking the request that logs them: lines are
 * collected and written together every few milliseconds, in one write.
 */
function batchedStdout(): { write(line: string): void; flush(): Promise<void> } {
  const encoder = new TextEncoder();
  return batchedLines(async (text) => {
    const bytes = encoder.encode(text);
    for (let written = 0; written < bytes.length;) written += await Deno.stdout.write(bytes.subarray(written));
  });
}

/**
 * Collects lines and hands them to `sink` joined (each ending in a newline),
 * at most every `intervalMs` and one batch at a time. At most `maxPending`
 * lines wait: a sink that cannot keep up loses lines (counted in a warning
 * line), it never holds the server's memory. A sink that fails (a closed
 * stdout) drops its batch. The timer is unref'd: it never keeps the process
 * alive; {@link flush} writes what is pending.
 */
export function batchedLines(
  sink: (text: string) => Promise<void>,
  { intervalMs = 10, maxPending = 100_000 } = {},
): { write(line: string): void; flush(): Promise<void> } {
  let pending: string[] = [];
  let dropped = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let writing: Promise<void> | null = null;
  const drain = async () => {
    timer = undefined;
    try {
      while (pending.length > 0) {
        if (dropped > 0) pending.push(JSON.stringify({ level: "warn", msg: "log lines dropped", dropped }));
        dropped = 0;
        const text = pending.join("\n") + "\n";
        pending = [];
        await sink(text);
      }
    } catch {
      pending = []; // the destination is gone (e.g. a closed pipe): nothing more can be written there
    } finally {
      writing = null;
    }
  };
  const schedule = () => {
    if (timer !== undefined || writing !== null) return;
    timer = setTimeout(() => writing = drain(), intervalMs);
    Deno.unrefTimer(timer);
  };
  return {
    write(line) {
      if (pending.length >= maxPending) dropped++;
      else pending.push(line);
      schedule();
    },
    async flush() {
      let bound: ReturnType<typeof setTimeout> | undefined;
      const giveUp = new Promise<false>((resolve) => bound = setTimeout(() => resolve(false), 5_000));
      try {
        for (;;) {
          if (writing === null && pending.length === 0) break;
          if (writing === null) {
            clearTimeout(timer);
            writing = drain();
          }
          if (!await Promise.race([writing.then(() => true), giveUp])) break;
        }
      } finally {
        clearTimeout(bound);
      }
    },
  };
}

/** A logger that drops everything (for tests that do not inspect logs). */
export const silentLogger: Logger = { log() {} };

/** A logger that keeps lines in memory, for tests that inspect logs. */
export function createMemoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const inner = createJsonLogger("debug", (line) => lines.push(line));
  return { lines, log: inner.log, line: inner.line, minLevel: inner.minLevel, writeLines: inner.writeLines };
}
