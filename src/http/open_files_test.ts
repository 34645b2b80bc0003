import assert from "node:assert/strict";
import { defaultMaxConnections, raiseOpenFilesLimit } from "./open_files.ts";

async function prlimit(...args: string[]): Promise<string> {
  const output = await new Deno.Command("prlimit", { args: [`--pid=${Deno.pid}`, "--nofile", ...args] }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  return new TextDecoder().decode(output.stdout);
}

Deno.test("the soft open-files limit is raised to the hard limit when it is lower", async () => {
  const [soft, hard] = (await prlimit("--output=SOFT,HARD", "--noheadings", "--raw")).trim().split(/\s+/).map(Number);
  const lowered = Math.min(soft, hard) - 100;
  await prlimit(`--nofile=${lowered}:`);
  try {
    const outcome = await raiseOpenFilesLimit();
    assert.deepEqual(outcome, { limit: { soft: hard, hard }, raisedFrom: lowered });
    assert.deepEqual(await raiseOpenFilesLimit(), { limit: { soft: hard, hard } }, "nothing to raise a second time");
  } finally {
    await prlimit(`--nofile=${soft}:`);
  }
});

Deno.test("the default connection bound is three quarters of the open-files limit, within 16..16384", () => {
  assert.equal(defaultMaxConnections({ soft: 2048, hard: 2048 }), 1536);
  assert.equal(defaultMaxConnections({ soft: 1_048_576, hard: 1_048_576 }), 16384);
  assert.equal(defaultMaxConnections({ soft: Infinity, hard: Infinity }), 16384);
  assert.equal(defaultMaxConnections({ soft: 10, hard: 10 }), 16);
  assert.equal(defaultMaxConnections(undefined), 768);
});
