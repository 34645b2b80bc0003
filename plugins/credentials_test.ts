import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { credentialsRequest, digestsEqual, presentedSecret, secretSha256, sha256Hex } from "./credentials.ts";

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

Deno.test("secretSha256 is the digest of the presented secret, for requests from credentialsRequest and any other", () => {
  const basic = `Basic ${btoa("someone:s3cret:password")}`;
  for (const authorization of ["Bearer reg_0123456789abcdef", basic]) {
    const secret = presentedSecret(new Request("http://registry.test/", { headers: { authorization } }));
    assert.equal(typeof secret, "string");
    const held = credentialsRequest("http://registry.test/a", authorization);
    assert.equal(held.headers.get("authorization"), authorization);
    assert.equal(secretSha256(held, presentedSecret(held) as string), sha256Hex(secret as string));
    const plain = new Request("http://registry.test/a", { headers: { authorization } });
    assert.equal(secretSha256(plain, secret as string), sha256Hex(secret as string));
  }
  assert.equal(credentialsRequest("http://registry.test/a", null).headers.has("authorization"), false);
});

Deno.test("secretSha256 follows the secret when a held request's credentials were changed", () => {
  const held = credentialsRequest("http://registry.test/a", "Bearer first-token-0123456789");
  held.headers.set("authorization", "Bearer other-token-0123456789");
  assert.equal(secretSha256(held, presentedSecret(held) as string), sha256Hex("other-token-0123456789"));
});
