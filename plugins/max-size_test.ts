import assert from "node:assert/strict";
import { buildZip } from "../tests/support/archives.ts";
import factory, { type MaxSizeOptions } from "./max-size.ts";
import type { PluginContext, PluginStorage, RegistryApi, SemverApi, TransformResult } from "./types.ts";

const noop = () => {};
const storage: PluginStorage = {
  read: () => Promise.reject(new Error("max-size must not use storage")),
  update: () => Promise.reject(new Error("max-size must not use storage")),
  list: () => Promise.reject(new Error("max-size must not use storage")),
};

function context(options: unknown): PluginContext<MaxSizeOptions> {
  return {
    options: options as MaxSizeOptions,
    logger: { debug: noop, info: noop, warn: noop, error: noop },
    fetch: globalThis.fetch,
    storage,
    semver: {} as SemverApi,
    now: Date.now,
    registry: {} as RegistryApi,
  };
}

/** Runs the transform on a real zip; reports whether the archive stream was cancelled. */
async function check(maxBytes: number, bytes: Uint8Array): Promise<{ result: TransformResult; cancelled: boolean }> {
  const plugin = await factory(context({ maxBytes }));
  assert.equal(plugin.name, "max-size");
  const transform = plugin.transforms?.find((t) => t.name === "max-size");
  assert.ok(transform);
  let cancelled = false;
  const archive = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
    cancel() {
      cancelled = true;
    },
  });
  const result = await transform.transform({
    format: "swift",
    package: { format: "swift", scope: "mona", name: "LinkedList" },
    version: "1.0.0",
    archive,
    size: bytes.length,
    metadata: {},
  });
  return { result, cancelled };
}

Deno.test("max-size refuses an archive one byte over the limit with 413 and says by how much", async () => {
  const bytes = await buildZip([{ name: "LinkedList/Package.swift", content: "// swift-tools-version:5.9\n" }]);
  const { result, cancelled } = await check(bytes.length - 1, bytes);
  assert.deepEqual(result, {
    reject: `source archive is ${bytes.length} bytes, over the ${bytes.length - 1}-byte limit of this registry`,
    status: 413,
  });
  assert.ok(cancelled, "the archive stream was not cancelled");
});

Deno.test("max-size accepts an archive exactly at the limit and leaves it unchanged", async () => {
  const bytes = await buildZip([{ name: "LinkedList/Package.swift", content: "// swift-tools-version:5.9\n" }]);
  const { result, cancelled } = await check(bytes.length, bytes);
  assert.deepEqual(result, {});
  assert.ok(cancelled, "the archive stream was not cancelled");
});

Deno.test("max-size refuses to start without a positive maxBytes option", () => {
  for (const options of [{}, undefined, { maxBytes: 0 }, { maxBytes: -5 }, { maxBytes: "1MiB" }, { maxBytes: NaN }]) {
    assert.throws(() => factory(context(options)), /max-size: option "maxBytes" must be a positive number of bytes/);
  }
  assert.throws(() => factory(context({ maxBytes: Infinity })), /got Infinity$/);
  assert.throws(() => factory(context({})), /got none$/);
});
