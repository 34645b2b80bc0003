/**
 * Signer continuity: once a package has a signed release, each later release
 * must be signed by the same entity (subject common name, organizational unit
 * and organization, as SwiftPM's signing-entity TOFU compares them), unless an
 * admin allowed one change for the package. SwiftPM checks this on each
 * client after the first download; here the registry refuses the release, so
 * no client ever sees it.
 *
 * @module
 */
import type { Publisher } from "../../core/publisher.ts";
import { ConflictError, NotFoundError, SignerChangeError } from "../../errors.ts";
import type { Logger } from "../../log.ts";
import { packageId, type PackageRef } from "./identity.ts";
import { checkedReason } from "./moderation.ts";
import { type PackageIndex, type PackageSigning, type SignerEntity, wholeSecondIso } from "./release.ts";
import type { SignerRecord } from "./signer_certificate.ts";

/** The entity of a signer. */
function entityOf(signer: SignerRecord): SignerEntity {
  return {
    commonName: signer.commonName ?? null,
    organizationalUnit: signer.organizationalUnit ?? null,
    organization: signer.organization ?? null,
  };
}

/**
 * The package's signing state after a release signed by `signer` (undefined:
 * unsigned) joins it, or `undefined` when the package has never been signed
 * and stays so. A change of signer uses the pending allowance.
 *
 * @throws {SignerChangeError} when the signer changes and no admin allowed it.
 */
export function nextSigning(
  pkg: PackageIndex | null,
  ref: PackageRef,
  version: string,
  signer: SignerRecord | undefined,
): PackageSigning | undefined {
  const current = pkg?.signing;
  const entity = signer === undefined ? null : entityOf(signer);
  if (current === undefined) return entity === null ? undefined : { expected: entity, allowances: [] };
  if (sameEntity(current.expected, entity)) return current;
  if (current.expected === null) return { ...current, expected: entity }; // signing again after an allowed pause
  const pending = current.allowances.findIndex((a) => a.usedBy === undefined);
  if (pending === -1) {
    const now = entity === null ? "is not signed" : `is signed by ${describeEntity(entity)}`;
    throw new SignerChangeError(
      `release ${version} of ${packageId(ref)} ${now}, but the package's releases are signed by ` +
        `${describeEntity(current.expected)}; an admin can allow the change ` +
        `(POST /swift/-/signer-change/${ref.scope}/${ref.name}, or main.ts allow-signer-change ${packageId(ref)})`,
    );
  }
  return {
    expected: entity,
    allowances: current.allowances.map((a, i) => i === pending ? { ...a, usedBy: version } : a),
  };
}

/** `CN=…, OU=…, O=…` of an entity, for messages. */
function describeEntity(entity: SignerEntity): string {
  const parts = [["CN", entity.commonName], ["OU", entity.organizationalUnit], ["O", entity.organization]]
    .filter(([, value]) => value !== null)
    .map(([key, value]) => `${key}=${value}`);
  return `"${parts.join(", ") || "an empty subject"}"`;
}

function sameEntity(a: SignerEntity | null, b: SignerEntity | null): boolean {
  if (a === null || b === null) return a === b;
  return a.commonName === b.commonName && a.organizationalUnit === b.organizationalUnit &&
    a.organization === b.organization;
}

/** What the admin endpoint and the CLI show of a package's signing. */
export interface SigningState {
  id: string;
  /** Who signs the next release (null: unsigned releases are accepted); absent when never signed. */
  expected?: SignerEntity | null;
  allowances: PackageSigning["allowances"];
  /** The signer of each signed release. */
  signers: Record<string, SignerRecord>;
}

/** Dependencies of {@link SignerContinuity}. */
export interface SignerContinuityOptions {
  publisher: Publisher;
  logger: Logger;
  clock: () => Date;
}

/** The admin side of signer continuity: show it, and allow a package's next release another signer. */
export class SignerContinuity {
  readonly #options: SignerContinuityOptions;

  constructor(options: SignerContinuityOptions) {
    this.#options = options;
  }

  /**
   * The package's signing state.
   *
   * @throws {NotFoundError} when the package does not exist.
   */
  async state(ref: PackageRef): Promise<SigningState> {
    const pkg = await this.#options.publisher.read<PackageIndex>(ref);
    if (pkg === null) throw new NotFoundError(`package ${packageId(ref)} not found`);
    return stateOf(pkg);
  }

  /**
   * Lets the package's next release be signed by another entity, or not at
   * all (one change; asking again while it is unused changes nothing).
   *
   * @throws {NotFoundError} when the package does not exist.
   * @throws {ConflictError} when it has never had a signed release.
   * @throws {BadRequestError} for a missing or overlong reason.
   */
  async allowChange(ref: PackageRef, by: string, reason: string): Promise<SigningState> {
    const trimmed = checkedReason(reason);
    const at = wholeSecondIso(this.#options.clock());
    const pkg = await this.#options.publisher.update<PackageIndex>(ref, (current) => {
      if (current === null) throw new NotFoundError(`package ${packageId(ref)} not found`);
      if (current.signing === undefined) {
        throw new ConflictError(`package ${packageId(ref)} has no signed release: there is no signer to change`);
      }
      if (current.signing.allowances.some((a) => a.usedBy === undefined)) return undefined;
      const allowances = [...current.signing.allowances, { at, by, reason: trimmed }];
      return { ...current, signing: { ...current.signing, allowances } };
    });
    this.#options.logger.log("info", "signer change allowed", { package: packageId(pkg), by, reason: trimmed });
    return stateOf(pkg);
  }
}

function stateOf(pkg: PackageIndex): SigningState {
  const signers = Object.fromEntries(
    Object.values(pkg.releases).flatMap((r) => r.signer === undefined ? [] : [[r.version, r.signer]]),
  );
  return {
    id: packageId(pkg),
    ...(pkg.signing ? { expected: pkg.signing.expected } : {}),
    allowances: pkg.signing?.allowances ?? [],
    signers,
  };
}
