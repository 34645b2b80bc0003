/**
 * Package identity: scope and name as SE-0292 defines them, matched
 * case-insensitively.
 *
 * @module
 */
import type { PackageRef as CoreRef } from "../../core/package.ts";
import { BadRequestError } from "../../errors.ts";

const SCOPE = /^[a-zA-Z0-9](?:[a-zA-Z0-9]|-(?=[a-zA-Z0-9])){0,38}$/;
const NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9]|[-_](?=[a-zA-Z0-9])){0,99}$/;

/** A validated Swift package reference. `scope`/`name` keep the caller's case; `key` is lower-cased. */
export interface PackageRef extends CoreRef {
  format: "swift";
  scope: string;
  /** `scope/name` lower-cased: the identity used for storage and comparison. */
  key: string;
}

/** True when `scope` follows the spec's scope rules (39 chars, alphanumerics and single inner hyphens). */
export function isValidScope(scope: string): boolean {
  return SCOPE.test(scope);
}

/** True when `name` follows the spec's name rules (100 chars, alphanumerics and single inner `-`/`_`). */
export function isValidName(name: string): boolean {
  return NAME.test(name);
}

/**
 * Validates a scope and name from a request.
 *
 * @throws {BadRequestError} when either breaks the spec's rules.
 * @example
 * packageRef("Mona", "LinkedList").key; // "mona/linkedlist"
 */
export function packageRef(scope: string, name: string): PackageRef {
  if (!isValidScope(scope)) {
    throw new BadRequestError(
      `invalid scope "${scope}": use 1-39 letters, digits or single inner hyphens`,
    );
  }
  if (!isValidName(name)) {
    throw new BadRequestError(
      `invalid package name "${name}": use 1-100 letters, digits or single inner hyphens or underscores`,
    );
  }
  return { format: "swift", scope, name, key: `${scope}/${name}`.toLowerCase(), id: `${scope}.${name}` };
}

/** The package identifier `scope.name`. */
export function packageId(ref: { scope: string; name: string }): string {
  return `${ref.scope}.${ref.name}`;
}
