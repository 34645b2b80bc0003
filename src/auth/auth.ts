/**
 * Authentication and authorization behind one small interface. Today one
 * implementation exists: the operator's admin token. The plugin system turns
 * this into a chain of providers without changing callers.
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { ForbiddenError, UnauthorizedError } from "../errors.ts";
import type { PackageRef } from "../core/identity.ts";

/** What a request may do. */
export type Action = "read" | "publish" | "admin";

/** An authenticated caller. */
export interface Principal {
  /** Stable, non-secret identifier for logs (never the token). */
  id: string;
}

/** Decides who a request is and what it may do. */
export interface Authenticator {
  /** `false` when no credential can ever be valid (login answers 501, publishing is off). */
  readonly acceptsCredentials: boolean;
  /**
   * The caller behind the request's `Authorization` header; `null` when the
   * request carries none.
   *
   * @throws {UnauthorizedError} when credentials are present but invalid.
   */
  authenticate(headers: Headers): Promise<Principal | null>;
  /**
   * Allows `action` or throws.
   *
   * @throws {UnauthorizedError} when the caller is anonymous and must authenticate.
   * @throws {ForbiddenError} when the caller may not perform the action.
   */
  authorize(principal: Principal | null, action: Action, pkg?: PackageRef): Promise<void>;
}

/** The `WWW-Authenticate` challenge sent with 401 responses. */
export const AUTH_CHALLENGE = 'Bearer realm="swift-registry", Basic realm="swift-registry"';

/**
 * The secret a request presents: a Bearer token, or the password of Basic
 * credentials. `null` when there is no `Authorization` header.
 *
 * @throws {UnauthorizedError} for a malformed header.
 */
export function presentedSecret(headers: Headers): string | null {
  const header = headers.get("authorization");
  if (header === null) return null;
  const [scheme, ...rest] = header.trim().split(/\s+/);
  const value = rest.join(" ");
  if (/^bearer$/i.test(scheme) && value) return value;
  if (/^basic$/i.test(scheme) && value) {
    let decoded: string;
    try {
      decoded = new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(atob(value), (c) => c.charCodeAt(0)));
    } catch {
      throw new UnauthorizedError("malformed Basic credentials", AUTH_CHALLENGE);
    }
    const colon = decoded.indexOf(":");
    if (colon >= 0 && colon < decoded.length - 1) return decoded.slice(colon + 1);
  }
  throw new UnauthorizedError("unsupported or malformed Authorization header (use Bearer <token>)", AUTH_CHALLENGE);
}

/** SHA-256 of a token: the only form in which tokens are kept. */
export function hashToken(token: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(token).digest());
}

/** Compares two token hashes in constant time. */
export function tokenHashesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Public reads; publishing and admin for the holder of the operator's admin
 * token (given as its SHA-256). Without a token, nobody can authenticate.
 */
export function createAdminTokenAuthenticator(adminTokenSha256: Uint8Array | undefined): Authenticator {
  return {
    acceptsCredentials: adminTokenSha256 !== undefined,
    authenticate(headers) {
      const secret = presentedSecret(headers);
      if (secret === null) return Promise.resolve(null);
      if (adminTokenSha256 !== undefined && tokenHashesEqual(hashToken(secret), adminTokenSha256)) {
        return Promise.resolve({ id: "admin" });
      }
      return Promise.reject(new UnauthorizedError("invalid credentials", AUTH_CHALLENGE));
    },
    authorize(principal, action) {
      if (action === "read" || principal?.id === "admin") return Promise.resolve();
      if (principal === null) {
        return Promise.reject(new UnauthorizedError(`authentication is required to ${action}`, AUTH_CHALLENGE));
      }
      return Promise.reject(new ForbiddenError(`${principal.id} may not ${action}`));
    },
  };
}
