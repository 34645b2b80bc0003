import assert from "node:assert/strict";
import { createJsonLogger, createMemoryLogger } from "../log.ts";
import { AccessLog } from "./access_log.ts";

Deno.test("an access-log line is one JSON object with the request's method, path, status, time and id", () => {
  const logger = createMemoryLogger();
  const log = new AccessLog(logger, 1, 2);
  log.record("GET", "/swift/mona/LinkedList", 200, 0.1234, "abc-1");
  log.record("GET", '/odd"path\\é', 404, 1, "id with spaces");
  const [plain, odd] = logger.lines.map((line) => JSON.parse(line));
  assert.deepEqual(
    { ...plain, time: undefined },
    {
      time: undefined,
      level: "info",
      msg: "request",
      method: "GET",
      path: "/swift/mona/LinkedList",
      status: 200,
      ms: 0.12,
      id: "abc-1",
      worker: 2,
    },
  );
  assert.match(plain.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(odd.path, '/odd"path\\é');
});

Deno.test("an access log samples successful requests, keeps every 5xx, and is off at 0 or when info is not logged", () => {
  const logger = createMemoryLogger();
  const sampled = new AccessLog(logger, 0.000001);
  for (let i = 0; i < 100; i++) sampled.record("GET", "/", 200, 0, `ok-${i}`);
  sampled.record("GET", "/", 503, 0, "failed");
  assert.ok(logger.lines.length <= 2, "a tiny share logs (almost) nothing");
  assert.ok(logger.lines.some((line) => JSON.parse(line).id === "failed"), "5xx are always logged");
  assert.equal(new AccessLog(logger, 0).enabled, false);
  assert.equal(new AccessLog(createJsonLogger("warn", () => {})).enabled, false);
});
