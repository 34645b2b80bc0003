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
 * Checks the media ranges of an `Accept` header. It passes when there is no
 * header, or any range is a non-registry type or
 * `application/vnd.swift.registry[.v1][+json|zip|swift]`; otherwise an
 * unsupported version wins over a malformed range.
 *
 * @throws {UnsupportedMediaTypeError} for a well-formed but unsupported version (e.g. `.v2`).
 * @throws {BadRequestError} for a malformed registry media type.
 */
export function checkAcceptHeader(accept: string | undefined): void {
  if (accept === undefined) return;
  let refusal: Error | undefined;
  for (const range of accept.split(",")) {
    const type = range.split(";")[0].trim();
    const registry = REGISTRY_TYPE.exec(type);
    if (!registry) return; // another media type (e.g. */*): served as JSON
    const parts = VERSIONED.exec(registry.groups!.rest);
    const version = parts?.groups?.version;
    const suffix = parts?.groups?.suffix;
    if (!parts || (suffix !== undefined && !SUFFIXES.has(suffix.toLowerCase()))) {
      refusal ??= new BadRequestError(
        `invalid registry media type "${type}": expected application/vnd.swift.registry.v1+json`,
      );
    } else if (version === undefined || version === "1") {
      return; // a version this registry speaks
    } else if (/^(0|[1-9]\d*)$/.test(version)) {
      refusal = new UnsupportedMediaTypeError(`unsupported API version ${version}: this registry speaks version 1`);
    } else {
      refusal ??= new BadRequestError(`invalid API version "${version}" in "${type}"`);
    }
  }
  if (refusal) throw refusal;
}
