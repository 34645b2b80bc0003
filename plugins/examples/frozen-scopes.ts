/**
 * Example authorization policy: nobody may publish into the listed package
 * scopes (say, scopes mirrored from elsewhere). It decides nothing else, so it
 * abstains on every other question and the rest of the chain answers.
 *
 * Options: `{ "scopes": ["apple", "swiftlang"] }`.
 *
 * @module
 */
import type { PluginFactory } from "../types.ts";

const factory: PluginFactory<{ scopes: string[] }> = ({ options }) => {
  if (!Array.isArray(options.scopes)) throw new Error("options.scopes must be a list of package scopes");
  const frozen = new Set(options.scopes.map((s) => s.toLowerCase()));
  return {
    name: "frozen-scopes",
    auth: {
      // Never denies a read, so public reads need not consult it.
      restrictsReads: false,
      authenticate: () => "abstain",
      authorize(_principal, action, pkg) {
        const scope = pkg?.scope?.toLowerCase();
        return action === "publish" && scope !== undefined && frozen.has(scope) ? "deny" : "abstain";
      },
    },
  };
};

export default factory;
