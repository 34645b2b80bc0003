/**
 * One contract for every ObjectStore: disk, S3 (fauxqs behind the conditional
 * proxy), the disk cache over S3 and, when S3_TEST_ENDPOINT is set, a real
 * S3-compatible endpoint (bucket S3_TEST_BUCKET, default
 * "registry-contract-test"; credentials from AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY).
 */
import assert from "node:assert/strict";
import { DiskStore } from "../src/storage/disk_store.ts";
import { updateJsonDocument } from "../src/storage/json_document.ts";
import { type ObjectStore, PreconditionFailedError, readObjectBytes } from "../src/storage/object_store.ts";
import { LeaseManager } from "../src/storage/leases.ts";
import { createS3Clients, S3Store } from "../src/storage/s3_store.ts";
import { TieredStore } from "../src/storage/tiered_store.ts";
import { silentLogger } from "../src/log.ts";
import { startTestS3, type TestS3 } from "./support/s3.ts";

interface Backend {
  name: string;
  ignore?: boolean;
  open(): Promise<{ store: ObjectStore; close(): Promise<void> }>;
}

const realEndpoint = Deno.env.get("S3_TEST_ENDPOINT");
const realBucket = Deno.env.get("S3_TEST_BUCKET") ?? "registry-contract-test";

const backends: Backend[] = [
  {
    name: "disk",
    async open() {
      const dir = await Deno.makeTempDir();
      const store = new DiskStore(`${dir}/objects`, `${dir}/tmp`);
      await store.init();
      return {
        store,
        async close() {
          await store.close();
          await Deno.remove(dir, { recursive: true });
        },
      };
    },
  },
  {
    name: "S3 (fauxqs)",
    async open() {
      const s3 = await startTestS3();
      const client = testS3Clients(s3);
      return {
        store: new S3Store(client, s3.bucket, "contract"),
        async close() {
          client.destroy();
          await s3.close();
        },
      };
    },
  },
  {
    name: "disk cache over S3 (tiered)",
    async open() {
      const s3 = await startTestS3();
      const client = testS3Clients(s3);
      const dir = await Deno.makeTempDir();
      const store = new TieredStore({
        cacheDir: dir,
        remote: new S3Store(client, s3.bucket),
        maxBytes: 64 * 1024 * 1024,
        logger: silentLogger,
      });
      await store.init();
      return {
        store,
        async close() {
          await store.close();
          client.destroy();
          await s3.close();
          await Deno.remove(dir, { recursive: true });
        },
      };
    },
  },
  {
    name: "S3 (real endpoint from S3_TEST_ENDPOINT)",
    ignore: realEndpoint === undefined,
    open() {
      const client = createS3Clients({
        bucket: realBucket,
        endpoint: realEndpoint,
        region: Deno.env.get("S3_TEST_REGION") ?? "us-east-1",
        prefix: "",
        forcePathStyle: Deno.env.get("S3_TEST_FORCE_PATH_STYLE") === "true",
        timeoutMs: 30_000,
      });
      const prefix = `registry-contract-${crypto.randomUUID()}`;
      const store = new S3Store(client, realBucket, prefix);
      return Promise.resolve({
        store,
        async close() {
          for await (const object of store.list("")) await store.delete(object.key);
          client.destroy();
        },
      });
    },
  },
];

function testS3Clients(s3: TestS3) {
  return createS3Clients({
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    region: "us-east-1",
    prefix: "",
    forcePathStyle: true,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    timeoutMs: 10_000,
  });
}

const text = (s: string) => new TextEncoder().encode(s);
const streamOf = (bytes: Uint8Array, chunk = 65536) =>
  ReadableStream.from((function* () {
    for (let i = 0; i < bytes.length; i += chunk) yield bytes.slice(i, i + chunk);
  })());

for (const backend of backends) {
  Deno.test({
    name: `object store contract: ${backend.name}`,
    ignore: backend.ignore,
    async fn(t) {
      const { store, close } = await backend.open();
      try {
        await t.step("put, head and get round-trip; missing keys are null", async () => {
          const info = await store.put("a/b/one.json", text('{"n":1}'), { contentType: "application/json" });
          assert.equal(info.size, 7);
          const head = await store.head("a/b/one.json");
          assert.equal(head?.size, 7);
          assert.equal(head?.etag, info.etag);
          const read = await readObjectBytes(store, "a/b/one.json");
          assert.equal(new TextDecoder().decode(read!.bytes), '{"n":1}');
          assert.equal(await store.head("a/b/missing"), null);
          assert.equal(await store.get("a/b/missing"), null);
        });

        await t.step("ranged get returns the slice and the whole object's size", async () => {
          await store.put("a/range.bin", text("0123456789"));
          const object = await store.get("a/range.bin", { range: { start: 2, end: 5 } });
          assert.equal(object!.size, 10);
          assert.equal(await new Response(object!.body).text(), "2345");
        });

        await t.step("streams larger than one part round-trip byte for byte", async () => {
          const bytes = crypto.getRandomValues(new Uint8Array(65536));
          const big = new Uint8Array(9 * 1024 * 1024 + 123);
          for (let i = 0; i < big.length; i += bytes.length) big.set(bytes.subarray(0, big.length - i), i);
          const info = await store.put("a/big.bin", streamOf(big), { contentType: "application/zip" });
          assert.equal(info.size, big.length);
          const back = new Uint8Array(await new Response((await store.get("a/big.bin"))!.body).arrayBuffer());
          assert.equal(back.length, big.length);
          assert.deepEqual(back.subarray(big.length - 1000), big.subarray(big.length - 1000));
          assert.deepEqual(back.subarray(0, 1000), big.subarray(0, 1000));
        });

        await t.step("If-None-Match: * creates once; a second create fails", async () => {
          await store.put("c/once", text("1"), { ifNoneMatch: "*" });
          await assert.rejects(store.put("c/once", text("2"), { ifNoneMatch: "*" }), PreconditionFailedError);
          const read = await readObjectBytes(store, "c/once");
          assert.equal(new TextDecoder().decode(read!.bytes), "1");
        });

        await t.step("If-Match replaces only the version it names", async () => {
          const first = await store.put("c/cas", text("1"));
          const second = await store.put("c/cas", text("2"), { ifMatch: first.etag });
          assert.notEqual(second.etag, first.etag);
          await assert.rejects(store.put("c/cas", text("3"), { ifMatch: first.etag }), PreconditionFailedError);
          await assert.rejects(store.put("c/absent", text("3"), { ifMatch: first.etag }), PreconditionFailedError);
        });

        await t.step("20 concurrent creators: exactly one wins", async () => {
          const results = await Promise.allSettled(
            Array.from({ length: 20 }, (_, i) => store.put("c/race", text(String(i)), { ifNoneMatch: "*" })),
          );
          assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
          for (const r of results) {
            if (r.status === "rejected") assert.ok(r.reason instanceof PreconditionFailedError, String(r.reason));
          }
        });

        await t.step("20 concurrent compare-and-swap writers lose no update", async () => {
          await Promise.all(
            Array.from(
              { length: 20 },
              () =>
                updateJsonDocument<{ n: number }>(store, "c/counter.json", (doc) => ({ n: (doc?.n ?? 0) + 1 }), 100),
            ),
          );
          const read = await readObjectBytes(store, "c/counter.json");
          assert.deepEqual(JSON.parse(new TextDecoder().decode(read!.bytes)), { n: 20 });
        });

        await t.step("leases: one holder at a time, expiry, takeover, renewal and release", async () => {
          let now = 1_000_000;
          const clock = () => now;
          const a = new LeaseManager(store, { owner: "node-a", clock });
          const b = new LeaseManager(store, { owner: "node-b", clock });
          const held = await a.acquire("sync", 60_000);
          assert.ok(held, "a free lease is acquired");
          assert.equal(await b.acquire("sync", 60_000), null, "a live lease is not taken");
          const renewed = await a.renew(held, 60_000);
          assert.ok(renewed && renewed.expiresAt === now + 60_000);
          now += 61_000;
          const taken = await b.acquire("sync", 60_000);
          assert.ok(taken, "an expired lease is taken over");
          assert.equal(await a.renew(renewed, 60_000), null, "the old holder learns it lost the lease");
          await b.release(taken);
          assert.ok(await a.acquire("sync", 60_000), "a released lease is free");
        });

        await t.step("leases: 20 concurrent acquirers, exactly one holds the lease", async () => {
          const results = await Promise.all(
            Array.from(
              { length: 20 },
              (_, i) => new LeaseManager(store, { owner: `node-${i}` }).acquire("race", 60_000),
            ),
          );
          assert.equal(results.filter((lease) => lease !== null).length, 1);
        });

        await t.step("list finds keys by prefix; delete removes, twice is fine", async () => {
          const keys = [];
          for await (const object of store.list("a/")) keys.push(object.key);
          assert.deepEqual(keys.sort(), ["a/b/one.json", "a/big.bin", "a/range.bin"]);
          await store.delete("a/range.bin");
          await store.delete("a/range.bin");
          assert.equal(await store.head("a/range.bin"), null);
        });
      } finally {
        await close();
      }
    },
  });
}
