/**
 * `main.ts token create|list|revoke`: manage the tokens of the built-in
 * token-store auth plugin, in the storage the server uses (disk or S3). Safe
 * beside a running server and beside other token commands: each works in a
 * scratch directory of its own and writes tokens with conditional writes (on
 * S3 without touching the server's disk cache).
 *
 * @module
 */
import { createToken, listTokens, revokeToken } from "../../plugins/token-store.ts";
import type { Action } from "../../plugins/types.ts";
import { type Config, ConfigError, parseDuration } from "../config.ts";
import { silentLogger } from "../log.ts";
import { pluginStorage } from "../plugins/host.ts";
import { DocumentCache } from "../storage/document_cache.ts";
import { openStorage } from "../storage/open_storage.ts";

const SCOPES: readonly Action[] = ["read", "publish", "admin"];

/** Flags of the token commands. */
export interface TokenFlags {
  name?: string;
  scopes?: string;
  packageScopes?: string;
  expires?: string;
}

/** Runs `token <sub> [args]`; returns the exit code. */
export async function runTokenCommand(config: Config, args: string[], flags: TokenFlags): Promise<number> {
  const [sub, ...rest] = args;
  if (!["create", "list", "revoke"].includes(sub)) {
    throw new ConfigError(
      "usage: token create --name N --scopes read,publish[,admin] [--package-scopes a,b] [--expires 90d] | token list | token revoke <id>",
    );
  }
  const storage = await openStorage(config, silentLogger, undefined, { diskCache: false });
  try {
    const tokens = pluginStorage(storage.store, new DocumentCache(storage.store, { maxAgeMs: 0 }), "token-store");
    if (sub === "create") {
      if (!flags.name?.trim()) throw new ConfigError("token create needs --name");
      const scopes = (flags.scopes ?? "read").split(",").map((s) => s.trim()) as Action[];
      if (scopes.some((scope) => !SCOPES.includes(scope))) {
        throw new ConfigError(`--scopes must list ${SCOPES.join(", ")} (comma-separated)`);
      }
      const expiresAt = flags.expires ? new Date(Date.now() + parseExpiry(flags.expires)) : undefined;
      const { token, record } = await createToken(tokens, {
        name: flags.name,
        scopes,
        packageScopes: flags.packageScopes?.split(",").map((s) => s.trim()).filter((s) => s !== ""),
        expiresAt,
      });
      console.log(token);
      console.error(
        `created token ${record.id} "${record.name}" (scopes ${record.scopes.join(",")}` +
          `${record.packageScopes ? `, packages ${record.packageScopes.join(",")}` : ""}` +
          `${record.expiresAt ? `, expires ${record.expiresAt}` : ""}); it is shown once, store it now`,
      );
      return 0;
    }
    if (sub === "list") {
      const records = await listTokens(tokens);
      if (records.length === 0) console.log("no tokens");
      for (const r of records) {
        const state = r.revokedAt ? `revoked ${r.revokedAt}` : r.expiresAt ? `expires ${r.expiresAt}` : "active";
        console.log(
          [r.id, r.name, r.scopes.join(","), r.packageScopes?.join(",") ?? "*", `created ${r.createdAt}`, state].join(
            "\t",
          ),
        );
      }
      return 0;
    }
    const id = rest[0];
    if (!id) throw new ConfigError("token revoke needs the token id (see token list)");
    if (!(await revokeToken(tokens, id))) {
      console.error(`error: no token with id ${id}`);
      return 1;
    }
    console.log(`revoked ${id}`);
    return 0;
  } finally {
    await storage.close();
  }
}

/** `90d`, `12h`, `30m` or a duration `parseDuration` accepts. */
function parseExpiry(raw: string): number {
  const days = /^(\d+)d$/.exec(raw.trim());
  return days ? Number(days[1]) * 86_400_000 : parseDuration(raw, "--expires");
}
