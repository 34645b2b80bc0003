/**
 * `cms-1.0.0` signatures checked the way SwiftPM checks them (swift-certificates'
 * `CMS.isValidSignature`): a DER CMS SignedData with exactly one signer, the
 * content detached, a signature algorithm SwiftPM knows with its matching
 * digest, the signer's certificate inside the signature, and a signature that
 * verifies over the content (or over the signed attributes, whose message
 * digest must match the content). Parsing is pkijs's; the cryptography is the
 * runtime's, fed in chunks, so an archive is never held in memory.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash, createPublicKey, createVerify, type KeyObject } from "node:crypto";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { SignatureRefusedError } from "../../errors.ts";

/** What was signed: bytes in memory, or a file read in chunks. */
export type SignedContent = Uint8Array | { path: string };

/** A signature that verified over its content. */
export interface CmsSignature {
  /** The certificate whose key made the signature. */
  signer: pkijs.Certificate;
  /** Every certificate the signature carries (the signer's included). */
  certificates: pkijs.Certificate[];
  /** The signing-time signed attribute, when the signature has one (SwiftPM's own have none). */
  signingTime?: Date;
}

/** A signature algorithm swift-certificates verifies, with the digest it implies. */
interface SignatureAlgorithm {
  hash: "sha256" | "sha384" | "sha512";
  key: "ec" | "rsa";
  /** Explicit NULL parameters are allowed (RSA); ECDSA must have none. */
  nullParameters: boolean;
}

const SIGNATURE_ALGORITHMS: Record<string, SignatureAlgorithm> = {
  "1.2.840.10045.4.3.2": { hash: "sha256", key: "ec", nullParameters: false }, // ecdsa-with-SHA256
  "1.2.840.10045.4.3.3": { hash: "sha384", key: "ec", nullParameters: false },
  "1.2.840.10045.4.3.4": { hash: "sha512", key: "ec", nullParameters: false },
  "1.2.840.113549.1.1.11": { hash: "sha256", key: "rsa", nullParameters: true }, // sha256WithRSAEncryption
  "1.2.840.113549.1.1.12": { hash: "sha384", key: "rsa", nullParameters: true },
  "1.2.840.113549.1.1.13": { hash: "sha512", key: "rsa", nullParameters: true },
};

const DIGEST_ALGORITHMS: Record<SignatureAlgorithm["hash"], string> = {
  sha256: "2.16.840.1.101.3.4.2.1",
  sha384: "2.16.840.1.101.3.4.2.2",
  sha512: "2.16.840.1.101.3.4.2.3",
};

const OID = {
  signedData: "1.2.840.113549.1.7.2",
  data: "1.2.840.113549.1.7.1",
  messageDigest: "1.2.840.113549.1.9.4",
  signingTime: "1.2.840.113549.1.9.5",
  rsaEncryption: "1.2.840.113549.1.1.1",
  subjectKeyIdentifier: "2.5.29.14",
};

/** EC curves accepted for signing keys (the P-256 SwiftPM signs with, and P-384). */
const EC_CURVES = new Set(["prime256v1", "secp384r1"]);

/** The smallest RSA key swift-crypto accepts. */
const MIN_RSA_BITS = 2048;

/**
 * Checks that `signature` is a `cms-1.0.0` signature over `content`; `label`
 * names it in errors (e.g. `source-archive-signature`). Says nothing about
 * the certificate beyond its key: see `signer_certificate.ts`.
 *
 * @throws {SignatureRefusedError} naming the failed check.
 */
export async function verifyCmsSignature(
  signature: Uint8Array,
  content: SignedContent,
  label: string,
): Promise<CmsSignature> {
  const signedData = parseSignedData(signature, label);
  const signerInfo = checkStructure(signedData, label);
  const algorithm = signatureAlgorithm(signedData, signerInfo, label);
  const certificates = (signedData.certificates ?? []).filter((c): c is pkijs.Certificate =>
    c instanceof pkijs.Certificate
  );
  const signer = certificates.find((c) => identifies(signerInfo.sid, c));
  if (signer === undefined) {
    throw new SignatureRefusedError("cms-structure", `${label}: the signer's certificate is not in the signature`);
  }
  const key = signingKey(signer, algorithm, label);
  const signatureBytes = signerInfo.signature.valueBlock.valueHexView;
  let verified: boolean;
  if (signerInfo.signedAttrs !== undefined) {
    const digest = attribute(signerInfo, OID.messageDigest);
    if (!(digest instanceof asn1js.OctetString)) {
      throw new SignatureRefusedError("cms-structure", `${label}: the signed attributes have no message digest`);
    }
    if (!equalBytes(await digestOf(content, algorithm.hash), digest.valueBlock.valueHexView)) {
      throw new SignatureRefusedError(
        "signature",
        `${label} was made over other bytes than the ones uploaded (its message digest does not match)`,
      );
    }
    // The signature covers the DER of the signed attributes as a SET (RFC 5652 §5.4).
    const attributes = new Uint8Array(signerInfo.signedAttrs.encodedValue).slice();
    attributes[0] = 0x31;
    verified = await verifiesOver(algorithm.hash, key, attributes, signatureBytes);
  } else {
    verified = await verifiesOver(algorithm.hash, key, content, signatureBytes);
  }
  if (!verified) {
    throw new SignatureRefusedError(
      "signature",
      `${label} does not verify with its certificate's key over the bytes uploaded`,
    );
  }
  const time = attribute(signerInfo, OID.signingTime);
  const signingTime = time instanceof asn1js.UTCTime || time instanceof asn1js.GeneralizedTime
    ? time.toDate()
    : undefined;
  return { signer, certificates, ...(signingTime ? { signingTime } : {}) };
}

/**
 * Whether `certificate` was signed by `issuer`'s key, with an algorithm
 * swift-certificates verifies.
 */
export async function issuedBy(certificate: pkijs.Certificate, issuer: pkijs.Certificate): Promise<boolean> {
  const algorithm = SIGNATURE_ALGORITHMS[certificate.signatureAlgorithm.algorithmId];
  if (algorithm === undefined) return false;
  try {
    const key = publicKeyOf(issuer);
    if (key.asymmetricKeyType !== algorithm.key) return false;
    return await verifiesOver(
      algorithm.hash,
      key,
      certificate.tbsView,
      certificate.signatureValue.valueBlock.valueHexView,
    );
  } catch {
    return false;
  }
}

/** Lowercase hex SHA-256 of a certificate's DER encoding. */
export function fingerprintOf(certificate: pkijs.Certificate): string {
  return createHash("sha256").update(derOf(certificate)).digest("hex");
}

/** A certificate's DER encoding. */
export function derOf(certificate: pkijs.Certificate): Uint8Array {
  return new Uint8Array(certificate.toSchema().toBER());
}

function parseSignedData(signature: Uint8Array, label: string): pkijs.SignedData {
  const malformed = (why: string) =>
    new SignatureRefusedError("cms-structure", `${label} is not a DER CMS SignedData (cms-1.0.0): ${why}`);
  if (signature.byteLength === 0) throw malformed("it is empty");
  let parsed: ReturnType<typeof asn1js.fromBER>;
  try {
    parsed = asn1js.fromBER(signature);
  } catch (error) {
    throw malformed(error instanceof Error ? error.message : String(error));
  }
  if (parsed.offset === -1) throw malformed(parsed.result.error || "it is not ASN.1");
  if (parsed.offset !== signature.byteLength) throw malformed("bytes follow the signature");
  // asn1js reads some wrong lengths leniently; SwiftPM's parser does not. DER encodes every value one way only.
  if (!equalBytes(new Uint8Array(parsed.result.toBER()), signature)) {
    throw malformed("it is not DER (a length or encoding DER does not allow)");
  }
  try {
    const info = new pkijs.ContentInfo({ schema: parsed.result });
    if (info.contentType !== OID.signedData) throw new Error(`its content type is ${info.contentType}`);
    return new pkijs.SignedData({ schema: info.content });
  } catch (error) {
    throw malformed(error instanceof Error ? error.message : String(error));
  }
}

/** One signer, detached content of type id-data, and the versions RFC 5652 allows with them. */
function checkStructure(signedData: pkijs.SignedData, label: string): pkijs.SignerInfo {
  const refuse = (why: string) => new SignatureRefusedError("cms-structure", `${label}: ${why}`);
  if (signedData.signerInfos.length !== 1) {
    throw refuse(`it has ${signedData.signerInfos.length} signers; SwiftPM requires exactly one`);
  }
  if (signedData.encapContentInfo.eContent !== undefined) {
    throw refuse("the signed content is attached; cms-1.0.0 signatures are detached");
  }
  const contentType = signedData.encapContentInfo.eContentType;
  const allowed = signedData.version === 1
    ? contentType === OID.data && signedData.signerInfos.every((s) => s.version === 1)
    : (signedData.version === 3 || signedData.version === 4) && contentType === OID.data;
  if (!allowed) throw refuse(`SignedData version ${signedData.version} with content type ${contentType}`);
  return signedData.signerInfos[0];
}

/** The signer's algorithm, if SwiftPM verifies it, with a matching digest algorithm listed in the SignedData. */
function signatureAlgorithm(
  signedData: pkijs.SignedData,
  signerInfo: pkijs.SignerInfo,
  label: string,
): SignatureAlgorithm {
  const refuse = (why: string) => new SignatureRefusedError("signature-algorithm", `${label}: ${why}`);
  const oid = signerInfo.signatureAlgorithm.algorithmId;
  if (oid === OID.rsaEncryption) {
    throw refuse(
      "the signature algorithm is labelled rsaEncryption (as openssl writes it), which SwiftPM refuses " +
        "(unsupportedSignatureAlgorithm); sign with swift package-registry publish, or with an EC P-256 key",
    );
  }
  const algorithm = SIGNATURE_ALGORITHMS[oid];
  if (algorithm === undefined) {
    throw refuse(`signature algorithm ${oid} is not one SwiftPM verifies (ECDSA or RSA with SHA-256/384/512)`);
  }
  const parameters = signerInfo.signatureAlgorithm.algorithmParams;
  if (parameters !== undefined && !(algorithm.nullParameters && parameters instanceof asn1js.Null)) {
    throw refuse(`signature algorithm ${oid} has parameters it must not have`);
  }
  const digest = signerInfo.digestAlgorithm;
  if (digest.algorithmId !== DIGEST_ALGORITHMS[algorithm.hash] || digest.algorithmParams !== undefined) {
    throw refuse(
      `the digest algorithm ${digest.algorithmId} does not match the signature algorithm (${algorithm.hash})`,
    );
  }
  const listed = signedData.digestAlgorithms.some((d) =>
    d.algorithmId === digest.algorithmId && d.algorithmParams === undefined
  );
  if (!listed) throw refuse("the signer's digest algorithm is not listed in the SignedData");
  return algorithm;
}

/** The signer certificate's key, if it suits the algorithm and SwiftPM accepts its size or curve. */
function signingKey(signer: pkijs.Certificate, algorithm: SignatureAlgorithm, label: string): KeyObject {
  const refuse = (why: string) => new SignatureRefusedError("certificate-key", `${label}: ${why}`);
  let key: KeyObject;
  try {
    key = publicKeyOf(signer);
  } catch {
    throw refuse("the signer certificate's public key cannot be read");
  }
  if (key.asymmetricKeyType !== algorithm.key) {
    throw refuse(`a ${algorithm.key.toUpperCase()} signature from a certificate with a ${key.asymmetricKeyType} key`);
  }
  const details = key.asymmetricKeyDetails ?? {};
  if (algorithm.key === "ec" && !EC_CURVES.has(String(details.namedCurve))) {
    throw refuse(`EC keys must be on P-256 or P-384 (got ${details.namedCurve})`);
  }
  if (algorithm.key === "rsa" && (details.modulusLength ?? 0) < MIN_RSA_BITS) {
    throw refuse(`RSA keys must have at least ${MIN_RSA_BITS} bits (got ${details.modulusLength})`);
  }
  return key;
}

function publicKeyOf(certificate: pkijs.Certificate): KeyObject {
  const spki = Buffer.from(certificate.subjectPublicKeyInfo.toSchema().toBER());
  return createPublicKey({ key: spki, format: "der", type: "spki" });
}

/** Whether the signer identifier (issuer and serial number, or subject key identifier) names `certificate`. */
function identifies(sid: unknown, certificate: pkijs.Certificate): boolean {
  if (sid instanceof pkijs.IssuerAndSerialNumber) {
    return certificate.issuer.isEqual(sid.issuer) && certificate.serialNumber.isEqual(sid.serialNumber);
  }
  if (sid instanceof asn1js.Constructed || sid instanceof asn1js.Primitive) {
    const keyId = sid instanceof asn1js.Primitive
      ? sid.valueBlock.valueHexView
      : (sid.valueBlock.value[0] as asn1js.OctetString | undefined)?.valueBlock.valueHexView;
    const extension = certificate.extensions?.find((e) => e.extnID === OID.subjectKeyIdentifier);
    const own = extension?.parsedValue;
    return keyId !== undefined && own instanceof asn1js.OctetString &&
      equalBytes(own.valueBlock.valueHexView, keyId);
  }
  return false;
}

/** The first value of a signed attribute, or `undefined`. */
function attribute(signerInfo: pkijs.SignerInfo, type: string): unknown {
  return signerInfo.signedAttrs?.attributes.find((a) => a.type === type)?.values[0];
}

async function* chunksOf(content: SignedContent): AsyncIterable<Uint8Array> {
  if (content instanceof Uint8Array) {
    yield content;
    return;
  }
  using file = await Deno.open(content.path, { read: true });
  const buffer = new Uint8Array(256 * 1024);
  for (;;) {
    const read = await file.read(buffer);
    if (read === null) return;
    yield buffer.subarray(0, read);
  }
}

async function digestOf(content: SignedContent, hash: SignatureAlgorithm["hash"]): Promise<Uint8Array> {
  const digest = createHash(hash);
  for await (const chunk of chunksOf(content)) digest.update(chunk);
  return new Uint8Array(digest.digest());
}

async function verifiesOver(
  hash: SignatureAlgorithm["hash"],
  key: KeyObject,
  content: SignedContent,
  signature: Uint8Array,
): Promise<boolean> {
  const verifier = createVerify(hash);
  for await (const chunk of chunksOf(content)) verifier.update(chunk);
  try {
    return verifier.verify(key, signature);
  } catch {
    return false; // a signature that is not even well-formed
  }
}

/** Whether two byte arrays hold the same bytes. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i]);
}
