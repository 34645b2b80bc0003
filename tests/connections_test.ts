import assert from "node:assert/strict";
import { get, startTestServer } from "./support/server.ts";
import { connect, readResponse, readUntilClosed, send } from "./support/raw_http.ts";
import { MAIN_RUN_ARGS } from "./support/cli.ts";
import { eventually } from "./support/eventually.ts";
import { ConfigError, loadConfig } from "../src/config.ts";

Deno.test("connection settings with bad values stop start-up with one line naming the setting", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    for (
      const [name, value] of [
        ["REGISTRY_MAX_CONNECTIONS", "0"],
        ["REGISTRY_MAX_CONNECTIONS", "lots"],
        ["REGISTRY_MAX_CONNECTIONS_PER_IP", "-1"],
        ["REGISTRY_HEADER_TIMEOUT", "soon"],
        ["REGISTRY_IDLE_TIMEOUT", "10"],
      ]
    ) {
      await assert.rejects(loadConfig({ dataDir }, { [name]: value }), (error: unknown) => {
        assert.ok(error instanceof ConfigError && error.message.startsWith(name) && !error.message.includes("\n"));
        return true;
      });
    }
    const defaults = (await loadConfig({ dataDir }, {})).connections;
    assert.deepEqual(defaults, { max: undefined, perIp: 256, headerTimeoutMs: 30_000, idleTimeoutMs: 60_000 });
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

const HEALTH = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

Deno.test("a connection that sends no complete request head within REGISTRY_HEADER_TIMEOUT is closed", async () => {
  let clock = 0;
  await using t = await startTestServer({ connectionClock: () => clock, env: { REGISTRY_HEADER_TIMEOUT: "300ms" } });
  const silent = await connect(t.server.port);
  const slow = await connect(t.server.port);
  await send(slow, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
  const during = await get(`${t.url}/health`);
  assert.equal(during.status, 200, "within the timeout (the clock stands still) others are served");
  await during.body?.cancel();
  clock += 1_000;
  assert.equal(await readUntilClosed(silent), "");
  assert.equal(await readUntilClosed(slow), "");
  const health = await get(`${t.url}/health`);
  assert.equal(health.status, 200, "other clients are served meanwhile");
  await health.body?.cancel();
  const metrics = await (await get(`${t.url}/metrics`)).text();
  assert.match(metrics, /^registry_connections_timed_out 2$/m);
});

Deno.test("an idle keep-alive connection is closed after REGISTRY_IDLE_TIMEOUT, after answering its requests", async () => {
  let clock = 0;
  await using t = await startTestServer({
    connectionClock: () => clock,
    env: { REGISTRY_IDLE_TIMEOUT: "300ms", REGISTRY_HEADER_TIMEOUT: "30s" },
  });
  const conn = await connect(t.server.port);
  await send(conn, HEALTH);
  assert.equal((await readResponse(conn)).status, 200);
  await send(conn, HEALTH);
  assert.equal((await readResponse(conn)).status, 200, "kept alive between requests");
  clock += 1_000;
  assert.equal(await readUntilClosed(conn), "", "closed once idle");
});

Deno.test("connections over REGISTRY_MAX_CONNECTIONS_PER_IP are closed at once; a closed one frees a place", async () => {
  await using t = await startTestServer({ env: { REGISTRY_MAX_CONNECTIONS_PER_IP: "3" } });
  const held = await Promise.all([1, 2, 3].map(() => connect(t.server.port)));
  for (const conn of held) {
    await send(conn, HEALTH);
    assert.equal((await readResponse(conn)).status, 200);
  }
  const extra = await connect(t.server.port);
  await send(extra, HEALTH).catch(() => {});
  assert.equal(await readUntilClosed(extra), "", "the fourth connection from this address is refused");
  held.pop()!.close();
  // The server notices the close on its own time; retry until the place is free.
  let status = 0;
  for (let attempt = 0; attempt < 200 && status !== 200; attempt++) {
    const conn = await connect(t.server.port);
    await send(conn, HEALTH).catch(() => {});
    status = (await readResponse(conn).catch(() => ({ status: 0 }))).status;
    conn.close();
    if (status !== 200) await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(status, 200);
  for (const conn of held) conn.close();
  let metrics = "";
  for (let attempt = 0; attempt < 200 && metrics === ""; attempt++) {
    metrics = await get(`${t.url}/metrics`).then((r) => r.text(), () => "");
    if (metrics === "") await new Promise((r) => setTimeout(r, 20));
  }
  assert.match(metrics, /^registry_connections_refused [1-9]/m);
});

Deno.test("at REGISTRY_MAX_CONNECTIONS a new client is served and the longest idle connection is closed", async () => {
  await using t = await startTestServer({
    env: { REGISTRY_MAX_CONNECTIONS: "3", REGISTRY_MAX_CONNECTIONS_PER_IP: "0" },
  });
  const idle = [];
  for (let i = 0; i < 3; i++) {
    idle.push(await connect(t.server.port));
    // Accepting is asynchronous: wait until the server counts this connection.
    while (t.server.connections < i + 1) await new Promise((r) => setTimeout(r, 5));
  }
  const newcomer = await connect(t.server.port);
  await send(newcomer, HEALTH);
  assert.equal((await readResponse(newcomer)).status, 200);
  assert.equal(await readUntilClosed(idle[0]), "", "the oldest idle connection made room");
  newcomer.close();
  for (const conn of idle.slice(1)) conn.close();
});

/** Closes every connection of a flood (the server may have closed some). */
function closeAll(flood: Deno.Conn[]): void {
  for (const conn of flood) {
    try {
      conn.close();
    } catch { /* closed by the server */ }
  }
}

/** Starts main.ts under `prlimit --nofile=soft:hard` (as `deno task start` would run it) and waits for its URL. */
async function startLimited(soft: number, hard: number, env: Record<string, string>) {
  const dataDir = await Deno.makeTempDir();
  const child = new Deno.Command("prlimit", {
    args: [`--nofile=${soft}:${hard}`, Deno.execPath(), ...MAIN_RUN_ARGS, "--port", "0", "--data-dir", dataDir],
    env: { NO_COLOR: "1", REGISTRY_LOG_LEVEL: "info", ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  let url: string | undefined;
  while (url === undefined) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`server exited: ${lines.join("\n")}`);
    buffered += value;
    const parts = buffered.split("\n");
    buffered = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      const match = /"url":"(http:\/\/[^"]+)"/.exec(line);
      if (match) url = match[1];
    }
  }
  const drained = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      lines.push(value);
    }
  })();
  const stderr = new Response(child.stderr).text();
  return {
    url,
    port: Number(new URL(url).port),
    lines,
    child,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* exited */ }
      const status = await child.status;
      await drained;
      await Deno.remove(dataDir, { recursive: true });
      return { status, stderr: await stderr };
    },
  };
}

Deno.test("a server out of file descriptors keeps running and serves again (REGISTRY_MAX_CONNECTIONS above the limit)", async () => {
  const server = await startLimited(128, 128, {
    REGISTRY_MAX_CONNECTIONS: "100000",
    REGISTRY_MAX_CONNECTIONS_PER_IP: "0",
  });
  const flood: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 300; i++) flood.push(await connect(server.port));
    // Every descriptor is taken: the server must reclaim idle connections rather than die.
    let status = 0;
    for (let attempt = 0; attempt < 100 && status !== 200; attempt++) {
      const response = await fetch(`${server.url}/health`).catch(() => null);
      status = response?.status ?? 0;
      await response?.body?.cancel();
      if (status !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(status, 200, "served again while the idle flood is still connected");
  } finally {
    closeAll(flood);
    const { stderr } = await server.stop();
    assert.doesNotMatch(stderr, /Too many open files|Uncaught/, `no crash: ${stderr.slice(0, 2000)}`);
  }
});

Deno.test("with the default bounds, 300 idle connections from one client under a 128-file limit do not stop the server", async () => {
  const server = await startLimited(128, 128, {});
  const flood: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 300; i++) flood.push(await connect(server.port));
    const response = await fetch(`${server.url}/health`);
    assert.equal(response.status, 200);
    await response.body?.cancel();
    assert.equal(server.child.pid > 0, true);
  } finally {
    closeAll(flood);
    const { status, stderr } = await server.stop();
    assert.equal(status.code, 0, `still running until stopped, then a clean exit: ${stderr}`);
  }
});

Deno.test("with REGISTRY_WORKERS=2, every worker takes its share of the default bound the process's file limit gives", async () => {
  // 512 files: 384 connections for the process, 192 per worker (the rest for the runtime and storage).
  // Before, only the first worker knew the limit: the other took 768 / 2 and kept accepting until the
  // process ran out of descriptors.
  const server = await startLimited(512, 512, {
    REGISTRY_WORKERS: "2",
    REGISTRY_MAX_CONNECTIONS_PER_IP: "0",
    // Only the bound closes connections here, not the timeouts.
    REGISTRY_HEADER_TIMEOUT: "1h",
    REGISTRY_IDLE_TIMEOUT: "1h",
    PATH: Deno.env.get("PATH") ?? "", // the limit is read with prlimit
  });
  const flood: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 600; i++) flood.push(await connect(server.port));
    const metric = async (name: string) => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      return Number(new RegExp(`^${name} (\\d+)$`, "m").exec(text)?.[1]);
    };
    // Room for a newcomer is made by closing an idle connection: the count settles within the bound.
    await eventually(
      "open connections within the process's bound of 384",
      async () => await metric("registry_connections_open") <= 384,
    );
  } finally {
    closeAll(flood);
    const { stderr } = await server.stop();
    assert.doesNotMatch(stderr, /Too many open files|Uncaught/, `no crash: ${stderr.slice(0, 2000)}`);
  }
});
