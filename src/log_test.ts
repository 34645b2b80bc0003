import assert from "node:assert/strict";
import { batchedLines } from "./log.ts";

const decode = (chunks: Uint8Array[]) => chunks.map((c) => new TextDecoder().decode(c)).join("");

Deno.test("batched lines reach the sink in order, in few writes, with other workers' batches in between", async () => {
  const written: Uint8Array[] = [];
  const out = batchedLines((bytes) => Promise.resolve(void written.push(bytes.slice())));
  for (let i = 0; i < 1000; i++) out.write(`line ${i} é`);
  out.writeBatch(new TextEncoder().encode("from another worker\nand again\n"));
  out.write("last");
  await out.flush();
  const lines = decode(written).split("\n");
  assert.equal(lines.length, 1004);
  assert.equal(lines[0], "line 0 é");
  assert.equal(lines[999], "line 999 é");
  assert.deepEqual(lines.slice(1000), ["from another worker", "and again", "last", ""]);
  assert.ok(written.length < 10, `${written.length} writes`);
});

Deno.test("batched lines over the memory bound are dropped and counted, never held", async () => {
  const written: Uint8Array[] = [];
  const out = batchedLines((bytes) => Promise.resolve(void written.push(bytes.slice())), { maxPendingBytes: 100 });
  for (let i = 0; i < 20; i++) out.write(`a line of some length ${i}`);
  await out.flush();
  const lines = decode(written).trim().split("\n");
  assert.ok(lines.length < 10);
  const warning = JSON.parse(lines.at(-1)!);
  assert.equal(warning.msg, "log lines dropped");
  assert.equal(warning.dropped + lines.length - 1, 20);
});
