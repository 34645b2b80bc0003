/**
 * On-demand benchmark (not a test): memory of the registry while a large
 * build-cache blob streams through it.
 *
 * Writes a file of pseudo-random bytes (1 GiB by default), starts a registry
 * process (local disk, or with `--s3` an S3-compatible server, fauxqs, in
 * this process), uploads the file as a CAS blob with curl (`PUT
 * /cache/cas/<sha256>`: staged, hashed, verified, stored), uploads it again
 * (a no-op that still reads and hashes the body), downloads it and compares
 * its SHA-256. Prints the registry's resident memory before, at peak and
 * after each step, sampled from /proc.
 *
 * Usage: deno task bench:cache-memory [--gib 1] [--s3]
 *
 * @module
 */
import { createHash } from "node:crypto";
import { startFauxqs } from "fauxqs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startRegistryProcess } from "./registry_process.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { gib: { type: "string", default: "1" }, s3: { type: "boolean", default: false } },
});
const bytes = Math.round(Number(values.gib) * 1024 ** 3);
const token = "bench-admin-token-0123456789";
const work = await Deno.makeTempDir({ prefix: "registry-bench-cache-" });
const main = fileURLToPath(new URL("../main.ts", import.meta.url));
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

const fauxqs = values.s3 ? await startFauxqs({ port: 0, logger: false }) : undefined;
await fauxqs?.createBucket("bench-bucket");
const env: Record<string, string> = {
  REGISTRY_ADMIN_TOKEN: token,
  REGISTRY_LOG_LEVEL: "info",
  REGISTRY_CACHE_MAX_BYTES: String(bytes * 3),
  REGISTRY_CACHE_MAX_BLOB_BYTES: String(bytes),
  ...(fauxqs === undefined ? {} : {
    REGISTRY_S3_BUCKET: "bench-bucket",
    REGISTRY_S3_ENDPOINT: `http://127.0.0.1:${fauxqs.port}`,
    REGISTRY_S3_FORCE_PATH_STYLE: "true",
    AWS_ACCESS_KEY_ID: "bench",
    AWS_SECRET_ACCESS_KEY: "bench",
  }),
};

// 1. The blob, written to disk and hashed as it is written.
const blobPath = `${work}/blob.bin`;
const hash = createHash("sha256");
{
  const file = await Deno.open(blobPath, { write: true, create: true });
  const block = new Uint8Array(4 * 1024 * 1024);
  for (let written = 0; written < bytes; written += block.length) {
    for (let i = 0; i < block.length; i += 65536) crypto.getRandomValues(block.subarray(i, i + 65536));
    const chunk = block.subarray(0, Math.min(block.length, bytes - written));
    hash.update(chunk);
    for (let at = 0; at < chunk.length;) at += await file.write(chunk.subarray(at));
  }
  file.close();
}
const digest = hash.digest("hex");
console.log(`blob: ${mib(bytes)}, sha256 ${digest}, storage: ${fauxqs ? "S3 (fauxqs)" : "local disk"}`);

// 2. The registry, as its own process, with a sampler of its resident memory.
const registry = await startRegistryProcess({ main, serverArgs: ["--data-dir", `${work}/data`], env });
const { url, rss } = registry;
let peak = 0;
const sampler = setInterval(() => peak = Math.max(peak, rss()), 50);

/** Runs curl (a separate process, as a real client is) during one step and prints the memory it cost. */
async function step(name: string, args: string[]): Promise<string> {
  const before = rss();
  peak = before;
  const started = performance.now();
  const output = await new Deno.Command("curl", { args: ["-sS", ...args], stdout: "piped" }).output();
  if (!output.success) throw new Error(`curl failed during ${name}`);
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${name}: ${seconds.toFixed(1)} s; rss before ${mib(before)}, peak ${mib(peak)} (+${mib(peak - before)}), ` +
      `after ${mib(rss())}`,
  );
  return new TextDecoder().decode(output.stdout);
}

const blobUrl = `${url}/cache/cas/${digest}`;
const upload = ["-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "-u", `bench:${token}`, "-T", blobPath, blobUrl];
try {
  const stored = await step("upload", upload);
  if (stored !== "200") throw new Error(`the upload answered ${stored}: the numbers would mean nothing`);
  await step("upload again (no-op, body read and hashed)", upload);
  await step("download", ["-o", `${work}/back.bin`, blobUrl]);
  const back = createHash("sha256");
  for await (const chunk of (await Deno.open(`${work}/back.bin`)).readable) back.update(chunk);
  console.log(`download matches: ${back.digest("hex") === digest}`);
} finally {
  clearInterval(sampler);
  await registry.stop();
  await fauxqs?.stop();
  await Deno.remove(work, { recursive: true });
}
