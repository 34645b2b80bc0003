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
  /** Waits until every line written so far has reached its destination. */
  flush?(): Promise<void>;
}

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/**
 * Creates a logger writing JSON lines to `write` (stdout by default), dropping
 * lines below `minLevel`.
 *
 * @example
 * const logger = createJsonLogger("info");
 * logger.log("info", "listening", { url: "http://127.0.0.1:8080" });
 */
export function createJsonLogger(minLevel: LogLevel = "info", write?: (line: string) => void): Logger {
  const out = write ? { write, flush: () => Promise.resolve() } : batchedStdout();
  return {
    log(level, msg, fields = {}) {
      if (ORDER[level] < ORDER[minLevel]) return;
      out.write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));
    },
    flush: out.flush,
  };
}

/**
 * Lines to stdout without blocking the request that logs them: lines that
 * arrive while a write is in progress go out together in the next one.
 */
function batchedStdout(): { write(line: string): void; flush(): Promise<void> } {
  const encoder = new TextEncoder();
  const maxPending = 100_000;
  let pending: string[] = [];
  let dropped = 0;
  let writing: Promise<void> | null = null;
  const drain = async () => {
    try {
      while (pending.length > 0) {
        if (dropped > 0) pending.push(JSON.stringify({ level: "warn", msg: "log lines dropped", dropped }));
        dropped = 0;
        const bytes = encoder.encode(pending.join("\n") + "\n");
        pending = [];
        for (let written = 0; written < bytes.length;) written += await Deno.stdout.write(bytes.subarray(written));
      }
    } catch {
      pending = []; // stdout is gone (e.g. a closed pipe): nothing more can be written there
    } finally {
      writing = null;
    }
  };
  return {
    write(line) {
      // A stdout that cannot keep up must not hold the whole server's memory.
      if (pending.length >= maxPending) dropped++;
      else pending.push(line);
      writing ??= drain();
    },
    async flush() {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const bound = new Promise<void>((resolve) => timer = setTimeout(resolve, 5_000));
      while (writing !== null) {
        const done = await Promise.race([writing.then(() => true), bound.then(() => false)]);
        if (!done) break;
      }
      clearTimeout(timer);
    },
  };
}

/** A logger that drops everything (for tests that do not inspect logs). */
export const silentLogger: Logger = { log() {} };

/** A logger that keeps lines in memory, for tests that inspect logs. */
export function createMemoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const inner = createJsonLogger("debug", (line) => lines.push(line));
  return { lines, log: inner.log };
}
