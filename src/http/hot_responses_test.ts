import assert from "node:assert/strict";
import { Hono } from "hono";
import { createMemoryLogger } from "../log.ts";
import { AccessLog } from "./access_log.ts";
import { type HotReads, HotResponses } from "./hot_responses.ts";
import { Metrics } from "./metrics.ts";
import type { AppEnv } from "./middleware.ts";
import { PreparedResponse } from "./prepared.ts";
import { RateLimiter } from "./rate_limit.ts";

const INFO = { remoteAddr: { hostname: "127.0.0.1", port: 40000, transport: "tcp" as const } } as Deno.ServeHandlerInfo<
  Deno.NetAddr
>;

/** An app whose one route counts how often it runs and answers through `hot.serve`, as a format does. */
function appWith(
  options: { reads?: HotReads; authenticate?: (request: Request) => Promise<unknown>; maxBytes?: number } = {},
) {
  const logger = createMemoryLogger();
  const hot = new HotResponses({
    reads: options.reads ?? "public",
    authenticate: options.authenticate ?? (() => Promise.resolve(null)),
    maxBytes: options.maxBytes ?? 1024 * 1024,
    metrics: new Metrics(),
    accessLog: new AccessLog(logger),
    rateLimiter: new RateLimiter({ perIp: 0, perPrincipal: 0, auth: {} as never }),
    urlPolicy: { trustedProxies: new Set() },
  });
  const state = {
    routed: 0,
    /** The version of the document answers come from; an answer stands while it is current. */
    version: 1,
    prepared: PreparedResponse.json({ n: 1 }, { "Cache-Control": "no-cache" }),
    /** The methods of the requests answered from memory, as told to the route's `used`. */
    used: [] as string[],
  };
  const app = new Hono<AppEnv>().get("/doc/:name", (c) => {
    state.routed++;
    const version = state.version;
    return hot.serve(c, state.prepared, () => state.version === version, (request) => state.used.push(request.method));
  });
  const fetch = async (path: string, init?: RequestInit): Promise<Response> => {
    const request = new Request(`http://registry.test${path}`, init);
    return await hot.answer(request, INFO) ?? await app.fetch(request, INFO);
  };
  return { hot, state, fetch, logger };
}

Deno.test("HotResponses answers a repeated request from memory, without routing, until its freshness ends", async () => {
  const { state, fetch, logger } = appWith();
  for (let i = 0; i < 3; i++) assert.deepEqual(await (await fetch("/doc/a")).json(), { n: 1 });
  assert.equal(state.routed, 1, "routed once, then answered from memory");
  assert.equal(logger.lines.filter((l) => JSON.parse(l).msg === "request").length, 2, "hot answers are logged");

  state.version++;
  state.prepared = PreparedResponse.json({ n: 2 });
  assert.deepEqual(await (await fetch("/doc/a")).json(), { n: 2 }, "a stale answer is never served");
  assert.equal(state.routed, 2);
  assert.deepEqual(await (await fetch("/doc/a")).json(), { n: 2 });
  assert.equal(state.routed, 2, "the new answer is remembered in its turn");
});

Deno.test("HotResponses tells the route of each request it answers from memory, 304s and HEADs included", async () => {
  const { state, fetch } = appWith();
  await (await fetch("/doc/a")).body?.cancel();
  assert.deepEqual(state.used, [], "the routed request is the route's own to count");
  await (await fetch("/doc/a")).body?.cancel();
  await (await fetch("/doc/a", { method: "HEAD" })).body?.cancel();
  const notModified = await fetch("/doc/a", { headers: { "If-None-Match": state.prepared.etag! } });
  assert.equal(notModified.status, 304);
  assert.deepEqual(state.used, ["GET", "HEAD", "GET"]);
  state.version++;
  await (await fetch("/doc/a")).body?.cancel();
  assert.deepEqual(state.used, ["GET", "HEAD", "GET"], "a request a stale entry could not answer is not told");
});

Deno.test("HotResponses keys answers by URL and Accept, and only remembers GET and HEAD when reads are public", async () => {
  const { state, fetch } = appWith();
  await (await fetch("/doc/a")).body?.cancel();
  await (await fetch("/doc/a?page=2")).body?.cancel();
  await (await fetch("/doc/a", { headers: { Accept: "application/json" } })).body?.cancel();
  assert.equal(state.routed, 3, "another query or Accept is another answer");
  const head = await fetch("/doc/a", { method: "HEAD" });
  assert.equal(head.headers.get("content-length"), String(JSON.stringify({ n: 1 }).length));
  assert.equal(await head.text(), "");
  assert.equal(state.routed, 3, "HEAD is answered from the GET's entry");

  const closed = appWith({ reads: "off" });
  for (let i = 0; i < 3; i++) await (await closed.fetch("/doc/a")).body?.cancel();
  assert.equal(closed.state.routed, 3, "reads that need the auth chain always go through the routes");
});

Deno.test("HotResponses holds at most its byte budget, least recently used out first", async () => {
  const { hot, state, fetch } = appWith({
    maxBytes: 3 * PreparedResponse.json({ n: 1 }, { "Cache-Control": "no-cache" }).weight,
  });
  for (const name of ["a", "b", "c", "d"]) await (await fetch(`/doc/${name}`)).body?.cancel();
  assert.equal(hot.size, 3);
  await (await fetch("/doc/a")).body?.cancel();
  assert.equal(state.routed, 5, "the oldest answer was dropped");
});

Deno.test("HotResponses per credential: an answer goes only to the same credentials, authenticated again", async () => {
  const valid = new Set(["Bearer alice", "Bearer bob"]);
  let asked: Request | undefined;
  const { state, fetch } = appWith({
    reads: "per-credential",
    authenticate: (request) => {
      asked = request;
      return valid.has(request.headers.get("authorization") ?? "")
        ? Promise.resolve({})
        : Promise.reject(new Error("401"));
    },
  });
  const as = async (authorization: string) =>
    await (await fetch("/doc/a", { headers: { Authorization: authorization, "User-Agent": "test" } })).body?.cancel();
  await as("Bearer alice");
  await as("Bearer alice");
  assert.equal(state.routed, 1, "alice's second read is answered from memory");
  assert.deepEqual([...asked!.headers], [["authorization", "Bearer alice"]], "the chain is asked with the credentials");
  await as("Bearer bob");
  assert.equal(state.routed, 2, "bob never gets alice's answer: his own read goes through the routes");
  await (await fetch("/doc/a")).body?.cancel();
  assert.equal(state.routed, 3, "nor does a request without credentials");
  valid.delete("Bearer alice");
  await as("Bearer alice");
  assert.equal(state.routed, 4, "credentials that no longer authenticate go to the routes (which answer 401)");
});

Deno.test("HotResponses per credential: an answer that went stale while its credentials were checked is not given", async () => {
  let onAuthenticate = () => {};
  const { state, fetch, hot } = appWith({
    reads: "per-credential",
    authenticate: () => Promise.resolve(onAuthenticate()),
  });
  const read = async () => await (await fetch("/doc/a", { headers: { Authorization: "Bearer alice" } })).json();
  assert.deepEqual(await read(), { n: 1 });
  onAuthenticate = () => {
    state.version++; // a publish lands while the token is being checked
    state.prepared = PreparedResponse.json({ n: 2 }, { "Cache-Control": "no-cache" });
    onAuthenticate = () => {};
  };
  assert.deepEqual(await read(), { n: 2 }, "the routes answer with what is current");
  assert.equal(state.routed, 2);
  assert.deepEqual(await read(), { n: 2 });
  assert.equal(state.routed, 2);
  assert.equal(hot.size, 1);
});

Deno.test("HotResponses keeps no answer that never stands (a listing built for its caller)", async () => {
  const logger = createMemoryLogger();
  const hot = new HotResponses({
    reads: "per-credential",
    authenticate: () => Promise.resolve({}),
    maxBytes: 1024 * 1024,
    metrics: new Metrics(),
    accessLog: new AccessLog(logger),
    rateLimiter: new RateLimiter({ perIp: 0, perPrincipal: 0, auth: {} as never }),
    urlPolicy: { trustedProxies: new Set() },
  });
  const app = new Hono<AppEnv>().get("/index", (c) => hot.serve(c, PreparedResponse.json({ mine: true }), () => false));
  for (let i = 0; i < 3; i++) await (await app.fetch(new Request("http://registry.test/index"), INFO)).body?.cancel();
  assert.equal(hot.size, 0);
});
