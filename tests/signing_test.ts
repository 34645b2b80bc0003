import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { packageZip } from "./support/archives.ts";
import { runMain } from "./support/cli.ts";
import { eventually } from "./support/eventually.ts";
import { walk } from "./support/files.ts";
import { startTestS3 } from "./support/s3.ts";
import { ADMIN_TOKEN, get, problem, publish, startTestServer, type TestServer } from "./support/server.ts";
import {
  cmsSign,
  signedPackage,
  type SignedPackageOptions,
  type SignedParts,
  type TestIdentity,
  TestPki,
} from "./support/signing.ts";

const SIGNED = { headers: { "X-Swift-Package-Signature-Format": "cms-1.0.0" } };

function publishSigned(t: TestServer, path: string, parts: Partial<SignedParts>, prefer?: string): Promise<Response> {
  return publish(t.swift, path, parts, { ...SIGNED, prefer });
}

async function signedRelease(identity: TestIdentity, options?: SignedPackageOptions): Promise<SignedParts> {
  return await signedPackage(identity, options);
}

/** The refused check named by a 422 problem document. */
async function refusedCheck(response: Response): Promise<string> {
  assert.equal(response.status, 422, `expected 422, got ${response.status}`);
  const body = await problem(response);
  return (body as unknown as { check: string }).check;
}

/** Files under the data directory that belong to Swift packages (archives, manifests, indexes). */
async function storedPackageFiles(t: TestServer): Promise<string[]> {
  const files: string[] = [];
  for await (const path of walk(t.dataDir)) if (path.includes("/swift/packages/")) files.push(path);
  return files;
}

function signerChange(t: TestServer, path: string, method = "GET", reason?: string): Promise<Response> {
  return fetch(`${t.swift}/-/signer-change/${path}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
    body: reason === undefined ? undefined : JSON.stringify({ reason }),
  });
}

Deno.test("a release signed with an EC P-256 key is accepted, served with its signatures, and its signer shown", async () => {
  await using pki = await TestPki.create();
  const mona = await pki.identity({ commonName: "Mona Lisa", organization: "Octo Org" });
  await using t = await startTestServer();
  // As swift package-registry publish signs: no signed attributes (then the certificate is checked at "now").
  for (const [version, noAttributes] of [["1.0.0", false], ["1.1.0", true]] as const) {
    const parts = await signedRelease(mona, { noAttributes, alternates: { "5.8": "5.8" } });
    const response = await publishSigned(t, `mona/Sig/${version}`, parts);
    assert.equal(response.status, 201, await response.text());

    const release = await (await get(`${t.swift}/mona/Sig/${version}`)).json();
    const expected = Buffer.from(parts.archiveSignature).toString("base64");
    const { signing } = release.resources[0];
    assert.equal(signing.signatureBase64Encoded, expected);
    assert.equal(signing.signatureFormat, "cms-1.0.0");
    assert.equal(signing.signer.commonName, "Mona Lisa");
    assert.equal(signing.signer.organization, "Octo Org");
    assert.match(signing.signer.certificateSha256, /^[0-9a-f]{64}$/);
    const download = await get(`${t.swift}/mona/Sig/${version}.zip`);
    assert.deepEqual(new Uint8Array(await download.arrayBuffer()), parts.archive);
    assert.equal(download.headers.get("x-swift-package-signature-format"), "cms-1.0.0");
    assert.equal(download.headers.get("x-swift-package-signature"), expected);
    const manifest = await get(`${t.swift}/mona/Sig/${version}/Package.swift`, {
      accept: "application/vnd.swift.registry.v1+swift",
    });
    assert.equal(await manifest.text(), parts.manifest, "the manifest keeps its signature line byte for byte");
  }
});

Deno.test("the package page and the package listing name the signer, escaped", async () => {
  await using pki = await TestPki.create();
  const mona = await pki.identity({ commonName: "Mona <script>Lisa", organization: "Octo & Co" });
  await using t = await startTestServer();
  assert.equal((await publishSigned(t, "mona/Sig/1.0.0", await signedRelease(mona))).status, 201);
  const page = await (await fetch(`${t.url}/-/web/packages/swift/mona/sig`)).text();
  const fingerprint = (await (await get(`${t.swift}/mona/Sig/1.0.0`)).json()).resources[0].signing.signer
    .certificateSha256;
  assert.match(
    page,
    /<dt>Signed by<\/dt>\s*<dd>Mona &lt;script&gt;Lisa, Octo &amp; Co <code[^>]*>sha256: ([0-9a-f]{64})</,
  );
  assert.ok(page.includes(`sha256: ${fingerprint}`));
  // The listing (home and search) names the signer of the latest release too.
  for (const path of ["/", "/-/web/search?q=sig"]) {
    const listing = await (await fetch(`${t.url}${path}`)).text();
    assert.match(listing, /signed by Mona &lt;script&gt;Lisa, Octo &amp; Co/, path);
  }
});

Deno.test("each refused signature gets a 422 naming its check, and nothing is stored", async () => {
  await using pki = await TestPki.create();
  const mona = await pki.identity({ commonName: "Mona", organization: "Octo" });
  const eve = await pki.identity({ commonName: "Eve", organization: "Evil" });
  const noUsage = await pki.identity({ commonName: "Mona", organization: "Octo", codeSigning: false });
  const rsa = await pki.identity({ commonName: "Mona", organization: "Octo", rsaBits: 2048 });
  const good = await signedRelease(mona);
  const garbage = crypto.getRandomValues(new Uint8Array(300));
  const cases: Array<[string, Partial<SignedParts>, string]> = [
    ["garbage as both signatures", { ...good, archiveSignature: garbage, metadataSignature: garbage }, "cms-structure"],
    ["an archive signature over other bytes", {
      ...good,
      archiveSignature: await cmsSign(mona, await packageZip()),
    }, "signature"],
    ["a metadata signature over other bytes", { ...good, metadataSignature: await cmsSign(mona, "{}") }, "signature"],
    ["the metadata signature missing", { ...good, metadataSignature: undefined }, "signature-pair"],
    ["a certificate without the code-signing usage", await signedRelease(noUsage), "certificate-usage"],
    [
      "a manifest without its signature line",
      await signedRelease(mona, { unsignedManifest: true }),
      "manifest-signature",
    ],
    ["a manifest signed by someone else", await signedRelease(mona, { manifestSigner: eve }), "same-signer"],
    ["an alternate manifest signed by someone else", {
      ...await signedRelease(mona, { manifestSigner: eve, alternates: { "5.8": "5.8" } }),
    }, "same-signer"],
    ["an RSA signature labelled rsaEncryption, as openssl writes it", await signedRelease(rsa), "signature-algorithm"],
  ];
  await using t = await startTestServer();
  for (const [name, parts, check] of cases) {
    for (const prefer of [undefined, "respond-async"]) {
      const response = await publishSigned(t, "mona/Sig/1.0.0", parts, prefer);
      assert.equal(await refusedCheck(response), check, `${name}${prefer ? " (async)" : ""}`);
    }
  }
  const list = await get(`${t.swift}/mona/Sig`);
  assert.equal(list.status, 404);
  await list.body?.cancel();
  assert.deepEqual(await storedPackageFiles(t), []);
  assert.equal((await publishSigned(t, "mona/Sig/1.0.0", good)).status, 201, "the good one still goes through");
  assert.notDeepEqual(await storedPackageFiles(t), [], "a stored release is seen where the refused ones are not");
});

Deno.test("an expired certificate is refused, judged at the server's clock when the signature has no signing time", async () => {
  await using pki = await TestPki.create();
  const mona = await pki.identity({ commonName: "Mona", organization: "Octo", days: 2 });
  const parts = await signedRelease(mona, { noAttributes: true });
  const later = Date.now() + 10 * 86_400_000;
  {
    await using t = await startTestServer({ now: () => later });
    const response = await publishSigned(t, "mona/Sig/1.0.0", parts);
    assert.equal(await refusedCheck(response), "certificate-validity");
    assert.deepEqual(await storedPackageFiles(t), []);
  }
  await using t = await startTestServer();
  assert.equal((await publishSigned(t, "mona/Sig/1.0.0", parts)).status, 201, "the same release while it is valid");
});

Deno.test("REGISTRY_SWIFT_REQUIRE_SIGNED refuses unsigned publishes to its scopes with 422, and only there", async () => {
  await using pki = await TestPki.create();
  const mona = await pki.identity({ commonName: "Mona", organization: "Octo" });
  await using t = await startTestServer({ env: { REGISTRY_SWIFT_REQUIRE_SIGNED: "Mona,octo" } });
  const unsigned = await publish(t.swift, "mona/Sig/1.0.0", { archive: await packageZip() });
  assert.equal(await refusedCheck(unsigned), "signing-required");
  assert.equal((await publishSigned(t, "mona/Sig/1.0.0", await signedRelease(mona))).status, 201);
  const elsewhere = await publish(t.swift, "other/Sig/1.0.0", { archive: await packageZip() });
  assert.equal(elsewhere.status, 201);
  await elsewhere.body?.cancel();
});

Deno.test("with REGISTRY_SWIFT_TRUSTED_ROOTS, a signer chaining to another root is refused; one of a configured root is not", async () => {
  await using trusted = await TestPki.create("Trusted Root");
  await using other = await TestPki.create("Other Root");
  const roots = await Deno.makeTempDir();
  try {
    // One root as DER, an unrelated one as PEM: both forms are read.
    const der = await new Deno.Command("openssl", {
      args: ["x509", "-in", trusted.rootPath, "-outform", "DER", "-out", `${roots}/trusted.cer`],
    }).output();
    assert.ok(der.success);
    await using unrelated = await TestPki.create("Unrelated Root");
    await Deno.copyFile(unrelated.rootPath, `${roots}/unrelated.pem`);
    await using t = await startTestServer({ env: { REGISTRY_SWIFT_TRUSTED_ROOTS: roots } });
    const stranger = await other.identity({ commonName: "Mona", organization: "Octo" });
    const refused = await publishSigned(t, "mona/Sig/1.0.0", await signedRelease(stranger));
    assert.equal(await refusedCheck(refused), "trusted-root");
    assert.deepEqual(await storedPackageFiles(t), []);

    const mona = await trusted.identity({ commonName: "Mona", organization: "Octo" });
    const accepted = await publishSigned(t, "mona/Sig/1.0.0", await signedRelease(mona));
    assert.equal(accepted.status, 201, await accepted.text());
    const release = await (await get(`${t.swift}/mona/Sig/1.0.0`)).json();
    assert.match(release.resources[0].signing.signer.trustedRootSha256, /^[0-9a-f]{64}$/);
  } finally {
    await Deno.remove(roots, { recursive: true });
  }
});

Deno.test("after a signed release, another signer or none gets 409 until an admin allows one change, which is recorded", async () => {
  await using pki = await TestPki.create();
  const mona = await pki.identity({ commonName: "Mona", organization: "Octo" });
  const monaRenewed = await pki.identity({ commonName: "Mona", organization: "Octo" });
  const eve = await pki.identity({ commonName: "Eve", organization: "Octo" });
  await using t = await startTestServer();
  assert.equal((await publishSigned(t, "mona/Sig/1.0.0", await signedRelease(mona))).status, 201);
  const renewed = await publishSigned(t, "mona/Sig/1.0.1", await signedRelease(monaRenewed));
  assert.equal(renewed.status, 201, "a new certificate of the same entity continues");
  await renewed.body?.cancel();

  const byEve = await signedRelease(eve);
  const refused = await publishSigned(t, "mona/Sig/1.1.0", byEve);
  assert.equal(refused.status, 409);
  assert.match((await problem(refused)).detail, /signed by "CN=Eve, O=Octo".*"CN=Mona, O=Octo".*allow/);
  const unsigned = await publish(t.swift, "mona/Sig/1.1.0", { archive: await packageZip() });
  assert.equal(unsigned.status, 409);
  assert.match((await problem(unsigned)).detail, /is not signed/);
  assert.deepEqual(await storedPackageFiles(t).then((f) => f.filter((p) => p.includes("1.1.0"))), []);

  const before = await (await signerChange(t, "mona/Sig")).json();
  assert.deepEqual(before.expected, { commonName: "Mona", organizationalUnit: null, organization: "Octo" });
  const noReason = await signerChange(t, "mona/Sig", "POST", "");
  assert.equal(noReason.status, 400);
  await noReason.body?.cancel();
  const allowed = await signerChange(t, "mona/Sig", "POST", "maintainer handover to Eve");
  assert.equal(allowed.status, 200);
  const { allowances } = await allowed.json();
  assert.equal(allowances.length, 1);
  assert.equal(allowances[0].by, "token:admin");
  assert.equal(allowances[0].reason, "maintainer handover to Eve");
  assert.match(allowances[0].at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

  assert.equal((await publishSigned(t, "mona/Sig/1.1.0", byEve)).status, 201);
  const after = await (await signerChange(t, "mona/Sig")).json();
  assert.equal(after.expected.commonName, "Eve");
  assert.equal(after.allowances[0].usedBy, "1.1.0");
  assert.equal(after.signers["1.0.0"].commonName, "Mona");
  const back = await publishSigned(t, "mona/Sig/1.2.0", await signedRelease(mona));
  assert.equal(back.status, 409, "the allowance was for one change");
  await back.body?.cancel();
});

Deno.test("main.ts allow-signer-change records the allowance in the storage the server uses", async () => {
  await using pki = await TestPki.create();
  const mona = await pki.identity({ commonName: "Mona", organization: "Octo" });
  const eve = await pki.identity({ commonName: "Eve", organization: "Evil" });
  const dataDir = await Deno.makeTempDir();
  try {
    {
      await using t = await startTestServer({ dataDir });
      assert.equal((await publishSigned(t, "mona/Sig/1.0.0", await signedRelease(mona))).status, 201);
    }
    const usage = await runMain(["allow-signer-change", "mona.Sig", "--data-dir", dataDir]);
    assert.equal(usage.code, 2, usage.stderr);
    const cli = await runMain(["allow-signer-change", "mona.Sig", "--reason", "new owner", "--data-dir", dataDir]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /mona\.Sig: its next release may have another signer \(allowed by cli:/);
    await using t = await startTestServer({ dataDir });
    const response = await publishSigned(t, "mona/Sig/2.0.0", await signedRelease(eve));
    assert.equal(response.status, 201, await response.text());
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a mirror cannot fill a scope that requires signing: start-up warns, its releases there are refused", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/mona/Sig`, { recursive: true });
    await Deno.writeFile(`${root}/mona/Sig/1.0.0.zip`, await packageZip());
    await Deno.mkdir(`${root}/free/Sig`, { recursive: true });
    await Deno.writeFile(`${root}/free/Sig/1.0.0.zip`, await packageZip());
    await using t = await startTestServer({
      env: { REGISTRY_FILESYSTEM_ROOT: root, REGISTRY_SYNC_INTERVAL: "1h", REGISTRY_SWIFT_REQUIRE_SIGNED: "mona" },
    });
    const warning = t.logs.find((l) => l.includes("cannot fill scopes that require signed releases"));
    assert.ok(warning, "start-up warns");
    assert.match(warning, /"source":"filesystem".*"scopes":"mona"/);
    await eventually(
      "the unsigned mirror release refused",
      () => t.logs.some((l) => l.includes("filesystem release refused") && l.includes("must be signed")),
    );
    const refused = await get(`${t.swift}/mona/Sig`);
    assert.equal(refused.status, 404);
    await refused.body?.cancel();
    const free = await eventually("the other scope mirrored", async () => {
      const response = await get(`${t.swift}/free/Sig`);
      if (response.status !== 200) return void await response.body?.cancel();
      return await response.json();
    });
    assert.deepEqual(Object.keys(free.releases), ["1.0.0"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("with S3, every node shows the same signer and enforces the same continuity", async () => {
  await using s3 = await startTestS3();
  await using pki = await TestPki.create();
  const mona = await pki.identity({ commonName: "Mona", organization: "Octo" });
  const eve = await pki.identity({ commonName: "Eve", organization: "Evil" });
  await using first = await startTestServer({ env: s3.env });
  await using second = await startTestServer({ env: s3.env });
  assert.equal((await publishSigned(first, "mona/Sig/1.0.0", await signedRelease(mona))).status, 201);
  const signerOn = async (t: TestServer) =>
    (await (await get(`${t.swift}/mona/Sig/1.0.0`)).json()).resources[0].signing.signer;
  const seen = await eventually("the release on the second node", async () => {
    const response = await get(`${second.swift}/mona/Sig/1.0.0`);
    if (response.status !== 200) return void await response.body?.cancel();
    return (await response.json()).resources[0].signing.signer;
  });
  assert.deepEqual(seen, await signerOn(first));
  const refused = await publishSigned(second, "mona/Sig/1.1.0", await signedRelease(eve));
  assert.equal(refused.status, 409);
  await refused.body?.cancel();
});
