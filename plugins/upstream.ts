/**
 * Built-in auth provider "upstream": validates a bearer token by asking an
 * HTTP endpoint of the operator's (e.g. the login endpoint of a central
 * registry, when this node is a cache in front of it). A success is cached for
 * 10 minutes, a failure for 3 seconds, keyed by the token's SHA-256.
 *
 * Options: `{ "url": "https://central.example/swift/login", "method": "POST",
 *   "scopes": ["read"], "cacheSuccessMs": 600000, "cacheFailureMs": 3000, "timeoutMs": 5000 }`.
 * The endpoint gets `Authorization: Bearer <token>`; 2xx means valid (a JSON
 * body may carry `{ "id", "scopes", "packageScopes" }`), 401/403 invalid,
 * anything else is an outage (503, not cached).
 *
 * @module
 */
import type { Action, PluginFactory, Principal } from "./types.ts";
import { isTokenText, presentedSecret, sha256Hex } from "./credentials.ts";
import { decide } from "./static-token.ts";

/** Options of the upstream plugin. */
export interface UpstreamOptions {
  url: string;
  method?: string;
  scopes?: Action[];
  cacheSuccessMs?: number;
  cacheFailureMs?: number;
  timeoutMs?: number;
  maxCachedTokens?: number;
}

type Verdict = { principal: Principal } | { reject: string };

const upstream: PluginFactory<UpstreamOptions> = ({ options, fetch, logger, now: clock }) => {
  let endpoint: URL;
  try {
    endpoint = new URL(options?.url);
  } catch {
    throw new Error("options.url must be the absolute URL of the endpoint that validates tokens");
  }
  const method = options.method ?? "POST";
  const defaultScopes = options.scopes ?? ["read"];
  const successMs = options.cacheSuccessMs ?? 10 * 60_000;
  const failureMs = options.cacheFailureMs ?? 3_000;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const maxCached = options.maxCachedTokens ?? 10_000;
  const cache = new Map<string, { verdict: Verdict; until: number }>();
  const pending = new Map<string, Promise<Verdict>>();

  async function ask(token: string, digest: string): Promise<Verdict> {
    const response = await fetch(endpoint, {
      method,
      headers: { Authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    if (response.status === 401 || response.status === 403) return { reject: "the upstream rejected the token" };
    if (!response.ok) throw new Error(`the upstream answered ${response.status}`);
    let body: Record<string, unknown> = {};
    try {
      body = text ? JSON.parse(text) : {};
    } catch { /* a plain 200 is enough */ }
    const scopes = Array.isArray(body.scopes) ? body.scopes as Action[] : defaultScopes;
    const principal: Principal = {
      id: typeof body.id === "string" ? body.id : `upstream:${digest.slice(0, 12)}`,
      scopes,
    };
    if (Array.isArray(body.packageScopes)) {
      principal.packageScopes = (body.packageScopes as string[]).map((s) => s.toLowerCase());
    }
    return { principal };
  }

  return {
    name: "upstream",
    auth: {
      // Never denies a read, so public reads need not consult it.
      restrictsReads: false,
      async authenticate(request) {
        const token = presentedSecret(request);
        if (typeof token !== "string") return "abstain";
        // Not sendable in a header (a control character in a password, say): not a token anyone issued.
        if (!isTokenText(token)) return { reject: "that is not a token" };
        const digest = sha256Hex(token);
        const now = clock();
        const cached = cache.get(digest);
        if (cached && cached.until > now) return cached.verdict;
        // Concurrent requests with one token share one validation.
        let asking = pending.get(digest);
        if (asking === undefined) {
          asking = ask(token, digest).finally(() => pending.delete(digest));
          pending.set(digest, asking);
        }
        let verdict: Verdict;
        try {
          verdict = await asking;
        } catch (error) {
          logger.warn("token validation failed", { error: error instanceof Error ? error.message : String(error) });
          throw new Error("cannot reach the upstream to validate the token");
        }
        if (cache.size >= maxCached) cache.delete(cache.keys().next().value!);
        cache.set(digest, { verdict, until: now + ("principal" in verdict ? successMs : failureMs) });
        return verdict;
      },
      authorize(principal, action, pkg) {
        if (principal?.provider !== "upstream") return "abstain";
        return decide(principal, action, pkg);
      },
    },
  };
};

export default upstream;
