/**
 * On-demand benchmark (not a test): memory of the registry while a large
 * archive streams through it with S3 as the source of truth.
 *
 * Starts an S3-compatible server (fauxqs, in this process), builds a zip of
 * the requested size on disk (stored, not compressed), publishes it to one
 * registry process, then downloads it from a second registry process with an
 * empty disk (S3 -> registry -> client, hydrating the disk cache on the way).
 * Prints each registry's resident memory before, at peak and after, sampled
 * from /proc.
 *
 * Usage: deno task bench:s3-memory [--gib 1]
 *
 * @module
 */
import * as zip from "@zip.js/zip.js";
import { startFauxqs } from "fauxqs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startRegistryProcess } from "./registry_process.ts";

const { values } = parseArgs({ args: Deno.args, options: { gib: { type: "string", default: "1" } } });
const bytes = Math.round(Number(values.gib) * 1024 ** 3);
const token = "bench-admin-token-0123456789";
const work = await Deno.makeTempDir({ prefix: "registry-bench-s3-" });
const main = fileURLToPath(new URL("../main.ts", import.meta.url));
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

zip.configure({ useWebWorkers: false });
const fauxqs = await startFauxqs({ port: 0, logger: false });
await fauxqs.createBucket("bench-bucket");
const s3Env = {
  REGISTRY_S3_BUCKET: "bench-bucket",
  REGISTRY_S3_ENDPOINT: `http://127.0.0.1:${fauxqs.port}`,
  REGISTRY_S3_FORCE_PATH_STYLE: "true",
  AWS_ACCESS_KEY_ID: "bench",
  AWS_SECRET_ACCESS_KEY: "bench",
  REGISTRY_ADMIN_TOKEN: token,
  REGISTRY_LOG_LEVEL: "warn",
  REGISTRY_MAX_ARCHIVE_BYTES: String(bytes + 1024 * 1024),
  REGISTRY_DISK_MAX_BYTES: String(bytes * 3),
};

/** A registry process and a sampler of its resident memory. */
async function startRegistry(name: string) {
  const registry = await startRegistryProcess({
    main,
    serverArgs: ["--data-dir", `${work}/${name}`],
    env: { ...s3Env, REGISTRY_LOG_LEVEL: "info" },
  });
  const rss = registry.rss;
  let peak = 0;
  const sampler = setInterval(() => peak = Math.max(peak, rss()), 50);
  return {
    url: registry.url,
    rss,
    resetPeak: () => peak = rss(),
    peak: () => peak,
    async stop() {
      clearInterval(sampler);
      await registry.stop();
    },
  };
}

// 1. A zip with one stored entry of `bytes` pseudo-random bytes, written to disk.
const zipPath = `${work}/big.zip`;
{
  const file = await Deno.open(zipPath, { write: true, create: true });
  const writer = new zip.ZipWriter(file.writable, { level: 0 });
  await writer.add("Big/Package.swift", new zip.TextReader("// swift-tools-version:5.9\nimport PackageDescription\n"));
  const block = new Uint8Array(1024 * 1024);
  for (let i = 0; i < block.length; i += 65536) crypto.getRandomValues(block.subarray(i, i + 65536));
  let produced = 0;
  const data = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (produced >= bytes) return controller.close();
      const chunk = block.subarray(0, Math.min(block.length, bytes - produced));
      produced += chunk.length;
      controller.enqueue(chunk.slice());
    },
  });
  await writer.add("Big/blob.bin", data, { level: 0, zip64: true });
  await writer.close();
}
const zipSize = (await Deno.stat(zipPath)).size;
console.log(`archive: ${mib(zipSize)}`);

// Clients run as separate processes (curl), as they would in production: an
// in-process fetch client shares the event loop and distorts both numbers.
async function curl(args: string[]): Promise<string> {
  const output = await new Deno.Command("curl", { args: ["-sS", ...args], stdout: "piped" }).output();
  if (!output.success) throw new Error(`curl ${args.join(" ")} failed`);
  return new TextDecoder().decode(output.stdout);
}

// 2. Publish it through registry A (multipart, streamed by curl).
const a = await startRegistry("a");
a.resetPeak();
const aBefore = a.rss();
let started = performance.now();
const published = await curl([
  "-o",
  "/dev/null",
  "-w",
  "%{http_code}",
  "-X",
  "PUT",
  "-H",
  `Authorization: Bearer ${token}`,
  "-F",
  `source-archive=@${zipPath};type=application/zip`,
  `${a.url}/swift/bench/Big/1.0.0`,
]);
console.log(`publish: ${published} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
if (published !== "201") {
  await a.stop();
  await fauxqs.stop();
  throw new Error(`the publish failed (${published}): the numbers below would mean nothing`);
}
console.log(
  `registry A (upload to S3): rss before ${mib(aBefore)}, peak ${mib(a.peak())}, growth ${mib(a.peak() - aBefore)}`,
);
await a.stop();

// 3. Download it through registry B, whose disk is empty: S3 -> B -> client.
const b = await startRegistry("b");
await curl(["-o", "/dev/null", `${b.url}/swift/bench/Big/1.0.0`]);
b.resetPeak();
const bBefore = b.rss();
started = performance.now();
const received = Number(
  await curl(["-o", "/dev/null", "-w", "%{size_download}", `${b.url}/swift/bench/Big/1.0.0.zip`]),
);
const seconds = (performance.now() - started) / 1000;
console.log(`download: ${mib(received)} in ${seconds.toFixed(1)} s (${mib(received / seconds)}/s)`);
console.log(
  `registry B (download from S3): rss before ${mib(bBefore)}, peak ${mib(b.peak())}, growth ${mib(b.peak() - bBefore)}`,
);
await b.stop();

await fauxqs.stop();
await Deno.remove(work, { recursive: true });
