/**
 * The signing policy of Swift releases: the scopes that require signed
 * releases (`REGISTRY_SWIFT_REQUIRE_SIGNED`), the roots a signer must chain
 * to (`REGISTRY_SWIFT_TRUSTED_ROOTS`), and the verification of a signed
 * publish before anything is stored: the archive's signature, the metadata's,
 * and the signature line of every manifest, all by one certificate. What
 * SwiftPM would refuse for its users is refused here, at publish.
 *
 * @module
 */
import * as pkijs from "pkijs";
import { SignatureRefusedError } from "../../errors.ts";
import type { ExtractedManifest } from "./archive.ts";
import { type CmsSignature, fingerprintOf, type SignedContent, verifyCmsSignature } from "./cms.ts";
import type { PackageRef } from "./identity.ts";
import { parseManifestSignature } from "./manifest_signature.ts";
import { checkSignerCertificate, type SignerRecord } from "./signer_certificate.ts";

/** The only signature format SwiftPM knows. */
export const SIGNATURE_FORMAT = "cms-1.0.0";

/** The signatures sent with a publish (`X-Swift-Package-Signature-Format` and the signature parts). */
export interface ReleaseSignatures {
  format: string;
  /** `source-archive-signature`. */
  archive: Uint8Array;
  /** `metadata-signature`, sent with a `metadata` part. */
  metadata?: Uint8Array;
}

/** A signed release to verify. */
export interface SignedRelease {
  signatures: ReleaseSignatures;
  /** The staged archive, exactly as uploaded. */
  archivePath: string;
  /** The `metadata` part exactly as uploaded, when there was one. */
  metadata?: Uint8Array;
  manifests: readonly ExtractedManifest[];
}

/** Settings of a {@link SigningPolicy}. */
export interface SigningPolicyOptions {
  /** DER certificates of `REGISTRY_SWIFT_TRUSTED_ROOTS`; empty: any self-contained signature. */
  trustedRoots: readonly Uint8Array<ArrayBuffer>[];
  /** Lower-case scopes whose releases must be signed; `*` stands for every scope. */
  requireSigned: readonly string[];
  now: () => Date;
}

/** Which releases must be signed, and whether a signed one is acceptable. */
export class SigningPolicy {
  readonly #roots: pkijs.Certificate[];
  readonly #requireSigned: ReadonlySet<string>;
  readonly #now: () => Date;

  constructor(options: SigningPolicyOptions) {
    this.#roots = options.trustedRoots.map((der) => pkijs.Certificate.fromBER(der));
    this.#requireSigned = new Set(options.requireSigned);
    this.#now = options.now;
  }

  /** Whether releases in `scope` must be signed. */
  requiresSignature(scope: string): boolean {
    return this.#requireSigned.has("*") || this.#requireSigned.has(scope.toLowerCase());
  }

  /**
   * Refuses an unsigned release where its scope requires signing.
   *
   * @throws {SignatureRefusedError} (`signing-required`).
   */
  checkUnsigned(ref: PackageRef): void {
    if (!this.requiresSignature(ref.scope)) return;
    throw new SignatureRefusedError(
      "signing-required",
      `releases in scope "${ref.scope}" must be signed (REGISTRY_SWIFT_REQUIRE_SIGNED); ` +
        "publish with swift package-registry publish --private-key-path … --cert-chain-paths …",
    );
  }

  /**
   * Verifies every signature of a signed release and returns its signer.
   *
   * @throws {SignatureRefusedError} naming the first failed check.
   */
  async verify(release: SignedRelease): Promise<SignerRecord> {
    const { signatures } = release;
    if (signatures.format !== SIGNATURE_FORMAT) {
      throw new SignatureRefusedError(
        "signature-format",
        `signature format "${signatures.format}" is not one SwiftPM knows (${SIGNATURE_FORMAT})`,
      );
    }
    const checked = async (signature: Uint8Array, content: SignedContent, label: string) => {
      const cms = await verifyCmsSignature(signature, content, label);
      const policy = { trustedRoots: this.#roots, now: this.#now() };
      return { cms, signer: await checkSignerCertificate(cms, policy, label) };
    };
    const archive = await checked(signatures.archive, { path: release.archivePath }, "source-archive-signature");
    const sameSigner = (cms: CmsSignature, label: string) => {
      if (fingerprintOf(cms.signer) === archive.signer.certificateSha256) return;
      throw new SignatureRefusedError(
        "same-signer",
        `${label} is signed with another certificate than the source archive; sign every part with one identity`,
      );
    };
    if (release.metadata !== undefined && signatures.metadata !== undefined) {
      const { cms } = await checked(signatures.metadata, release.metadata, "metadata-signature");
      sameSigner(cms, "metadata-signature");
    }
    for (const manifest of release.manifests) {
      const label = `the signature of ${manifest.filename}`;
      const parsed = parseManifestSignature(manifest.content);
      if (parsed === null || parsed === "malformed" || parsed.format !== SIGNATURE_FORMAT) {
        const found = parsed === null
          ? "has no signature line"
          : parsed === "malformed"
          ? "has a malformed signature line (its signature is not base64, or the file is not UTF-8)"
          : `is signed in format "${parsed.format}"`;
        throw new SignatureRefusedError(
          "manifest-signature",
          `${manifest.filename} ${found}; in a signed release every manifest must end with ` +
            `"// signature: ${SIGNATURE_FORMAT};<base64>" (swift package-registry publish adds it), ` +
            "or SwiftPM refuses the release",
        );
      }
      const { cms } = await checked(parsed.signature, parsed.contents, label);
      sameSigner(cms, label);
    }
    return archive.signer;
  }
}
