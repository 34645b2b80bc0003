import assert from "node:assert/strict";
import { eventually } from "./support/eventually.ts";
import { packageZip } from "./support/archives.ts";
import { startTestS3 } from "./support/s3.ts";
import { get, publish, startTestServer } from "./support/server.ts";

/** The value of the sample `name{labels}` in a Prometheus text page (labels in any order), or undefined. */
function sample(page: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of page.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

Deno.test("GET /metrics counts requests by route pattern, method and status, with latency and bytes", async () => {
  await using t = await startTestServer();
  const archive = await packageZip();
  await (await publish(t.swift, "mona/LinkedList/1.0.0", { archive })).body?.cancel();
  for (let i = 0; i < 3; i++) await (await get(`${t.swift}/mona/LinkedList`)).body?.cancel();
  await (await get(`${t.swift}/nobody/nothing`)).body?.cancel();
  await (await get(`${t.swift}/mona/LinkedList/1.0.0.zip`)).arrayBuffer();

  const response = await get(`${t.url}/metrics`, { accept: "text/plain" });
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
  const page = await response.text();
  const list = { route: "/swift/:scope/:name", method: "GET" };
  assert.equal(sample(page, "registry_http_requests_total", { ...list, status: "200" }), 3);
  assert.equal(sample(page, "registry_http_requests_total", { ...list, status: "404" }), 1);
  assert.equal(
    sample(page, "registry_http_requests_total", {
      route: "/swift/:scope/:name/:version",
      method: "PUT",
      status: "201",
    }),
    1,
  );
  assert.equal(sample(page, "registry_http_request_duration_seconds_count", list), 4);
  assert.equal(
    sample(page, "registry_http_response_bytes_total", { route: "/swift/:scope/:name/:version" })! >= archive.length,
    true,
  );
  assert.ok(!page.includes("mona/LinkedList"), "labels carry route patterns, not paths");
});

Deno.test("with S3, /metrics reports S3 calls and the disk cache", async () => {
  await using s3 = await startTestS3();
  await using t = await startTestServer({ env: s3.env });
  await (await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() })).body?.cancel();
  await (await get(`${t.swift}/mona/LinkedList/1.0.0.zip`)).arrayBuffer();
  const page = await (await get(`${t.url}/metrics`)).text();
  assert.ok(sample(page, "registry_s3_calls_total", { operation: "PutObject" })! >= 1);
  assert.ok(sample(page, "registry_s3_calls_total", { operation: "HeadObject" })! >= 1);
  assert.ok(sample(page, "registry_disk_cache_bytes")! > 0);
  assert.ok(sample(page, "registry_disk_cache_hits")! >= 1, "the download was a disk hit");
  assert.equal(sample(page, "registry_s3_errors_total", { operation: "HeadObject" }), undefined, "404s are not errors");
});

Deno.test("REGISTRY_METRICS_TOKEN protects /metrics with a bearer token", async () => {
  await using t = await startTestServer({ env: { REGISTRY_METRICS_TOKEN: "metrics-secret-123" } });
  const anonymous = await get(`${t.url}/metrics`);
  assert.equal(anonymous.status, 401);
  await anonymous.body?.cancel();
  const wrong = await get(`${t.url}/metrics`, { headers: { Authorization: "Bearer nope" } });
  assert.equal(wrong.status, 401);
  await wrong.body?.cancel();
  const ok = await get(`${t.url}/metrics`, { headers: { Authorization: "Bearer metrics-secret-123" } });
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
});

Deno.test("/metrics counts plugin hook failures by plugin", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/broken.ts`,
    `export default () => ({ name: "broken", auth: { authenticate() { throw new Error("down"); } },
      afterPublish() { throw new Error("hook down"); } });\n`,
  );
  try {
    await using t = await startTestServer({ env: { REGISTRY_PLUGINS: `${dir}/broken.ts` } });
    const failed = await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() }, { token: null });
    assert.equal(failed.status, 503);
    await failed.body?.cancel();
    assert.equal(
      sample(await (await get(`${t.url}/metrics`)).text(), "registry_plugin_hook_errors_total", {
        plugin: "broken",
      }),
      1,
    );
    // An afterPublish failure happens after the answer: it is counted too.
    await (await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() })).body?.cancel();
    await eventually("the afterPublish failure counted", async () => {
      const page = await (await get(`${t.url}/metrics`)).text();
      return sample(page, "registry_plugin_hook_errors_total", { plugin: "broken" }) === 2;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("made-up HTTP methods share one label, so clients cannot grow the metrics", async () => {
  await using t = await startTestServer();
  for (const method of ["FOO", "BAR", "M0X20"]) {
    const response = await fetch(`${t.url}/health`, { method });
    await response.body?.cancel();
  }
  const page = await (await get(`${t.url}/metrics`)).text();
  assert.ok(!/method="(FOO|BAR|M0X20)"/.test(page));
  assert.equal(sample(page, "registry_http_requests_total", { method: "other", route: "unmatched" }), 3);
});
