/**
 * Pull-through from an upstream simple index, over raw HTTP against a fake
 * upstream started in the test.
 */
import assert from "node:assert/strict";
import { coreMetadata, PIP_ACCEPT, projectJson, sdist, upload, wheel } from "./support/pypi.ts";
import { startFakeIndex } from "./support/python.ts";
import { sha256Hex, startTestServer } from "./support/server.ts";
import { walk } from "./support/files.ts";

for (const html of [false, true]) {
  Deno.test(`an upstream project (${html ? "HTML" : "JSON"} index) is served with its files on this server`, async () => {
    const whl = await wheel("remote-lib", "2.0", {
      metadata: coreMetadata("remote-lib", "2.0", "Requires-Python: >=3.9"),
    });
    const tarball = await sdist("remote-lib", "2.0");
    const metadata = new TextEncoder().encode(coreMetadata("remote-lib", "2.0", "Requires-Python: >=3.9"));
    await using index = await startFakeIndex({ "remote-lib": [{ ...whl, metadata }, tarball] }, { html });
    await using t = await startTestServer({ env: { REGISTRY_PYPI_UPSTREAM: index.url } });

    const page = await projectJson(t.url, "Remote_Lib");
    assert.equal(page.name, "remote-lib");
    assert.deepEqual(page.files.map((f) => f.url), [
      `${t.url}/pypi/files/remote-lib/${whl.filename}`,
      `${t.url}/pypi/files/remote-lib/${tarball.filename}`,
    ]);
    assert.equal(page.files[0].hashes.sha256, await sha256Hex(whl.bytes));
    assert.deepEqual(page.files[0]["core-metadata"], { sha256: await sha256Hex(metadata) });
    assert.equal(page.meta["api-version"], html ? "1.0" : "1.1", "sizes are known from a JSON upstream only");

    const served = await fetch(`${page.files[0].url}.metadata`);
    assert.deepEqual(new Uint8Array(await served.arrayBuffer()), metadata);
    for (let i = 0; i < 2; i++) {
      const file = await fetch(page.files[0].url);
      assert.equal(file.status, 200);
      assert.deepEqual(new Uint8Array(await file.arrayBuffer()), whl.bytes);
    }
    assert.equal(index.requests.filter((p) => p === `/files/${whl.filename}`).length, 1, "downloaded once");

    const listed = await (await fetch(`${t.url}/pypi/simple/`, { headers: { Accept: PIP_ACCEPT } })).json();
    assert.deepEqual(listed.projects, [{ name: "remote-lib" }]);
  });
}

Deno.test("a file that does not match the upstream's hash is refused with 502 and not kept", async () => {
  const whl = await wheel("liar", "1.0");
  await using index = await startFakeIndex({ liar: [whl] }, { lie: true });
  await using t = await startTestServer({ env: { REGISTRY_PYPI_UPSTREAM: index.url } });
  const page = await projectJson(t.url, "liar");
  const response = await fetch(page.files[0].url);
  assert.equal(response.status, 502);
  assert.equal(response.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.match(await response.text(), /does not match its (size|sha256); it was not stored/);
  const kept: string[] = [];
  for await (const path of walk(t.dataDir)) if (path.includes("/upstream/") && path.endsWith(".whl")) kept.push(path);
  assert.deepEqual(kept, []);
});

Deno.test("a project with files uploaded here never mixes in the upstream's files", async () => {
  const upstreamWheel = await wheel("shared-name", "9.0");
  await using index = await startFakeIndex({ "shared-name": [upstreamWheel] });
  await using t = await startTestServer({ env: { REGISTRY_PYPI_UPSTREAM: index.url } });
  assert.deepEqual((await projectJson(t.url, "shared-name")).versions, ["9.0"]);

  const local = await wheel("shared-name", "1.0");
  const uploaded = await upload(t.url, local);
  assert.equal(uploaded.status, 200, await uploaded.text());
  const page = await projectJson(t.url, "shared-name");
  assert.deepEqual(page.files.map((f) => f.filename), [local.filename]);
  const hidden = await fetch(`${t.url}/pypi/files/shared-name/${upstreamWheel.filename}`);
  assert.equal(hidden.status, 404);
  await hidden.body?.cancel();
  assert.ok(!index.requests.includes(`/files/${upstreamWheel.filename}`));
});

Deno.test("an upstream that is down or lacks the project gives a clear 502 or 404, never a hang", async () => {
  const index = await startFakeIndex({});
  await using t = await startTestServer({ env: { REGISTRY_PYPI_UPSTREAM: index.url } });
  const missing = await fetch(`${t.url}/pypi/simple/nowhere/`);
  assert.equal(missing.status, 404);
  assert.match(await missing.text(), /project nowhere not found/);
  await index.stop();
  const down = await fetch(`${t.url}/pypi/simple/elsewhere/`);
  assert.equal(down.status, 502);
  assert.match(await down.text(), /the upstream cannot be reached/);
});
