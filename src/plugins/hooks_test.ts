import assert from "node:assert/strict";
import { BadRequestError } from "../errors.ts";
import { callHook, callHookNow, PluginFailureError } from "./hooks.ts";

Deno.test("callHook turns a hook that hangs into a PluginFailureError naming the plugin", async () => {
  await assert.rejects(
    callHook("slow", () => new Promise(() => {}), 50),
    (error: unknown) =>
      error instanceof PluginFailureError && /plugin "slow" failed: no answer within 50 ms/.test(error.message),
  );
});

Deno.test("callHook turns a throw into a PluginFailureError but lets errors meant for the client through", async () => {
  await assert.rejects(
    callHook("boom", () => {
      throw new Error("kaput");
    }),
    PluginFailureError,
  );
  await assert.rejects(
    callHook("picky", () => {
      throw new BadRequestError("bad input");
    }),
    BadRequestError,
  );
  assert.equal(await callHook("fine", () => 42), 42);
});

Deno.test("callHookNow answers at once when the hook does, and puts a deadline only on promises", async () => {
  assert.equal(callHookNow("sync", () => "allow"), "allow");
  assert.throws(() =>
    callHookNow("boom", () => {
      throw new Error("kaput");
    }), PluginFailureError);
  const answer = callHookNow("later", () => Promise.resolve(7));
  assert.ok(answer instanceof Promise);
  assert.equal(await answer, 7);
  await assert.rejects(Promise.resolve(callHookNow("slow", () => new Promise(() => {}), 50)), PluginFailureError);
});
