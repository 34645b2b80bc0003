import assert from "node:assert/strict";
import { SETTINGS } from "../src/config.ts";
import { packageZip } from "./support/archives.ts";
import { mainCommand, runMain } from "./support/cli.ts";
import { startTestS3 } from "./support/s3.ts";
import { ADMIN_TOKEN, get, publish, sha256Hex } from "./support/server.ts";

/** Starts `main.ts` serving; resolves once it logs its URL. */
async function spawnServer(args: string[], env: Record<string, string> = {}) {
  const child = mainCommand(args, env).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  let url: string | undefined;
  while (url === undefined) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`server exited before listening: ${buffered}`);
    buffered += value;
    for (const line of buffered.split("\n")) {
      if (line.includes('"registry listening"')) {
        const listening = JSON.parse(line);
        url = listening.url;
        // The line tells where to point each client.
        assert.equal(listening.formats.npm, `${url}/npm`);
        assert.equal(listening.formats.swift, `${url}/swift`);
      }
    }
  }
  // Keep draining stdout so the child never blocks on a full pipe.
  const drained = (async () => {
    while (!(await lines.read()).done) { /* discard */ }
  })();
  return {
    child,
    url: url!,
    async stop(signal: Deno.Signal = "SIGTERM") {
      child.kill(signal);
      const status = await child.status;
      await drained;
      await child.stderr.cancel();
      return status;
    },
  };
}

Deno.test("--help lists the commands and every setting, and exits 0", async () => {
  const { code, stdout } = await runMain(["--help"]);
  assert.equal(code, 0);
  assert.match(stdout, /serve/);
  for (const setting of SETTINGS) assert.ok(stdout.includes(setting.env), setting.env);
  for (const flag of ["--host", "--port", "--data-dir"]) assert.ok(stdout.includes(flag), flag);
});

Deno.test("a bad setting stops start-up with one line naming it and exit code 2", async () => {
  const dataDir = await Deno.makeTempDir();
  const file = await Deno.makeTempFile();
  const roots = await Deno.makeTempDir();
  await Deno.writeTextFile(`${roots}/root.pem`, "not a certificate");
  try {
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [[], { REGISTRY_PORT: "abc", REGISTRY_DATA_DIR: dataDir }, /REGISTRY_PORT/],
      [["--port", "abc", "--data-dir", dataDir], {}, /--port/],
      [["--port", "70000", "--data-dir", dataDir], {}, /--port/],
      [["--port", "0"], { REGISTRY_DATA_DIR: `${file}/data` }, /REGISTRY_DATA_DIR/],
      [["--port", "0", "--data-dir", `${file}/data`], {}, /--data-dir/],
      [["--port", "0", "--data-dir", dataDir], { REGISTRY_PUBLIC_URL: "not a url" }, /REGISTRY_PUBLIC_URL/],
      [["--port", "0", "--data-dir", dataDir], { REGISTRY_ADMIN_TOKEN: "short" }, /REGISTRY_ADMIN_TOKEN/],
      [["--port", "0", "--data-dir", dataDir], { REGISTRY_LOG_LEVEL: "loud" }, /REGISTRY_LOG_LEVEL/],
      [["--port", "0", "--host", "999.1.1.1", "--data-dir", dataDir], {}, /--host/],
      [["--port", "0", "--data-dir", dataDir], { REGISTRY_CACHE_MAX_BYTES: "lots" }, /REGISTRY_CACHE_MAX_BYTES/],
      [
        ["--port", "0", "--data-dir", dataDir],
        { REGISTRY_CACHE_MAX_BYTES: "1GiB", REGISTRY_CACHE_MAX_BLOB_BYTES: "2GiB" },
        /REGISTRY_CACHE_MAX_BLOB_BYTES/,
      ],
      [["--port", "0", "--data-dir", dataDir], { REGISTRY_CACHE_UPSTREAM: "http://x" }, /REGISTRY_CACHE_UPSTREAM/],
      [["--port", "0", "--data-dir", dataDir], { REGISTRY_SWIFT_REQUIRE_SIGNED: "mona,-x" }, /REQUIRE_SIGNED/],
      [["--port", "0", "--data-dir", dataDir], { REGISTRY_SWIFT_TRUSTED_ROOTS: file }, /TRUSTED_ROOTS/],
      [["--port", "0", "--data-dir", dataDir], { REGISTRY_SWIFT_TRUSTED_ROOTS: roots }, /TRUSTED_ROOTS.*root\.pem/],
      // The message names the setting but never repeats the credentials in it.
      [
        ["--port", "0", "--data-dir", dataDir],
        { REGISTRY_NPM_UPSTREAM: "https://user:hunter2-secret@registry.example/?q" },
        /REGISTRY_NPM_UPSTREAM.*https:\/\/\*\*\*@registry\.example/,
      ],
      [["--bogus"], {}, /bogus/],
      [["frobnicate"], {}, /unknown command/],
    ];
    for (const [args, env, pattern] of cases) {
      const { code, stderr } = await runMain(args, env);
      assert.equal(code, 2, `${args.join(" ")} ${JSON.stringify(env)}: ${stderr}`);
      const lines = stderr.trim().split("\n");
      assert.equal(lines.length, 1, stderr);
      assert.match(lines[0], pattern);
      assert.ok(!stderr.includes('short"'), "the token value is not echoed");
    }
  } finally {
    await Deno.remove(roots, { recursive: true });
    await Deno.remove(dataDir, { recursive: true });
    await Deno.remove(file);
  }
});

Deno.test("main.ts serves on the flags given (flags win over env) and stops cleanly on SIGTERM", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    const server = await spawnServer(["--port", "0", "--host", "127.0.0.1", "--data-dir", dataDir], {
      REGISTRY_PORT: "not-a-port",
      REGISTRY_DATA_DIR: "/nonexistent/should/not/be/used",
    });
    const health = await fetch(`${server.url}/health`);
    assert.equal(health.status, 200);
    assert.equal((await health.json()).status, "ok");
    const status = await server.stop();
    assert.equal(status.code, 0);
    assert.ok((await Deno.stat(`${dataDir}/objects`)).isDirectory, "the data dir from the flag was used");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("SIGKILL during concurrent publishes: every acknowledged release survives intact, nothing partial is visible", async () => {
  const dataDir = await Deno.makeTempDir();
  const env = { REGISTRY_ADMIN_TOKEN: ADMIN_TOKEN };
  try {
    const server = await spawnServer(["--port", "0", "--data-dir", dataDir], env);
    const swift = `${server.url}/swift`;
    const acknowledged = new Map<string, string>();
    let stop = false;
    const publisher = async (worker: number) => {
      for (let i = 0; !stop; i++) {
        const version = `${worker}.${i}.0`;
        const archive = await packageZip({
          extra: [{ name: "LinkedList/blob.bin", content: crypto.getRandomValues(new Uint8Array(64 * 1024)) }],
        });
        try {
          const response = await publish(swift, `mona/LinkedList/${version}`, { archive });
          await response.body?.cancel();
          if (response.status === 201) acknowledged.set(version, await sha256Hex(archive));
        } catch {
          return; // the server died mid-request: not acknowledged
        }
      }
    };
    const workers = [1, 2, 3, 4].map(publisher);
    while (acknowledged.size < 8) await new Promise((r) => setTimeout(r, 10));
    const status = await server.stop("SIGKILL");
    stop = true;
    await Promise.all(workers);
    assert.equal(status.signal, "SIGKILL");

    const restarted = await spawnServer(["--port", "0", "--data-dir", dataDir], env);
    try {
      const list = await (await get(`${restarted.url}/swift/mona/LinkedList`)).json();
      const listed = Object.keys(list.releases);
      for (const version of acknowledged.keys()) {
        assert.ok(listed.includes(version), `acknowledged ${version} is listed`);
      }
      for (const version of listed) {
        const release = await (await get(`${restarted.url}/swift/mona/LinkedList/${version}`)).json();
        const bytes = new Uint8Array(
          await (await get(`${restarted.url}/swift/mona/LinkedList/${version}.zip`)).arrayBuffer(),
        );
        const checksum = await sha256Hex(bytes);
        assert.equal(checksum, release.resources[0].checksum, `${version} is whole`);
        if (acknowledged.has(version)) assert.equal(checksum, acknowledged.get(version), `${version} is unchanged`);
      }
    } finally {
      await restarted.stop();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("main.ts with REGISTRY_S3_BUCKET stores in S3 with the permissions the start task grants", async () => {
  await using s3 = await startTestS3();
  const dataDir = await Deno.makeTempDir();
  try {
    const server = await spawnServer(["--port", "0", "--data-dir", dataDir], {
      ...s3.env,
      REGISTRY_ADMIN_TOKEN: ADMIN_TOKEN,
    });
    try {
      const archive = await packageZip();
      const response = await publish(`${server.url}/swift`, "mona/LinkedList/1.0.0", { archive });
      assert.equal(response.status, 201, await response.text());
      assert.ok(s3.count("PUT", "source-archive.zip") >= 1, "the archive went to S3");
      const bytes = new Uint8Array(await (await get(`${server.url}/swift/mona/LinkedList/1.0.0.zip`)).arrayBuffer());
      assert.deepEqual(bytes, archive);
    } finally {
      assert.equal((await server.stop()).code, 0);
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
