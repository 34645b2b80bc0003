import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { createMemoryLogger } from "../log.ts";
import { DiskStore } from "../storage/disk_store.ts";
import { readObjectBytes } from "../storage/object_store.ts";
import { Upstream, type UpstreamOptions } from "./upstream.ts";

/** A fake upstream registry on 127.0.0.1 that records what it was asked. */
function fakeUpstream(handler: (request: Request) => Response | Promise<Response>) {
  const requests: Array<{ url: string; headers: Headers }> = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    requests.push({ url: request.url, headers: new Headers(request.headers) });
    return handler(request);
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, requests, [Symbol.asyncDispose]: () => server.shutdown() };
}

async function withUpstream(
  url: string,
  test: (upstream: Upstream, clock: { now: number }, store: DiskStore) => Promise<void>,
  options: Partial<UpstreamOptions> = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "upstream_test_" });
  try {
    const store = new DiskStore(join(dir, "objects"), join(dir, "tmp"));
    await store.init();
    const clock = { now: Date.parse("2026-01-01T00:00:00Z") };
    const upstream = new Upstream({
      url,
      ttlMs: 60_000,
      format: "npm",
      store,
      scratchDir: join(dir, "scratch"),
      logger: createMemoryLogger(),
      now: () => clock.now,
      maxArtifactBytes: 1024 * 1024,
      ...options,
    });
    await test(upstream, clock, store);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("upstream documents are fresh for the TTL, then revalidated with If-None-Match (304 keeps the copy)", async () => {
  let version = 1;
  await using fake = fakeUpstream((request) => {
    const etag = `"v${version}"`;
    if (request.headers.get("if-none-match") === etag) return new Response(null, { status: 304 });
    return Response.json({ version }, { headers: { ETag: etag } });
  });
  await withUpstream(fake.url, async (upstream, clock) => {
    const read = async () => JSON.parse(new TextDecoder().decode((await upstream.document("/pkg"))!.body));
    assert.deepEqual(await read(), { version: 1 });
    assert.equal((await upstream.document("/pkg"))!.freshUntil, clock.now + 60_000, "what may remember it, until when");
    clock.now += 59_000;
    assert.deepEqual(await read(), { version: 1 });
    assert.equal(fake.requests.length, 1, "fresh: not asked again");
    clock.now += 2_000;
    assert.deepEqual(await read(), { version: 1 });
    assert.equal(fake.requests.length, 2);
    assert.equal(fake.requests[1].headers.get("if-none-match"), '"v1"', "a conditional request");
    version = 2;
    clock.now += 61_000;
    assert.deepEqual(await read(), { version: 2 });
  });
});

Deno.test("a failing upstream: the cached document is served stale; a miss is a 502, a 404 is null", async () => {
  let failing = false;
  await using fake = fakeUpstream((request) => {
    if (failing) return new Response("down", { status: 500 });
    if (new URL(request.url).pathname === "/missing") return new Response("no", { status: 404 });
    return Response.json({ ok: true });
  });
  const stale: string[] = [];
  await withUpstream(fake.url, async (upstream, clock) => {
    assert.equal(await upstream.document("/missing"), null);
    assert.equal((await upstream.document("/pkg"))!.stale, false);
    failing = true;
    clock.now += 120_000;
    const served = await upstream.document("/pkg");
    assert.equal(served!.stale, true);
    assert.ok(served!.freshUntil <= clock.now, "a stale copy is not to be remembered");
    assert.deepEqual(stale, ["npm"]);
    await assert.rejects(upstream.document("/other"), (error: Error & { status?: number }) => error.status === 502);
  }, { onStale: (format) => stale.push(format) });
});

Deno.test("documents are kept in storage: a second node (or a restart) uses them without asking", async () => {
  await using fake = fakeUpstream(() => Response.json({ ok: true }));
  const dir = await Deno.makeTempDir({ prefix: "upstream_test_" });
  try {
    const store = new DiskStore(join(dir, "objects"), join(dir, "tmp"));
    await store.init();
    const make = () =>
      new Upstream({
        url: fake.url,
        ttlMs: 60_000,
        format: "npm",
        store,
        scratchDir: join(dir, "scratch"),
        logger: createMemoryLogger(),
        maxArtifactBytes: 1024,
      });
    await make().document("/pkg");
    await make().document("/pkg");
    assert.equal(fake.requests.length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an artifact is downloaded once for concurrent callers, checked, and stored; a mismatch is never stored", async () => {
  const bytes = new TextEncoder().encode("tarball bytes");
  await using fake = fakeUpstream(() => new Response(bytes));
  const sha512 = createHash("sha512").update(bytes).digest("base64");
  const sha1 = createHash("sha1").update(bytes).digest("hex");
  await withUpstream(fake.url, async (upstream, _clock, store) => {
    await Promise.all(
      Array.from({ length: 5 }, () => upstream.fetchArtifact(`${fake.url}/a.tgz`, "npm/a.tgz", { sha512, sha1 }, "x")),
    );
    assert.equal(fake.requests.length, 1);
    assert.deepEqual((await readObjectBytes(store, "npm/a.tgz"))!.bytes, bytes);
    await upstream.fetchArtifact(`${fake.url}/a.tgz`, "npm/a.tgz", { sha512 }, "x");
    assert.equal(fake.requests.length, 1, "stored: not downloaded again");

    await assert.rejects(
      upstream.fetchArtifact(`${fake.url}/b.tgz`, "npm/b.tgz", { sha256: "0".repeat(64) }, "x"),
      (error: Error & { status?: number }) => error.status === 502 && /sha256/.test(error.message),
    );
    assert.equal(await store.head("npm/b.tgz"), null, "nothing stored");
  });
});

Deno.test("credentials go to the upstream's own origin only", async () => {
  await using elsewhere = fakeUpstream(() => new Response("file"));
  await using fake = fakeUpstream(() => Response.json({ ok: true }));
  await withUpstream(fake.url, async (upstream) => {
    await upstream.document("/pkg");
    await upstream.fetchArtifact(`${elsewhere.url}/f.whl`, "pypi/f.whl", {}, "x");
    assert.equal(fake.requests[0].headers.get("authorization"), "Bearer secret-token");
    assert.equal(elsewhere.requests[0].headers.get("authorization"), null);
  }, { authorization: "Bearer secret-token" });
});

Deno.test("an upstream that does not answer is a 504, not a hang", async () => {
  let release!: () => void;
  const released = new Promise<void>((r) => release = r);
  await using fake = fakeUpstream(async () => {
    await released;
    return new Response("late");
  });
  await withUpstream(fake.url, async (upstream) => {
    await assert.rejects(upstream.document("/slow"), (error: Error & { status?: number }) => error.status === 504);
  }, { timeoutMs: 100 });
  release();
});
