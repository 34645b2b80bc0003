import assert from "node:assert/strict";
import { join } from "node:path";
import { ADMIN_TOKEN, startTestServer } from "./support/server.ts";
import { npmClient, runNode, writePackage } from "./support/npm.ts";
import { startFakeNpmUpstream } from "./support/fake_npm_upstream.ts";

Deno.test("npm installs an upstream-only package with its dependency, and again from the cache with the upstream down", async () => {
  await using upstream = await startFakeNpmUpstream([
    { name: "up-dep", version: "1.0.0" },
    { name: "@up/main", version: "2.0.0", dependencies: { "up-dep": "^1.0.0" } },
  ]);
  let clock = Date.parse("2026-06-01T00:00:00Z");
  await using t = await startTestServer({
    env: { REGISTRY_NPM_UPSTREAM: upstream.url, REGISTRY_UPSTREAM_TTL: "1m" },
    now: () => clock,
  });
  const install = async () => {
    await using npm = await npmClient(`${t.url}/npm/`);
    const app = await writePackage(join(npm.dir, "app"), { name: "app", version: "0.0.0", private: true });
    await npm.ok(["install", "@up/main"], app);
    assert.equal(
      await runNode(app, ["-e", 'console.log(require("@up/main"), require("up-dep"))']),
      "@up/main@2.0.0 up-dep@1.0.0",
    );
    const lock = JSON.parse(await Deno.readTextFile(join(app, "package-lock.json")));
    assert.equal(lock.packages["node_modules/up-dep"].resolved, `${t.url}/npm/up-dep/-/up-dep-1.0.0.tgz`);
  };
  await install();
  const packument = await (await fetch(`${t.url}/npm/@up%2fmain`)).json();
  assert.equal(packument.versions["2.0.0"].dist.tarball, `${t.url}/npm/@up/main/-/main-2.0.0.tgz`);
  const latest = await (await fetch(`${t.url}/npm/@up/main/latest`)).json();
  assert.equal(latest.dist.tarball, `${t.url}/npm/@up/main/-/main-2.0.0.tgz`);

  // Past the TTL, with the upstream failing: the cached packuments are served stale, the tarballs from storage.
  clock += 120_000;
  upstream.failing(true);
  await install();
  assert.ok(upstream.count("/@up/main") >= 2, "the packument was revalidated and failed");
  assert.equal(upstream.count("/@up/main/-/main-2.0.0.tgz"), 1);
  assert.equal(upstream.count("/up-dep/-/up-dep-1.0.0.tgz"), 1);
  assert.ok(t.logs.some((line) => line.includes("serving a stale copy")));
  const metrics = await (await fetch(`${t.url}/metrics`)).text();
  assert.match(metrics, /^registry_upstream_stale_total\{format="npm"\} [1-9]\d*$/m, "and counted");

  // Upstream packages are in the catalog, marked.
  const search = await (await fetch(`${t.url}/npm/-/v1/search?text=up`)).json();
  const main = search.objects.find((o: { package: { name: string } }) => o.package.name === "@up/main");
  assert.deepEqual(main.flags, { upstream: true });
});

Deno.test("a package with a local release lists only local versions: no upstream version mixes in", async () => {
  await using upstream = await startFakeNpmUpstream([
    { name: "shared-name", version: "1.0.0" },
    { name: "shared-name", version: "9.9.9" },
  ]);
  await using t = await startTestServer({ env: { REGISTRY_NPM_UPSTREAM: upstream.url } });
  await using npm = await npmClient(`${t.url}/npm/`, ADMIN_TOKEN);
  const proxied = await (await fetch(`${t.url}/npm/shared-name`)).json();
  assert.deepEqual(Object.keys(proxied.versions), ["1.0.0", "9.9.9"]);
  // npm sees 9.9.9 upstream and wants a tag for a lower version; the registry still makes 0.1.0 latest.
  await npm.ok(
    ["publish", "--tag", "internal"],
    await writePackage(join(npm.dir, "p"), { name: "shared-name", version: "0.1.0" }),
  );
  const local = await (await fetch(`${t.url}/npm/shared-name`)).json();
  assert.deepEqual(Object.keys(local.versions), ["0.1.0"]);
  const tarball = await fetch(`${t.url}/npm/shared-name/-/shared-name-9.9.9.tgz`);
  assert.equal(tarball.status, 404);
  await tarball.body?.cancel();
  const tags = await (await fetch(`${t.url}/npm/-/package/shared-name/dist-tags`)).json();
  assert.deepEqual(tags, { internal: "0.1.0", latest: "0.1.0" });
});

Deno.test("a scope with a package published here takes none of its names from the upstream (dependency confusion)", async () => {
  await using upstream = await startFakeNpmUpstream([
    { name: "@acme/planted", version: "99.0.0" },
    { name: "@other/tool", version: "1.0.0" },
  ]);
  await using t = await startTestServer({ env: { REGISTRY_NPM_UPSTREAM: upstream.url } });
  await using npm = await npmClient(`${t.url}/npm/`, ADMIN_TOKEN);
  await npm.ok(["publish"], await writePackage(join(npm.dir, "own"), { name: "@acme/own", version: "1.0.0" }));

  // Someone publishes @acme/planted upstream, hoping a build asks for it here: it is not found, the upstream not asked.
  const app = await writePackage(join(npm.dir, "app"), { name: "app", version: "0.0.0", private: true });
  const refused = await npm.run(["install", "@acme/planted"], app);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /E404/);
  const response = await fetch(`${t.url}/npm/@acme%2fplanted`);
  assert.equal(response.status, 404);
  assert.match((await response.json()).error, /@acme has packages published here/);
  assert.equal(upstream.count("/@acme%2fplanted") + upstream.count("/@acme/planted"), 0);
  // Other scopes still come from the upstream.
  await npm.ok(["install", "@other/tool", "@acme/own"], app);
});

Deno.test("an upstream tarball that does not match its integrity is refused with 502 and not kept", async () => {
  await using upstream = await startFakeNpmUpstream([{ name: "bad-bytes", version: "1.0.0", corruptTarball: true }]);
  await using t = await startTestServer({ env: { REGISTRY_NPM_UPSTREAM: upstream.url } });
  const response = await fetch(`${t.url}/npm/bad-bytes/-/bad-bytes-1.0.0.tgz`);
  assert.equal(response.status, 502);
  assert.match((await response.json()).error, /does not match its (sha1|sha512); it was not stored/);
  const again = await fetch(`${t.url}/npm/bad-bytes/-/bad-bytes-1.0.0.tgz`);
  assert.equal(again.status, 502);
  await again.body?.cancel();
  assert.equal(upstream.count("/bad-bytes/-/bad-bytes-1.0.0.tgz"), 2);
  const missing = await fetch(`${t.url}/npm/not-upstream-either`);
  assert.equal(missing.status, 404);
  assert.match((await missing.json()).error, /not found here or upstream/);
});

Deno.test("an upstream that is down on a miss is a 502 in npm's error shape, never a hang", async () => {
  await using upstream = await startFakeNpmUpstream([{ name: "never-cached", version: "1.0.0" }]);
  await using t = await startTestServer({ env: { REGISTRY_NPM_UPSTREAM: upstream.url } });
  upstream.failing(true);
  const response = await fetch(`${t.url}/npm/never-cached`);
  assert.equal(response.status, 502);
  assert.match((await response.json()).error, /answered 503/);
});
