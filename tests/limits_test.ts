import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { buildZip, packageZip } from "./support/archives.ts";
import { ADMIN_TOKEN, get, problem, publish, startTestServer } from "./support/server.ts";
import { walk } from "./support/files.ts";

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(length, i + 65536)));
  return bytes;
}

Deno.test("archive limits: too many entries, too large when expanded, or a zip bomb's ratio are refused", async () => {
  await using t = await startTestServer({
    env: {
      REGISTRY_MAX_ARCHIVE_ENTRIES: "8",
      REGISTRY_MAX_UNCOMPRESSED_BYTES: "3MiB",
      REGISTRY_MAX_COMPRESSION_RATIO: "50",
    },
  });
  const many = await packageZip({
    extra: Array.from({ length: 10 }, (_, i) => ({ name: `LinkedList/f${i}`, content: "x" })),
  });
  const tooMany = await publish(t.swift, "mona/LinkedList/1.0.0", { archive: many });
  assert.equal(tooMany.status, 413);
  assert.match((await problem(tooMany)).detail, /REGISTRY_MAX_ARCHIVE_ENTRIES/);

  const big = await packageZip({ extra: [{ name: "LinkedList/big.bin", content: randomBytes(3584 * 1024) }] });
  const tooBig = await publish(t.swift, "mona/LinkedList/1.0.0", { archive: big });
  assert.equal(tooBig.status, 413);
  assert.match((await problem(tooBig)).detail, /REGISTRY_MAX_UNCOMPRESSED_BYTES/);

  const bomb = await buildZip([
    { name: "pkg/Package.swift", content: "// swift-tools-version:5.9\n" },
    { name: "pkg/zeros.bin", content: new Uint8Array(2048 * 1024) },
  ]);
  assert.ok(bomb.length < 20 * 1024, "zeros compress very well");
  const exploded = await publish(t.swift, "mona/LinkedList/1.0.0", { archive: bomb });
  assert.equal(exploded.status, 422);
  assert.match((await problem(exploded)).detail, /REGISTRY_MAX_COMPRESSION_RATIO/);

  const fine = await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() });
  assert.equal(fine.status, 201);
  await fine.body?.cancel();
});

Deno.test("rate limits: per IP for anonymous clients, per principal for authenticated ones; health and metrics exempt", async () => {
  const frozen = Date.parse("2026-01-01T00:00:00Z"); // no refill between requests, however slow they are
  await using t = await startTestServer({
    env: { REGISTRY_RATE_LIMIT_IP: "1", REGISTRY_RATE_LIMIT_PRINCIPAL: "2" },
    now: () => frozen,
  });
  const statuses = [];
  for (let i = 0; i < 3; i++) {
    const response = await get(`${t.swift}/availability`);
    statuses.push(response.status);
    if (response.status === 429) {
      assert.ok(Number(response.headers.get("retry-after")) >= 1);
      await problem(response);
    } else await response.body?.cancel();
  }
  assert.deepEqual(statuses, [200, 200, 429], "a burst of two, then 429");
  for (const path of ["/health", "/metrics"]) {
    const exempt = await get(`${t.url}${path}`);
    assert.equal(exempt.status, 200, path);
    await exempt.body?.cancel();
  }
  const authorized: number[] = [];
  for (let i = 0; i < 5; i++) {
    const response = await get(`${t.swift}/availability`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    authorized.push(response.status);
    await response.body?.cancel();
  }
  assert.deepEqual(authorized, [200, 200, 200, 200, 429], "the principal has its own, larger budget");
});

Deno.test("small archives are served from memory once read; REGISTRY_MEMORY_CACHE_BYTES=0 turns that off", async () => {
  for (const [memory, expected] of [["64MiB", 200], ["0", 503]] as const) {
    await using t = await startTestServer({ env: { REGISTRY_MEMORY_CACHE_BYTES: memory } });
    const archive = await packageZip();
    await (await publish(t.swift, "mona/LinkedList/1.0.0", { archive })).body?.cancel();
    assert.equal((await (await get(`${t.swift}/mona/LinkedList/1.0.0.zip`)).arrayBuffer()).byteLength, archive.length);
    for await (const path of walk(`${t.dataDir}/objects`)) if (path.endsWith(".zip")) await Deno.remove(path);
    const again = await get(`${t.swift}/mona/LinkedList/1.0.0.zip`, { headers: { Range: "bytes=0-9" } });
    assert.equal(again.status === 206 ? 200 : again.status, expected, `memory cache ${memory}`);
    await again.body?.cancel();
  }
});

Deno.test("a request that takes longer than REGISTRY_REQUEST_TIMEOUT is answered 503", async () => {
  const dir = await Deno.makeTempDir();
  // The hook waits until the test releases it: the plugin module is the same instance the server loaded.
  await Deno.writeTextFile(
    `${dir}/slow.ts`,
    `let release; const released = new Promise((r) => release = r);
    export function finish() { release(); }
    export default () => ({ name: "slow", auth: { async authenticate(request) {
      if (request.headers.get("x-slow")) await released;
      return "abstain";
    } } });\n`,
  );
  try {
    await using t = await startTestServer({
      env: { REGISTRY_PLUGINS: `${dir}/slow.ts`, REGISTRY_REQUEST_TIMEOUT: "200ms" },
    });
    const response = await get(`${t.swift}/mona/LinkedList`, { headers: { "x-slow": "1" } });
    assert.equal(response.status, 503);
    assert.match((await problem(response)).detail, /REGISTRY_REQUEST_TIMEOUT/);
    const plugin = await import(pathToFileURL(await Deno.realPath(`${dir}/slow.ts`)).href);
    plugin.finish();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("names and versions too long to store are client errors, never a 500", async () => {
  await using t = await startTestServer();
  const reads = [
    `${t.url}/npm/a${"~".repeat(200)}`,
    `${t.url}/go/example.com/${"x".repeat(300)}/@v/list`,
    `${t.url}/go/example.com/${"abcdefghij/".repeat(120)}x/@v/list`,
    `${t.swift}/mona/LinkedList/1.0.0-${"a".repeat(250)}`,
  ];
  for (const url of reads) {
    const response = await fetch(url);
    await response.body?.cancel();
    assert.ok(response.status >= 400 && response.status < 500, `${response.status} for ${url.slice(0, 80)}`);
  }
  const publishLong = await publish(t.swift, `mona/LinkedList/1.0.0-${"a".repeat(250)}`, {
    archive: await packageZip(),
  });
  assert.equal(publishLong.status, 400);
  assert.match((await problem(publishLong)).detail, /too long/);
});

Deno.test("a yank reason sent as an endless chunked body is cut off with a 413, for Swift and PyPI", async () => {
  await using t = await startTestServer();
  for (const path of ["/swift/-/yank/mona/LinkedList/1.0.0", "/pypi/-/yank/project/1.0"]) {
    const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
    let sent = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (++sent > 64) controller.close(); // 4 MiB at most, if the server kept reading
        else controller.enqueue(chunk);
      },
    });
    const response = await fetch(`${t.url}${path}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
      body: endless,
    });
    assert.equal(response.status, 413, path);
    await response.body?.cancel();
    assert.ok(sent < 64, `${path}: the server stopped reading after ${sent} chunks`);
  }
});
