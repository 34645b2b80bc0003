/**
 * Test certificates made with the machine's `openssl`: a CA and a leaf
 * certificate for 127.0.0.1 and localhost signed by it (EC P-256).
 *
 * @module
 */

/** A CA and a server certificate it signed, as PEM text. */
export interface TestCertificates {
  caPem: string;
  certPem: string;
  keyPem: string;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  const output = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" }).output();
  if (!output.success) throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(output.stderr)}`);
}

/** Makes a new CA named `name` and a certificate for 127.0.0.1/localhost signed by it. */
export async function makeCertificates(name: string): Promise<TestCertificates> {
  const dir = await Deno.makeTempDir({ prefix: "registry-tls-" });
  try {
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    await openssl(dir, [
      "req",
      "-x509",
      ...ec,
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "2",
      "-subj",
      `/CN=${name}`,
    ]);
    await openssl(dir, ["req", ...ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=localhost"]);
    await Deno.writeTextFile(
      `${dir}/leaf.ext`,
      "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    );
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      "leaf.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "leaf.pem",
      "-days",
      "2",
      "-extfile",
      "leaf.ext",
    ]);
    const read = (file: string) => Deno.readTextFile(`${dir}/${file}`);
    return { caPem: await read("ca.pem"), certPem: await read("leaf.pem"), keyPem: await read("leaf.key") };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
