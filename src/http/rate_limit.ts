/**
 * Per-client rate limiting: a token bucket per authenticated principal, or per
 * client IP for anonymous requests, refilled at the configured requests per
 * second with a burst of two seconds' worth. Over the limit: 429 with
 * `Retry-After`. `/health` and `/metrics` are exempt.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { Authenticator } from "../auth/auth.ts";
import { RegistryError } from "../errors.ts";
import { LruCache } from "../util/lru_cache.ts";
import type { AppEnv } from "./middleware.ts";

/** Too many requests from one client. */
export class TooManyRequestsError extends RegistryError {
  constructor(retryAfterSeconds: number) {
    super(429, "Too Many Requests", "too many requests from this client; slow down", {
      "Retry-After": String(retryAfterSeconds),
    });
  }
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Options: requests per second per IP and per principal (0 turns a limit off). */
export interface RateLimitOptions {
  perIp: number;
  perPrincipal: number;
  /** Addresses of reverse proxies whose `X-Forwarded-For` names the real client. */
  trustedProxies?: string[];
  auth: Authenticator;
  clock?: () => number;
}

const EXEMPT = new Set(["/health", "/metrics"]);

/** Token buckets per client IP and per principal. */
export class RateLimiter {
  /** False when both limits are 0: then nothing is counted at all. */
  readonly enabled: boolean;
  readonly #options: RateLimitOptions;
  readonly #now: () => number;
  readonly #buckets = new LruCache<string, Bucket>(100_000);
  readonly #trusted: Set<string>;

  constructor(options: RateLimitOptions) {
    this.#options = options;
    this.enabled = options.perIp > 0 || options.perPrincipal > 0;
    this.#now = options.clock ?? Date.now;
    this.#trusted = new Set(options.trustedProxies ?? []);
  }

  /**
   * Takes a token for an anonymous request from `peer` (the connection's
   * address; `forwardedFor` is believed from trusted proxies). Returns 0 when
   * it may run, or the seconds to wait.
   */
  anonymous(peer: string | undefined, forwardedFor: string | null | undefined): number {
    if (this.#options.perIp === 0) return 0;
    const address = clientAddress({ remoteAddr: { hostname: peer } }, forwardedFor ?? undefined, this.#trusted);
    return this.#take(`ip:${clientKey(address)}`, this.#options.perIp);
  }

  /** The rate-limiting middleware (a no-op when both limits are 0). */
  middleware(): MiddlewareHandler<AppEnv> {
    const options = this.#options;
    if (!this.enabled) return (_c, next) => next();
    return async (c, next) => {
      const path = c.req.path.replace(/\/+$/, "") || "/";
      if (EXEMPT.has(path)) return await next();
      const principal = c.req.header("authorization") === undefined
        ? null
        : await options.auth.authenticate(c.req.raw).catch(() => null);
      const wait = principal !== null && options.perPrincipal > 0
        ? this.#take(`principal:${principal.provider ?? ""}:${principal.id}`, options.perPrincipal)
        : principal === null
        ? this.anonymous(
          (c.env as { remoteAddr?: { hostname?: string } } | undefined)?.remoteAddr?.hostname,
          c.req.header("x-forwarded-for"),
        )
        : 0;
      if (wait > 0) throw new TooManyRequestsError(wait);
      await next();
    };
  }

  #take(key: string, rate: number): number {
    const capacity = Math.max(1, rate * 2);
    const time = this.#now();
    const bucket = this.#buckets.get(key) ?? { tokens: capacity, updatedAt: time };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((time - bucket.updatedAt) / 1000) * rate);
    bucket.updatedAt = time;
    this.#buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / rate));
  }
}

/**
 * The client's address: the connection's, or, when that is a trusted proxy,
 * the nearest `X-Forwarded-For` hop that is not itself a trusted proxy.
 */
export function clientAddress(env: unknown, forwardedFor: string | undefined, trusted: Set<string>): string {
  let address = (env as { remoteAddr?: { hostname?: string } } | undefined)?.remoteAddr?.hostname ?? "unknown";
  const hops = (forwardedFor ?? "").split(",").map((h) => h.trim()).filter((h) => h !== "");
  while (trusted.has(address) && hops.length > 0) address = hops.pop()!;
  return address;
}

/** The rate-limit key of an address; IPv6 clients are keyed by their /64, which one client usually holds whole. */
function clientKey(host: string): string {
  if (!host.includes(":") || /^::ffff:\d/.test(host)) return host;
  const [head, tail = ""] = host.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === "" ? [] : tail.split(":");
  const full = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${full.slice(0, 4).join(":")}::/64`;
}
