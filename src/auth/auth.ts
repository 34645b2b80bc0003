/**
 * Authentication and authorization behind one small interface. The
 * implementation is the auth chain of plugins (`chain.ts`).
 *
 * @module
 */
import type { PackageRef } from "../core/package.ts";
import type { Action, Principal } from "../../plugins/types.ts";

export type { Action, Principal };

/** Decides who a request is and what it may do. */
export interface Authenticator {
  /** `false` when no credential can ever be valid (login answers 501, publishing is off). */
  readonly acceptsCredentials: boolean;
  /**
   * `true` when every read is allowed whoever asks: reads are not restricted
   * (`REGISTRY_REQUIRE_AUTH_FOR_READ` is off) and no provider restricts or
   * observes them (`AuthProvider.restrictsReads === false`). Reads then skip
   * the chain.
   */
  readonly publicReads: boolean;
  /**
   * `true` when reads are not public but every provider decides from the
   * credentials alone (`AuthProvider.decidesFromCredentials`): a read answered
   * for some credentials may be answered again for the same ones once they
   * authenticate again.
   */
  readonly decidesFromCredentials: boolean;
  /**
   * The caller behind the request's credentials; `null` when the request
   * carries none.
   *
   * @throws {UnauthorizedError} when credentials are present but invalid.
   */
  authenticate(request: Request): Promise<Principal | null>;
  /**
   * Allows `action` or throws.
   *
   * @throws {UnauthorizedError} when the caller is anonymous and must authenticate.
   * @throws {ForbiddenError} when the caller may not perform the action.
   */
  authorize(principal: Principal | null, action: Action, pkg?: PackageRef): Promise<void>;
}
