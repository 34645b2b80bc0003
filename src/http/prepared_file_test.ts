import assert from "node:assert/strict";
import { join } from "node:path";
import { OpenFilesCache } from "./open_files_cache.ts";
import { PreparedFileResponse } from "./prepared_file.ts";

const decoder = new TextDecoder();

Deno.test("small files go out in a reused buffer: each answer keeps its own until it is released", async () => {
  const dir = await Deno.makeTempDir();
  const openFiles = new OpenFilesCache();
  try {
    const answers = await Promise.all(["first", "second"].map(async (name) => {
      const path = join(dir, name);
      await Deno.writeTextFile(path, name.repeat(100));
      return new PreparedFileResponse(path, name.length * 100, { ETag: `"${name}"` }, openFiles);
    }));
    const request = new Request("http://registry.test/a.zip");
    const first = answers[0].wire(request)!;
    const second = answers[1].wire(request)!;
    assert.notEqual(first.bytes.buffer, second.bytes.buffer, "two answers in flight never share a buffer");
    assert.ok(decoder.decode(first.bytes).endsWith("\r\n\r\n" + "first".repeat(100)));
    assert.ok(decoder.decode(second.bytes).endsWith("\r\n\r\n" + "second".repeat(100)));
    assert.equal(first.file, undefined, "read before its answer is given");
    first.release!();
    const third = answers[1].wire(request)!;
    assert.equal(third.bytes.buffer, first.bytes.buffer, "a released buffer is used again");
    assert.ok(decoder.decode(third.bytes).endsWith("second".repeat(100)));
    second.release!();
    third.release!();
  } finally {
    openFiles.clear();
    await Deno.remove(dir, { recursive: true });
  }
});
