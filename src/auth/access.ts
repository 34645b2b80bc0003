/**
 * The two access checks every format's routes make, so each format asks the
 * auth chain the same way.
 *
 * @module
 */
import type { PackageRef } from "../core/package.ts";
import { ForbiddenError, MethodNotAllowedError, UnauthorizedError } from "../errors.ts";
import { PluginFailureError } from "../plugins/hooks.ts";
import type { Action, Authenticator, Principal } from "./auth.ts";

/**
 * Allows a read of `ref` (or of the registry) or throws. Credentials that do
 * not authenticate, and providers that fail (an unreachable upstream), count
 * as anonymous here: clients send stored credentials with every request, and
 * a stale token must not block public reads. When reads are public
 * ({@link Authenticator.publicReads}) nobody is asked and the caller is
 * anonymous.
 *
 * @throws {UnauthorizedError} / {ForbiddenError} when the caller may not read.
 */
export async function authorizeRead(
  auth: Authenticator,
  request: Request,
  ref?: PackageRef,
): Promise<Principal | null> {
  if (auth.publicReads) return null;
  const principal = await auth.authenticate(request).catch((error) => {
    if (error instanceof UnauthorizedError || error instanceof PluginFailureError) return null;
    throw error;
  });
  await auth.authorize(principal, "read", ref);
  return principal;
}

/**
 * Whether `principal` may read `ref`: what a listing (an index, search
 * results, counts) asks of each package it would show, so it shows nothing a
 * provider hides. Always true when reads are public. A provider that fails
 * hides the package (a listing fails closed).
 */
export async function mayRead(auth: Authenticator, principal: Principal | null, ref: PackageRef): Promise<boolean> {
  if (auth.publicReads) return true;
  try {
    await auth.authorize(principal, "read", ref);
    return true;
  } catch (error) {
    if (error instanceof UnauthorizedError || error instanceof ForbiddenError || error instanceof PluginFailureError) {
      return false;
    }
    throw error;
  }
}

/**
 * The caller, allowed `action` (publish, admin) on `ref` (or in general).
 *
 * @throws {UnauthorizedError} when the credentials are missing or invalid.
 * @throws {ForbiddenError} when the caller may not perform the action.
 */
export async function authorizeAction(
  auth: Authenticator,
  request: Request,
  action: Exclude<Action, "read">,
  ref?: PackageRef,
): Promise<Principal> {
  const principal = await auth.authenticate(request);
  await auth.authorize(principal, action, ref);
  return principal!;
}

/**
 * Refuses writes (405, `Allow: GET, HEAD`) when nothing can authenticate a
 * writer: no REGISTRY_ADMIN_TOKEN and no auth plugin. `verb` names the write
 * in the message ("publishing", "uploading").
 *
 * @throws {MethodNotAllowedError}
 */
export function requireWritable(auth: Authenticator, verb = "publishing"): void {
  if (!auth.acceptsCredentials) {
    throw new MethodNotAllowedError(
      `${verb} isn't supported: the registry operator has not configured REGISTRY_ADMIN_TOKEN or an auth plugin`,
      "GET, HEAD",
    );
  }
}
