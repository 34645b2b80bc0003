/**
 * Structured logging: one JSON object per line. Callers pass fields, never
 * secrets; the request logger only ever records method, path (without query),
 * status, duration and request id.
 *
 * @module
 */
import { writeFully } from "./util/io.ts";

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
  /** Writes lines another worker logged (newline-terminated UTF-8, already formatted and filtered by level). */
  writeBatch?(bytes: Uint8Array<ArrayBuffer>): void;
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
 * batches: see {@link batchedLines}), dropping lines below `minLevel`;
 * `common` fields end every line (e.g. the worker that wrote it).
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
  const out: LineBatcher = write ? linesTo(write) : batchedLines(writeStdout);
  return {
    log(level, msg, fields = {}) {
      if (ORDER[level] < ORDER[minLevel]) return;
      out.write(JSON.stringify({ time: isoTimestamp(), level, msg, ...fields, ...common }));
    },
    line(level, json) {
      if (ORDER[level] >= ORDER[minLevel]) out.write(json);
    },
    writeBatch: (bytes) => out.writeBatch(bytes),
    flush: () => out.flush(),
    minLevel,
  };
}

/** Writes `bytes` to stdout in full. */
function writeStdout(bytes: Uint8Array): Promise<void> {
  return writeFully(Deno.stdout, bytes);
}

/** Where a logger's lines go: one at a time, or batches of lines already encoded (from another worker). */
export interface LineBatcher {
  write(line: string): void;
  /** Newline-terminated UTF-8 lines (kept as they are until written: not to be changed). */
  writeBatch(bytes: Uint8Array<ArrayBuffer>): void;
  /** Resolves once everything written so far is out (bounded to a few seconds). */
  flush(): Promise<void>;
}

/** Each line to `write` at once (tests' memory logger). */
function linesTo(write: (line: string) => void): LineBatcher {
  const decoder = new TextDecoder();
  return {
    write,
    writeBatch(bytes) {
      for (const line of decoder.decode(bytes).split("\n")) if (line !== "") write(line);
    },
    flush: () => Promise.resolve(),
  };
}

/** Size of the buffers lines are encoded into. */
const BATCH_BUFFER_BYTES = 64 * 1024;

/**
 * Lines without blocking the request that logs them: each is encoded at once
 * into a buffer (no string joining), and the buffers go to `sink` together
 * every `intervalMs` (one write per buffer), one batch at a time. At most
 * `maxPendingBytes` wait: a sink that cannot keep up loses lines (counted in a
 * warning line), it never holds the server's memory. A sink that fails (a
 * closed stdout) drops its batch. The timer is unref'd: it never keeps the
 * process alive; {@link LineBatcher.flush} writes what is pending.
 */
export function batchedLines(
  sink: (bytes: Uint8Array<ArrayBuffer>) => Promise<void>,
  { intervalMs = 10, maxPendingBytes = 16 * 1024 * 1024 } = {},
): LineBatcher {
  const encoder = new TextEncoder();
  let chunks: Uint8Array<ArrayBuffer>[] = [];
  let buffer = new Uint8Array(BATCH_BUFFER_BYTES);
  let used = 0;
  let pendingBytes = 0;
  let dropped = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let writing: Promise<void> | null = null;
  /** Ends the current buffer, so what comes next starts a new one. */
  const seal = (room = BATCH_BUFFER_BYTES) => {
    if (used === 0 && buffer.length >= room) return;
    if (used > 0) chunks.push(buffer.subarray(0, used));
    buffer = new Uint8Array(Math.max(BATCH_BUFFER_BYTES, room));
    used = 0;
  };
  const append = (line: string) => {
    const room = line.length * 3 + 1; // UTF-8 takes at most 3 bytes per UTF-16 unit
    if (buffer.length - used < room) seal(room);
    used += encoder.encodeInto(line, buffer.subarray(used)).written;
    buffer[used++] = 0x0a;
  };
  const drain = async () => {
    timer = undefined;
    try {
      while (chunks.length > 0 || used > 0) {
        if (dropped > 0) append(JSON.stringify({ level: "warn", msg: "log lines dropped", dropped }));
        dropped = 0;
        seal();
        const batch = chunks;
        chunks = [];
        for (const chunk of batch) {
          await sink(chunk);
          pendingBytes -= chunk.length;
        }
      }
    } catch {
      // The destination is gone (e.g. a closed pipe): nothing more can be written there.
      chunks = [];
      used = 0;
      pendingBytes = 0;
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
      if (pendingBytes + line.length > maxPendingBytes) {
        dropped++;
        return;
      }
      const before = used;
      append(line);
      pendingBytes += used > before ? used - before : used;
      schedule();
    },
    writeBatch(bytes) {
      if (pendingBytes + bytes.length > maxPendingBytes) {
        for (const byte of bytes) if (byte === 0x0a) dropped++;
        return;
      }
      seal();
      chunks.push(bytes);
      pendingBytes += bytes.length;
      schedule();
    },
    async flush() {
      let bound: ReturnType<typeof setTimeout> | undefined;
      const giveUp = new Promise<false>((resolve) => bound = setTimeout(() => resolve(false), 5_000));
      try {
        for (;;) {
          if (writing === null && chunks.length === 0 && used === 0) break;
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
  return { lines, log: inner.log, line: inner.line, minLevel: inner.minLevel, writeBatch: inner.writeBatch };
}
