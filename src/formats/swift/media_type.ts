/**
 * API version negotiation through `Accept` (SE-0292 §3.5):
 * `application/vnd.swift.registry[.v{version}][+{json|zip|swift}]`.
 *
 * @module
 */
import { BadRequestError, UnsupportedMediaTypeError } from "../../errors.ts";

const REGISTRY_TYPE = /^application\/vnd\.swift\.registry(?<rest>.*)$/i;
const VERSIONED = /^(?:\.v(?<version>[^+]*))?(?:\+(?<suffix>[^+]*))?$/i;
const SUFFIXES = new Set(["json", "zip", "swift"]);

/**
 * Checks every registry media type in an `Accept` header. No header, other
 * media types, and `application/vnd.swift.registry[.v1][+json|zip|swift]` pass.
 *
 * @throws {UnsupportedMediaTypeError} for a well-formed but unsupported version (e.g. `.v2`).
 * @throws {BadRequestError} for a malformed registry media type.
 */
export function checkAcceptHeader(accept: string | undefined): void {
  if (accept === undefined) return;
  for (const range of accept.split(",")) {
    const type = range.split(";")[0].trim();
    const registry = REGISTRY_TYPE.exec(type);
    if (!registry) continue;
    const parts = VERSIONED.exec(registry.groups!.rest);
    const version = parts?.groups?.version;
    const suffix = parts?.groups?.suffix;
    if (!parts || (suffix !== undefined && !SUFFIXES.has(suffix.toLowerCase()))) {
      throw new BadRequestError(
        `invalid registry media type "${type}": expected application/vnd.swift.registry.v1+json`,
      );
    }
    if (version === undefined || version === "1") continue;
    if (/^(0|[1-9]\d*)$/.test(version)) {
      throw new UnsupportedMediaTypeError(`unsupported API version ${version}: this registry speaks version 1`);
    }
    throw new BadRequestError(`invalid API version "${version}" in "${type}"`);
  }
}
