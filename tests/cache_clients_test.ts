/**
 * The real clients of the build cache: ccache (remote storage only, bazel
 * layout) and bazel (`--remote_cache`), both Debian's packages (`.ci/run`
 * installs them).
 */
import assert from "node:assert/strict";
import { ADMIN_TOKEN, startTestServer } from "./support/server.ts";
import { metric } from "./support/cache.ts";

async function run(command: string, args: string[], options: { cwd: string; env?: Record<string, string> }) {
  let output;
  try {
    output = await new Deno.Command(command, { ...options, args, stdout: "piped", stderr: "piped" }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(
        `${command} is not installed (Debian: apt-get install -y ${command === "bazel" ? "bazel-bootstrap" : command})`,
      );
    }
    throw error;
  }
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  if (!output.success) throw new Error(`${command} ${args.join(" ")} failed:\n${text}`);
  return text;
}

/** ccache's counters from `--print-stats` (tab-separated name and value). */
async function ccacheStats(cwd: string, env: Record<string, string>): Promise<Record<string, number>> {
  const text = await run("ccache", ["--print-stats"], { cwd, env });
  return Object.fromEntries(text.trim().split("\n").map((line) => line.split("\t")).map(([k, v]) => [k, Number(v)]));
}

Deno.test("ccache with remote storage only: the same compile after clearing local state is a remote hit", async () => {
  await using t = await startTestServer();
  const work = await Deno.makeTempDir({ prefix: "ccache-test-" });
  try {
    await Deno.writeTextFile(`${work}/hello.c`, "int add(int a, int b) { return a + b; }\n");
    const port = new URL(t.url).port;
    const env = {
      CCACHE_DIR: `${work}/ccache`,
      CCACHE_REMOTE_ONLY: "true",
      // ccache's longest timeouts: the test must not depend on how fast this machine answers.
      CCACHE_REMOTE_STORAGE:
        `http://ci:${ADMIN_TOKEN}@127.0.0.1:${port}/cache|layout=bazel|connect-timeout=10000|operation-timeout=60000`,
    };
    await run("ccache", ["gcc", "-c", "hello.c", "-o", "hello.o"], { cwd: work, env });
    const first = await ccacheStats(work, env);
    assert.equal(first.remote_storage_miss, 1, JSON.stringify(first));
    assert.ok(first.remote_storage_write >= 1, "the result was uploaded");
    assert.equal(first.remote_storage_error, 0);

    // Clear the local cache and the statistics, and the object file.
    await run("ccache", ["--clear"], { cwd: work, env });
    await run("ccache", ["--zero-stats"], { cwd: work, env });
    await Deno.remove(`${work}/hello.o`);
    await run("ccache", ["gcc", "-c", "hello.c", "-o", "hello.o"], { cwd: work, env });
    const second = await ccacheStats(work, env);
    assert.equal(second.remote_storage_hit, 1, JSON.stringify(second));
    assert.equal(second.remote_storage_miss, 0);
    assert.ok((await Deno.stat(`${work}/hello.o`)).size > 0, "the object file came from the cache");
    assert.ok(await metric(t.url, 'registry_cache_hits_total{namespace="ac"}') >= 1);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("bazel with --remote_cache: a build after bazel clean takes its action from the remote cache", async () => {
  await using t = await startTestServer();
  const work = await Deno.makeTempDir({ prefix: "bazel-test-" });
  try {
    await Deno.writeTextFile(`${work}/WORKSPACE`, "");
    await Deno.writeTextFile(
      `${work}/BUILD`,
      'genrule(name = "hello", outs = ["hello.txt"], cmd = "echo hello from a genrule > $@")\n',
    );
    const port = new URL(t.url).port;
    const startup = ["--batch", `--output_user_root=${work}/.bazel-root`];
    const build = [
      ...startup,
      "build",
      "//:hello",
      `--remote_cache=http://ci:${ADMIN_TOKEN}@127.0.0.1:${port}/cache`,
      "--remote_timeout=600",
    ];
    const env = { HOME: work };
    const first = await run("bazel", build, { cwd: work, env });
    assert.doesNotMatch(first, /remote cache hit/, first);
    assert.doesNotMatch(first, /WARNING: .*(upload|remote)/i, first);
    await run("bazel", [...startup, "clean"], { cwd: work, env });
    const second = await run("bazel", build, { cwd: work, env });
    assert.match(second, /1 remote cache hit/, second);
    assert.equal(
      await Deno.readTextFile(`${work}/bazel-bin/hello.txt`).catch(async () =>
        await Deno.readTextFile(`${work}/bazel-out/k8-fastbuild/bin/hello.txt`)
      ),
      "hello from a genrule\n",
    );
    assert.ok(await metric(t.url, 'registry_cache_hits_total{namespace="ac"}') >= 1);
    assert.ok(await metric(t.url, 'registry_cache_hits_total{namespace="cas"}') >= 1);
  } finally {
    await Deno.remove(work, { recursive: true }).catch(async () => {
      // bazel leaves read-only directories behind.
      await new Deno.Command("chmod", { args: ["-R", "u+w", work] }).output();
      await Deno.remove(work, { recursive: true });
    });
  }
});
