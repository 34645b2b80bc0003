import assert from "node:assert/strict";
import { packageZip } from "./support/archives.ts";
import { runMain } from "./support/cli.ts";
import { scratchFiles } from "./support/files.ts";
import { manifest, startFakeGitHub } from "./support/fake_github.ts";
import { get, publish, startTestServer, type TestServer } from "./support/server.ts";

/**
 * Publishes new versions to `t` (a few at a time) until `stop()` is called;
 * resolves to the status and body of every answer.
 */
function keepPublishing(t: TestServer, packageName: string): { stop(): Promise<string[]> } & AsyncDisposable {
  let stopped = false;
  const answers: string[] = [];
  const worker = async (worker: number) => {
    const archive = await packageZip({ extra: [{ name: "LinkedList/blob.bin", content: new Uint8Array(256 * 1024) }] });
    for (let i = 0; !stopped; i++) {
      try {
        const response = await publish(t.swift, `mona/${packageName}/${worker}.${i}.0`, { archive });
        answers.push(`${response.status} ${await response.text()}`);
      } catch (error) {
        answers.push(String(error)); // the test failed and stopped the server
        return;
      }
    }
  };
  const workers = [1, 2, 3].map(worker);
  const stop = async () => {
    stopped = true;
    await Promise.all(workers);
    return answers;
  };
  return { stop, [Symbol.asyncDispose]: async () => void await stop() };
}

Deno.test("token commands beside a running server and beside each other: every publish succeeds, every token is kept", async () => {
  await using t = await startTestServer({ env: { REGISTRY_PLUGINS: "token-store" } });
  const env = { REGISTRY_DATA_DIR: t.dataDir, REGISTRY_PLUGINS: "token-store" };
  await using publishing = keepPublishing(t, "LinkedList");

  const created = await Promise.all(
    Array.from({ length: 8 }, (_, i) => runMain(["token", "create", "--name", `ci-${i}`, "--scopes", "read"], env)),
  );
  for (const result of created) assert.equal(result.code, 0, result.stderr);
  const ids = created.map((result) => result.stdout.trim().split("_")[1]);
  const [revoked, listed] = await Promise.all([
    Promise.all(ids.slice(0, 4).map((id) => runMain(["token", "revoke", id], env))),
    runMain(["token", "list"], env),
  ]);
  for (const result of revoked) assert.equal(result.code, 0, result.stderr);
  assert.equal(listed.code, 0, listed.stderr);

  const answers = await publishing.stop();
  assert.ok(answers.length > 0);
  for (const answer of answers) assert.match(answer, /^201 /);

  const list = await runMain(["token", "list"], env);
  assert.equal(list.code, 0, list.stderr);
  const lines = list.stdout.trim().split("\n");
  assert.equal(lines.length, 8, list.stdout);
  for (const [i, id] of ids.entries()) {
    const line = lines.find((l) => l.startsWith(`${id}\t`));
    assert.ok(line, `token ${id} is listed`);
    assert.match(line, i < 4 ? /\trevoked / : /\tactive$/);
  }
  // A token created beside the server works against it.
  const token = created[7].stdout.trim();
  const login = await fetch(`${t.swift}/login`, { method: "POST", headers: { Authorization: `Bearer ${token}` } });
  assert.equal(login.status, 200);
  await login.body?.cancel();
  // The commands that finished left nothing behind.
  assert.deepEqual(await scratchFiles(t.dataDir), []);
});

Deno.test("main.ts sync beside a running server: both succeed and the server lists the mirrored releases", async () => {
  await using github = startFakeGitHub([{
    owner: "mona",
    repo: "Mirrored",
    tags: ["1.0.0", "1.1.0", "1.2.0"].map((name) => ({
      name,
      files: { "Package.swift": manifest(), "Sources/M/M.swift": `public let v = "${name}"\n` },
    })),
  }]);
  await using t = await startTestServer();
  const before = await get(`${t.swift}/mona/Mirrored`);
  assert.equal(before.status, 404, "read (and remembered) before the sync");
  await before.body?.cancel();
  await using publishing = keepPublishing(t, "LinkedList");

  const synced = await Promise.all([1, 2].map(() =>
    runMain(["sync", "--data-dir", t.dataDir], {
      REGISTRY_GITHUB_TOKEN: "fake-token",
      REGISTRY_GITHUB_API_URL: github.url,
      REGISTRY_SYNC_PACKAGES: "mona/Mirrored",
    })
  ));
  const answers = await publishing.stop();
  for (const result of synced) assert.equal(result.code, 0, result.stdout + result.stderr);
  for (const answer of answers) assert.match(answer, /^201 /);

  // The server revalidates what it remembered (at most every 2 seconds) and sees the other process's writes.
  let versions: string[] = [];
  for (let attempt = 0; attempt < 300 && versions.length < 3; attempt++) {
    const response = await get(`${t.swift}/mona/Mirrored`);
    versions = response.status === 200 ? Object.keys((await response.json()).releases) : [];
    if (!response.bodyUsed) await response.body?.cancel();
    if (versions.length < 3) await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(versions, ["1.2.0", "1.1.0", "1.0.0"]);
  assert.deepEqual(await scratchFiles(t.dataDir), []);
});
