/**
 * The auth chain: auth providers asked in configured order. Authentication
 * stops at the first provider that recognises the credentials (accepting or
 * rejecting them); authorization at the first provider that allows or denies.
 * When every provider abstains, the default policy applies: reads are public
 * (unless `requireAuthForRead`), publishing and admin are refused. When reads
 * are public and no provider restricts them (`restrictsReads: false`), the
 * chain is not consulted for reads at all ({@link Authenticator.publicReads}).
 *
 * @module
 */
import { packageName, type PackageRef } from "../core/package.ts";
import { ForbiddenError, UnauthorizedError } from "../errors.ts";
import { callHook, callHookNow, isPromiseLike, PluginFailureError } from "../plugins/hooks.ts";
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
  const publicReads = !options.requireAuthForRead &&
    providers.every(({ provider }) => provider.restrictsReads === false);
  return {
    acceptsCredentials: providers.length > 0,
    publicReads,
    decidesFromCredentials: !publicReads &&
      providers.every(({ provider }) => provider.decidesFromCredentials === true),

    async authenticate(request) {
      for (const { plugin, provider } of providers) {
        const result = await callHook(plugin, () => provider.authenticate(request));
        const shape = result as { principal?: { id?: unknown }; reject?: unknown } | "abstain" | null;
        const valid = shape === "abstain" ||
          (typeof shape === "object" && shape !== null &&
            (typeof shape.principal?.id === "string" || typeof shape.reject === "string"));
        if (!valid) throw new PluginFailureError(plugin, `authenticate returned ${JSON.stringify(result)}`);
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

    authorize(principal: Principal | null, action: Action, pkg?: PackageRef) {
      const name = pkg && packageName(pkg);
      // Providers usually decide at once: then so does this, without a promise per provider (search
      // authorizes every match). A provider that answers with a promise continues the chain asynchronously.
      const decideFrom = (first: number): Promise<void> => {
        for (let i = first; i < providers.length; i++) {
          const { plugin, provider } = providers[i];
          if (provider.authorize === undefined) continue;
          const decision = callHookNow(plugin, () => {
            const answer = provider.authorize!(principal, action, name);
            return isPromiseLike(answer) ? Promise.resolve(answer).then(checkDecision) : checkDecision(answer);
          });
          if (isPromiseLike(decision)) return decision.then((d) => d === "abstain" ? decideFrom(i + 1) : settle(d));
          if (decision !== "abstain") return settle(decision);
        }
        if (action === "read" && (!options.requireAuthForRead || principal !== null)) return ALLOWED;
        throw refusal(principal, action, pkg);
      };
      const settle = (decision: "allow" | "deny"): Promise<void> => {
        if (decision === "deny") throw refusal(principal, action, pkg);
        return ALLOWED;
      };
      try {
        return decideFrom(0);
      } catch (error) {
        return Promise.reject(error);
      }
    },
  };
}

/** The answer of an allowed authorization (one settled promise, shared). */
const ALLOWED = Promise.resolve();

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
