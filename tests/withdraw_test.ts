import assert from "node:assert/strict";
import { packageZip } from "./support/archives.ts";
import { runMain } from "./support/cli.ts";
import { eventually } from "./support/eventually.ts";
import { walk } from "./support/files.ts";
import { startTestS3 } from "./support/s3.ts";
import {
  ADMIN_TOKEN,
  get,
  problem,
  publish,
  sha256Hex,
  startTestServer,
  type TestServer,
  tokenConfig,
} from "./support/server.ts";

async function publishOk(t: TestServer, path: string, archive: Uint8Array, metadata?: unknown): Promise<void> {
  const response = await publish(t.swift, path, { archive, metadata });
  assert.equal(response.status, 201, await response.text());
}

/** An admin request to the withdrawal endpoints: `yank` / `takedown`, POST or DELETE. */
function withdraw(
  t: TestServer,
  action: "yank" | "takedown",
  path: string,
  options: { method?: string; reason?: string; body?: string; token?: string | null } = {},
): Promise<Response> {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  const token = options.token === undefined ? ADMIN_TOKEN : options.token;
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  const body = options.body ?? (options.reason === undefined ? undefined : JSON.stringify({ reason: options.reason }));
  return fetch(`${t.swift}/-/${action}/${path}`, { method: options.method ?? "POST", headers, body });
}

/** A listed release's problem, as SwiftPM decodes it (plus the registry's record). */
interface ListedProblem {
  status: number;
  detail: string;
  yanked?: { by: string; reason: string };
  takedown?: { by: string; reason: string };
}

async function releases(t: TestServer, path = "mona/LinkedList"): Promise<Record<string, { problem?: ListedProblem }>> {
  const response = await get(`${t.swift}/${path}`);
  assert.equal(response.status, 200);
  return (await response.json()).releases;
}

async function status(url: string, accept?: string): Promise<number> {
  const response = await get(url, accept === undefined ? {} : { accept });
  await response.body?.cancel();
  return response.status;
}

Deno.test("a yanked release is listed with a 410 problem but its metadata, manifest and archive keep answering", async () => {
  await using t = await startTestServer();
  const archive = await packageZip({ alternates: { "5.8": "5.8" } });
  await publishOk(t, "mona/LinkedList/1.5.0", await packageZip());
  await publishOk(t, "mona/LinkedList/1.6.0", archive);

  const yanked = await withdraw(t, "yank", "mona/LinkedList/1.6.0", { reason: "crashes on launch" });
  assert.equal(yanked.status, 200);
  const state = await yanked.json();
  assert.equal(state.yanked.reason, "crashes on launch");
  assert.equal(state.yanked.by, "token:admin");
  assert.match(state.yanked.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

  const list = await get(`${t.swift}/mona/LinkedList`);
  const body = await list.json();
  assert.deepEqual(Object.keys(body.releases), ["1.6.0", "1.5.0"]);
  assert.equal(body.releases["1.6.0"].url, `${t.swift}/mona/LinkedList/1.6.0`);
  assert.equal(body.releases["1.6.0"].problem.status, 410);
  assert.equal(body.releases["1.6.0"].problem.title, "Gone");
  assert.match(body.releases["1.6.0"].problem.detail, /yanked: crashes on launch/);
  assert.equal(body.releases["1.6.0"].problem.yanked.by, "token:admin");
  assert.equal(body.releases["1.5.0"].problem, undefined);
  assert.match(list.headers.get("link")!, /^<[^>]+\/1\.5\.0>; rel="latest-version"/, "the latest available release");

  // A consumer pinned to 1.6.0 (--force-resolved-versions) still gets everything.
  const base = `${t.swift}/mona/LinkedList/1.6.0`;
  assert.equal(await status(base), 200);
  assert.equal(await status(`${base}/Package.swift`, "application/vnd.swift.registry.v1+swift"), 200);
  assert.equal(await status(`${base}/Package.swift?swift-version=5.8`), 200);
  const zip = await get(`${base}.zip`, { accept: "application/vnd.swift.registry.v1+zip" });
  assert.deepEqual(new Uint8Array(await zip.arrayBuffer()), archive);

  const unyanked = await withdraw(t, "yank", "mona/LinkedList/1.6.0", { method: "DELETE" });
  assert.equal(unyanked.status, 200);
  assert.equal((await unyanked.json()).yanked, undefined);
  assert.equal((await releases(t))["1.6.0"].problem, undefined);
  assert.ok(t.logs.some((l) => l.includes('"release unyanked"') && l.includes("token:admin")));
});

Deno.test("withdrawing needs the admin scope, a reason and an existing release", async () => {
  await using tokens = await tokenConfig([
    { name: "ci", token: "publish-token-0123456789", scopes: ["read", "publish"] },
  ]);
  {
    await using t = await startTestServer({ env: tokens.env });
    await publishOk(t, "mona/LinkedList/1.0.0", await packageZip());
    for (const action of ["yank", "takedown"] as const) {
      const anonymous = await withdraw(t, action, "mona/LinkedList/1.0.0", { reason: "x", token: null });
      assert.equal(anonymous.status, 401, action);
      assert.equal(anonymous.headers.get("www-authenticate"), 'Bearer realm="swift-registry"');
      await problem(anonymous);
      const publisher = await withdraw(t, action, "mona/LinkedList/1.0.0", {
        reason: "x",
        token: "publish-token-0123456789",
      });
      assert.equal(publisher.status, 403, action);
      await problem(publisher);
      for (
        const body of [
          "",
          "{}",
          '{"reason":"  "}',
          '{"reason":7}',
          "not json",
          JSON.stringify({ reason: "x".repeat(1001) }),
        ]
      ) {
        const bad = await withdraw(t, action, "mona/LinkedList/1.0.0", { body });
        assert.equal(bad.status, 400, `${action} ${body.slice(0, 20)}`);
        await problem(bad);
      }
      const missing = await withdraw(t, action, "mona/LinkedList/9.0.0", { reason: "x" });
      assert.equal(missing.status, 404, action);
      await problem(missing);
      const invalid = await withdraw(t, action, "mona/LinkedList/latest", { reason: "x" });
      assert.equal(invalid.status, 400, action);
      await problem(invalid);
    }
    assert.equal((await releases(t))["1.0.0"].problem, undefined, "nothing changed");
  }
});

Deno.test("a takedown answers 410 on every endpoint of the release, deletes its bytes and cannot be undone", async () => {
  await using t = await startTestServer();
  const archive = await packageZip({ alternates: { "5.8": "5.8" } });
  const checksum = await sha256Hex(archive);
  const metadata = { description: "A linked list", repositoryURLs: ["https://github.com/mona/LinkedList"] };
  await publishOk(t, "mona/LinkedList/1.0.0", await packageZip(), { description: "old" });
  await publishOk(t, "mona/LinkedList/2.0.0", archive, metadata);
  await withdraw(t, "yank", "mona/LinkedList/2.0.0", { reason: "first a yank" }).then((r) => r.body?.cancel());

  const takedown = await withdraw(t, "takedown", "mona/LinkedList/2.0.0", { reason: "DMCA notice 42" });
  assert.equal(takedown.status, 200);
  const state = await takedown.json();
  assert.equal(state.takedown.reason, "DMCA notice 42");
  assert.equal(state.yanked, undefined, "a takedown replaces a yank");

  const base = `${t.swift}/mona/LinkedList/2.0.0`;
  for (
    const url of [
      base,
      `${base}.json`,
      `${base}.zip`,
      `${base}/Package.swift`,
      `${base}/Package.swift?swift-version=5.8`,
    ]
  ) {
    for (const method of ["GET", "HEAD"]) {
      const response = await get(url, { method });
      assert.equal(response.status, 410, `${method} ${url}`);
      assert.equal(response.headers.get("content-type"), "application/problem+json");
      assert.equal(response.headers.get("content-version"), "1");
      if (method === "GET") assert.match((await problem(response)).detail, /taken down .*DMCA notice 42/);
      else await response.body?.cancel();
    }
  }
  const listed = (await releases(t))["2.0.0"].problem!;
  assert.equal(listed.status, 410);
  assert.match(listed.detail, /taken down: DMCA notice 42/);
  assert.equal(listed.takedown?.by, "token:admin");

  const stored: string[] = [];
  for await (const path of walk(`${t.dataDir}/objects`)) if (path.includes(checksum)) stored.push(path);
  assert.deepEqual(stored, [], "archive and manifests are deleted");

  const identifiers = await get(`${t.swift}/identifiers?url=https://github.com/mona/LinkedList`);
  assert.equal(identifiers.status, 404, "only 2.0.0 declared the URL");
  await identifiers.body?.cancel();

  for (const [action, method] of [["yank", "DELETE"], ["yank", "POST"]] as const) {
    const refused = await withdraw(t, action, "mona/LinkedList/2.0.0", { method, reason: "x" });
    assert.equal(refused.status, 409, `${method} ${action}`);
    await problem(refused);
  }
  const again = await withdraw(t, "takedown", "mona/LinkedList/2.0.0", { reason: "another" });
  assert.equal((await again.json()).takedown.reason, "DMCA notice 42", "the first record stays");
  const republish = await publish(t.swift, "mona/LinkedList/2.0.0", { archive: await packageZip() });
  assert.equal(republish.status, 409, "the version stays taken");
  await republish.body?.cancel();
  assert.equal(await status(`${t.swift}/mona/LinkedList/1.0.0.zip`), 200, "other releases are untouched");
});

Deno.test("main.ts yank, unyank and takedown beside a running server record the operator and the reason", async () => {
  await using t = await startTestServer();
  const archive = await packageZip();
  await publishOk(t, "mona/LinkedList/1.0.0", archive);
  await publishOk(t, "mona/LinkedList/1.1.0", await packageZip());
  const env = { REGISTRY_DATA_DIR: t.dataDir };
  const usage = await runMain(["yank", "mona.LinkedList", "1.0.0"], env);
  assert.equal(usage.code, 2, "a reason is required");
  assert.match(usage.stderr, /usage: yank <scope\.name> <version> --reason/);
  const missing = await runMain(["yank", "mona.LinkedList", "3.0.0", "--reason", "x"], env);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /release 3\.0\.0 of mona\.LinkedList not found/);

  const yank = await runMain(["yank", "mona.LinkedList", "1.0.0", "--reason", "broken build"], env);
  assert.equal(yank.code, 0, yank.stderr);
  assert.match(yank.stdout, /mona\.LinkedList 1\.0\.0 is yanked/);
  const takedown = await runMain(["takedown", "MONA.linkedlist", "v1.1", "--reason", "leaked secret"], env);
  assert.equal(takedown.code, 0, takedown.stderr);

  const listed = await eventually("the server lists both withdrawals", async () => {
    const releases_ = await releases(t);
    return releases_["1.0.0"].problem && releases_["1.1.0"].problem ? releases_ : undefined;
  });
  assert.match(listed["1.0.0"].problem!.detail, /yanked: broken build/);
  assert.match(listed["1.0.0"].problem!.yanked!.by, /^cli:/);
  assert.match(listed["1.1.0"].problem!.takedown!.reason, /leaked secret/);
  assert.equal(await status(`${t.swift}/mona/LinkedList/1.1.0.zip`), 410);

  const unyank = await runMain(["unyank", "mona.LinkedList", "1.0.0"], env);
  assert.equal(unyank.code, 0, unyank.stderr);
  await eventually("1.0.0 is available again", async () => (await releases(t))["1.0.0"].problem === undefined);
  assert.deepEqual(await (await get(`${t.swift}/mona/LinkedList/1.0.0.zip`)).bytes(), archive);
});

Deno.test("two nodes on one bucket: a yank and a takedown on one are seen by the other, whose disk copy is deleted", async () => {
  await using s3 = await startTestS3();
  const env = { ...s3.env, REGISTRY_MEMORY_CACHE_BYTES: "0" };
  await using a = await startTestServer({ env });
  await using b = await startTestServer({ env });
  const archive = await packageZip({ extra: [{ name: "LinkedList/V", content: "1" }] });
  const checksum = await sha256Hex(archive);
  await publishOk(a, "mona/LinkedList/1.0.0", archive);
  await publishOk(a, "mona/LinkedList/1.1.0", await packageZip());
  // B serves the archive once, so its disk cache holds a copy.
  assert.equal(await status(`${b.swift}/mona/LinkedList/1.0.0.zip`), 200);
  const cachedOnB = async () => {
    const found: string[] = [];
    for await (const path of walk(`${b.dataDir}/cache`)) if (path.includes(checksum)) found.push(path);
    return found;
  };
  await eventually("B caches the archive on disk", async () => (await cachedOnB()).length > 0);

  await withdraw(a, "yank", "mona/LinkedList/1.1.0", { reason: "regression" }).then((r) => r.body?.cancel());
  await eventually("B lists 1.1.0 as yanked", async () => (await releases(b))["1.1.0"].problem?.status === 410);

  const takedown = await withdraw(a, "takedown", "mona/LinkedList/1.0.0", { reason: "legal" });
  assert.equal(takedown.status, 200);
  await takedown.body?.cancel();
  await eventually("B answers 410", async () => await status(`${b.swift}/mona/LinkedList/1.0.0.zip`) === 410);
  const key = `swift/packages/mona/linkedlist/releases/1.0.0/${checksum}/source-archive.zip`;
  const inBucket = await fetch(`${s3.endpoint}/${s3.bucket}/${key}`);
  assert.equal(inBucket.status, 404, "deleted from the bucket");
  await inBucket.body?.cancel();

  await b.server.scheduler.runNow("swift-takedown-sweep");
  assert.deepEqual(await cachedOnB(), [], "B's own disk copy is deleted by its sweep");
});
