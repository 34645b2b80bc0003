import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { digestsEqual, sha256Hex } from "./credentials.ts";

Deno.test("sha256Hex is SHA-256 of the text's UTF-8, whatever came before it", () => {
  const texts = ["", "abc", "x".repeat(55), "y".repeat(56), "z".repeat(64), "Bearer é-token ✓", "t".repeat(10_000)];
  // Each after every other: a digest never depends on the one before (the hasher and its buffer are reused).
  for (const first of texts) {
    for (const text of texts) {
      sha256Hex(first);
      assert.equal(
        sha256Hex(text),
        createHash("sha256").update(text, "utf8").digest("hex"),
        `${first.length}, ${text}`,
      );
    }
  }
});

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
