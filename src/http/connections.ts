/**
 * Bookkeeping of open client connections: who may connect (a bound in all and
 * per client IP), which connections have outstayed their welcome (no request
 * head within the header timeout, idle keep-alive past the idle timeout), and
 * which idle connection to give up when the server is full.
 *
 * Pure logic with an injected clock; `src/http/listen.ts` acts on its answers.
 * Time is read once per sweep, never per request: a request costs two counter
 * updates.
 *
 * @module
 */

/** Limits applied to connections (see `ConnectionLimits` in src/config.ts). */
export interface GuardLimits {
  maxConnections: number;
  /** 0: no per-IP bound. */
  maxPerIp: number;
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  /** Addresses exempt from the per-IP bound (reverse proxies carrying many clients). */
  exemptIps?: Iterable<string>;
}

/** One open connection. */
export interface Connection {
  readonly ip: string;
  /** Requests started on it so far. */
  requests: number;
  /** Requests whose handler has not returned yet. */
  active: number;
  /** Guard time of the last handler return, or of the accept. */
  lastActivity: number;
  /** Set once the connection is being closed. */
  closing: "graceful" | "force" | null;
}

/** What to do with a connection: force-close it (nothing in flight) or close it once its response is sent. */
export interface Eviction {
  connection: Connection;
  mode: "graceful" | "force";
  reason: "header timeout" | "idle timeout" | "reclaimed";
}

/** The admission answer for a new connection. */
export type Admission =
  | { admitted: true; connection: Connection; evict?: Eviction }
  | { admitted: false; reason: "too many connections" | "too many connections from this address" };

/** Tracks open connections against {@link GuardLimits}. */
export class ConnectionGuard {
  readonly #limits: GuardLimits;
  readonly #clock: () => number;
  readonly #exempt: Set<string>;
  readonly #open = new Set<Connection>();
  readonly #perIp = new Map<string, number>();
  /** Guard time, advanced by {@link sweep} and on admission. */
  #now: number;

  constructor(limits: GuardLimits, clock: () => number = () => performance.now()) {
    this.#limits = limits;
    this.#clock = clock;
    this.#exempt = new Set(limits.exemptIps ?? []);
    this.#now = clock();
  }

  /** Open connections. */
  get size(): number {
    return this.#open.size;
  }

  /**
   * Admits a new connection from `ip`, or refuses it. When the server is full
   * and some connection has nothing in flight, the longest idle one is named
   * for eviction and the newcomer admitted.
   */
  admit(ip: string): Admission {
    this.#now = this.#clock();
    const fromIp = this.#perIp.get(ip) ?? 0;
    if (this.#limits.maxPerIp > 0 && fromIp >= this.#limits.maxPerIp && !this.#exempt.has(ip)) {
      return { admitted: false, reason: "too many connections from this address" };
    }
    let evict: Eviction | undefined;
    if (this.#open.size >= this.#limits.maxConnections) {
      evict = this.reclaim();
      if (evict === undefined) return { admitted: false, reason: "too many connections" };
    }
    const connection: Connection = { ip, requests: 0, active: 0, lastActivity: this.#now, closing: null };
    this.#open.add(connection);
    this.#perIp.set(ip, fromIp + 1);
    return { admitted: true, connection, evict };
  }

  /** The connection idle longest (nothing in flight, not already closing), marked for closing; or undefined. */
  reclaim(): Eviction | undefined {
    let victim: Connection | undefined;
    for (const connection of this.#open) {
      if (connection.active > 0 || connection.closing !== null) continue;
      if (victim === undefined || connection.lastActivity < victim.lastActivity) victim = connection;
    }
    return victim === undefined ? undefined : this.#mark(victim, "reclaimed");
  }

  /** A request started on `connection` (its handler was called). */
  requestStarted(connection: Connection): void {
    connection.requests++;
    connection.active++;
  }

  /** A request's handler returned; the connection is idle from now when nothing else is in flight. */
  requestEnded(connection: Connection): void {
    connection.active--;
    connection.lastActivity = this.#now;
  }

  /** Forgets a connection that has closed. */
  release(connection: Connection): void {
    if (!this.#open.delete(connection)) return;
    const left = (this.#perIp.get(connection.ip) ?? 1) - 1;
    if (left === 0) this.#perIp.delete(connection.ip);
    else this.#perIp.set(connection.ip, left);
  }

  /**
   * Advances the guard's time and names the connections to close: no request
   * within the header timeout of the accept, or idle past the idle timeout.
   */
  sweep(): Eviction[] {
    this.#now = this.#clock();
    const evictions: Eviction[] = [];
    for (const connection of this.#open) {
      if (connection.active > 0 || connection.closing !== null) continue;
      const idle = this.#now - connection.lastActivity;
      if (connection.requests === 0 && idle >= this.#limits.headerTimeoutMs) {
        evictions.push(this.#mark(connection, "header timeout"));
      } else if (connection.requests > 0 && idle >= this.#limits.idleTimeoutMs) {
        evictions.push(this.#mark(connection, "idle timeout"));
      }
    }
    return evictions;
  }

  /**
   * A connection that never carried a request has nothing to finish and is
   * closed at once (this also ends a stalled TLS handshake); one that did is
   * closed gracefully, after any response still streaming.
   */
  #mark(connection: Connection, reason: Eviction["reason"]): Eviction {
    const mode = connection.requests === 0 ? "force" : "graceful";
    connection.closing = mode;
    return { connection, mode, reason };
  }
}
