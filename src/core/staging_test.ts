import assert from "node:assert/strict";
import { fullDisk } from "../../tests/support/full_disk.ts";
import { InsufficientStorageError, PayloadTooLargeError, ServiceUnavailableError } from "../errors.ts";
import { stageStream } from "./staging.ts";

const chunks = (...texts: string[]) => ReadableStream.from(texts.map((t) => new TextEncoder().encode(t)));

Deno.test("staging on a full disk fails with 507 and Retry-After, removes the partial file, and works once space returns", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const disk = fullDisk(8);
    const error = await stageStream(dir, chunks("0123", "4567", "89"), 100, disk.writeChunk).catch((e) => e);
    assert.ok(error instanceof InsufficientStorageError, String(error));
    assert.equal(error.status, 507);
    assert.ok(Number(error.headers["Retry-After"]) > 0);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), []);

    disk.freeBytes = 100;
    const staged = await stageStream(dir, chunks("0123", "4567", "89"), 100, disk.writeChunk);
    assert.equal(await Deno.readTextFile(staged.path), "0123456789");
    await staged.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("staging tells a full disk (507) from other disk failures (503) and from an upload over the limit (413)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(stageStream(dir, chunks("0123456789"), 5), PayloadTooLargeError);
    const failing = (code: string) => () => Promise.reject(Object.assign(new Error(code), { code }));
    await assert.rejects(stageStream(dir, chunks("x"), 100, failing("EDQUOT")), InsufficientStorageError);
    const io = await stageStream(dir, chunks("x"), 100, failing("EIO")).catch((e) => e);
    assert.ok(io instanceof ServiceUnavailableError && !(io instanceof InsufficientStorageError), String(io));
    assert.equal(io.status, 503);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
