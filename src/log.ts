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
export function createJsonLogger(
  minLevel: LogLevel = "info",
  write: (line: string) => void = (line) => console.log(line),
): Logger {
  return {
    log(level, msg, fields = {}) {
      if (ORDER[level] < ORDER[minLevel]) return;
      write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));
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
