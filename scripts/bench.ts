/**
 * On-demand benchmark (not a test): starts a registry in this process on a
 * temporary data dir, publishes a package, then drives the hot read endpoints
 * with concurrent HTTP clients and prints requests/s, latency percentiles and
 * memory. Client and server share the process and cores, so compare runs
 * with each other rather than with other tools.
 *
 * Usage: deno task bench [--seconds 5] [--concurrency 32] [--archive-kib 1024]
 *
 * @module
 */
import { createHash } from "node:crypto";
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config.ts";
import { startServer } from "../src/http/server.ts";
import { silentLogger } from "../src/log.ts";
import { packageZip } from "../tests/support/archives.ts";
import { ADMIN_TOKEN, publish } from "../tests/support/server.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "5" },
    concurrency: { type: "string", default: "32" },
    "archive-kib": { type: "string", default: "1024" },
  },
});
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
const archiveBytes = Number(values["archive-kib"]) * 1024;

const dataDir = await Deno.makeTempDir({ prefix: "registry-bench-" });
const config = await loadConfig({ port: "0", host: "127.0.0.1", dataDir }, { REGISTRY_ADMIN_TOKEN: ADMIN_TOKEN });
const server = await startServer(config, silentLogger);
const swift = `${server.url}/swift`;

const filler = crypto.getRandomValues(new Uint8Array(Math.min(archiveBytes, 65536)));
const blob = new Uint8Array(archiveBytes);
for (let i = 0; i < blob.length; i += filler.length) blob.set(filler.subarray(0, blob.length - i), i);
const archive = await packageZip({
  alternates: { "5.8": "5.8" },
  extra: [{ name: "LinkedList/blob.bin", content: blob }],
});
const published = await publish(swift, "mona/LinkedList/1.0.0", { archive });
if (published.status !== 201) throw new Error(`publish failed: ${published.status} ${await published.text()}`);

const targets: Array<[string, string]> = [
  ["release list", `${swift}/mona/LinkedList`],
  ["release metadata", `${swift}/mona/LinkedList/1.0.0`],
  ["Package.swift", `${swift}/mona/LinkedList/1.0.0/Package.swift`],
  [`archive (${(archive.length / 1024).toFixed(0)} KiB)`, `${swift}/mona/LinkedList/1.0.0.zip`],
];

// Build-cache entries (4 KiB): a CAS blob and an action-cache entry, both served from memory.
const cacheBlob = filler.slice(0, 4096);
const cacheKey = createHash("sha256").update(cacheBlob).digest("hex");
for (const kind of ["cas", "ac"]) {
  const stored = await fetch(`${server.url}/cache/${kind}/${cacheKey}`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    body: cacheBlob,
  });
  if (stored.status !== 200) throw new Error(`cache upload failed: ${stored.status} ${await stored.text()}`);
}
targets.push(
  ["cache CAS blob (4 KiB)", `${server.url}/cache/cas/${cacheKey}`],
  ["cache action entry (4 KiB)", `${server.url}/cache/ac/${cacheKey}`],
);

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
console.log(`concurrency ${concurrency}, ${seconds}s per endpoint, rss at start ${mib(Deno.memoryUsage().rss)}`);
for (const [label, url] of targets) {
  const latencies: number[] = [];
  let bytes = 0;
  const deadline = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline) {
      const started = performance.now();
      const response = await fetch(url);
      const received = (await response.arrayBuffer()).byteLength;
      bytes += received;
      if (!response.ok) throw new Error(`${url}: ${response.status}`);
      latencies.push(performance.now() - started);
    }
  }));
  latencies.sort((a, b) => a - b);
  const pick = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(2);
  console.log(
    `${label.padEnd(24)} ${(latencies.length / seconds).toFixed(0).padStart(7)} req/s  ` +
      `${mib(bytes / seconds).padStart(10)}/s  p50 ${pick(0.5)} ms  p99 ${pick(0.99)} ms  rss ${
        mib(Deno.memoryUsage().rss)
      }`,
  );
}

await server.shutdown();
await Deno.remove(dataDir, { recursive: true });
