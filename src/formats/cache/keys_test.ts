import assert from "node:assert/strict";
import { BadRequestError } from "../../errors.ts";
import { assertValidKey } from "../../storage/object_store.ts";
import { acKey, casKey, namespaceOf, tuistKey, tuistProject } from "./keys.ts";
import { parseKeyValue } from "./tuist_api.ts";

Deno.test("CAS keys are lowercase SHA-256 hex only", () => {
  assert.equal(casKey("a".repeat(64)), `cache/cas/${"a".repeat(64)}`);
  for (const bad of ["", "a".repeat(63), "A".repeat(64), `${"a".repeat(63)}/`, "../".repeat(22)]) {
    assert.throws(() => casKey(bad), BadRequestError, bad);
  }
});

Deno.test("action keys are opaque but stay one safe storage segment", () => {
  for (const key of ["f".repeat(64), "ccache_key-v1.2", "_x"]) {
    assertValidKey(acKey(key));
    assert.equal(namespaceOf(acKey(key)), "ac");
  }
  for (const bad of ["", ".", "..", ".hidden", "a/b", "a b", "a".repeat(129), "é"]) {
    assert.throws(() => acKey(bad), BadRequestError, bad);
  }
});

Deno.test("Tuist ids of any characters and length map to bounded keys inside their project", () => {
  const project = tuistProject("Acme", "App");
  assert.deepEqual(project, { account: "acme", project: "app" });
  for (const id of ["0~abc", "../../etc/passwd", "x".repeat(1024), "🙂 spaces/and/slashes"]) {
    const key = tuistKey(project, "cas", id);
    assertValidKey(key);
    assert.match(key, /^cache\/tuist\/acme\/app\/cas\/[0-9a-f]{64}$/);
  }
  assert.notEqual(tuistKey(project, "cas", "a"), tuistKey(project, "kv", "a"));
  assert.throws(() => tuistKey(project, "cas", ""), BadRequestError);
  assert.throws(() => tuistKey(project, "cas", "x".repeat(1025)), BadRequestError);
  for (const [account, name] of [[undefined, "app"], ["acme", ""], ["../x", "app"], ["acme", ".app"]]) {
    assert.throws(() => tuistProject(account, name), BadRequestError, `${account}/${name}`);
  }
});

Deno.test("a key-value upload is stored in the shape GET answers, with only the values", () => {
  const { casId, document } = parseKeyValue(
    new TextEncoder().encode(JSON.stringify({ cas_id: "k", entries: [{ value: "v", extra: 1 }] })),
  );
  assert.equal(casId, "k");
  assert.deepEqual(JSON.parse(new TextDecoder().decode(document)), { entries: [{ value: "v" }] });
  for (const bad of ["", "[]", '{"cas_id":"","entries":[{"value":"v"}]}', '{"cas_id":"k","entries":{}}']) {
    assert.throws(() => parseKeyValue(new TextEncoder().encode(bad)), BadRequestError, bad);
  }
});
