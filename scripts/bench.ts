/**
 * On-demand benchmark (not a test): the registry against nginx serving the
 * same bytes, in the same run, interleaved. For every hot read it prints the
 * median requests/s, p99 latency and server CPU per request (from
 * `/proc/<pid>/stat`, all threads) of both, and their ratios.
 *
 * The registry runs as its own process (`deno run main.ts`), with logging and
 * metrics on, once per worker count in `--workers`; nginx runs with as many
 * worker processes and serves files holding exactly the bodies the registry
 * answers. With `--offload`, archives are also fetched through README's nginx
 * configuration, nginx asking a registry with `REGISTRY_ACCEL_REDIRECT` and
 * sending the file itself (CPU: the registry's and nginx's together). With
 * `--private`, every read is measured again with a bearer token against a
 * registry that requires one for reads (`REGISTRY_REQUIRE_AUTH_FOR_READ`).
 *
 * Needs nginx and wrk (Debian: `apt-get install nginx-light wrk`).
 *
 * Usage: deno task bench [--seconds 3] [--rounds 5] [--connections 50] [--workers 1,2] [--offload] [--private]
 *        [--only swift,npm] [--soak 1000000] [--main /other/checkout/main.ts]
 *
 * Archives are measured from memory and again streamed from disk
 * (`REGISTRY_MEMORY_CACHE_BYTES=0`). `--soak N` drives N requests over every
 * URL in turn at the last registry and prints its RSS as it goes. `--main`
 * benchmarks another checkout's `main.ts` (e.g. before a change).
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { packageZip } from "../tests/support/archives.ts";
import { cachePut, randomBytes } from "../tests/support/cache.ts";
import { libraryZip, publishModule } from "../tests/support/go.ts";
import { swiftPublishBody } from "../tests/support/multipart.ts";
import { packageTarball, publishBody } from "../tests/support/npm.ts";
import { PIP_ACCEPT, upload, wheel } from "../tests/support/pypi.ts";
import { ADMIN_TOKEN } from "../tests/support/server.ts";
import { startFakeNpmUpstream } from "../tests/support/fake_npm_upstream.ts";
import { type RegistryProcess, startRegistryProcess } from "./registry_process.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "3" },
    rounds: { type: "string", default: "5" },
    connections: { type: "string", default: "50" },
    workers: { type: "string", default: "1,2" },
    offload: { type: "boolean", default: false },
    private: { type: "boolean", default: false },
    only: { type: "string" },
    soak: { type: "string" },
    main: { type: "string" },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const connections = Number(values.connections);
const workerCounts = values.workers.split(",").map(Number);

for (const tool of ["nginx", "wrk"]) {
  const found = await new Deno.Command("sh", { args: ["-c", `command -v ${tool}`], stdout: "null" }).output();
  if (!found.success) {
    console.error(`${tool} is not installed (Debian: apt-get install nginx-light wrk)`);
    Deno.exit(1);
  }
}

const TOKEN = ADMIN_TOKEN;
const work = await Deno.makeTempDir({ prefix: "registry-bench-" });
/** An upstream npm registry (REGISTRY_NPM_UPSTREAM) for the packument and tarball cached from it. */
const npmUpstream = await startFakeNpmUpstream([{ name: "bench-upstream", version: "1.0.0" }]);
// nginx workers started by root run as an unprivileged user: they must be able to read what they serve.
await Deno.chmod(work, 0o755);
const mainTs = values.main ?? fileURLToPath(new URL("../main.ts", import.meta.url));

/** One URL to measure: its path on the registry (nginx serves the same bytes as a file). */
interface Target {
  label: string;
  path: string;
  /** The `Accept` its clients send. */
  accept?: string;
  /** Archives: also measured through the offload proxy with `--offload`. */
  archive?: boolean;
  /** The size of the body (known once fetched). */
  bytes?: number;
}

async function startRegistry(
  workers: number,
  dataDir: string,
  env: Record<string, string> = {},
): Promise<RegistryProcess> {
  return await startRegistryProcess({
    main: mainTs,
    denoFlags: ["--unstable-net"],
    serverArgs: ["--data-dir", dataDir],
    env: {
      REGISTRY_ADMIN_TOKEN: TOKEN,
      REGISTRY_LOG_LEVEL: "info",
      REGISTRY_WORKERS: String(workers),
      REGISTRY_NPM_UPSTREAM: npmUpstream.url,
      ...env,
    },
  });
}

async function expectStatus(what: string, response: Response, status: number): Promise<void> {
  if (response.status !== status) throw new Error(`${what}: ${response.status} ${await response.text()}`);
  await response.body?.cancel();
}

async function publishSwift(base: string, path: string, archive: Uint8Array): Promise<void> {
  const { body, contentType } = swiftPublishBody({
    archive,
    metadata: { repositoryURLs: [`https://example.com/${path}`] },
  });
  const response = await fetch(`${base}/swift/${path}`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": contentType },
    body,
  });
  if (response.status !== 201) throw new Error(`publish ${path}: ${response.status} ${await response.text()}`);
  await response.body?.cancel();
}

/** Publishes the Swift packages and returns what to measure. */
async function setupSwift(base: string): Promise<Target[]> {
  const small = await packageZip({
    alternates: { "5.8": "5.8" },
    extra: [{ name: "LinkedList/blob.bin", content: randomBytes(700) }],
  });
  await publishSwift(base, "mona/LinkedList/1.0.0", small);
  const large = await packageZip({
    top: "Large",
    extra: [{ name: "Large/blob.bin", content: randomBytes(256 * 1024) }],
  });
  await publishSwift(base, "mona/Large/1.0.0", large);
  for (let i = 0; i < 100; i++) {
    await publishSwift(base, `mona/Many/1.${i}.0`, await packageZip({ top: "Many" }));
  }
  return [
    { label: "swift release metadata", path: "/swift/mona/LinkedList/1.0.0" },
    { label: "swift release list", path: "/swift/mona/LinkedList" },
    { label: "swift Package.swift", path: "/swift/mona/LinkedList/1.0.0/Package.swift" },
    {
      label: `swift archive ${(small.length / 1024).toFixed(1)} KiB`,
      path: "/swift/mona/LinkedList/1.0.0.zip",
      archive: true,
    },
    {
      label: `swift archive ${(large.length / 1024).toFixed(0)} KiB`,
      path: "/swift/mona/Large/1.0.0.zip",
      archive: true,
    },
    { label: "swift metadata, 100 versions", path: "/swift/mona/Many/1.50.0" },
    { label: "swift list, 100 versions", path: "/swift/mona/Many" },
  ];
}

/** An npm package with one small tarball. */
async function setupNpm(base: string): Promise<Target[]> {
  const tarball = await packageTarball("bench-lib", "1.0.0", [{ name: "package/blob.bin", content: randomBytes(700) }]);
  const response = await fetch(`${base}/npm/bench-lib`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body: publishBody("bench-lib", "1.0.0", tarball, { registry: `${base}/npm/` }),
  });
  await expectStatus("npm publish", response, 201);
  return [
    {
      label: "npm packument",
      path: "/npm/bench-lib",
      accept: "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*",
    },
    { label: `npm tarball ${(tarball.length / 1024).toFixed(1)} KiB`, path: "/npm/bench-lib/-/bench-lib-1.0.0.tgz" },
    // Cached from the upstream by the first request (the one that writes nginx's copy).
    {
      label: "npm packument, upstream",
      path: "/npm/bench-upstream",
      accept: "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*",
    },
    { label: "npm tarball, upstream", path: "/npm/bench-upstream/-/bench-upstream-1.0.0.tgz" },
  ];
}

/** A PyPI project with one wheel. */
async function setupPypi(base: string): Promise<Target[]> {
  const dist = await wheel("bench-lib", "1.0.0");
  await expectStatus("pypi upload", await upload(base, dist, {}, TOKEN), 200);
  return [
    { label: "pypi project page", path: "/pypi/simple/bench-lib/", accept: PIP_ACCEPT },
    {
      label: `pypi wheel ${(dist.bytes.length / 1024).toFixed(1)} KiB`,
      path: `/pypi/files/bench-lib/${dist.filename}`,
    },
  ];
}

/** A Go module with one version. */
async function setupGo(base: string): Promise<Target[]> {
  const module = "example.com/bench/lib";
  await expectStatus(
    "go publish",
    await publishModule(base, module, "v1.0.0", await libraryZip(module, "v1.0.0", "hi"), TOKEN),
    201,
  );
  return [
    { label: "go list", path: `/go/${module}/@v/list` },
    { label: "go info", path: `/go/${module}/@v/v1.0.0.info` },
    { label: "go mod", path: `/go/${module}/@v/v1.0.0.mod` },
    { label: "go zip", path: `/go/${module}/@v/v1.0.0.zip`, archive: true },
  ];
}

/** A 4 KiB build-cache blob and action entry. */
async function setupCache(base: string): Promise<Target[]> {
  const blob = randomBytes(4096);
  const { key, status } = await cachePut(base, "cas", blob, { authorization: `Bearer ${TOKEN}` });
  if (status !== 200) throw new Error(`cache upload: ${status}`);
  const entry = await cachePut(base, "ac", blob, { key, authorization: `Bearer ${TOKEN}` });
  if (entry.status !== 200) throw new Error(`cache upload: ${entry.status}`);
  return [
    { label: "cache CAS blob 4 KiB", path: `/cache/cas/${key}` },
    { label: "cache action entry 4 KiB", path: `/cache/ac/${key}` },
  ];
}

/** Format set-ups by format id; a format the registry does not serve is skipped. */
const SETUPS: Record<string, (base: string) => Promise<Target[]>> = {
  swift: setupSwift,
  npm: setupNpm,
  pypi: setupPypi,
  go: setupGo,
  cache: setupCache,
};

/** Clock ticks of CPU (user + system) used so far by `pid` and, for nginx, its workers. */
async function cpuTicks(pids: number[]): Promise<number> {
  let total = 0;
  for (const pid of pids) {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    total += Number(fields[11]) + Number(fields[12]);
  }
  return total;
}

const CLOCK_TICKS_PER_SECOND = 100;

interface Run {
  rps: number;
  p99Ms: number;
  cpuUsPerRequest: number;
  errors: number;
}

async function wrk(url: string, pids: number[], accept?: string, authorization?: string): Promise<Run> {
  const before = await cpuTicks(pids);
  const output = await new Deno.Command("wrk", {
    args: [
      "-t1",
      `-c${connections}`,
      `-d${seconds}s`,
      "--latency",
      ...(accept ? ["-H", `Accept: ${accept}`] : []),
      ...(authorization ? ["-H", `Authorization: ${authorization}`] : []),
      url,
    ],
    stdout: "piped",
  }).output();
  const after = await cpuTicks(pids);
  const text = new TextDecoder().decode(output.stdout);
  const requests = Number(/(\d+) requests in/.exec(text)?.[1] ?? 0);
  const p99 = /\s99%\s+([\d.]+)(us|ms|s)/.exec(text);
  const unit = p99 === null ? 1 : { us: 0.001, ms: 1, s: 1000 }[p99[2]]!;
  const errors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0) +
    Number(/Socket errors: connect (\d+)/.exec(text)?.[1] ?? 0);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? 0),
    p99Ms: p99 === null ? NaN : Number(p99[1]) * unit,
    cpuUsPerRequest: requests === 0 ? NaN : ((after - before) / CLOCK_TICKS_PER_SECOND) * 1e6 / requests,
    errors,
  };
}

/** A registry just started runs its code unoptimized at first: one unmeasured run at `url` warms it up. */
async function warmUp(url: string, target: Target, authorization?: string): Promise<void> {
  await wrk(`${url}${target.path}`, [], target.accept, authorization);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** A running nginx. */
interface Nginx {
  url: string;
  pids: number[];
  stop(): Promise<void>;
}

/**
 * Starts nginx with `workers` worker processes and `server` (a `server {}`
 * block, or README's configuration) inside `http {}`, listening on `port`.
 */
async function startNginx(workers: number, port: number, server: string): Promise<Nginx> {
  const dir = await Deno.makeTempDir({ dir: work, prefix: "nginx-" });
  await Deno.chmod(dir, 0o755);
  await Deno.writeTextFile(
    `${dir}/nginx.conf`,
    `daemon off; worker_processes ${workers}; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 4096; }
http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;
  default_type application/octet-stream;
  client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp;
  uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;
${server}
}
`,
  );
  const child = new Deno.Command("nginx", { args: ["-c", `${dir}/nginx.conf`, "-p", dir], stderr: "inherit" }).spawn();
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/`).then((r) => (r.body?.cancel(), true), () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const master = child.pid;
  const pids = [master];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`).catch(() => "");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid === master) pids.push(Number(entry.name));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    pids,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** README's nginx configuration (offloading artifacts), pointed at `upstream` (host:port), `dataDir` and `port`. */
async function offloadServer(upstream: string, dataDir: string, port: number): Promise<string> {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const block = /```nginx\n([\s\S]*?)```/.exec(readme)?.[1];
  if (block === undefined) throw new Error("README.md has no nginx configuration");
  return block
    .replace("server 127.0.0.1:8080;", `server ${upstream};`)
    .replace("listen 80;", `listen 127.0.0.1:${port};`)
    .replace("/var/lib/swift-registry/objects/", `${dataDir}/objects/`);
}

/**
 * A `server {}` block on `port` answering each of `archives` as the offloading
 * `registry` does (its `X-Accel-Redirect` and headers), with no work behind it.
 */
async function standInUpstream(registry: RegistryProcess, archives: Target[], port: number): Promise<string> {
  const skip = new Set(["date", "content-length", "connection", "keep-alive", "server", "content-type"]);
  const locations = [];
  for (const target of archives) {
    const answer = await fetch(`${registry.url}${target.path}`, {
      headers: target.accept ? { Accept: target.accept } : {},
    });
    await answer.body?.cancel();
    if (!answer.headers.has("x-accel-redirect")) throw new Error(`${target.path}: no X-Accel-Redirect`);
    const headers = [...answer.headers].filter(([name, value]) => !skip.has(name) && !value.includes("'"))
      .map(([name, value]) => `add_header ${name} '${value}';`);
    locations.push(`location = ${target.path} { ${headers.join(" ")} return 200; }`);
  }
  return `server { listen 127.0.0.1:${port}; ${locations.join("\n")} }`;
}

/** Bodies up to this size are the "small hot reads" of the targets. */
const SMALL_BYTES = 64 * 1024;

const freePort = () => 20000 + Math.floor(Math.random() * 20000);

interface Row {
  label: string;
  ours: Run;
  nginx: Run;
}

function summarize(runs: Run[]): Run {
  return {
    rps: median(runs.map((r) => r.rps)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    cpuUsPerRequest: median(runs.map((r) => r.cpuUsPerRequest)),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
  };
}

function printTable(title: string, rows: Row[]): void {
  console.log(`\n${title}`);
  console.log(
    `${"".padEnd(34)} ${"req/s".padStart(8)} ${"nginx".padStart(8)} ${"ratio".padStart(6)}  ` +
      `${"µs/req".padStart(7)} ${"nginx".padStart(7)} ${"ratio".padStart(6)}  ${"p99 ms".padStart(7)} ${
        "nginx".padStart(7)
      }`,
  );
  for (const { label, ours, nginx } of rows) {
    const flag = ours.errors + nginx.errors > 0 ? `  (${ours.errors}/${nginx.errors} errors)` : "";
    console.log(
      `${label.padEnd(34)} ${ours.rps.toFixed(0).padStart(8)} ${nginx.rps.toFixed(0).padStart(8)} ${
        (ours.rps / nginx.rps).toFixed(2).padStart(6)
      }  ${ours.cpuUsPerRequest.toFixed(1).padStart(7)} ${nginx.cpuUsPerRequest.toFixed(1).padStart(7)} ${
        (ours.cpuUsPerRequest / nginx.cpuUsPerRequest).toFixed(2).padStart(6)
      }  ${ours.p99Ms.toFixed(2).padStart(7)} ${nginx.p99Ms.toFixed(2).padStart(7)}${flag}`,
    );
  }
}

/** Drives `total` requests over every target in turn at `registry`, printing its RSS every tenth of the way. */
async function soak(registry: RegistryProcess, targets: Target[], total: number): Promise<void> {
  const rss = async () => {
    const status = await Deno.readTextFile(`/proc/${registry.pid}/status`);
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  };
  console.log(
    `\nsoak: ${total} requests over ${targets.length} URLs in turn, rss at start ${(await rss()).toFixed(0)} MiB`,
  );
  let done = 0;
  let reported = 0;
  for (let round = 0; done < total; round++) {
    const target = targets[round % targets.length];
    const output = await new Deno.Command("wrk", {
      args: [
        "-t1",
        `-c${connections}`,
        "-d1s",
        ...(target.accept ? ["-H", `Accept: ${target.accept}`] : []),
        `${registry.url}${target.path}`,
      ],
      stdout: "piped",
    }).output();
    done += Number(/(\d+) requests in/.exec(new TextDecoder().decode(output.stdout))?.[1] ?? 0);
    if (done - reported >= total / 10 || done >= total) {
      reported = done;
      console.log(`  ${String(done).padStart(9)} requests  rss ${(await rss()).toFixed(0)} MiB`);
    }
  }
}

try {
  for (const workers of workerCounts) {
    const dataDir = `${work}/data-${workers}`;
    let registry = await startRegistry(workers, dataDir);
    await Deno.chmod(dataDir, 0o755); // nginx's workers read the objects when they offload
    const targets: Target[] = [];
    for (const [format, setup] of Object.entries(SETUPS)) {
      if (values.only === undefined || values.only.split(",").includes(format)) {
        targets.push(...await setup(registry.url));
      }
    }
    const root = `${work}/www-${workers}`;
    await Deno.mkdir(root);
    for (const [i, target] of targets.entries()) {
      const answer = await fetch(`${registry.url}${target.path}`, {
        headers: target.accept ? { Accept: target.accept } : {},
      });
      if (answer.status !== 200) throw new Error(`${target.path}: ${answer.status}`);
      const body = new Uint8Array(await answer.arrayBuffer());
      target.bytes = body.length;
      await Deno.writeFile(`${root}/t${i}`, body);
    }
    const staticPort = freePort();
    const nginx = await startNginx(workers, staticPort, `server { listen 127.0.0.1:${staticPort}; root ${root}; }`);
    const rows: Row[] = [];
    // Every run's p99 of the small reads, by section: one run's p99 is noisy (on two cores under wrk, both servers
    // swing between about 1 and 4 ms from run to run with two workers).
    const smallP99 = new Map<string, { ours: number[]; nginx: number[] }>();
    /** One run of nginx sending the bytes the registry answers for `target`. */
    const nginxRun = (target: Target) => wrk(`${nginx.url}/t${targets.indexOf(target)}`, nginx.pids);
    /**
     * A row of the table for `target` read from the registry running now (the target's label and `suffix`): `rounds`
     * runs, each followed by a run of nginx sending the same bytes; a small read's p99s go to `section`'s summary.
     */
    const measure = async (section: string, target: Target, suffix = "", authorization?: string) => {
      const ours: Run[] = [];
      const theirs: Run[] = [];
      for (let round = 0; round < rounds; round++) {
        ours.push(await wrk(`${registry.url}${target.path}`, [registry.pid], target.accept, authorization));
        theirs.push(await nginxRun(target));
      }
      if (target.bytes! <= SMALL_BYTES) {
        const runs = smallP99.get(section) ?? { ours: [], nginx: [] };
        smallP99.set(section, runs);
        runs.ours.push(...ours.map((r) => r.p99Ms));
        runs.nginx.push(...theirs.map((r) => r.p99Ms));
      }
      rows.push({ label: `${target.label}${suffix}`, ours: summarize(ours), nginx: summarize(theirs) });
    };
    for (const target of targets) await measure("from memory", target);
    if (values.soak !== undefined && workers === workerCounts.at(-1)) {
      await soak(registry, targets, Number(values.soak));
    }
    // Archives streamed from disk rather than memory (REGISTRY_MEMORY_CACHE_BYTES=0).
    await registry.stop();
    registry = await startRegistry(workers, dataDir, { REGISTRY_MEMORY_CACHE_BYTES: "0" });
    await warmUp(registry.url, targets.find((t) => t.archive)!);
    for (const target of targets.filter((t) => t.archive)) await measure("from disk", target, " (from disk)");
    if (values.private) {
      // The same data, read with a token by a registry that requires one (REGISTRY_REQUIRE_AUTH_FOR_READ).
      await registry.stop();
      registry = await startRegistry(workers, dataDir, { REGISTRY_REQUIRE_AUTH_FOR_READ: "true" });
      await warmUp(registry.url, targets[0], `Bearer ${TOKEN}`);
      for (const target of targets) await measure("with a token", target, " (token)", `Bearer ${TOKEN}`);
    }
    const ceilingRows: Row[] = [];
    if (values.offload) {
      // The same data, a registry whose artifacts nginx sends (README: "Serving artifacts through nginx").
      await registry.stop();
      registry = await startRegistry(workers, dataDir, { REGISTRY_ACCEL_REDIRECT: "/_registry_files/" });
      const archives = targets.filter((t) => t.archive);
      const port = freePort();
      const proxy = await startNginx(workers, port, await offloadServer(new URL(registry.url).host, dataDir, port));
      // The best this set-up can do: the same nginx asking a stand-in upstream, nginx itself answering
      // every archive at once with the registry's own X-Accel-Redirect and headers.
      const ceilingPort = freePort();
      const standInPort = freePort();
      const ceiling = await startNginx(
        workers,
        ceilingPort,
        `${await offloadServer(`127.0.0.1:${standInPort}`, dataDir, ceilingPort)}\n${await standInUpstream(
          registry,
          archives,
          standInPort,
        )}`,
      );
      await warmUp(proxy.url, archives[0]);
      for (const target of archives) {
        const offloaded: Run[] = [];
        const best: Run[] = [];
        const direct: Run[] = [];
        for (let round = 0; round < rounds; round++) {
          offloaded.push(await wrk(`${proxy.url}${target.path}`, [registry.pid, ...proxy.pids], target.accept));
          best.push(await wrk(`${ceiling.url}${target.path}`, ceiling.pids, target.accept));
          direct.push(await nginxRun(target));
        }
        rows.push({
          label: `${target.label} (nginx sends)`,
          ours: summarize(offloaded),
          nginx: summarize(direct),
        });
        ceilingRows.push({
          label: `${target.label} (nginx sends)`,
          ours: summarize(offloaded),
          nginx: summarize(best),
        });
      }
      await ceiling.stop();
      await proxy.stop();
    }
    printTable(
      `REGISTRY_WORKERS=${workers} vs nginx worker_processes ${workers}: wrk -t1 -c${connections} -d${seconds}s, ` +
        `medians of ${rounds} interleaved runs; µs/req = server CPU (user+system) per request`,
      rows,
    );
    for (const [section, runs] of smallP99) {
      const [ourP99, nginxP99] = [median(runs.ours), median(runs.nginx)];
      const range = (p99s: number[]) => `${Math.min(...p99s).toFixed(2)}–${Math.max(...p99s).toFixed(2)}`;
      console.log(
        `p99 of the small reads (≤ ${SMALL_BYTES / 1024} KiB) ${section}, median of ${runs.ours.length} runs: ` +
          `${ourP99.toFixed(2)} ms (runs ${range(runs.ours)}), nginx ${nginxP99.toFixed(2)} ms ` +
          `(runs ${range(runs.nginx)}): ${(ourP99 / nginxP99).toFixed(2)}×`,
      );
    }
    if (ceilingRows.length > 0) {
      printTable(
        `Offload vs the best it can do ("nginx" = README's nginx asking a stand-in upstream, nginx answering at once)`,
        ceilingRows,
      );
    }
    await nginx.stop();
    await registry.stop();
  }
} finally {
  await npmUpstream.close();
  await Deno.remove(work, { recursive: true });
}
