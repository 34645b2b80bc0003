import assert from "node:assert/strict";
import { ChannelPeers, NO_PEERS } from "./peers.ts";

Deno.test("peers on one channel ask each other and get the answers that are not undefined", async () => {
  const channel = `test-${crypto.randomUUID()}`;
  const workers = [0, 1, 2].map((index) => new ChannelPeers(channel, index, 3));
  try {
    workers[1].answer("who", () => "one");
    workers[2].answer("who", () => Promise.resolve("two"));
    workers[2].answer("job", (id) => id === "j2" ? { state: "pending" } : undefined);
    assert.deepEqual((await workers[0].ask<string>("who")).sort(), ["one", "two"]);
    assert.deepEqual(await workers[0].ask("job", "j2"), [{ state: "pending" }]);
    assert.deepEqual(await workers[1].ask("job", "unknown"), []);
    assert.deepEqual(await workers[0].ask("nobody answers this"), []);
  } finally {
    for (const worker of workers) worker.close();
  }
});

Deno.test("a question to peers that never answer ends after the wait with what arrived", async () => {
  const channel = `test-${crypto.randomUUID()}`;
  const alone = new ChannelPeers(channel, 0, 3);
  const other = new ChannelPeers(channel, 1, 3);
  try {
    other.answer("ping", () => "pong");
    assert.deepEqual(await alone.ask("ping", undefined, 50), ["pong"]);
  } finally {
    alone.close();
    other.close();
  }
  assert.deepEqual(await NO_PEERS.ask("anything"), []);
});
