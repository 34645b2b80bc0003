/**
 * Built-in auth provider "static-token": tokens listed in the configuration
 * (the operator's `REGISTRY_ADMIN_TOKEN` is one of them, with every scope).
 * Tokens are given as plain text or as their SHA-256 and kept only hashed.
 *
 * Options: `{ "tokens": [{ "name": "ci", "token": "...", "scopes": ["read", "publish"],
 *   "packageScopes": ["mona"] }] }` (`sha256` instead of `token` keeps the secret
 * out of the file).
 *
 * @module
 */
import type { Action, PackageName, PluginFactory, Principal } from "./types.ts";
import { digestsEqual, presentedSecret, secretSha256, sha256Hex } from "./credentials.ts";

/** One configured token. */
export interface StaticToken {
  name: string;
  token?: string;
  sha256?: string;
  scopes: Action[];
  packageScopes?: string[];
}

/** Options of the static-token plugin. */
export interface StaticTokenOptions {
  tokens: StaticToken[];
}

const ACTIONS: readonly Action[] = ["read", "publish", "admin"];

const staticToken: PluginFactory<StaticTokenOptions> = ({ options }) => {
  if (!Array.isArray(options?.tokens)) {
    throw new Error("options.tokens must be a list of { name, token | sha256, scopes }");
  }
  const tokens = options.tokens.map((t, i) => {
    if (typeof t?.name !== "string" || t.name === "") throw new Error(`tokens[${i}].name is required`);
    const digest = typeof t.sha256 === "string"
      ? t.sha256.toLowerCase()
      : typeof t.token === "string"
      ? sha256Hex(t.token)
      : "";
    if (!/^[0-9a-f]{64}$/.test(digest)) throw new Error(`tokens[${i}] needs "token" or a hex "sha256"`);
    if (!Array.isArray(t.scopes) || !t.scopes.every((s) => ACTIONS.includes(s))) {
      throw new Error(`tokens[${i}].scopes must list read, publish and/or admin`);
    }
    return { name: t.name, digest, scopes: t.scopes, packageScopes: t.packageScopes?.map((s) => s.toLowerCase()) };
  });
  return {
    name: "static-token",
    auth: {
      // Never denies a read, so public reads need not consult it.
      restrictsReads: false,
      // A token and its scopes decide alone (a revoked token fails its next authentication).
      decidesFromCredentials: true,
      authenticate(request) {
        const secret = presentedSecret(request);
        if (typeof secret !== "string") return "abstain";
        const digest = secretSha256(request, secret);
        // Compare with every token so the time taken does not reveal which one matched.
        let match: (typeof tokens)[number] | undefined;
        for (const token of tokens) if (digestsEqual(digest, token.digest) && match === undefined) match = token;
        if (match === undefined) return "abstain";
        const principal: Principal = { id: `token:${match.name}`, scopes: match.scopes };
        if (match.packageScopes) principal.packageScopes = match.packageScopes;
        return { principal };
      },
      authorize(principal, action, pkg) {
        if (principal?.provider !== "static-token") return "abstain";
        return decide(principal, action, pkg);
      },
    },
  };
};

/**
 * The decision of a token provider about its own principal: allow what its
 * scopes grant; for reads it lacks, abstain (so public reads stay public for
 * a publish-only token); deny the rest.
 */
export function decide(
  principal: Principal,
  action: Action,
  pkg: PackageName | undefined,
): "allow" | "deny" | "abstain" {
  if (grants(principal, action, pkg)) return "allow";
  return action === "read" ? "abstain" : "deny";
}

/**
 * True when `principal`'s scopes (admin implies all) and package scopes allow
 * `action` on `pkg` (or on no package in particular). A caller limited to
 * package scopes may not publish a package without a scope.
 */
export function grants(principal: Principal, action: Action, pkg: PackageName | undefined): boolean {
  const scopes = principal.scopes ?? [];
  if (!scopes.includes("admin") && !scopes.includes(action)) return false;
  if (action !== "publish" || principal.packageScopes === undefined || pkg === undefined) return true;
  return pkg.scope !== undefined && principal.packageScopes.includes(pkg.scope.toLowerCase());
}

export default staticToken;
