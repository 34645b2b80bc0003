import assert from "node:assert/strict";
import { forceClose } from "./listen.ts";

Deno.test("forceClose survives the BadResource Deno's abort listener throws for a connection closed a moment before", async () => {
  const abort = new AbortController();
  // What Deno's serveHttpOnConnection registers: cancel the connection's resource (gone already, here).
  abort.signal.addEventListener("abort", () => {
    throw new Deno.errors.BadResource("Bad resource ID");
  }, { once: true });
  forceClose(abort);
  assert.equal(abort.signal.aborted, true);
  // An uncaught error would have failed this test (and ended a server); other errors are still reported.
  await new Promise((resolve) => setTimeout(resolve, 10));
});
