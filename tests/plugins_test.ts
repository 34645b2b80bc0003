import assert from "node:assert/strict";
import { eventually } from "./support/eventually.ts";
import * as zip from "@zip.js/zip.js";
import { buildZip, packageZip } from "./support/archives.ts";
import { ROOT, runMain } from "./support/cli.ts";
import { ADMIN_TOKEN, get, problem, publish, startTestServer } from "./support/server.ts";
import { walk } from "./support/files.ts";

const example = (name: string) => `${ROOT}plugins/examples/${name}.ts`;
const SECRET = "shared-secret-0123456789";

async function writeConfig(plugins: unknown[]): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".jsonc" });
  await Deno.writeTextFile(path, `// test configuration\n${JSON.stringify({ plugins }, null, 2)}\n`);
  return path;
}

Deno.test("every example plugin loads through REGISTRY_CONFIG, logged with its path and SHA-256", async () => {
  const feed = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(feed, "[]");
  const config = await writeConfig([
    { use: example("shared-secret-auth"), options: { secret: SECRET } },
    { use: example("frozen-scopes"), options: { scopes: ["apple"] } },
    { use: example("release-policy"), options: { defaultLicenseURL: "https://example.com/LICENSE" } },
    { use: example("publish-webhook"), options: { url: "http://127.0.0.1:9/hook" } },
    { use: example("release-feed"), options: { feed } },
  ]);
  try {
    await using t = await startTestServer({ env: { REGISTRY_CONFIG: config } });
    const loaded = t.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === "plugin loaded");
    for (
      const name of ["shared-secret-auth", "frozen-scopes", "release-policy", "publish-webhook", "release-feed"]
    ) {
      const line = loaded.find((l) => l.plugin === name);
      assert.ok(line, `${name} loaded`);
      assert.equal(line.source, example(name));
      assert.match(line.sha256, /^[0-9a-f]{64}$/);
    }
  } finally {
    await Deno.remove(config);
    await Deno.remove(feed);
  }
});

Deno.test("a source plugin loaded from an absolute path ingests releases through ctx.registry", async () => {
  const dir = await Deno.makeTempDir();
  const archive = await packageZip();
  await Deno.writeFile(`${dir}/LinkedList-1.0.0.zip`, archive);
  await Deno.writeTextFile(`${dir}/broken.zip`, "not a zip");
  const feed = `${dir}/feed.json`;
  await Deno.writeTextFile(
    feed,
    JSON.stringify([
      {
        format: "swift",
        scope: "mona",
        name: "LinkedList",
        version: "1.0.0",
        file: `${dir}/LinkedList-1.0.0.zip`,
        metadata: { description: "from the feed" },
      },
      { format: "swift", scope: "mona", name: "LinkedList", version: "1.1.0", file: `${dir}/broken.zip` },
    ]),
  );
  const received: unknown[] = [];
  const hook = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    received.push(await request.json());
    return new Response(null, { status: 204 });
  });
  const config = await writeConfig([
    { use: example("release-feed"), options: { feed } },
    { use: example("publish-webhook"), options: { url: `http://127.0.0.1:${hook.addr.port}/hook` } },
  ]);
  try {
    await using t = await startTestServer({ env: { REGISTRY_CONFIG: config, REGISTRY_SYNC_INTERVAL: "1h" } });
    await t.server.scheduler.runNow("source-release-feed");
    const release = await get(`${t.swift}/mona/LinkedList/1.0.0`);
    assert.equal(release.status, 200);
    assert.equal((await release.json()).metadata.description, "from the feed");
    const served = new Uint8Array(await (await get(`${t.swift}/mona/LinkedList/1.0.0.zip`)).arrayBuffer());
    assert.deepEqual(served, archive, "the archive is served as the feed gave it");
    const refused = await get(`${t.swift}/mona/LinkedList/1.1.0`);
    assert.equal(refused.status, 404, "the broken archive was refused");
    await refused.body?.cancel();
    await eventually("afterPublish saw the ingested release", () => received.length > 0);
    assert.deepEqual(
      received.map((r) => {
        const { format, id, version } = r as Record<string, unknown>;
        return { format, id, version };
      }),
      [{ format: "swift", id: "mona.LinkedList", version: "1.0.0" }],
    );

    // A second pass changes nothing: the release exists and the refusal is remembered with its reason.
    await t.server.scheduler.runNow("source-release-feed");
    const passes = t.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === "feed synced");
    assert.deepEqual(passes.map((p) => p.published), [1, 0]);
    const status = await (await get(`${t.url}/-/status`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } }))
      .json();
    const feedSource = status.sources.find((s: { name: string }) => s.name === "release-feed");
    assert.match(feedSource.skipped["swift:mona/linkedlist"]["1.1.0"], /not a valid zip/);
  } finally {
    await hook.shutdown();
    await Deno.remove(config);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an example auth plugin configured in REGISTRY_CONFIG authenticates, and publishes go through it", async () => {
  // Options come from the config file; REGISTRY_PLUGINS appends plugins without options.
  const config = await writeConfig([{
    use: example("shared-secret-auth"),
    options: { secret: SECRET, principal: "ci" },
  }]);
  try {
    await using t = await startTestServer({ env: { REGISTRY_CONFIG: config, REGISTRY_ADMIN_TOKEN: "" } });
    const response = await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() }, {
      token: null,
      headers: { "X-Registry-Secret": SECRET },
    });
    assert.equal(response.status, 201, await response.text());
    const wrong = await publish(t.swift, "mona/LinkedList/1.0.1", { archive: await packageZip() }, {
      token: null,
      headers: { "X-Registry-Secret": "not-the-secret-at-all" },
    });
    assert.equal(wrong.status, 401);
    assert.match((await problem(wrong)).detail, /wrong X-Registry-Secret/);
  } finally {
    await Deno.remove(config);
  }
});

Deno.test("the auth chain asks providers in order: the first deny or allow wins, abstentions fall through", async () => {
  const frozenFirst = await writeConfig([
    { use: example("frozen-scopes"), options: { scopes: ["apple"] } },
    { use: example("shared-secret-auth"), options: { secret: SECRET } },
  ]);
  const secretFirst = await writeConfig([
    { use: example("shared-secret-auth"), options: { secret: SECRET } },
    { use: example("frozen-scopes"), options: { scopes: ["apple"] } },
  ]);
  try {
    {
      await using t = await startTestServer({ env: { REGISTRY_CONFIG: frozenFirst, REGISTRY_ADMIN_TOKEN: "" } });
      const denied = await publish(t.swift, "apple/Thing/1.0.0", { archive: await packageZip() }, {
        token: null,
        headers: { "X-Registry-Secret": SECRET },
      });
      assert.equal(denied.status, 403, "frozen-scopes denies before shared-secret-auth allows");
      await problem(denied);
      const allowed = await publish(t.swift, "mona/Thing/1.0.0", { archive: await packageZip() }, {
        token: null,
        headers: { "X-Registry-Secret": SECRET },
      });
      assert.equal(allowed.status, 201, "frozen-scopes abstains on other scopes");
      await allowed.body?.cancel();
      const anonymous = await publish(t.swift, "mona/Thing/1.0.1", { archive: await packageZip() }, { token: null });
      assert.equal(anonymous.status, 401, "everyone abstains for an anonymous publish: the default refuses it");
      assert.match(anonymous.headers.get("www-authenticate")!, /Bearer/);
      await anonymous.body?.cancel();
    }
    await using t = await startTestServer({ env: { REGISTRY_CONFIG: secretFirst, REGISTRY_ADMIN_TOKEN: "" } });
    const allowed = await publish(t.swift, "apple/Thing/1.0.0", { archive: await packageZip() }, {
      token: null,
      headers: { "X-Registry-Secret": SECRET },
    });
    assert.equal(allowed.status, 201, "shared-secret-auth allows before frozen-scopes is asked");
    await allowed.body?.cancel();
  } finally {
    await Deno.remove(frozenFirst);
    await Deno.remove(secretFirst);
  }
});

Deno.test("REGISTRY_REQUIRE_AUTH_FOR_READ turns anonymous reads into 401 with WWW-Authenticate", async () => {
  await using t = await startTestServer({ env: { REGISTRY_REQUIRE_AUTH_FOR_READ: "true" } });
  await (await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() })).body?.cancel();
  const anonymous = await get(`${t.swift}/mona/LinkedList`);
  assert.equal(anonymous.status, 401);
  assert.match(anonymous.headers.get("www-authenticate")!, /^Bearer /);
  await problem(anonymous);
  const authenticated = await get(`${t.swift}/mona/LinkedList`, {
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  assert.equal(authenticated.status, 200);
  await authenticated.body?.cancel();
});

Deno.test("token store: create, use, scope limits, expiry and revocation, with tokens never stored in plain text", async () => {
  const dataDir = await Deno.makeTempDir();
  const env = { REGISTRY_DATA_DIR: dataDir, REGISTRY_PLUGINS: "token-store" };
  try {
    const create = async (...args: string[]) => {
      const out = await runMain(["token", "create", ...args], env);
      assert.equal(out.code, 0, out.stderr);
      return out.stdout.trim();
    };
    const publisher = await create("--name", "ci", "--scopes", "read,publish", "--package-scopes", "mona");
    const reader = await create("--name", "reader", "--scopes", "read");
    const expired = await create("--name", "old", "--scopes", "read,publish", "--expires", "1ms");
    assert.match(publisher, /^srt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);

    await using t = await startTestServer({
      dataDir,
      env: { REGISTRY_PLUGINS: "token-store", REGISTRY_ADMIN_TOKEN: "" },
    });
    const archive = await packageZip();
    const ok = await publish(t.swift, "mona/LinkedList/1.0.0", { archive }, { token: publisher });
    assert.equal(ok.status, 201, await ok.text());
    const otherScope = await publish(t.swift, "acme/LinkedList/1.0.0", { archive }, { token: publisher });
    assert.equal(otherScope.status, 403, "not in the token's package scopes");
    await problem(otherScope);
    const readOnly = await publish(t.swift, "mona/LinkedList/1.0.1", { archive }, { token: reader });
    assert.equal(readOnly.status, 403, "a read token cannot publish");
    await problem(readOnly);
    const old = await publish(t.swift, "mona/LinkedList/1.0.2", { archive }, { token: expired });
    assert.equal(old.status, 401);
    assert.match((await problem(old)).detail, /expired/);
    const login = await fetch(`${t.swift}/login`, { method: "POST", headers: { Authorization: `Bearer ${reader}` } });
    assert.equal(login.status, 200);
    await login.body?.cancel();

    const list = await runMain(["token", "list"], env);
    assert.equal(list.code, 0);
    assert.match(list.stdout, /\tci\tread,publish\tmona\t/);
    const id = publisher.split("_")[1];
    const revoke = await runMain(["token", "revoke", id], env);
    assert.equal(revoke.code, 0, revoke.stderr);
    await new Promise((r) => setTimeout(r, 2_500)); // the revocation reaches the server within 2 s
    const revoked = await publish(t.swift, "mona/LinkedList/1.0.3", { archive }, { token: publisher });
    assert.equal(revoked.status, 401);
    assert.match((await problem(revoked)).detail, /revoked/);

    for await (const path of walk(dataDir)) {
      const text = new TextDecoder().decode(await Deno.readFile(path));
      for (const token of [publisher, reader, expired]) {
        assert.ok(!text.includes(token.slice("srt_0123456789abcdef_".length)), `${path} holds a token secret`);
      }
    }
    assert.equal((await runMain(["token", "revoke", "0000000000000000"], env)).code, 1);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("upstream provider: validates tokens at an HTTP endpoint, caching successes and, briefly, failures", async () => {
  let calls = 0;
  const endpoint = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    calls++;
    const token = request.headers.get("authorization");
    if (token === "Bearer good-upstream-token") return Response.json({ id: "alice", scopes: ["read", "publish"] });
    return new Response("no", { status: 401 });
  });
  const config = await writeConfig([{
    use: "upstream",
    options: { url: `http://127.0.0.1:${endpoint.addr.port}/swift/login` },
  }]);
  let now = Date.parse("2026-01-01T00:00:00Z");
  try {
    await using t = await startTestServer({
      env: { REGISTRY_CONFIG: config, REGISTRY_ADMIN_TOKEN: "" },
      now: () => now,
    });
    for (let i = 0; i < 3; i++) {
      const response = await publish(t.swift, `mona/LinkedList/1.0.${i}`, { archive: await packageZip() }, {
        token: "good-upstream-token",
      });
      assert.equal(response.status, 201);
      await response.body?.cancel();
    }
    assert.equal(calls, 1, "a success is cached");
    for (let i = 0; i < 3; i++) {
      const response = await publish(t.swift, "mona/LinkedList/2.0.0", { archive: await packageZip() }, {
        token: "bad",
      });
      assert.equal(response.status, 401);
      await response.body?.cancel();
    }
    assert.equal(calls, 2, "a failure is cached too");
    now += 3_001; // failures are cached for 3 s
    const again = await publish(t.swift, "mona/LinkedList/2.0.0", { archive: await packageZip() }, { token: "bad" });
    await again.body?.cancel();
    assert.equal(calls, 3, "a failure is asked again once its short cache expires");
    now += 10 * 60_000; // successes are cached for 10 minutes
    const renewed = await publish(t.swift, "mona/LinkedList/1.1.0", { archive: await packageZip() }, {
      token: "good-upstream-token",
    });
    assert.equal(renewed.status, 201);
    await renewed.body?.cancel();
    assert.equal(calls, 4, "a success is asked again once its cache expires");
  } finally {
    await Deno.remove(config);
    await endpoint.shutdown();
  }
});

Deno.test("transforms: an example adds metadata and refuses pre-releases; max-size refuses with 413", async () => {
  const config = await writeConfig([
    { use: "max-size", options: { maxBytes: 4096 } },
    {
      use: example("release-policy"),
      options: { rejectPrereleases: true, defaultLicenseURL: "https://example.com/L" },
    },
  ]);
  try {
    await using t = await startTestServer({ env: { REGISTRY_CONFIG: config } });
    const ok = await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() });
    assert.equal(ok.status, 201, await ok.text());
    const release = await (await get(`${t.swift}/mona/LinkedList/1.0.0`)).json();
    assert.equal(release.metadata.licenseURL, "https://example.com/L");

    const pre = await publish(t.swift, "mona/LinkedList/2.0.0-beta.1", { archive: await packageZip() });
    assert.equal(pre.status, 422);
    assert.match((await problem(pre)).detail, /release-policy: pre-release versions/);

    const big = await packageZip({
      extra: [{ name: "LinkedList/big.bin", content: crypto.getRandomValues(new Uint8Array(8192)) }],
    });
    const tooBig = await publish(t.swift, "mona/LinkedList/3.0.0", { archive: big });
    assert.equal(tooBig.status, 413);
    assert.match((await problem(tooBig)).detail, /max-size/);
  } finally {
    await Deno.remove(config);
  }
});

Deno.test("normalize-archive rewrites an archive once, before it is stored: junk dropped, symlinks resolved", async () => {
  await using t = await startTestServer({ env: { REGISTRY_PLUGINS: "normalize-archive" } });
  const messy = await buildZip([
    { name: "Package.swift", content: "// swift-tools-version:5.9\nimport PackageDescription\n" },
    { name: "Sources/Lib/Lib.swift", content: "public let x = 1\n" },
    { name: "Sources/Lib/Alias.swift", content: "Lib.swift", symlink: true },
    { name: "Sources/escape", content: "../../../etc/passwd", symlink: true },
    { name: "__MACOSX/._Package.swift", content: "junk" },
    { name: ".DS_Store", content: "junk" },
  ]);
  const response = await publish(t.swift, "mona/Messy/1.0.0", { archive: messy });
  assert.equal(response.status, 201, await response.text());
  const stored = new Uint8Array(await (await get(`${t.swift}/mona/Messy/1.0.0.zip`)).arrayBuffer());
  const reader = new zip.ZipReader(new zip.Uint8ArrayReader(stored));
  const entries = await reader.getEntries();
  const names = entries.filter((e) => !e.directory).map((e) => e.filename).sort();
  assert.deepEqual(names, ["Messy/Package.swift", "Messy/Sources/Lib/Alias.swift", "Messy/Sources/Lib/Lib.swift"]);
  const alias = entries.find((e) => e.filename === "Messy/Sources/Lib/Alias.swift")! as zip.FileEntry;
  assert.equal(alias.symlink, false);
  assert.equal(await alias.getData(new zip.TextWriter()), "public let x = 1\n");
  await reader.close();
  const release = await (await get(`${t.swift}/mona/Messy/1.0.0`)).json();
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", stored));
  assert.equal(release.resources[0].checksum, Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""));
});

Deno.test("a broken plugin stops start-up with one line naming it and the problem", async () => {
  const dir = await Deno.makeTempDir();
  const throwing = `${dir}/throwing.ts`;
  const malformed = `${dir}/malformed.ts`;
  const notFactory = `${dir}/not-factory.ts`;
  await Deno.writeTextFile(
    throwing,
    'export default () => { throw new Error("cannot start without options.apiKey"); };\n',
  );
  await Deno.writeTextFile(malformed, 'export default () => ({ name: "m", auth: { authenticate: 42 } });\n');
  await Deno.writeTextFile(notFactory, "export default { name: 'x' };\n");
  try {
    const cases: Array<[string, RegExp]> = [
      [throwing, /plugin ".*throwing\.ts": its factory failed: cannot start without options\.apiKey/],
      [malformed, /plugin ".*malformed\.ts": malformed plugin: auth\.authenticate must be a function/],
      [notFactory, /default export must be a factory function/],
      [`${dir}/missing.ts`, /plugin ".*missing\.ts": cannot read the module/],
      ["relative/plugin.ts", /not a built-in plugin .* nor an absolute path/],
      ["max-size", /plugin "max-size": its factory failed: .*maxBytes/],
    ];
    for (const [use, pattern] of cases) {
      const { code, stderr } = await runMain(["--port", "0", "--data-dir", `${dir}/data`], { REGISTRY_PLUGINS: use });
      assert.equal(code, 2, `${use}: ${stderr}`);
      const lines = stderr.trim().split("\n");
      assert.equal(lines.length, 1, stderr);
      assert.match(lines[0], pattern);
    }
    const check = await runMain(["plugin", "check", example("frozen-scopes"), "--options", '{"scopes":["apple"]}'], {});
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /ok: plugin "frozen-scopes" from .*frozen-scopes\.ts \(sha256 [0-9a-f]{64}\)/);
    assert.match(check.stdout, /provides: auth/);
    const bad = await runMain(["plugin", "check", throwing], {});
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /cannot start without options\.apiKey/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a plugin hook that throws fails that request with a clear error, not the process", async () => {
  const dir = await Deno.makeTempDir();
  const flaky = `${dir}/flaky.ts`;
  await Deno.writeTextFile(
    flaky,
    `export default () => ({
  name: "flaky",
  auth: {
    authenticate(request) {
      if (request.headers.get("x-mode") === "throw") throw new Error("database is down");
      return "abstain";
    },
  },
  afterPublish() { throw new Error("webhook exploded"); },
});
`,
  );
  try {
    await using t = await startTestServer({ env: { REGISTRY_PLUGINS: flaky } });
    const failing = await get(`${t.swift}/availability`, { headers: { "x-mode": "throw", Authorization: "Bearer x" } });
    assert.equal(failing.status, 200, "availability asks no provider");
    await failing.body?.cancel();
    const failed = await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() }, {
      token: null, // the admin token would be recognised before "flaky" is asked
      headers: { "x-mode": "throw" },
    });
    assert.equal(failed.status, 503);
    assert.match((await problem(failed)).detail, /plugin "flaky" failed: database is down/);
    const ok = await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() });
    assert.equal(ok.status, 201, "the afterPublish failure does not undo or fail the publish");
    await ok.body?.cancel();
    // Hooks run after the answer.
    await eventually("the hook failure logged", () => t.logs.some((l) => l.includes("webhook exploded")));
    assert.ok(t.logs.some((l) => l.includes("afterPublish hook failed") && l.includes("webhook exploded")));
    const health = await fetch(`${t.url}/health`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the README shows every example plugin exactly as it is in plugins/examples/", async () => {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const shown = new Map<string, string>();
  for (const match of readme.matchAll(/```ts\n\/\/ (plugins\/examples\/[\w-]+\.ts)\n([\s\S]*?)```/g)) {
    shown.set(match[1], match[2].trim());
  }
  const files = [];
  for await (const entry of Deno.readDir(`${ROOT}plugins/examples`)) files.push(`plugins/examples/${entry.name}`);
  assert.deepEqual([...shown.keys()].sort(), files.sort());
  for (const file of files) assert.equal(shown.get(file), (await Deno.readTextFile(`${ROOT}${file}`)).trim(), file);
});

Deno.test("REGISTRY_PLUGINS loads a plugin by absolute path, and the example webhook is called after a publish", async () => {
  const received: unknown[] = [];
  const hook = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    received.push(await request.json());
    return new Response("ok");
  });
  const config = await writeConfig([
    { use: example("publish-webhook"), options: { url: `http://127.0.0.1:${hook.addr.port}/hook` } },
  ]);
  try {
    await using t = await startTestServer({
      env: { REGISTRY_CONFIG: config, REGISTRY_PLUGINS: example("release-policy") },
    });
    const loaded = t.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === "plugin loaded").map((l) => l.source);
    assert.ok(loaded.includes(example("release-policy")), "loaded from REGISTRY_PLUGINS");
    await (await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() })).body?.cancel();
    await eventually("the webhook called", () => received.length > 0);
    assert.deepEqual(received.map((r) => (r as { id: string; version: string; event: string })), [
      { ...received[0] as object, event: "release.published", id: "mona.LinkedList", version: "1.0.0" },
    ]);
  } finally {
    await Deno.remove(config);
    await hook.shutdown();
  }
});

Deno.test("plugin safety: a pass-through transform works, a provider cannot pose as another, bad answers name the plugin", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/passthrough.ts`,
    `export default () => ({ name: "passthrough", transforms: [{ name: "passthrough",
      transform: ({ archive }) => ({ archive: archive.pipeThrough(new TransformStream()) }) }] });
`,
  );
  await Deno.writeTextFile(
    `${dir}/spoof.ts`,
    `export default () => ({ name: "spoof", auth: { authenticate: (request) =>
      request.headers.get("x-user") ? { principal: { id: "eve", provider: "static-token", scopes: ["admin"] } } : "abstain" } });
`,
  );
  await Deno.writeTextFile(
    `${dir}/sloppy.ts`,
    `export default () => ({ name: "sloppy", auth: { authenticate: (request) =>
      request.headers.get("x-sloppy") ? undefined : "abstain" } });
`,
  );
  try {
    await using t = await startTestServer({
      env: { REGISTRY_PLUGINS: [`${dir}/passthrough.ts`, `${dir}/spoof.ts`, `${dir}/sloppy.ts`].join(",") },
    });
    const archive = await packageZip();
    const passed = await publish(t.swift, "mona/LinkedList/1.0.0", { archive });
    assert.equal(passed.status, 201, await passed.text());
    const stored = new Uint8Array(await (await get(`${t.swift}/mona/LinkedList/1.0.0.zip`)).arrayBuffer());
    assert.deepEqual(stored, archive);

    const spoofed = await publish(t.swift, "mona/LinkedList/1.0.1", { archive }, {
      token: null,
      headers: { "x-user": "eve" },
    });
    assert.equal(spoofed.status, 403, "judged as the spoof plugin's principal, which nobody allows to publish");
    await spoofed.body?.cancel();

    const sloppy = await publish(t.swift, "mona/LinkedList/1.0.2", { archive }, {
      token: null,
      headers: { "x-sloppy": "1" },
    });
    assert.equal(sloppy.status, 503);
    assert.match((await problem(sloppy)).detail, /plugin "sloppy" failed: authenticate returned/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a publish-only token can still read public packages; a signed release cannot be changed by a transform", async () => {
  const config = await writeConfig([
    {
      use: "static-token",
      options: { tokens: [{ name: "ci", token: "publish-only-token-1234", scopes: ["publish"] }] },
    },
    { use: example("release-policy"), options: { defaultLicenseURL: "https://example.com/L" } },
  ]);
  try {
    await using t = await startTestServer({ env: { REGISTRY_CONFIG: config } });
    await (await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() })).body?.cancel();
    const read = await get(`${t.swift}/mona/LinkedList`, {
      headers: { Authorization: "Bearer publish-only-token-1234" },
    });
    assert.equal(read.status, 200);
    await read.body?.cancel();
    const signed = await publish(
      t.swift,
      "mona/LinkedList/2.0.0",
      { archive: await packageZip(), archiveSignature: new Uint8Array([1, 2, 3]) },
      { headers: { "X-Swift-Package-Signature-Format": "cms-1.0.0" } },
    );
    assert.equal(signed.status, 422);
    assert.match((await problem(signed)).detail, /signed release cannot be changed/);
  } finally {
    await Deno.remove(config);
  }
});
