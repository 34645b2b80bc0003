import assert from "node:assert/strict";
import { digestsEqual, sha256Hex } from "./credentials.ts";

Deno.test("digestsEqual tells equal digests from different ones, of any length", () => {
  const digest = sha256Hex("a-token");
  assert.equal(digestsEqual(digest, sha256Hex("a-token")), true);
  assert.equal(digestsEqual(digest, sha256Hex("another-token")), false);
  assert.equal(
    digestsEqual(digest, `${digest.slice(0, 63)}${digest[63] === "0" ? "1" : "0"}`),
    false,
    "last character",
  );
  assert.equal(digestsEqual(digest, digest.slice(0, 62)), false, "a prefix");
  assert.equal(digestsEqual("", ""), false, "nothing is never a match");
});
