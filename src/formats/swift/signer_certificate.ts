/**
 * The signer's certificate, checked as SwiftPM's verifier policies check it
 * (`_CodeSigningPolicy` and swift-certificates' `RFC5280Policy`): the
 * code-signing extended key usage, validity at the signing time, a chain whose
 * issuers are certificate authorities within their path lengths, no critical
 * extension that no policy handles and, when trusted roots are configured, a
 * chain that ends at one of them. Without roots, the chain the signature
 * carries must hold together, and the signer is recorded as it is.
 *
 * @module
 */
import type * as pkijs from "pkijs";
import { SignatureRefusedError } from "../../errors.ts";
import { type CmsSignature, derOf, equalBytes, fingerprintOf, issuedBy } from "./cms.ts";

/** Who signed a release, as stored with it and shown in its metadata. */
export interface SignerRecord {
  /** Subject common name (CN). */
  commonName?: string;
  /** Subject organizational unit (OU), part of SwiftPM's signing entity. */
  organizationalUnit?: string;
  /** Subject organization (O). */
  organization?: string;
  /** Lowercase hex SHA-256 of the signer certificate (DER). */
  certificateSha256: string;
  /** SHA-256 of the trusted root the chain reached, when roots are configured. */
  trustedRootSha256?: string;
}

/** How a signer is named to people: its subject's CN, OU and O. */
export function signerName(signer: SignerRecord): string {
  return [signer.commonName, signer.organizationalUnit, signer.organization].filter((n) => n).join(", ") ||
    "a certificate without a subject name";
}

/** What the certificate is checked against. */
export interface CertificatePolicy {
  /** Roots the chain must reach (`REGISTRY_SWIFT_TRUSTED_ROOTS`); empty: any chain that holds together. */
  trustedRoots: readonly pkijs.Certificate[];
  /** The time a signature without a signing-time attribute is checked at. */
  now: Date;
}

const OID = {
  basicConstraints: "2.5.29.19",
  extendedKeyUsage: "2.5.29.37",
  codeSigning: "1.3.6.1.5.5.7.3.3",
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  organizationalUnit: "2.5.4.11",
};

/** Critical extensions SwiftPM's policies handle; a certificate with any other critical extension is refused. */
const HANDLED_CRITICAL_EXTENSIONS = new Set([
  OID.basicConstraints,
  "2.5.29.30", // nameConstraints
  "2.5.29.15", // keyUsage
  OID.extendedKeyUsage,
  "1.2.840.113635.100.6.1.35", // Apple Developer Program markers
  "1.2.840.113635.100.6.1.2",
  "1.2.840.113635.100.6.1.12",
]);

/** How far a signing time may lie ahead of the server's clock. */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** Longest chain searched for (leaf and root included). */
const MAX_CHAIN_LENGTH = 8;

/**
 * Checks the certificate of a verified signature; `label` names the
 * signature in errors.
 *
 * @throws {SignatureRefusedError} naming the failed check.
 */
export async function checkSignerCertificate(
  signature: CmsSignature,
  policy: CertificatePolicy,
  label: string,
): Promise<SignerRecord> {
  const { signer } = signature;
  const at = signature.signingTime ?? policy.now;
  if (at.getTime() > policy.now.getTime() + MAX_CLOCK_SKEW_MS) {
    throw new SignatureRefusedError(
      "signing-time",
      `${label}: its signing time ${at.toISOString()} is in the future`,
    );
  }
  const usages = signer.extensions?.find((e) => e.extnID === OID.extendedKeyUsage)?.parsedValue as
    | pkijs.ExtKeyUsage
    | undefined;
  if (!usages?.keyPurposes?.includes(OID.codeSigning)) {
    throw new SignatureRefusedError(
      "certificate-usage",
      `${label}: the signer certificate (${describe(signer)}) lacks the code-signing extended key usage`,
    );
  }
  const chain = policy.trustedRoots.length > 0
    ? await chainToRoot(signature, policy.trustedRoots, label)
    : await carriedChain(signature, label);
  for (const certificate of chain) {
    const notBefore = certificate.notBefore.value;
    const notAfter = certificate.notAfter.value;
    if (at < notBefore || at > notAfter) {
      const which = certificate === signer
        ? "the signer certificate"
        : `the issuing certificate (${describe(certificate)})`;
      throw new SignatureRefusedError(
        "certificate-validity",
        `${label}: ${which} is valid from ${notBefore.toISOString()} to ${notAfter.toISOString()}, ` +
          `not at ${signature.signingTime ? "its signing time" : "the time of publishing"} ${at.toISOString()}`,
      );
    }
  }
  checkChainPolicy(chain, policy.trustedRoots.length > 0, label);
  const subject = (oid: string) => nameField(signer.subject, oid);
  const commonName = subject(OID.commonName);
  const organizationalUnit = subject(OID.organizationalUnit);
  const organization = subject(OID.organization);
  return {
    ...(commonName !== undefined ? { commonName } : {}),
    ...(organizationalUnit !== undefined ? { organizationalUnit } : {}),
    ...(organization !== undefined ? { organization } : {}),
    certificateSha256: fingerprintOf(signer),
    ...(policy.trustedRoots.length > 0 ? { trustedRootSha256: fingerprintOf(chain.at(-1)!) } : {}),
  };
}

/** A certificate's subject as `CN=…, O=…` for messages. */
function describe(certificate: pkijs.Certificate): string {
  return describeName(certificate.subject);
}

/** From the signer up to a trusted root, through the signature's certificates and the roots. */
async function chainToRoot(
  signature: CmsSignature,
  roots: readonly pkijs.Certificate[],
  label: string,
): Promise<pkijs.Certificate[]> {
  const rootDers = roots.map(derOf);
  const isRoot = (c: pkijs.Certificate) => {
    const der = derOf(c);
    return rootDers.some((r) => equalBytes(r, der));
  };
  const candidates = [...roots, ...signature.certificates];
  const search = async (path: pkijs.Certificate[]): Promise<pkijs.Certificate[] | null> => {
    const current = path.at(-1)!;
    if (isRoot(current)) return path;
    if (path.length >= MAX_CHAIN_LENGTH) return null;
    for (const issuer of candidates) {
      if (path.includes(issuer) || !issuer.subject.isEqual(current.issuer)) continue;
      if (!await issuedBy(current, issuer)) continue;
      const found = await search([...path, issuer]);
      if (found !== null) return found;
    }
    return null;
  };
  const chain = await search([signature.signer]);
  if (chain === null) {
    throw new SignatureRefusedError(
      "trusted-root",
      `${label}: the signer certificate (${describe(signature.signer)}, issued by ${
        describeName(signature.signer.issuer)
      }) does not chain to a root in REGISTRY_SWIFT_TRUSTED_ROOTS`,
    );
  }
  return chain;
}

/** From the signer up through the certificates the signature carries, as far as they go. */
async function carriedChain(signature: CmsSignature, label: string): Promise<pkijs.Certificate[]> {
  const chain = [signature.signer];
  while (chain.length < MAX_CHAIN_LENGTH) {
    const current = chain.at(-1)!;
    if (current.subject.isEqual(current.issuer)) break; // self-issued: the top
    const named = signature.certificates.filter((c) => !chain.includes(c) && c.subject.isEqual(current.issuer));
    if (named.length === 0) break; // the issuer is not included: the chain stops here
    let issuer: pkijs.Certificate | undefined;
    for (const candidate of named) if (await issuedBy(current, candidate)) issuer = issuer ?? candidate;
    if (issuer === undefined) {
      throw new SignatureRefusedError(
        "certificate-chain",
        `${label}: ${describe(current)} is not signed by the key of its issuer ${describeName(current.issuer)}`,
      );
    }
    chain.push(issuer);
  }
  return chain;
}

/** RFC 5280 basic constraints and path lengths, version rules and critical extensions, as swift-certificates checks them. */
function checkChainPolicy(chain: pkijs.Certificate[], anchored: boolean, label: string): void {
  const refuse = (why: string) => new SignatureRefusedError("certificate-chain", `${label}: ${why}`);
  for (const certificate of chain) {
    if (certificate.version === 0 && (certificate.extensions?.length ?? 0) > 0) {
      throw refuse(`${describe(certificate)} is a version 1 certificate with extensions`);
    }
    const unhandled = certificate.extensions?.find((e) => e.critical && !HANDLED_CRITICAL_EXTENSIONS.has(e.extnID));
    if (unhandled !== undefined) {
      throw refuse(`${describe(certificate)} has a critical extension SwiftPM does not handle (${unhandled.extnID})`);
    }
  }
  const constraints = (c: pkijs.Certificate) =>
    c.extensions?.find((e) => e.extnID === OID.basicConstraints)?.parsedValue as pkijs.BasicConstraints | undefined;
  // A trusted root presented as the signer itself must be a CA.
  if (anchored && chain.length === 1 && chain[0].version !== 0 && !constraints(chain[0])?.cA) {
    throw refuse(`the self-signed signer certificate ${describe(chain[0])} is not marked as a CA`);
  }
  let subCaCount = 0;
  for (const issuer of chain.slice(1)) {
    if (issuer.version !== 0) {
      const basic = constraints(issuer);
      if (!basic?.cA) throw refuse(`${describe(issuer)} issues a certificate but is not marked as a CA`);
      const pathLength = basic.pathLenConstraint;
      const limit = typeof pathLength === "number" ? pathLength : pathLength?.valueBlock.valueDec;
      if (limit !== undefined && limit < subCaCount) {
        throw refuse(`${describe(issuer)} allows ${limit} intermediate CAs below it, the chain has ${subCaCount}`);
      }
    }
    if (!issuer.subject.isEqual(issuer.issuer)) subCaCount++;
  }
}

function nameField(name: pkijs.RelativeDistinguishedNames, oid: string): string | undefined {
  const entry = name.typesAndValues.find((t) => t.type === oid);
  return entry === undefined ? undefined : valueOf(entry.value);
}

function describeName(name: pkijs.RelativeDistinguishedNames): string {
  return name.typesAndValues.map((t) => `${shortName(t.type)}=${valueOf(t.value) ?? "?"}`).join(", ") ||
    "an empty name";
}

function valueOf(value: unknown): string | undefined {
  const text = (value as { valueBlock?: { value?: unknown } })?.valueBlock?.value;
  return typeof text === "string" ? text : undefined;
}

function shortName(oid: string): string {
  return { [OID.commonName]: "CN", [OID.organization]: "O", [OID.organizationalUnit]: "OU", "2.5.4.6": "C" }[oid] ??
    oid;
}
