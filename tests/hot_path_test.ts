import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../src/config.ts";
import { packageZip } from "./support/archives.ts";
import { runMain } from "./support/cli.ts";
import { randomBytes } from "./support/cache.ts";
import { eventually } from "./support/eventually.ts";
import { walk } from "./support/files.ts";
import { seen } from "./support/hot.ts";
import { ADMIN_TOKEN, get, problem, publish, startTestServer, type TestServer } from "./support/server.ts";

async function publishOk(t: TestServer, path: string, archive?: Uint8Array): Promise<void> {
  const response = await publish(t.swift, path, {
    archive: archive ?? await packageZip({ alternates: { "5.8": "5.8" } }),
  });
  assert.equal(response.status, 201, await response.text());
}

Deno.test("the settings of the hot path and workers with bad values stop start-up with one line naming the setting", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    for (
      const [name, value, extra] of [
        ["REGISTRY_WORKERS", "0"],
        ["REGISTRY_WORKERS", "two"],
        ["REGISTRY_WORKERS", "65"],
        ["REGISTRY_ACCESS_LOG", "sometimes"],
        ["REGISTRY_ACCESS_LOG", "2"],
        ["REGISTRY_HOT_CACHE_BYTES", "lots"],
        ["REGISTRY_ACCEL_REDIRECT", "_registry_files"],
        ["REGISTRY_ACCEL_REDIRECT", "/_registry_files"],
        ["REGISTRY_ACCEL_REDIRECT", "/_registry_files/", { REGISTRY_S3_BUCKET: "bucket" }],
      ] as [string, string, Record<string, string>?][]
    ) {
      await assert.rejects(loadConfig({ dataDir }, { [name]: value, ...extra }), (error: unknown) => {
        assert.ok(error instanceof ConfigError, `${name}=${value}`);
        assert.ok(error.message.startsWith(name) && !error.message.includes("\n"), error.message);
        return true;
      });
    }
    const config = await loadConfig({ dataDir }, { REGISTRY_ACCESS_LOG: "0.01", REGISTRY_WORKERS: "2" });
    assert.equal(config.accessLogSample, 0.01);
    assert.equal(config.workers, 2);
    const defaults = await loadConfig({ dataDir }, {});
    assert.equal(defaults.workers, navigator.hardwareConcurrency);
    assert.equal(defaults.accessLogSample, 1);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("REGISTRY_WORKERS above 1 without Deno's --unstable-net is one line and exit code 2", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    const { code, stderr } = await runMain(["--port", "0", "--data-dir", dataDir], { REGISTRY_WORKERS: "2" }, {
      unstableNet: false,
    });
    assert.equal(code, 2);
    assert.match(stderr.trim(), /^error: REGISTRY_WORKERS=2 needs Deno's --unstable-net flag/);
    assert.equal(stderr.trim().split("\n").length, 1);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("hot reads answer exactly as the routes do: headers, 304, HEAD, ranges, 416 and 415 in the format's shape", async () => {
  await using t = await startTestServer();
  await publishOk(t, "mona/LinkedList/1.0.0");
  await publishOk(t, "mona/LinkedList/1.1.0");
  const first = await get(`${t.swift}/mona/LinkedList/1.0.0`);
  const etag = first.headers.get("etag")!;
  await first.body?.cancel();
  const archiveEtag = (await get(`${t.swift}/mona/LinkedList/1.0.0.zip`)).headers.get("etag")!;
  const cases: [string, RequestInit & { accept?: string }][] = [
    ["mona/LinkedList", {}],
    ["mona/LinkedList.json", {}],
    ["mona/LinkedList/1.0.0", {}],
    ["mona/LinkedList/1.0.0", { headers: { "If-None-Match": etag } }],
    ["mona/LinkedList/1.0.0", { headers: { "If-None-Match": `W/${etag}` } }],
    ["mona/LinkedList/1.0.0", { method: "HEAD" }],
    ["mona/LinkedList/1.0.0/Package.swift", { accept: "application/vnd.swift.registry.v1+swift" }],
    ["mona/LinkedList/1.0.0/Package.swift?swift-version=5.8", {}],
    ["mona/LinkedList/1.0.0.zip", {}],
    ["mona/LinkedList/1.0.0.zip", { method: "HEAD" }],
    ["mona/LinkedList/1.0.0.zip", { headers: { Range: "bytes=5-14" } }],
    ["mona/LinkedList/1.0.0.zip", { headers: { Range: "bytes=5-14", "If-Range": archiveEtag } }],
    ["mona/LinkedList/1.0.0.zip", { headers: { Range: "bytes=5-14", "If-Range": '"other"' } }],
    ["mona/LinkedList/1.0.0.zip", { headers: { Range: "bytes=999999-" } }],
    ["mona/LinkedList/1.0.0.zip", { headers: { "If-None-Match": archiveEtag } }],
    ["mona/LinkedList/1.0.0", { accept: "application/vnd.swift.registry.v2+json" }],
  ];
  for (const [path, init] of cases) {
    const label = `${init.method ?? "GET"} ${path} ${JSON.stringify(init.headers ?? init.accept ?? "")}`;
    // The first request goes through the routes; the next ones are answered from memory when they can be.
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await seen(await get(`${t.swift}/${path}`, init)));
    assert.deepEqual(answers[1], answers[0], label);
    assert.deepEqual(answers[2], answers[0], label);
  }
  const unsatisfiable = await get(`${t.swift}/mona/LinkedList/1.0.0.zip`, { headers: { Range: "bytes=999999-" } });
  assert.equal(unsatisfiable.status, 416);
  await problem(unsatisfiable);
  const v2 = await get(`${t.swift}/mona/LinkedList/1.0.0`, { accept: "application/vnd.swift.registry.v2+json" });
  assert.equal(v2.status, 415);
  await problem(v2);
});

Deno.test("archives not held in memory are hot reads of their local file, answered exactly as the routes do", async () => {
  await using t = await startTestServer({ env: { REGISTRY_MEMORY_CACHE_BYTES: "0" } });
  const small = await packageZip();
  const large = await packageZip({ extra: [{ name: "LinkedList/blob.bin", content: randomBytes(300 * 1024) }] });
  await publishOk(t, "mona/LinkedList/1.0.0", small);
  await publishOk(t, "mona/LinkedList/2.0.0", large);
  for (const [version, bytes] of [["1.0.0", small], ["2.0.0", large]] as const) {
    const url = `${t.swift}/mona/LinkedList/${version}.zip`;
    const etag = (await get(url, { method: "HEAD" })).headers.get("etag")!;
    for (
      const init of [
        {},
        { method: "HEAD" },
        { headers: { "If-None-Match": etag } },
        { headers: { Range: "bytes=5-14" } },
        { headers: { "X-Request-ID": "file-read" } },
      ] as RequestInit[]
    ) {
      const label = `${version} ${JSON.stringify(init)}`;
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await seen(await get(url, init)));
      assert.deepEqual(answers[1], answers[0], label);
      assert.deepEqual(answers[2], answers[0], label);
    }
    const hot = await get(url);
    assert.equal(hot.headers.get("x-request-id"), null, "answered by the hot path (it sends no id of its own)");
    assert.deepEqual(new Uint8Array(await hot.arrayBuffer()), bytes, version);
  }
  // A file that is gone or damaged is left to the routes (which say so), never served short.
  const files: string[] = [];
  for await (const path of walk(`${t.dataDir}/objects/swift`)) if (path.endsWith(".zip")) files.push(path);
  for (const path of files) await Deno.truncate(path, 10);
  const damaged = await get(`${t.swift}/mona/LinkedList/1.0.0.zip`);
  assert.equal(damaged.status, 503);
  assert.notEqual(damaged.headers.get("x-request-id"), null, "answered by the routes");
  await problem(damaged);
});

Deno.test("small archives read from disk at once each get their own bytes (their buffers are reused only once sent)", async () => {
  await using t = await startTestServer({ env: { REGISTRY_MEMORY_CACHE_BYTES: "0" } });
  const archives = new Map<string, Uint8Array>();
  for (let minor = 0; minor < 4; minor++) {
    const archive = await packageZip({ extra: [{ name: "LinkedList/blob.bin", content: randomBytes(8 * 1024) }] });
    archives.set(`1.${minor}.0`, archive);
    await publishOk(t, `mona/LinkedList/1.${minor}.0`, archive);
  }
  for (let round = 0; round < 3; round++) {
    const reads = [...archives].flatMap(([version, bytes]) =>
      Array.from({ length: 10 }, async () => {
        const response = await get(`${t.swift}/mona/LinkedList/${version}.zip`);
        assert.equal(response.status, 200);
        assert.deepEqual(new Uint8Array(await response.arrayBuffer()), bytes, version);
        return response.headers.get("x-request-id") === null;
      })
    );
    const hot = await Promise.all(reads);
    if (round > 0) assert.ok(hot.every(Boolean), "answered by the hot path once remembered");
  }
});

Deno.test("a hot read never outlives its document: a new release is listed at once, links and neighbours follow", async () => {
  await using t = await startTestServer();
  await publishOk(t, "mona/LinkedList/1.0.0");
  for (let i = 0; i < 3; i++) {
    const list = await get(`${t.swift}/mona/LinkedList`);
    assert.deepEqual(Object.keys((await list.json()).releases), ["1.0.0"]);
    const metadata = await get(`${t.swift}/mona/LinkedList/1.0.0`);
    assert.equal(metadata.headers.get("link"), `<${t.swift}/mona/LinkedList/1.0.0>; rel="latest-version"`);
    await metadata.body?.cancel();
  }
  await publishOk(t, "mona/LinkedList/1.1.0");
  const list = await get(`${t.swift}/mona/LinkedList`);
  assert.deepEqual(Object.keys((await list.json()).releases), ["1.1.0", "1.0.0"]);
  const metadata = await get(`${t.swift}/mona/LinkedList/1.0.0`);
  assert.equal(
    metadata.headers.get("link"),
    `<${t.swift}/mona/LinkedList/1.1.0>; rel="latest-version", <${t.swift}/mona/LinkedList/1.1.0>; rel="successor-version"`,
  );
  await metadata.body?.cancel();
});

Deno.test("hot reads build links from each request's own Host, and are counted and logged like any request", async () => {
  await using t = await startTestServer();
  await publishOk(t, "mona/LinkedList/1.0.0");
  const port = new URL(t.url).port;
  for (const host of ["localhost", "127.0.0.1", "localhost", "127.0.0.1"]) {
    const response = await get(`http://${host}:${port}/swift/mona/LinkedList`);
    const body = await response.json();
    assert.equal(body.releases["1.0.0"].url, `http://${host}:${port}/swift/mona/LinkedList/1.0.0`);
  }
  const ids = [];
  for (let i = 0; i < 5; i++) {
    const id = `hot-read-${i}`;
    const response = await get(`${t.swift}/mona/LinkedList/1.0.0`, { headers: { "X-Request-ID": id } });
    assert.equal(response.headers.get("x-request-id"), id);
    await response.body?.cancel();
    ids.push(id);
  }
  // Without an id of the client's, a hot read sends none back (a header per response costs more than the
  // rest of the read); its log line still has an id of its own.
  const anonymous = await get(`${t.swift}/mona/LinkedList/1.0.0`);
  await anonymous.body?.cancel();
  assert.equal(anonymous.headers.get("x-request-id"), null);
  const lines = t.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === "request");
  const last = lines.at(-1);
  assert.equal(last.path, "/swift/mona/LinkedList/1.0.0");
  assert.match(last.id, /^[0-9a-f]{8}-[0-9a-z]+$/);
  for (const id of ids) {
    const line = lines.find((l) => l.id === id);
    assert.ok(line, `a log line for ${id}`);
    assert.deepEqual([line.method, line.path, line.status], ["GET", "/swift/mona/LinkedList/1.0.0", 200]);
  }
  const page = await (await get(`${t.url}/metrics`)).text();
  const count =
    /registry_http_requests_total\{route="\/swift\/:scope\/:name\/:version",method="GET",status="200"\} (\d+)/
      .exec(page);
  assert.equal(Number(count?.[1]), 6);
});

Deno.test("REGISTRY_ACCESS_LOG=off writes no request lines", async () => {
  await using t = await startTestServer({ env: { REGISTRY_ACCESS_LOG: "off" } });
  await publishOk(t, "mona/LinkedList/1.0.0");
  for (let i = 0; i < 3; i++) await (await get(`${t.swift}/mona/LinkedList`)).body?.cancel();
  assert.deepEqual(t.logs.filter((l) => JSON.parse(l).msg === "request"), []);
});

Deno.test("with REGISTRY_REQUIRE_AUTH_FOR_READ, an answer given to a reader is never given to an anonymous client", async () => {
  await using t = await startTestServer({ env: { REGISTRY_REQUIRE_AUTH_FOR_READ: "true" } });
  await publishOk(t, "mona/LinkedList/1.0.0");
  for (let i = 0; i < 3; i++) {
    const allowed = await get(`${t.swift}/mona/LinkedList`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(allowed.status, 200);
    await allowed.body?.cancel();
    const anonymous = await get(`${t.swift}/mona/LinkedList`);
    assert.equal(anonymous.status, 401);
    await problem(anonymous);
  }
});

Deno.test("with REGISTRY_REQUIRE_AUTH_FOR_READ and the built-in tokens, reads are hot per token, and a revoked token gets 401", async () => {
  const dataDir = await Deno.makeTempDir();
  const env = { REGISTRY_DATA_DIR: dataDir, REGISTRY_PLUGINS: "token-store" };
  try {
    const create = async (name: string) => {
      const out = await runMain(["token", "create", "--name", name, "--scopes", "read"], env);
      assert.equal(out.code, 0, out.stderr);
      return out.stdout.trim();
    };
    const [alice, bob] = [await create("alice"), await create("bob")];
    await using t = await startTestServer({ dataDir, env: { ...env, REGISTRY_REQUIRE_AUTH_FOR_READ: "true" } });
    await publishOk(t, "mona/LinkedList/1.0.0");
    const read = async (token?: string) => {
      const response = await get(
        `${t.swift}/mona/LinkedList`,
        token ? { headers: { Authorization: `Bearer ${token}` } } : {},
      );
      const routed = response.headers.get("x-request-id") !== null; // the hot path sends no id of its own
      return { status: response.status, routed, body: await response.text() };
    };
    const first = await read(alice);
    assert.deepEqual([first.status, first.routed], [200, true]);
    const again = await read(alice);
    assert.deepEqual([again.status, again.routed, again.body], [200, false, first.body], "alice's read is hot");
    assert.deepEqual([(await read(bob)).routed, (await read(bob)).routed], [true, false], "bob's own answer, then hot");
    for (let i = 0; i < 2; i++) {
      const anonymous = await read();
      assert.deepEqual([anonymous.status, anonymous.routed], [401, true], "never an answer given to a token");
      const wrong = await read(`${alice}x`);
      assert.deepEqual([wrong.status, wrong.routed], [401, true]);
    }

    const revoke = await runMain(["token", "revoke", alice.split("_")[1]], env);
    assert.equal(revoke.code, 0, revoke.stderr);
    // The revocation reaches the server within 2 s; from then on the remembered answer is not given to alice.
    await eventually("alice's token refused", async () => (await read(alice)).status === 401);
    const refused = await read(alice);
    assert.deepEqual([refused.status, refused.routed], [401, true]);
    assert.deepEqual([(await read(bob)).status, (await read(bob)).routed], [200, false], "bob still reads, hot");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a plugin that does not say it leaves reads alone is asked on every read, hot or not", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/gate.ts`,
      `export default () => ({ name: "gate", auth: {
        authenticate: () => "abstain",
        authorize: (_who, action, pkg) => action === "read" && pkg?.name === "secret" ? "deny" : "abstain",
      } });\n`,
    );
    await using t = await startTestServer({ env: { REGISTRY_PLUGINS: `${dir}/gate.ts` } });
    await publishOk(t, "mona/LinkedList/1.0.0");
    await publishOk(t, "mona/secret/1.0.0", await packageZip({ top: "secret" }));
    for (let i = 0; i < 3; i++) {
      const open = await get(`${t.swift}/mona/LinkedList/1.0.0`);
      assert.equal(open.status, 200);
      await open.body?.cancel();
      const denied = await get(`${t.swift}/mona/secret/1.0.0`);
      assert.equal(denied.status, 401);
      await problem(denied);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rate limits hold on hot reads too", async () => {
  const frozen = Date.parse("2026-01-01T00:00:00Z"); // no refill between requests, however slow they are
  await using t = await startTestServer({ env: { REGISTRY_RATE_LIMIT_IP: "2" }, now: () => frozen });
  await publishOk(t, "mona/LinkedList/1.0.0"); // with the admin token: not counted per IP
  const statuses = [];
  for (let i = 0; i < 6; i++) {
    const response = await get(`${t.swift}/mona/LinkedList`);
    statuses.push(response.status);
    if (response.status === 429) await problem(response);
    else await response.body?.cancel();
  }
  assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429], "a burst of four, then 429");
});
