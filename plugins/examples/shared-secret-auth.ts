/**
 * Example auth provider: trusts requests that carry a shared secret in a
 * header (e.g. set by a CI system or a reverse proxy), as a named principal
 * allowed to read and publish.
 *
 * Options: `{ "header": "X-Registry-Secret", "secret": "...", "principal": "ci" }`.
 *
 * @module
 */
import type { PluginFactory } from "../types.ts";

interface Options {
  header?: string;
  secret: string;
  principal?: string;
}

const factory: PluginFactory<Options> = ({ options }) => {
  if (typeof options.secret !== "string" || options.secret.length < 16) {
    throw new Error("options.secret must be a string of at least 16 characters");
  }
  const header = options.header ?? "X-Registry-Secret";
  const principal = options.principal ?? "shared-secret";
  // Compare digests, so the comparison takes the same time whatever the input.
  const digest = async (text: string) =>
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  const expected = digest(options.secret);
  return {
    name: "shared-secret-auth",
    auth: {
      // Never denies a read, so public reads need not consult it.
      restrictsReads: false,
      async authenticate(request) {
        const presented = request.headers.get(header);
        if (presented === null) return "abstain";
        const [a, b] = [await digest(presented), await expected];
        let difference = 0;
        for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
        return difference === 0 ? { principal: { id: principal } } : { reject: `wrong ${header}` };
      },
      authorize(who, action) {
        if (who?.provider !== "shared-secret-auth") return "abstain";
        return action === "admin" ? "deny" : "allow";
      },
    },
  };
};

export default factory;
