/**
 * Real `cms-1.0.0` signatures for tests, made with the machine's `openssl`
 * the way platform.md says SwiftPM accepts them (`openssl cms -sign -binary
 * -nosmimecap -outform DER -md sha256`, EC P-256 keys), and signed release
 * parts: manifests with SwiftPM's signature line, the archive, the metadata.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { buildZip, type TestEntry } from "./archives.ts";

/** A key and its certificate on disk. */
export interface TestIdentity {
  certPath: string;
  keyPath: string;
  /** The issuing CA's certificate, to carry in signatures (absent when self-signed). */
  issuerPath?: string;
}

/** Options of {@link TestPki.identity}. */
export interface IdentityOptions {
  commonName: string;
  organization?: string;
  /** Adds `extendedKeyUsage=codeSigning` (default true). */
  codeSigning?: boolean;
  /** Days of validity from now (default 30). */
  days?: number;
  /** RSA key of this many bits in place of EC P-256. */
  rsaBits?: number;
}

/** A throw-away CA in a temporary directory, with identities it issues. */
export class TestPki implements AsyncDisposable {
  readonly dir: string;
  readonly name: string;
  #count = 0;

  private constructor(dir: string, name: string) {
    this.dir = dir;
    this.name = name;
  }

  /** A new root CA called `name`. */
  static async create(name = "Test Root"): Promise<TestPki> {
    const dir = await Deno.makeTempDir({ prefix: "registry-pki-" });
    const pki = new TestPki(dir, name);
    await openssl(dir, [
      "req",
      "-x509",
      ...EC_KEY,
      "-keyout",
      "root.key",
      "-out",
      "root.pem",
      "-days",
      "60",
      "-subj",
      `/CN=${name}`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign",
    ]);
    return pki;
  }

  /** The root certificate (PEM). */
  get rootPath(): string {
    return `${this.dir}/root.pem`;
  }

  /** A leaf identity issued by this CA. */
  async identity(options: IdentityOptions): Promise<TestIdentity> {
    const id = `id${++this.#count}`;
    const subject = `/CN=${options.commonName}${options.organization ? `/O=${options.organization}` : ""}`;
    const key = options.rsaBits ? ["-newkey", `rsa:${options.rsaBits}`, "-nodes"] : EC_KEY;
    await openssl(this.dir, ["req", ...key, "-keyout", `${id}.key`, "-out", `${id}.csr`, "-subj", subject]);
    const extensions = [
      "basicConstraints=CA:FALSE",
      "keyUsage=critical,digitalSignature",
      ...(options.codeSigning === false ? [] : ["extendedKeyUsage=codeSigning"]),
    ];
    await Deno.writeTextFile(`${this.dir}/${id}.ext`, extensions.join("\n") + "\n");
    await openssl(this.dir, [
      "x509",
      "-req",
      "-in",
      `${id}.csr`,
      "-CA",
      "root.pem",
      "-CAkey",
      "root.key",
      "-CAcreateserial",
      "-out",
      `${id}.pem`,
      "-days",
      String(options.days ?? 30),
      "-extfile",
      `${id}.ext`,
    ]);
    return { certPath: `${this.dir}/${id}.pem`, keyPath: `${this.dir}/${id}.key`, issuerPath: this.rootPath };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Deno.remove(this.dir, { recursive: true });
  }
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

/** Options of {@link cmsSign}. */
export interface SignOptions {
  /** Leave out the signed attributes, as SwiftPM's own signatures do (the certificate is then checked at "now"). */
  noAttributes?: boolean;
}

/** A detached DER CMS signature of `content` by `identity` (with its issuer's certificate included). */
export async function cmsSign(
  identity: TestIdentity,
  content: Uint8Array | string,
  options: SignOptions = {},
): Promise<Uint8Array<ArrayBuffer>> {
  const dir = await Deno.makeTempDir({ prefix: "registry-sign-" });
  try {
    await Deno.writeFile(`${dir}/content`, typeof content === "string" ? new TextEncoder().encode(content) : content);
    await openssl(dir, [
      "cms",
      "-sign",
      "-binary",
      "-nosmimecap",
      ...(options.noAttributes ? ["-noattr"] : []),
      "-outform",
      "DER",
      "-md",
      "sha256",
      "-in",
      "content",
      "-signer",
      identity.certPath,
      "-inkey",
      identity.keyPath,
      ...(identity.issuerPath ? ["-certfile", identity.issuerPath] : []),
      "-out",
      "signature.der",
    ]);
    return await Deno.readFile(`${dir}/signature.der`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** `manifest` with SwiftPM's signature line appended, signed by `identity`. */
export async function signManifest(
  identity: TestIdentity,
  manifest: string,
  options: SignOptions = {},
): Promise<string> {
  const signature = await cmsSign(identity, manifest, options);
  return `${manifest}\n// signature: cms-1.0.0;${Buffer.from(signature).toString("base64")}`;
}

/** The bytes of a `metadata` part that the multipart helper sends for `json` (it adds a newline). */
export function sentMetadata(json: string): string {
  return `${json}\n`;
}

/** The manifest {@link signedPackage} writes unless told otherwise. */
export const TEST_MANIFEST =
  '// swift-tools-version:5.9\nimport PackageDescription\n\nlet package = Package(name: "Sig")\n';

/** Options of {@link signedPackage}. */
export interface SignedPackageOptions extends SignOptions {
  /** Signs the manifests with this identity in place of the archive's signer. */
  manifestSigner?: TestIdentity;
  /** Leaves `Package.swift` unsigned. */
  unsignedManifest?: boolean;
  /** Alternate manifests (`Package@swift-X.swift` → tools version), signed too. */
  alternates?: Record<string, string>;
  metadata?: unknown;
}

/** Every part of a signed publish, as `swift package-registry publish` makes them. */
export interface SignedParts {
  archive: Uint8Array<ArrayBuffer>;
  archiveSignature: Uint8Array<ArrayBuffer>;
  /** The metadata JSON, to pass as `metadata` to `publish()` (which sends it with a newline). */
  metadata: string;
  metadataSignature: Uint8Array<ArrayBuffer>;
  /** The signed `Package.swift` as stored in the archive. */
  manifest: string;
}

/** A package archive whose manifests carry signature lines, the archive's and the metadata's signatures. */
export async function signedPackage(identity: TestIdentity, options: SignedPackageOptions = {}): Promise<SignedParts> {
  const manifestSigner = options.manifestSigner ?? identity;
  const manifest = options.unsignedManifest
    ? TEST_MANIFEST
    : await signManifest(manifestSigner, TEST_MANIFEST, options);
  const entries: TestEntry[] = [
    { name: "Sig/" },
    { name: "Sig/Package.swift", content: manifest },
    { name: "Sig/Sources/Sig/Sig.swift", content: "public struct Sig {}\n" },
  ];
  for (const [swiftVersion, toolsVersion] of Object.entries(options.alternates ?? {})) {
    const alternate = `// swift-tools-version:${toolsVersion}\nimport PackageDescription\n`;
    entries.push({
      name: `Sig/Package@swift-${swiftVersion}.swift`,
      content: await signManifest(manifestSigner, alternate, options),
    });
  }
  const archive = await buildZip(entries);
  const metadata = JSON.stringify(options.metadata ?? { description: "signed" });
  return {
    archive,
    archiveSignature: await cmsSign(identity, archive, options),
    metadata,
    metadataSignature: await cmsSign(identity, sentMetadata(metadata), options),
    manifest,
  };
}

async function openssl(dir: string, args: string[]): Promise<void> {
  const output = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" }).output();
  if (!output.success) throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(output.stderr)}`);
}
