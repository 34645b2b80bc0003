/**
 * Serves HTTP (or HTTPS) with an accept loop of our own instead of
 * `Deno.serve`'s, so that connections can be bounded and timed out, and the
 * server outlives a full descriptor table:
 *
 * - each accepted connection is admitted by a {@link ConnectionGuard} (a bound
 *   in all and per client IP; when full, the longest idle connection makes
 *   room) and then served: over plain HTTP by the fast lane
 *   (src/http/fast_lane.ts), which answers hot reads itself and hands what it
 *   does not read to Deno's server; over HTTPS (HTTP/1.1 and HTTP/2) by Deno's
 *   native code (`serveHttpOnConnection`, the routine behind `Deno.serve`);
 * - one timer sweeps for connections that sent no request head within the
 *   header timeout, or idled past the idle timeout, and closes them; a
 *   request costs two counter updates, no timer;
 * - accept errors such as EMFILE are survived: an idle connection is closed
 *   to free a descriptor and accepting resumes after a short pause (a
 *   `Deno.serve` listener ends its accept loop on the first such error and
 *   the rejected promise ends the process);
 * - for HTTPS, {@link ConnectionServer.replaceKeyPair} re-opens the listening
 *   socket with a renewed certificate; open connections are not touched.
 *
 * `serveHttpOnConnection` is internal to Deno (`Deno[Deno.internal]`), present
 * in Deno 2.x; start-up fails with a clear message if a Deno lacks it
 * ({@link nativeServeOnConnection}).
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { type Connection, ConnectionGuard, type Eviction, type GuardLimits } from "./connections.ts";
import type { ConnectionStats } from "./metrics.ts";
import { FastConnection, type FastLaneOptions, RelayListener } from "./fast_lane.ts";
import type { KeyPair } from "./tls.ts";
import { closeQuietly } from "../util/io.ts";

/** The request handler: a Hono app's `fetch`. */
export type Handler = (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => Response | Promise<Response>;

/** What {@link serveConnections} needs. */
export interface ServeConnectionsOptions {
  hostname: string;
  port: number;
  /** Serve HTTPS with this pair; plain HTTP when absent. */
  tls?: KeyPair;
  /**
   * Share the port with other listeners of this process (`SO_REUSEPORT`; the
   * kernel spreads connections over them): the workers of src/http/workers.ts.
   * Needs Deno's `--unstable-net`.
   */
  reusePort?: boolean;
  limits: GuardLimits;
  handler: Handler;
  /** Answer for an error the handler throws (the app maps its own; this is the last resort). */
  onError: (error: unknown) => Response;
  /**
   * The fast lane (src/http/fast_lane.ts): given, plain-HTTP connections are
   * served by it (hot reads by `answer`, other plain requests by `routes`, the
   * hot path not asked again) and relayed to Deno's server, answered by
   * `handler`, from the first request it does not read itself.
   */
  fastLane?: Pick<FastLaneOptions, "answer" | "routes">;
  logger: Logger;
  /** Milliseconds clock for the guard (tests inject one). */
  clock?: () => number;
}

/** A server accepting connections. */
export interface ConnectionServer {
  readonly addr: Deno.NetAddr;
  /** Open connections. */
  readonly connections: number;
  /** Counters since start, and open connections now. */
  stats(): ConnectionStats;
  /**
   * Serves new connections with `pair`: the listening socket is closed and
   * opened again at once with it; open connections keep their certificate.
   * Throws (keeping the old pair) when `pair` is not usable.
   */
  replaceKeyPair(pair: KeyPair): Promise<void>;
  /** Stops accepting, lets requests in flight finish, closes every connection. */
  shutdown(): Promise<void>;
}

type ServeOnConnection = (
  connection: Deno.Conn,
  signal: AbortSignal,
  handler: Handler,
  onError: (error: unknown) => Response,
  onListen: () => void,
) => Deno.HttpServer<Deno.NetAddr>;

/**
 * Deno's routine serving one connection, as `Deno.serve` does for each one it accepts.
 *
 * @throws when this Deno does not have it (checked at start-up, before anything listens).
 */
export function nativeServeOnConnection(): ServeOnConnection {
  const deno = Deno as unknown as { internal: symbol } & Record<symbol, { serveHttpOnConnection?: unknown }>;
  const serve = deno[deno.internal]?.serveHttpOnConnection;
  if (typeof serve !== "function") {
    throw new Error(`this Deno (${Deno.version.deno}) has no serveHttpOnConnection; Deno 2.x is required`);
  }
  return serve as ServeOnConnection;
}

/** A connection being served, and how to close it. */
interface Served {
  /** Close once the response in flight is sent. */
  graceful(): void;
  /** Close at once. */
  force(): void;
  /** Settles once it is closed. */
  finished: Promise<void>;
}

/**
 * Listens on `options.hostname:port` and serves every admitted connection.
 *
 * @throws when the address cannot be listened on or the key pair is unusable.
 */
export function serveConnections(options: ServeConnectionsOptions): ConnectionServer {
  const serveOn = nativeServeOnConnection();
  const { logger, limits, handler } = options;
  const guard = new ConnectionGuard(limits, options.clock);
  const served = new Map<Connection, Served>();
  const complain = throttledWarning(logger);
  const counts = { refused: 0, timedOut: 0, reclaimed: 0, acceptErrors: 0 };
  let stopping = false;

  const reuse = options.reusePort ? { reusePort: true } : {};
  const listen = (port: number, pair: KeyPair | undefined): Deno.Listener =>
    pair === undefined
      ? Deno.listen({ hostname: options.hostname, port, ...reuse })
      : Deno.listenTls({ hostname: options.hostname, port, ...pair, alpnProtocols: ["h2", "http/1.1"], ...reuse });

  let listener = listen(options.port, options.tls);
  const addr = listener.addr as Deno.NetAddr;

  const close = ({ connection, mode, reason }: Eviction) => {
    const entry = served.get(connection);
    if (entry === undefined) return;
    if (reason === "reclaimed") counts.reclaimed++;
    else counts.timedOut++;
    logger.log("debug", "closing connection", { ip: connection.ip, reason, mode });
    if (mode === "force") entry.force();
    else entry.graceful();
  };

  /** The handler for one connection's requests, bounded and timed by the guard as `connection`. */
  const guarded = (connection: Connection): Handler => {
    const ended = <T>(value: T): T => {
      guard.requestEnded(connection);
      return value;
    };
    const failed = (error: unknown): never => {
      guard.requestEnded(connection);
      throw error;
    };
    return (request, info) => {
      guard.requestStarted(connection);
      let result: Response | Promise<Response>;
      try {
        result = handler(request, info);
      } catch (error) {
        return failed(error);
      }
      return result instanceof Promise ? result.then(ended, failed) : ended(result);
    };
  };

  /** Serves `conn` with Deno's server; `undefined` (and `conn` closed) when it cannot be. */
  const serveNatively = (conn: Deno.Conn, handle: Handler, ip: string): Served | undefined => {
    const abort = new AbortController();
    let server: Deno.HttpServer<Deno.NetAddr>;
    try {
      server = serveOn(conn, abort.signal, handle, options.onError, () => {});
    } catch (error) {
      closeQuietly(conn);
      complain("connection could not be served", { ip, error: (error as Error).message });
      return undefined;
    }
    return {
      graceful: () => void server.shutdown().catch(() => forceClose(abort)),
      force: () => forceClose(abort),
      // A connection reset ends `finished` with an error; it is not the server's.
      finished: server.finished.catch(() => {}),
    };
  };

  // The fast lane relays what it does not answer to Deno's server, listening on loopback for it.
  const fastLane = options.tls === undefined ? options.fastLane : undefined;
  const relays = fastLane === undefined
    ? undefined
    : new RelayListener((conn, handle) => serveNatively(conn, handle, "127.0.0.1"));

  /** Serves an admitted connection: in the fast lane, or with Deno's server. */
  const serveAdmitted = (conn: Deno.Conn, connection: Connection, ip: string): Served | undefined => {
    if (fastLane === undefined || relays === undefined) return serveNatively(conn, guarded(connection), ip);
    const fast = new FastConnection(conn, {
      answer: fastLane.answer,
      routes: fastLane.routes,
      onError: options.onError,
      requestStarted: () => guard.requestStarted(connection),
      requestEnded: () => guard.requestEnded(connection),
      connectRelay: () => relays.connect(conn.remoteAddr as Deno.NetAddr, guarded(connection)),
    });
    return { graceful: () => fast.closeGracefully(), force: () => fast.closeNow(), finished: fast.finished };
  };

  const serve = (conn: Deno.Conn) => {
    const ip = (conn.remoteAddr as Deno.NetAddr).hostname;
    const admission = guard.admit(ip);
    if (!admission.admitted) {
      counts.refused++;
      conn.close();
      complain(admission.reason, { ip, open: guard.size });
      return;
    }
    if (admission.evict !== undefined) close(admission.evict);
    const connection = admission.connection;
    const entry = serveAdmitted(conn, connection, ip);
    if (entry === undefined) {
      guard.release(connection);
      return;
    }
    served.set(connection, entry);
    entry.finished.finally(() => {
      served.delete(connection);
      guard.release(connection);
    });
  };

  const acceptLoop = async (from: Deno.Listener) => {
    let pause = 0;
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await from.accept();
        pause = 0;
      } catch (error) {
        if (stopping || from !== listener || isClosedListener(error)) return;
        // Out of descriptors (EMFILE/ENFILE) or memory: free a descriptor, wait a little, go on.
        counts.acceptErrors++;
        const evicted = guard.reclaim();
        if (evicted !== undefined) close(evicted);
        complain("accepting a connection failed", { error: (error as Error).message, open: guard.size });
        pause = Math.min(1000, Math.max(10, pause * 2));
        await new Promise((resolve) => setTimeout(resolve, pause));
        continue;
      }
      serve(conn);
    }
  };

  let accepting = acceptLoop(listener);
  const sweepMs = Math.min(1000, Math.max(25, Math.min(limits.headerTimeoutMs, limits.idleTimeoutMs) / 4));
  const sweeper = setInterval(() => {
    for (const eviction of guard.sweep()) close(eviction);
  }, sweepMs);

  return {
    addr,
    get connections() {
      return guard.size;
    },
    stats: () => ({ open: guard.size, ...counts }),
    async replaceKeyPair(pair: KeyPair) {
      if (stopping) return;
      if (options.tls === undefined) throw new Error("the server does not serve HTTPS");
      // Validate the pair before giving up the socket: a listener on port 0 fails just as the real one would.
      listen(0, pair).close();
      const old = listener;
      old.close();
      await accepting;
      // The port was just released; binding it again can need a moment while the old socket goes away.
      for (let attempt = 0;; attempt++) {
        try {
          listener = listen(addr.port, pair);
          break;
        } catch (error) {
          if (!(error instanceof Deno.errors.AddrInUse) || attempt >= 50) {
            listener = listen(addr.port, options.tls);
            accepting = acceptLoop(listener);
            throw error;
          }
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
      options.tls = pair;
      accepting = acceptLoop(listener);
    },
    async shutdown() {
      if (stopping) return;
      stopping = true;
      clearInterval(sweeper);
      listener.close();
      await accepting;
      const open = [...served.values()];
      for (const entry of open) entry.graceful();
      await Promise.all([...open.map((entry) => entry.finished), relays?.close()]);
    },
  };
}

let forceClosing = false;
let forceCloseGuarded = false;

/**
 * Drops a connection at once through the abort signal its server was given.
 * Deno's listener on that signal cancels the connection's resource and, when
 * the peer closed it a moment before (its server not yet finished), throws
 * BadResource inside the event dispatch, where nothing can catch it and the
 * process would end. That error, raised while this call runs, means the
 * connection is gone already, which is what was asked: it is ignored.
 */
export function forceClose(abort: AbortController): void {
  if (!forceCloseGuarded) {
    forceCloseGuarded = true;
    globalThis.addEventListener("error", (event) => {
      if (forceClosing && event.error instanceof Deno.errors.BadResource) event.preventDefault();
    });
  }
  forceClosing = true;
  try {
    abort.abort();
  } finally {
    forceClosing = false;
  }
}

function isClosedListener(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted;
}

/** Logs a warning per kind of problem at most once every 10 seconds, with how often it happened meanwhile. */
function throttledWarning(logger: Logger): (message: string, fields: Record<string, unknown>) => void {
  const last = new Map<string, { at: number; suppressed: number }>();
  return (message, fields) => {
    const now = Date.now();
    const seen = last.get(message);
    if (seen !== undefined && now - seen.at < 10_000) {
      seen.suppressed++;
      return;
    }
    logger.log("warn", message, { ...fields, suppressed: seen?.suppressed ?? 0 });
    last.set(message, { at: now, suppressed: 0 });
  };
}
