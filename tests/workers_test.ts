import assert from "node:assert/strict";
import { packageZip } from "./support/archives.ts";
import { eventually } from "./support/eventually.ts";
import { ADMIN_TOKEN, publish, startTestServer } from "./support/server.ts";
import { fromBothWorkers, onNewConnection } from "./support/workers.ts";

Deno.test("with REGISTRY_WORKERS=2, a release published through one worker is read through the other at once", async () => {
  await using t = await startTestServer({ env: { REGISTRY_WORKERS: "2" } });
  assert.equal(t.server.workers, 2);
  const first = await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() });
  assert.equal(first.status, 201);
  // Both workers hold the package's document (and its prepared list) in memory.
  for (const { body } of await fromBothWorkers(t, `${t.swift}/mona/LinkedList`)) {
    assert.deepEqual(Object.keys(JSON.parse(body).releases), ["1.0.0"]);
  }

  const second = await publish(t.swift, "mona/LinkedList/1.1.0", { archive: await packageZip() });
  assert.equal(second.status, 201);
  // The very next read, whichever worker answers it, lists the new release.
  for (const { response, body } of await fromBothWorkers(t, `${t.swift}/mona/LinkedList`)) {
    assert.equal(response.status, 200);
    assert.deepEqual(Object.keys(JSON.parse(body).releases), ["1.1.0", "1.0.0"]);
  }
  for (const { response } of await fromBothWorkers(t, `${t.swift}/mona/LinkedList/1.1.0`)) {
    assert.equal(response.status, 200);
  }
  // The status, asked of either worker, lists the publishes of both.
  for (
    const { body } of await fromBothWorkers(t, `${t.url}/-/status`, {
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    })
  ) {
    const versions = JSON.parse(body).recentPublishes.map((p: { version: string }) => p.version);
    assert.deepEqual(versions.sort(), ["1.0.0", "1.1.0"]);
  }
});

Deno.test("with REGISTRY_WORKERS=2, an asynchronous publish can be polled through either worker", async () => {
  await using t = await startTestServer({ env: { REGISTRY_WORKERS: "2" } });
  const accepted = await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() }, {
    prefer: "respond-async",
  });
  assert.equal(accepted.status, 202);
  await accepted.body?.cancel();
  const location = accepted.headers.get("location")!;
  for (const { response } of await fromBothWorkers(t, location, { redirect: "manual" })) {
    assert.ok([202, 301].includes(response.status), `poll answered ${response.status}`);
  }
  await eventually("the publish finished", async () => {
    const { response } = await onNewConnection(t, location, { redirect: "manual" });
    return response.status === 301;
  });
  for (const { response } of await fromBothWorkers(t, location, { redirect: "manual" })) {
    assert.equal(response.status, 301);
    assert.equal(response.headers.get("location"), `${t.swift}/mona/LinkedList/1.0.0`);
  }
});

Deno.test("with REGISTRY_WORKERS=2, /metrics counts the requests of both workers and scheduled jobs run once", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/mona/LinkedList`, { recursive: true });
    await Deno.writeFile(`${root}/mona/LinkedList/1.0.0.zip`, await packageZip());
    await using t = await startTestServer({
      env: { REGISTRY_WORKERS: "2", REGISTRY_FILESYSTEM_ROOT: root, REGISTRY_SYNC_INTERVAL: "1h" },
    });
    await eventually("the release ingested", () => t.logs.some((l) => l.includes('"version ingested"')));
    const answers = await fromBothWorkers(t, `${t.url}/health`);
    const page = (await onNewConnection(t, `${t.url}/metrics`)).body;
    const health = /registry_http_requests_total\{route="\/health",method="GET",status="200"\} (\d+)/.exec(page);
    assert.equal(Number(health?.[1]), answers.length, "requests served by either worker are counted");

    // Only the first worker runs the scheduler's jobs: one ingestion, never one by another worker.
    const ingested = t.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === "version ingested");
    assert.equal(ingested.length, 1);
    assert.equal(ingested[0].worker, undefined);
    for (
      const { response, body } of await fromBothWorkers(t, `${t.swift}/-/status`, {
        headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
      })
    ) {
      assert.equal(response.status, 200);
      const jobs = JSON.parse(body).jobs as { name: string; lastStart?: string }[];
      assert.ok(jobs.find((j) => j.name === "source-filesystem")?.lastStart, "the status is the first worker's");
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
