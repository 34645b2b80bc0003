import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../src/config.ts";
import { runMain } from "./support/cli.ts";
import { startTestServer } from "./support/server.ts";
import { makeCertificates } from "./support/tls.ts";

/** GET /health over a new HTTPS connection trusting only `caPem`; the status, or the error's message. */
async function healthTrusting(url: string, caPem: string): Promise<number | string> {
  const client = Deno.createHttpClient({ caCerts: [caPem] });
  try {
    const response = await fetch(`${url}/health`, { client });
    await response.body?.cancel();
    return response.status;
  } catch (error) {
    return (error as Error).message;
  } finally {
    client.close();
  }
}

Deno.test("HTTPS with REGISTRY_TLS_CERT/KEY: a renewed certificate is served on new connections, open ones keep working", async () => {
  const first = await makeCertificates("Test CA One");
  const second = await makeCertificates("Test CA Two");
  const dir = await Deno.makeTempDir();
  const certFile = `${dir}/cert.pem`;
  const keyFile = `${dir}/key.pem`;
  await Deno.writeTextFile(certFile, first.certPem);
  await Deno.writeTextFile(keyFile, first.keyPem);
  try {
    await using t = await startTestServer({
      env: { REGISTRY_TLS_CERT: certFile, REGISTRY_TLS_KEY: keyFile, REGISTRY_TLS_RELOAD_INTERVAL: "50ms" },
    });
    assert.match(t.url, /^https:\/\//);
    const keptAlive = Deno.createHttpClient({ caCerts: [first.caPem] });
    try {
      const before = await fetch(`${t.url}/health`, { client: keptAlive });
      assert.equal(before.status, 200);
      await before.body?.cancel();
      const plain = await fetch(t.url.replace("https:", "http:") + "/health").catch((error) => error);
      assert.ok(plain instanceof Error, "no plain HTTP on the HTTPS port");

      await Deno.writeTextFile(keyFile, second.keyPem);
      await Deno.writeTextFile(certFile, second.certPem);
      let renewed: number | string = "not yet";
      for (let attempt = 0; attempt < 400 && renewed !== 200; attempt++) {
        renewed = await healthTrusting(t.url, second.caPem);
        if (renewed !== 200) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(renewed, 200, "a new connection is served with the renewed certificate");
      assert.notEqual(await healthTrusting(t.url, first.caPem), 200, "new connections no longer get the old one");

      // Only the connection opened before the renewal can still satisfy a client that trusts the old CA.
      const after = await fetch(`${t.url}/health`, { client: keptAlive });
      assert.equal(after.status, 200, "the keep-alive connection opened before the renewal still works");
      await after.body?.cancel();
    } finally {
      keptAlive.close();
    }
    assert.ok(t.logs.some((line) => line.includes("TLS certificate reloaded")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("REGISTRY_TLS_CERT and REGISTRY_TLS_KEY must be set together and hold PEM: one-line errors", async () => {
  const { certPem, keyPem } = await makeCertificates("Test CA");
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/cert.pem`, certPem);
  await Deno.writeTextFile(`${dir}/key.pem`, keyPem);
  await Deno.writeTextFile(`${dir}/junk.pem`, "not a certificate\n");
  const cases: [Record<string, string>, RegExp][] = [
    [{ REGISTRY_TLS_CERT: `${dir}/cert.pem` }, /REGISTRY_TLS_CERT and REGISTRY_TLS_KEY must be set together/],
    [{ REGISTRY_TLS_KEY: `${dir}/key.pem` }, /REGISTRY_TLS_CERT and REGISTRY_TLS_KEY must be set together/],
    [
      { REGISTRY_TLS_CERT: `${dir}/missing.pem`, REGISTRY_TLS_KEY: `${dir}/key.pem` },
      /REGISTRY_TLS_CERT .* cannot be read/,
    ],
    [
      { REGISTRY_TLS_CERT: `${dir}/junk.pem`, REGISTRY_TLS_KEY: `${dir}/key.pem` },
      /REGISTRY_TLS_CERT .* is not a PEM certificate/,
    ],
    [
      { REGISTRY_TLS_CERT: `${dir}/cert.pem`, REGISTRY_TLS_KEY: `${dir}/cert.pem` },
      /REGISTRY_TLS_KEY .* is not a PEM private key/,
    ],
  ];
  try {
    for (const [env, message] of cases) {
      await assert.rejects(loadConfig({ dataDir: dir }, env), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, message);
        assert.doesNotMatch(error.message, /\n/);
        return true;
      });
    }
    const other = await makeCertificates("Other CA");
    await Deno.writeTextFile(`${dir}/other.key`, other.keyPem);
    const mismatched = await runMain(["--port", "0", "--data-dir", `${dir}/data`], {
      REGISTRY_TLS_CERT: `${dir}/cert.pem`,
      REGISTRY_TLS_KEY: `${dir}/other.key`,
    });
    assert.equal(mismatched.code, 2, mismatched.stderr);
    assert.match(mismatched.stderr, /REGISTRY_TLS_CERT\/REGISTRY_TLS_KEY cannot be used/);
    assert.equal(mismatched.stderr.trim().split("\n").length, 1, mismatched.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
