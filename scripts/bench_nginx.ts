/**
 * On-demand benchmark (not a test): the registry against nginx serving the
 * same archive file and the same release metadata JSON, both driven by wrk on
 * loopback. Prints requests/s and p99 latency for each, and our/nginx ratios.
 *
 * Needs nginx and wrk (Debian: `apt-get install nginx-light wrk`).
 *
 * Usage: deno task bench:nginx [--seconds 5] [--connections 32] [--archive-kib 256]
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { packageZip } from "../tests/support/archives.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "5" },
    connections: { type: "string", default: "32" },
    "archive-kib": { type: "string", default: "256" },
  },
});
for (const tool of ["nginx", "wrk"]) {
  const found = await new Deno.Command("sh", { args: ["-c", `command -v ${tool}`], stdout: "null" }).output();
  if (!found.success) {
    console.error(`${tool} is not installed (Debian: apt-get install nginx-light wrk)`);
    Deno.exit(1);
  }
}

const work = await Deno.makeTempDir({ prefix: "registry-bench-nginx-" });
const token = "bench-admin-token-0123456789";
const main = fileURLToPath(new URL("../main.ts", import.meta.url));

// The registry, as a separate process (as in production).
const registry = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", main, "--port", "0", "--data-dir", `${work}/data`],
  env: { REGISTRY_ADMIN_TOKEN: token, REGISTRY_LOG_LEVEL: "info" },
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const lines = registry.stdout.pipeThrough(new TextDecoderStream()).getReader();
let url = "";
for (let buffered = ""; url === "";) {
  const { value, done } = await lines.read();
  if (done) throw new Error("the registry exited");
  buffered += value;
  const line = buffered.split("\n").find((l) => l.includes('"registry listening"'));
  if (line) url = JSON.parse(line).url;
}
const drain = (async () => {
  while (!(await lines.read()).done) { /* discard */ }
})();

// One package, published through the API.
const blob = new Uint8Array(Number(values["archive-kib"]) * 1024);
for (let i = 0; i < blob.length; i += 65536) crypto.getRandomValues(blob.subarray(i, i + 65536));
const archive = await packageZip({ extra: [{ name: "LinkedList/blob.bin", content: blob }] });
const form = new FormData();
form.append("source-archive", new Blob([archive], { type: "application/zip" }));
const published = await fetch(`${url}/swift/mona/LinkedList/1.0.0`, {
  method: "PUT",
  headers: { Authorization: `Bearer ${token}` },
  body: form,
});
if (published.status !== 201) throw new Error(`publish failed: ${published.status} ${await published.text()}`);
await published.body?.cancel();

// The same bytes for nginx.
const root = `${work}/www`;
await Deno.mkdir(root);
await Deno.writeFile(`${root}/archive.zip`, archive);
await Deno.writeFile(
  `${root}/release.json`,
  new Uint8Array(await (await fetch(`${url}/swift/mona/LinkedList/1.0.0`)).arrayBuffer()),
);
const nginxPort = 20000 + Math.floor(Math.random() * 20000);
await Deno.writeTextFile(
  `${work}/nginx.conf`,
  `daemon off; worker_processes 1; pid ${work}/nginx.pid; error_log ${work}/error.log;
events { worker_connections 1024; }
http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 100000;
  types { application/zip zip; application/json json; }
  client_body_temp_path ${work}/tmp; proxy_temp_path ${work}/tmp; fastcgi_temp_path ${work}/tmp;
  uwsgi_temp_path ${work}/tmp; scgi_temp_path ${work}/tmp;
  server { listen 127.0.0.1:${nginxPort}; root ${root}; } }
`,
);
const nginx = new Deno.Command("nginx", { args: ["-c", `${work}/nginx.conf`, "-p", work], stderr: "null" }).spawn();
await new Promise((r) => setTimeout(r, 500));

async function wrk(target: string): Promise<{ rps: number; p99: string }> {
  const output = await new Deno.Command("wrk", {
    args: ["-t2", `-c${values.connections}`, `-d${values.seconds}s`, "--latency", target],
    stdout: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? 0),
    p99: /\s99%\s+(\S+)/.exec(text)?.[1] ?? "?",
  };
}

console.log(
  `${values.connections} connections, ${values.seconds}s each, archive ${(archive.length / 1024).toFixed(0)} KiB`,
);
for (
  const [label, ours, theirs] of [
    ["release metadata", `${url}/swift/mona/LinkedList/1.0.0`, `http://127.0.0.1:${nginxPort}/release.json`],
    ["source archive", `${url}/swift/mona/LinkedList/1.0.0.zip`, `http://127.0.0.1:${nginxPort}/archive.zip`],
  ]
) {
  const a = await wrk(ours);
  const b = await wrk(theirs);
  console.log(
    `${label.padEnd(18)} registry ${a.rps.toFixed(0).padStart(7)} req/s (p99 ${a.p99})   ` +
      `nginx ${b.rps.toFixed(0).padStart(7)} req/s (p99 ${b.p99})   ratio ${(a.rps / b.rps).toFixed(2)}`,
  );
}

nginx.kill("SIGTERM");
await nginx.status;
registry.kill("SIGTERM");
await registry.status;
await drain;
await Deno.remove(work, { recursive: true });
