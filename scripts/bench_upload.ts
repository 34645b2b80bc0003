/**
 * On-demand benchmark (not a test): wall time of publishing archives of
 * growing size with a chunked body (no Content-Length), as a client that
 * streams its upload sends it. Time should grow linearly with the size.
 * The archive is random bytes: the publish is refused once the body has been
 * read (422, not a zip), which is the part being measured.
 *
 * Usage: deno task bench:upload [--sizes 64,128,256,512] (MiB) [--chunk 65536] (bytes per chunk)
 *
 * @module
 */
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config.ts";
import { startServer } from "../src/http/server.ts";
import { silentLogger } from "../src/log.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { sizes: { type: "string", default: "64,128,256,512" }, chunk: { type: "string", default: "65536" } },
});
const sizes = values.sizes.split(",").map(Number);
const chunkSize = Number(values.chunk);
const token = "bench-admin-token-0123456789";
const dataDir = await Deno.makeTempDir({ prefix: "registry-bench-upload-" });
const config = await loadConfig({ port: "0", dataDir }, {
  REGISTRY_ADMIN_TOKEN: token,
  REGISTRY_MAX_ARCHIVE_BYTES: "4GiB",
  REGISTRY_MAX_UNCOMPRESSED_BYTES: "8GiB",
});
const server = await startServer(config, silentLogger);
const chunk = crypto.getRandomValues(new Uint8Array(Math.min(chunkSize, 65536)));
const filler = new Uint8Array(chunkSize).map((_, i) => chunk[i % chunk.length]);
const boundary = "bench-boundary";
const encoder = new TextEncoder();

function chunkedBody(totalBytes: number): ReadableStream<Uint8Array> {
  let sent = -1;
  return new ReadableStream({
    pull(controller) {
      if (sent === -1) {
        controller.enqueue(encoder.encode(
          `--${boundary}\r\nContent-Disposition: form-data; name="source-archive"\r\n` +
            `Content-Type: application/zip\r\n\r\n`,
        ));
        sent = 0;
      } else if (sent < totalBytes) {
        const next = Math.min(filler.length, totalBytes - sent);
        controller.enqueue(filler.slice(0, next));
        sent += next;
      } else {
        controller.enqueue(encoder.encode(`\r\n--${boundary}--\r\n`));
        controller.close();
      }
    },
  });
}

try {
  console.log(`chunked publish, ${chunkSize}-byte chunks`);
  for (const mib of sizes) {
    const started = performance.now();
    const response = await fetch(`${server.url}/swift/bench/upload/${mib}.0.0`, {
      method: "PUT",
      headers: {
        Authorization: `Bearer ${token}`,
        Accept: "application/vnd.swift.registry.v1+json",
        "Content-Type": `multipart/form-data; boundary=${boundary}`,
      },
      body: chunkedBody(mib * 1024 * 1024),
    });
    await response.body?.cancel();
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `${String(mib).padStart(5)} MiB  ${seconds.toFixed(2).padStart(7)} s  ${
        (mib / seconds).toFixed(0).padStart(5)
      } MiB/s  (status ${response.status})`,
    );
  }
} finally {
  await server.shutdown();
  await Deno.remove(dataDir, { recursive: true });
}
