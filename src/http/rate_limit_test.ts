import assert from "node:assert/strict";
import { clientAddress } from "./rate_limit.ts";

const env = (hostname: string) => ({ remoteAddr: { hostname } });

Deno.test("clientAddress uses the connection unless it comes from a trusted proxy", () => {
  const trusted = new Set(["10.0.0.1", "10.0.0.2"]);
  assert.equal(clientAddress(env("203.0.113.9"), "198.51.100.7", trusted), "203.0.113.9", "untrusted: header ignored");
  assert.equal(clientAddress(env("10.0.0.1"), "198.51.100.7", trusted), "198.51.100.7");
  assert.equal(
    clientAddress(env("10.0.0.1"), "1.1.1.1, 198.51.100.7, 10.0.0.2", trusted),
    "198.51.100.7",
    "skips chained proxies",
  );
  assert.equal(clientAddress(env("10.0.0.1"), undefined, trusted), "10.0.0.1");
});
