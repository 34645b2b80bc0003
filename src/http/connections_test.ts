import assert from "node:assert/strict";
import { ConnectionGuard, type GuardLimits } from "./connections.ts";

function guard(limits: Partial<GuardLimits> = {}) {
  let now = 0;
  const g = new ConnectionGuard(
    { maxConnections: 10, maxPerIp: 3, headerTimeoutMs: 1000, idleTimeoutMs: 5000, ...limits },
    () => now,
  );
  return { g, advance: (ms: number) => (now += ms) };
}

Deno.test("the guard refuses a client's connection over the per-IP bound but admits other clients and trusted proxies", () => {
  const { g } = guard({ exemptIps: ["10.0.0.9"] });
  for (let i = 0; i < 3; i++) assert.equal(g.admit("10.0.0.1").admitted, true);
  assert.deepEqual(g.admit("10.0.0.1"), { admitted: false, reason: "too many connections from this address" });
  assert.equal(g.admit("10.0.0.2").admitted, true);
  for (let i = 0; i < 5; i++) assert.equal(g.admit("10.0.0.9").admitted, true, "a trusted proxy carries many clients");
});

Deno.test("a released connection frees its place under the per-IP bound", () => {
  const { g } = guard({ maxPerIp: 1 });
  const first = g.admit("10.0.0.1");
  assert.ok(first.admitted);
  assert.equal(g.admit("10.0.0.1").admitted, false);
  g.release(first.connection);
  g.release(first.connection);
  assert.equal(g.size, 0, "releasing twice is harmless");
  assert.equal(g.admit("10.0.0.1").admitted, true);
});

Deno.test("when full, the guard evicts the longest idle connection for a newcomer, and refuses when all are busy", () => {
  const { g, advance } = guard({ maxConnections: 2, maxPerIp: 0 });
  const a = g.admit("10.0.0.1");
  advance(10);
  const b = g.admit("10.0.0.2");
  assert.ok(a.admitted && b.admitted);
  g.requestStarted(b.connection);
  g.requestEnded(b.connection);
  const c = g.admit("10.0.0.3");
  assert.ok(c.admitted);
  assert.equal(c.evict?.connection, a.connection, "a has been idle longest");
  assert.equal(c.evict?.mode, "force", "a never carried a request");
  g.release(a.connection);
  g.requestStarted(b.connection);
  g.requestStarted(c.connection);
  assert.deepEqual(g.admit("10.0.0.4"), { admitted: false, reason: "too many connections" });
});

Deno.test("the sweep closes connections without a request head after the header timeout, at once", () => {
  const { g, advance } = guard();
  const silent = g.admit("10.0.0.1");
  assert.ok(silent.admitted);
  advance(999);
  assert.deepEqual(g.sweep(), []);
  advance(1);
  assert.deepEqual(g.sweep(), [{ connection: silent.connection, mode: "force", reason: "header timeout" }]);
  assert.deepEqual(g.sweep(), [], "named once");
});

Deno.test("the sweep closes idle keep-alive connections gracefully after the idle timeout, never one with a request in flight", () => {
  const { g, advance } = guard();
  const idle = g.admit("10.0.0.1");
  const busy = g.admit("10.0.0.2");
  assert.ok(idle.admitted && busy.admitted);
  g.requestStarted(idle.connection);
  g.requestStarted(busy.connection);
  g.requestEnded(idle.connection);
  advance(10_000);
  assert.deepEqual(g.sweep(), [{ connection: idle.connection, mode: "graceful", reason: "idle timeout" }]);
  advance(60_000);
  assert.deepEqual(g.sweep(), [], "a long request is not the idle timeout's business");
  g.requestEnded(busy.connection);
  advance(4999);
  assert.deepEqual(g.sweep(), []);
  advance(1);
  assert.equal(g.sweep()[0].connection, busy.connection);
});
