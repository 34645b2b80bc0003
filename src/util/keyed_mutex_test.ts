import assert from "node:assert/strict";
import { KeyedMutex } from "./keyed_mutex.ts";

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

Deno.test("KeyedMutex returns the work's result", async () => {
  const locks = new KeyedMutex();
  assert.equal(await locks.run("k", () => Promise.resolve(42)), 42);
});

Deno.test("KeyedMutex serialises work on the same key", async () => {
  const locks = new KeyedMutex();
  let active = 0;
  let maxActive = 0;
  const work = async () => {
    active++;
    maxActive = Math.max(maxActive, active);
    await tick();
    await tick();
    active--;
  };
  await Promise.all(Array.from({ length: 10 }, () => locks.run("same", work)));
  assert.equal(maxActive, 1);
});

Deno.test("KeyedMutex runs work on the same key in arrival order", async () => {
  const locks = new KeyedMutex();
  const order: number[] = [];
  await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      locks.run("same", async () => {
        // Later arrivals finish their own sleep sooner; order must still hold.
        await new Promise((resolve) => setTimeout(resolve, 8 - i));
        order.push(i);
      })),
  );
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7]);
});

Deno.test("KeyedMutex does not start the second holder until the first finishes", async () => {
  const locks = new KeyedMutex();
  const gate = deferred();
  let secondStarted = false;
  const first = locks.run("k", () => gate.promise);
  const second = locks.run("k", () => {
    secondStarted = true;
    return Promise.resolve();
  });
  await tick();
  assert.equal(secondStarted, false);
  gate.resolve();
  await Promise.all([first, second]);
  assert.equal(secondStarted, true);
});

Deno.test("KeyedMutex runs work on different keys in parallel", async () => {
  const locks = new KeyedMutex();
  const gateA = deferred();
  let bRan = false;
  const a = locks.run("a", () => gateA.promise);
  // "b" must complete while "a" is still holding its lock.
  await locks.run("b", () => {
    bRan = true;
    return Promise.resolve();
  });
  assert.equal(bRan, true);
  gateA.resolve();
  await a;
});

Deno.test("KeyedMutex lets different keys overlap while each key stays serial", async () => {
  const locks = new KeyedMutex();
  const active = new Map<string, number>();
  let maxPerKey = 0;
  let maxTotal = 0;
  const work = (key: string) => async () => {
    active.set(key, (active.get(key) ?? 0) + 1);
    maxPerKey = Math.max(maxPerKey, active.get(key)!);
    maxTotal = Math.max(maxTotal, [...active.values()].reduce((a, b) => a + b, 0));
    await tick();
    active.set(key, active.get(key)! - 1);
  };
  const keys = ["a", "b", "c"];
  await Promise.all(keys.flatMap((key) => Array.from({ length: 4 }, () => locks.run(key, work(key)))));
  assert.equal(maxPerKey, 1);
  assert.equal(maxTotal, keys.length);
});

Deno.test("KeyedMutex releases the lock when work rejects", async () => {
  const locks = new KeyedMutex();
  await assert.rejects(locks.run("k", () => Promise.reject(new Error("boom"))), /boom/);
  assert.equal(await locks.run("k", () => Promise.resolve("after")), "after");
});

Deno.test("KeyedMutex releases the lock when work throws synchronously", async () => {
  const locks = new KeyedMutex();
  await assert.rejects(
    locks.run("k", () => {
      throw new Error("sync boom");
    }),
    /sync boom/,
  );
  assert.equal(await locks.run("k", () => Promise.resolve(1)), 1);
});

Deno.test("KeyedMutex keeps queued holders waiting behind a failing one", async () => {
  const locks = new KeyedMutex();
  const events: string[] = [];
  const failing = locks.run("k", async () => {
    await tick();
    events.push("fail");
    throw new Error("x");
  });
  const next = locks.run("k", () => {
    events.push("next");
    return Promise.resolve();
  });
  await assert.rejects(failing);
  await next;
  assert.deepEqual(events, ["fail", "next"]);
});

Deno.test("KeyedMutex can be reused for a key after its queue drains", async () => {
  const locks = new KeyedMutex();
  for (let round = 0; round < 3; round++) {
    const order: number[] = [];
    await Promise.all([0, 1, 2].map((i) =>
      locks.run("k", async () => {
        await tick();
        order.push(i);
      })
    ));
    assert.deepEqual(order, [0, 1, 2]);
  }
});
