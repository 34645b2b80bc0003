/**
 * Built-in auth provider "token-store": tokens created by the operator
 * (`main.ts token create|list|revoke`), stored in the registry's storage as
 * SHA-256 hashes, with scopes (read, publish, admin), an optional expiry,
 * revocation, and an optional allow-list of package scopes to publish to.
 *
 * A token looks like `srt_<id>_<secret>`: the id finds the record without a
 * scan, the secret is checked against the stored hash in constant time.
 * Revocations reach every node within the storage's metadata bound.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Action, PluginFactory, PluginStorage } from "./types.ts";
import { digestsEqual, presentedSecret, secretSha256, sha256Hex } from "./credentials.ts";
import { decide } from "./static-token.ts";

/** A stored token (never the token itself). */
export interface TokenRecord {
  id: string;
  name: string;
  sha256: string;
  scopes: Action[];
  packageScopes?: string[];
  createdAt: string;
  expiresAt?: string;
  revokedAt?: string;
}

/** What `createToken` needs. */
export interface NewToken {
  name: string;
  scopes: Action[];
  packageScopes?: string[];
  expiresAt?: Date;
}

const ACTIONS: readonly Action[] = ["read", "publish", "admin"];
const TOKEN = /^srt_([0-9a-f]{16})_[A-Za-z0-9_-]{43}$/;
const recordKey = (id: string) => `tokens/${id}.json`;

/** Creates a token; returns it (shown once, never stored) and its record. */
export async function createToken(
  storage: PluginStorage,
  spec: NewToken,
  now = new Date(),
): Promise<{ token: string; record: TokenRecord }> {
  if (spec.name.trim() === "") throw new Error("a token needs a name");
  if (spec.scopes.length === 0 || !spec.scopes.every((s) => ACTIONS.includes(s))) {
    throw new Error("scopes must list read, publish and/or admin");
  }
  const id = Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString("hex");
  const secret = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
  const token = `srt_${id}_${secret}`;
  const record: TokenRecord = {
    id,
    name: spec.name,
    sha256: sha256Hex(token),
    scopes: [...new Set(spec.scopes)],
    ...(spec.packageScopes?.length ? { packageScopes: spec.packageScopes.map((s) => s.toLowerCase()) } : {}),
    createdAt: now.toISOString(),
    ...(spec.expiresAt ? { expiresAt: spec.expiresAt.toISOString() } : {}),
  };
  await storage.update<TokenRecord>(recordKey(id), (current) => {
    if (current !== null) throw new Error("token id collision; try again");
    return record;
  });
  return { token, record };
}

/** Every stored token record, oldest first. */
export async function listTokens(storage: PluginStorage): Promise<TokenRecord[]> {
  const records: TokenRecord[] = [];
  for (const key of await storage.list("tokens/")) {
    const record = await storage.read<TokenRecord>(key);
    if (record) records.push(record);
  }
  return records.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** Revokes token `id`; `false` when there is no such token. */
export async function revokeToken(storage: PluginStorage, id: string, now = new Date()): Promise<boolean> {
  if (!/^[0-9a-f]{16}$/.test(id)) return false;
  if ((await storage.read<TokenRecord>(recordKey(id))) === null) return false;
  await storage.update<TokenRecord>(recordKey(id), (current) => {
    if (current === null || current.revokedAt) return undefined;
    return { ...current, revokedAt: now.toISOString() };
  });
  return true;
}

const tokenStore: PluginFactory = ({ storage, now: clock }) => {
  const now = () => new Date(clock());
  return {
    name: "token-store",
    auth: {
      // Never denies a read, so public reads need not consult it.
      restrictsReads: false,
      // A token and its scopes decide alone (a revoked token fails its next authentication).
      decidesFromCredentials: true,
      async authenticate(request) {
        const secret = presentedSecret(request);
        const match = typeof secret === "string" ? TOKEN.exec(secret) : null;
        if (match === null) return "abstain";
        const record = await storage.read<TokenRecord>(recordKey(match[1]));
        if (record === null || !digestsEqual(secretSha256(request, secret!), record.sha256)) {
          return { reject: "invalid token" };
        }
        if (record.revokedAt) return { reject: "this token has been revoked" };
        if (record.expiresAt && Date.parse(record.expiresAt) <= now().getTime()) {
          return { reject: "this token has expired" };
        }
        return {
          principal: {
            id: `token:${record.name}(${record.id})`,
            scopes: record.scopes,
            ...(record.packageScopes ? { packageScopes: record.packageScopes } : {}),
          },
        };
      },
      authorize(principal, action, pkg) {
        if (principal?.provider !== "token-store") return "abstain";
        return decide(principal, action, pkg);
      },
    },
  };
};

export default tokenStore;
