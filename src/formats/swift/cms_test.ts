import assert from "node:assert/strict";
import * as pkijs from "pkijs";
import { SignatureRefusedError } from "../../errors.ts";
import { cmsSign, type TestIdentity, TestPki } from "../../../tests/support/signing.ts";
import { verifyCmsSignature } from "./cms.ts";
import { checkSignerCertificate } from "./signer_certificate.ts";

const CONTENT = new TextEncoder().encode("the archive bytes");

/** The check a refusal names, and its message after a colon. */
async function refusal(work: Promise<unknown>): Promise<string> {
  const error = await work.then(() => undefined, (e) => e);
  assert.ok(error instanceof SignatureRefusedError, `expected a refusal, got ${error}`);
  return `${error.check}: ${error.message}`;
}

async function openssl(args: string[]): Promise<Uint8Array<ArrayBuffer>> {
  const output = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" }).output();
  if (!output.success) throw new Error(new TextDecoder().decode(output.stderr));
  return output.stdout;
}

/** A detached signature as SwiftPM writes one for an RSA key: sha256WithRSAEncryption, no signed attributes. */
async function rsaSignature(identity: TestIdentity, content: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const keyDer = await openssl(["pkcs8", "-topk8", "-nocrypt", "-in", identity.keyPath, "-outform", "DER"]);
  const certDer = await openssl(["x509", "-in", identity.certPath, "-outform", "DER"]);
  const key = await crypto.subtle.importKey("pkcs8", keyDer, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const certificate = pkijs.Certificate.fromBER(certDer);
  const signedData = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: "1.2.840.113549.1.7.1" }),
    signerInfos: [
      new pkijs.SignerInfo({
        version: 1,
        sid: new pkijs.IssuerAndSerialNumber({ issuer: certificate.issuer, serialNumber: certificate.serialNumber }),
      }),
    ],
    certificates: [certificate],
  });
  await signedData.sign(key, 0, "SHA-256", content);
  // Digest algorithms without parameters, as swift-certificates writes (and requires) them.
  for (const digest of [...signedData.digestAlgorithms, signedData.signerInfos[0].digestAlgorithm]) {
    delete digest.algorithmParams;
  }
  const info = new pkijs.ContentInfo({ contentType: "1.2.840.113549.1.7.2", content: signedData.toSchema(true) });
  return new Uint8Array(info.toSchema().toBER());
}

Deno.test("an RSA signature labelled sha256WithRSAEncryption is accepted from a 2048-bit key, refused from a 1024-bit one", async () => {
  await using pki = await TestPki.create();
  const strong = await pki.identity({ commonName: "Mona", organization: "Octo", rsaBits: 2048 });
  const signature = await verifyCmsSignature(await rsaSignature(strong, CONTENT), CONTENT, "test");
  const signer = await checkSignerCertificate(signature, { trustedRoots: [], now: new Date() }, "test");
  assert.equal(signer.commonName, "Mona");
  assert.match(
    await refusal(verifyCmsSignature(await rsaSignature(strong, CONTENT), new TextEncoder().encode("other"), "test")),
    /^signature: /,
  );
  const weak = await pki.identity({ commonName: "Mona", rsaBits: 1024 });
  assert.match(
    await refusal(verifyCmsSignature(await rsaSignature(weak, CONTENT), CONTENT, "test")),
    /^certificate-key: .*at least 2048 bits/,
  );
});

Deno.test("a signature with the content attached is refused: cms-1.0.0 signatures are detached", async () => {
  await using pki = await TestPki.create();
  const mona = await pki.identity({ commonName: "Mona" });
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/content`, CONTENT);
    const attached = await openssl([
      "cms",
      "-sign",
      "-binary",
      "-nodetach",
      "-outform",
      "DER",
      "-in",
      `${dir}/content`,
      "-signer",
      mona.certPath,
      "-inkey",
      mona.keyPath,
    ]);
    assert.match(await refusal(verifyCmsSignature(attached, CONTENT, "test")), /^cms-structure: .*attached/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a certificate issued by a certificate that is not a CA breaks the chain, even with no trusted roots", async () => {
  await using pki = await TestPki.create();
  const leaf = await pki.identity({ commonName: "Mona" });
  // A certificate issued by the leaf: openssl lets any key sign; RFC 5280 (and SwiftPM) do not accept it.
  const dir = pki.dir;
  const run = (args: string[]) => openssl(args.map((a) => a.replaceAll("$", dir)));
  await run([
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "$/sub.key",
    "-out",
    "$/sub.csr",
    "-subj",
    "/CN=Sub",
  ]);
  await Deno.writeTextFile(`${dir}/sub.ext`, "extendedKeyUsage=codeSigning\n");
  await run([
    "x509",
    "-req",
    "-in",
    "$/sub.csr",
    "-CA",
    leaf.certPath,
    "-CAkey",
    leaf.keyPath,
    "-CAcreateserial",
    "-out",
    "$/sub.pem",
    "-days",
    "5",
    "-extfile",
    "$/sub.ext",
  ]);
  await Deno.writeTextFile(
    `${dir}/chain.pem`,
    (await Deno.readTextFile(leaf.certPath)) + (await Deno.readTextFile(pki.rootPath)),
  );
  const sub: TestIdentity = { certPath: `${dir}/sub.pem`, keyPath: `${dir}/sub.key`, issuerPath: `${dir}/chain.pem` };
  const signature = await verifyCmsSignature(await cmsSign(sub, CONTENT), CONTENT, "test");
  const policy = { trustedRoots: [], now: new Date() };
  assert.match(
    await refusal(checkSignerCertificate(signature, policy, "test")),
    /^certificate-chain: .*CN=Mona issues a certificate but is not marked as a CA/,
  );
});

Deno.test("a signing time ahead of the server's clock is refused", async () => {
  await using pki = await TestPki.create();
  const mona = await pki.identity({ commonName: "Mona" });
  const signature = await verifyCmsSignature(await cmsSign(mona, CONTENT), CONTENT, "test");
  assert.ok(signature.signingTime !== undefined);
  const policy = { trustedRoots: [], now: new Date(signature.signingTime.getTime() - 3_600_000) };
  assert.match(await refusal(checkSignerCertificate(signature, policy, "test")), /^signing-time: /);
});

Deno.test("a signature that is not DER (a wrong length the BER parser would tolerate) is refused", async () => {
  await using pki = await TestPki.create();
  const mona = await pki.identity({ commonName: "Mona" });
  const signature = await cmsSign(mona, CONTENT);
  await verifyCmsSignature(signature, CONTENT, "test");
  // The digestAlgorithms SET (after the version INTEGER) one byte too short: asn1js still reads the SHA-256 inside.
  const setAt = signature.findIndex((_, i) => [0x02, 0x01, 0x01, 0x31].every((b, j) => signature[i + j] === b)) + 3;
  const bent = signature.slice();
  bent[setAt + 1]--;
  assert.match(await refusal(verifyCmsSignature(bent, CONTENT, "test")), /^cms-structure: .*not DER/);
});

Deno.test("mutated signatures are refused with a named check or still verify, never fail otherwise", async () => {
  await using pki = await TestPki.create();
  const mona = await pki.identity({ commonName: "Mona" });
  const originals = [await cmsSign(mona, CONTENT), await cmsSign(mona, CONTENT, { noAttributes: true })];
  let seed = 7;
  const random = (below: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % below;
  for (let i = 0; i < 600; i++) {
    const original = originals[i % 2];
    const mutated = i % 3 === 0 ? original.slice(0, random(original.length)) : original.slice();
    if (i % 3 !== 0) mutated[random(mutated.length)] ^= 1 << random(8);
    try {
      const signature = await verifyCmsSignature(mutated, CONTENT, "test");
      await checkSignerCertificate(signature, { trustedRoots: [], now: new Date() }, "test");
    } catch (error) {
      assert.ok(error instanceof SignatureRefusedError, `mutation ${i}: ${error}`);
    }
  }
});
