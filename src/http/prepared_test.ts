import assert from "node:assert/strict";
import { RangeNotSatisfiableError } from "../errors.ts";
import { PreparedCache, PreparedResponse } from "./prepared.ts";

const request = (init: RequestInit = {}) => new Request("http://registry.test/x", init);

Deno.test("a prepared response answers any number of requests with the same body and headers", async () => {
  const prepared = PreparedResponse.json({ hello: "wörld" }, { Link: '<http://x>; rel="a"' });
  for (let i = 0; i < 50; i++) {
    const response = prepared.respond(request(), `id-${i}`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { hello: "wörld" });
    assert.equal(response.headers.get("content-type"), "application/json");
    assert.equal(response.headers.get("content-length"), String(prepared.size));
    assert.equal(response.headers.get("content-version"), "1");
    assert.equal(response.headers.get("link"), '<http://x>; rel="a"');
    assert.equal(response.headers.get("x-request-id"), `id-${i}`);
    assert.match(response.headers.get("etag")!, /^"[0-9a-f]{40}"$/);
  }
  assert.equal(prepared.size, new TextEncoder().encode(JSON.stringify({ hello: "wörld" })).byteLength);
});

Deno.test("a prepared response answers If-None-Match with 304 and HEAD with the length and no body", async () => {
  const prepared = new PreparedResponse("text", { ETag: '"abc"', "X-Accel-Redirect": "/internal/x" });
  for (const tag of ['"abc"', 'W/"abc"', '"other", "abc"', "*"]) {
    const response = prepared.respond(request({ headers: { "If-None-Match": tag } }));
    assert.equal(response.status, 304, tag);
    assert.equal(response.body, null);
    assert.equal(response.headers.get("etag"), '"abc"');
    assert.equal(response.headers.get("x-accel-redirect"), null, "a 304 never sends nginx to the file");
  }
  assert.equal(prepared.respond(request({ headers: { "If-None-Match": '"other"' } })).status, 200);
  const head = prepared.respond(request({ method: "HEAD" }));
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("content-length"), "4");
  assert.equal(await head.text(), "");
});

Deno.test("a prepared byte body answers one range with 206, If-Range that does not match with 200, past the end with 416", async () => {
  const bytes = Uint8Array.from({ length: 100 }, (_, i) => i);
  const prepared = new PreparedResponse(bytes, { ETag: '"e"', "Accept-Ranges": "bytes" });
  const partial = prepared.respond(request({ headers: { Range: "bytes=-10" } }));
  assert.equal(partial.status, 206);
  assert.equal(partial.headers.get("content-range"), "bytes 90-99/100");
  assert.deepEqual(new Uint8Array(await partial.arrayBuffer()), bytes.subarray(90));
  const stale = prepared.respond(request({ headers: { Range: "bytes=0-1", "If-Range": '"old"' } }));
  assert.equal(stale.status, 200);
  assert.deepEqual(new Uint8Array(await stale.arrayBuffer()), bytes);
  assert.throws(() => prepared.respond(request({ headers: { Range: "bytes=100-" } })), RangeNotSatisfiableError);
  const text = new PreparedResponse("not bytes", { "Accept-Ranges": "bytes" });
  assert.equal(text.respond(request({ headers: { Range: "bytes=0-1" } })).status, 200, "text is always whole");
});

Deno.test("PreparedCache builds a response once per document and resource; a new document gets new ones", async () => {
  const cache = new PreparedCache(1024 * 1024);
  let builds = 0;
  const build = () => {
    builds++;
    return new PreparedResponse(`build ${builds}`, {});
  };
  const first = { version: 1 };
  const a = await cache.get(first, "list", build);
  assert.equal(await cache.get(first, "list", build), a);
  await cache.get(first, "release 1.0.0", build);
  assert.equal(builds, 2);
  const replaced = { version: 1 };
  assert.notEqual(await cache.get(replaced, "list", build), a);
  assert.equal(builds, 3);
  await assert.rejects(cache.get(first, "broken", () => Promise.reject(new Error("no"))), /no/);
  assert.equal(
    await cache.get(first, "broken", build).then((r) => new TextDecoder().decode(r.body)),
    "build 4",
    "a failed build is not kept",
  );
});
