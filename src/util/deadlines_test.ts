import assert from "node:assert/strict";
import { pendingDeadlines, withDeadline } from "./deadlines.ts";

Deno.test("withDeadline fails work that does not settle in time, and nothing stays pending after", async () => {
  await assert.rejects(withDeadline(new Promise(() => {}), 20, () => new Error("too slow")), /too slow/);
  assert.equal(pendingDeadlines(), 0);
});

Deno.test("withDeadline passes on what the work settles with, and forgets it at once", async () => {
  assert.equal(await withDeadline(Promise.resolve(42), 10_000, () => new Error("never")), 42);
  await assert.rejects(withDeadline(Promise.reject(new Error("own")), 10_000, () => new Error("never")), /own/);
  const many = await Promise.all(
    Array.from({ length: 100 }, (_, i) => withDeadline(Promise.resolve(i), 10_000, () => 0)),
  );
  assert.equal(many.length, 100);
  assert.equal(pendingDeadlines(), 0, "no sweeper left running (the test sanitizer would say so too)");
});
