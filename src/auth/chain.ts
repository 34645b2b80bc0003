/**
 * The auth chain: auth providers asked in configured order. Authentication
 * stops at the first provider that recognises the credentials (accepting or
 * rejecting them); authorization at the first provider that allows or denies.
 * When every provider abstains, the default policy applies: reads are public
 * (unless `requireAuthForRead`), publishing and admin are refused.
 *
 * @module
 */
import { packageName, type PackageRef } from "../core/package.ts";
import { ForbiddenError, UnauthorizedError } from "../errors.ts";
import { callHook, isPromiseLike } from "../plugins/hooks.ts";
import type { Action, AuthorizeDecision, AuthProvider, Principal } from "../../plugins/types.ts";
import type { Authenticator } from "./auth.ts";

/** A provider with the name of the plugin that supplied it. */
export interface NamedAuthProvider {
  plugin: string;
  provider: AuthProvider;
}

/** Builds the {@link Authenticator} of a chain of providers. */
export function createAuthChain(
  providers: NamedAuthProvider[],
  options: { requireAuthForRead: boolean },
): Authenticator {
  return {
    acceptsCredentials: providers.length > 0,

    async authenticate(request) {
      for (const { plugin, provider } of providers) {
        const result = await callHook(plugin, async () => {
          const answer = await provider.authenticate(request);
          const shape = answer as { principal?: { id?: unknown }; reject?: unknown } | "abstain" | null;
          const valid = shape === "abstain" ||
            (typeof shape === "object" && shape !== null &&
              (typeof shape.principal?.id === "string" || typeof shape.reject === "string"));
          if (!valid) throw new Error(`authenticate returned ${JSON.stringify(answer)}`);
          return answer;
        });
        if (result === "abstain") continue;
        // The provider is who answered, whatever the principal claims.
        if ("principal" in result) return { ...result.principal, provider: plugin };
        throw new UnauthorizedError(result.reject);
      }
      if (request.headers.has("authorization")) {
        throw new UnauthorizedError("the credentials were not recognised by this registry");
      }
      return null;
    },

    async authorize(principal: Principal | null, action: Action, pkg?: PackageRef) {
      for (const { plugin, provider } of providers) {
        if (provider.authorize === undefined) continue;
        // Most providers decide at once; only a promise gets callHook's deadline timer.
        const decision = await callHook(plugin, () => {
          const answer = provider.authorize!(principal, action, pkg && packageName(pkg));
          return isPromiseLike(answer) ? Promise.resolve(answer).then(checkDecision) : checkDecision(answer);
        });
        if (decision === "allow") return;
        if (decision === "deny") throw refusal(principal, action, pkg);
      }
      if (action === "read" && (!options.requireAuthForRead || principal !== null)) return;
      throw refusal(principal, action, pkg);
    },
  };
}

function checkDecision(answer: unknown): AuthorizeDecision {
  if (answer !== "allow" && answer !== "deny" && answer !== "abstain") {
    throw new Error(`authorize returned ${JSON.stringify(answer)}`);
  }
  return answer;
}

function refusal(principal: Principal | null, action: Action, pkg?: PackageRef): Error {
  const target = pkg ? ` ${pkg.id}` : "";
  if (principal === null) {
    return new UnauthorizedError(`authentication is required to ${action}${target}`);
  }
  return new ForbiddenError(`${principal.id} may not ${action}${target}`);
}
