/**
 * The PyPI simple repository API, uploads and yanking over raw HTTP.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../src/config.ts";
import { openRegistry } from "../src/core/open_registry.ts";
import { createMemoryLogger } from "../src/log.ts";
import { runMain } from "./support/cli.ts";
import { coreMetadata, PIP_ACCEPT, projectJson, sdist, upload, wheel } from "./support/pypi.ts";
import { ADMIN_TOKEN, sha256Hex, startTestServer } from "./support/server.ts";

const JSON_TYPE = "application/vnd.pypi.simple.v1+json";

async function uploadOk(server: string, ...args: Parameters<typeof upload> extends [string, ...infer R] ? R : never) {
  const response = await upload(server, ...args);
  const text = await response.text();
  assert.equal(response.status, 200, text);
}

Deno.test("a project page is HTML or JSON by Accept and ?format=, varies on Accept, and answers 304s", async () => {
  await using t = await startTestServer();
  const whl = await wheel("Bar-Demo.pkg", "1.0", {
    metadata: coreMetadata("Bar-Demo.pkg", "1.0", "Requires-Python: >=3.8,<4"),
  });
  await uploadOk(t.url, whl);
  await uploadOk(t.url, await sdist("Bar-Demo.pkg", "1.0"));

  const html = await fetch(`${t.url}/pypi/simple/bar-demo-pkg/`);
  assert.equal(html.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(html.headers.get("vary"), "Accept");
  const text = await html.text();
  const digest = await sha256Hex(whl.bytes);
  const metadataDigest = await sha256Hex(
    new TextEncoder().encode(coreMetadata("Bar-Demo.pkg", "1.0", "Requires-Python: >=3.8,<4")),
  );
  assert.match(text, /<meta name="pypi:repository-version" content="1\.1">/);
  assert.ok(
    text.includes(
      `<a href="${t.url}/pypi/files/bar-demo-pkg/${whl.filename}#sha256=${digest}" data-requires-python="&#62;=3.8,&#60;4" ` +
        `data-dist-info-metadata="sha256=${metadataDigest}" data-core-metadata="sha256=${metadataDigest}">${whl.filename}</a>`,
    ),
    text,
  );
  assert.match(text, /<a href="[^"]+Bar-Demo\.pkg-1\.0\.tar\.gz#sha256=[0-9a-f]{64}">Bar-Demo\.pkg-1\.0\.tar\.gz<\/a>/);

  const json = await fetch(`${t.url}/pypi/simple/bar-demo-pkg/`, { headers: { Accept: PIP_ACCEPT } });
  assert.equal(json.headers.get("content-type"), JSON_TYPE);
  assert.equal(json.headers.get("vary"), "Accept");
  const page = await json.json();
  assert.deepEqual(page.meta, { "api-version": "1.1" });
  assert.equal(page.name, "bar-demo-pkg");
  assert.deepEqual(page.versions, ["1.0"]);
  const [wheelFile, sdistFile] = page.files;
  assert.deepEqual({ ...wheelFile, "upload-time": undefined }, {
    filename: whl.filename,
    url: `${t.url}/pypi/files/bar-demo-pkg/${whl.filename}`,
    hashes: { sha256: digest },
    "requires-python": ">=3.8,<4",
    "core-metadata": { sha256: metadataDigest },
    yanked: false,
    size: whl.bytes.byteLength,
    "upload-time": undefined,
  });
  assert.match(wheelFile["upload-time"], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  assert.equal(sdistFile["core-metadata"], undefined, "sdists have no metadata file");
  assert.equal("dist-info-metadata" in wheelFile, false, "pip before 23.2 fails on that key in JSON");

  const forced = await fetch(`${t.url}/pypi/simple/bar-demo-pkg/?format=application/vnd.pypi.simple.v1%2Bhtml`, {
    headers: { Accept: JSON_TYPE },
  });
  assert.equal(forced.headers.get("content-type"), "application/vnd.pypi.simple.v1+html; charset=utf-8");
  await forced.body?.cancel();

  const etag = json.headers.get("etag")!;
  assert.notEqual(etag, html.headers.get("etag"));
  const cached = await fetch(`${t.url}/pypi/simple/bar-demo-pkg/`, {
    headers: { Accept: PIP_ACCEPT, "If-None-Match": etag },
  });
  assert.equal(cached.status, 304);
  assert.equal(cached.headers.get("vary"), "Accept");

  const refused = await fetch(`${t.url}/pypi/simple/bar-demo-pkg/`, { headers: { Accept: "application/json" } });
  assert.equal(refused.status, 406);
  assert.equal(refused.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.match(await refused.text(), /application\/vnd\.pypi\.simple\.v1\+json/);
});

Deno.test("other spellings of a project name are redirected to its normalised URL with a trailing slash", async () => {
  await using t = await startTestServer();
  await uploadOk(t.url, await wheel("Bar-Demo.pkg", "1.0"));
  for (const path of ["Bar_Demo.PKG/", "bar-demo-pkg", "bar.demo--pkg/?format=json"]) {
    const response = await fetch(`${t.url}/pypi/simple/${path}`, { redirect: "manual" });
    assert.equal(response.status, 301, path);
    const query = path.includes("?") ? "?format=json" : "";
    assert.equal(response.headers.get("location"), `${t.url}/pypi/simple/bar-demo-pkg/${query}`);
    await response.body?.cancel();
  }
  const followed = await fetch(`${t.url}/pypi/simple/Bar_Demo.PKG/`, { headers: { Accept: PIP_ACCEPT } });
  assert.equal((await followed.json()).name, "bar-demo-pkg");
  for (const path of ["unknown-project/", "-bad-/", "bar-demo-pkg/extra/"]) {
    const missing = await fetch(`${t.url}/pypi/simple/${path}`);
    assert.equal(missing.status, 404, path);
    assert.equal(missing.headers.get("content-type"), "text/plain; charset=utf-8");
    await missing.body?.cancel();
  }
});

Deno.test("the index lists every project, as HTML or JSON", async () => {
  await using t = await startTestServer();
  const empty = await fetch(`${t.url}/pypi/simple/`, { headers: { Accept: JSON_TYPE } });
  assert.deepEqual(await empty.json(), { meta: { "api-version": "1.1" }, projects: [] });
  await uploadOk(t.url, await wheel("Bar-Demo.pkg", "1.0"), { name: "Bar-Demo.pkg" });
  await uploadOk(t.url, await wheel("zeta", "2.0"));
  const json = await fetch(`${t.url}/pypi/simple/`, { headers: { Accept: PIP_ACCEPT } });
  assert.deepEqual((await json.json()).projects, [{ name: "Bar-Demo.pkg" }, { name: "zeta" }]);
  const html = await (await fetch(`${t.url}/pypi/simple/`)).text();
  assert.ok(html.includes(`<a href="${t.url}/pypi/simple/bar-demo-pkg/">Bar-Demo.pkg</a>`), html);
  assert.ok(html.includes(`<a href="${t.url}/pypi/simple/zeta/">zeta</a>`));
});

Deno.test("files and their metadata are served with validators, ranges and HEAD", async () => {
  await using t = await startTestServer();
  const whl = await wheel("demo", "1.0");
  await uploadOk(t.url, whl);
  const url = `${t.url}/pypi/files/demo/${whl.filename}`;
  const full = await fetch(url);
  assert.equal(full.status, 200);
  assert.equal(full.headers.get("etag"), `"${await sha256Hex(whl.bytes)}"`);
  assert.deepEqual(new Uint8Array(await full.arrayBuffer()), whl.bytes);
  const part = await fetch(url, { headers: { Range: "bytes=10-19" } });
  assert.equal(part.status, 206);
  assert.deepEqual(new Uint8Array(await part.arrayBuffer()), whl.bytes.subarray(10, 20));
  const head = await fetch(url, { method: "HEAD" });
  assert.equal(head.headers.get("content-length"), String(whl.bytes.byteLength));
  const again = await fetch(url, { headers: { "If-None-Match": full.headers.get("etag")! } });
  assert.equal(again.status, 304);

  const metadata = await fetch(`${url}.metadata`);
  assert.equal(await metadata.text(), coreMetadata("demo", "1.0"));
  const missing = await fetch(`${t.url}/pypi/files/demo/demo-9.0-py3-none-any.whl`);
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
});

Deno.test("a version holds several files; only a file name uploaded before, or a second sdist, is refused", async () => {
  await using t = await startTestServer();
  const whl = await wheel("multi", "1.0");
  await uploadOk(t.url, whl);
  await uploadOk(t.url, await sdist("multi", "1.0"));
  await uploadOk(t.url, await wheel("multi", "1.0", { filename: "multi-1.0-py2.py3-none-any.whl" }));
  await uploadOk(t.url, await wheel("multi", "1.0.0", { filename: "multi-1.0.0-cp311-cp311-linux_x86_64.whl" }));

  const again = await upload(t.url, whl);
  assert.equal(again.status, 400);
  assert.match(await again.text(), /^File already exists: multi-1\.0-py3-none-any\.whl/);
  const secondSdist = await upload(t.url, { ...await sdist("multi", "1.0"), filename: "multi-1.0.zip" });
  assert.equal(secondSdist.status, 400);
  assert.match(await secondSdist.text(), /An sdist of 1\.0 already exists \(multi-1\.0\.tar\.gz\)/);

  const page = await projectJson(t.url, "multi");
  assert.deepEqual(page.versions, ["1.0"], "1.0 and 1.0.0 are one release");
  assert.equal(page.files.length, 4);
});

Deno.test("concurrent uploads of one version's files all land", async () => {
  await using t = await startTestServer();
  const dists = await Promise.all(
    ["py3", "py2.py3", "cp311", "cp312"].map((tag) =>
      wheel("burst", "3.0", { filename: `burst-3.0-${tag}-none-any.whl` })
    ),
  );
  const responses = await Promise.all(dists.map((d) => upload(t.url, d)));
  for (const response of responses) assert.equal(response.status, 200, await response.text());
  assert.equal((await projectJson(t.url, "burst")).files.length, 4);
});

Deno.test("uploads need a token with publish scope; reads stay public", async () => {
  await using t = await startTestServer();
  const whl = await wheel("guarded", "1.0");
  const anonymous = await upload(t.url, whl, {}, null);
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.headers.get("www-authenticate"), 'Basic realm="pypi"');
  assert.match(await anonymous.text(), /authentication is required/);
  const wrong = await upload(t.url, whl, {}, "not-the-admin-token-000");
  assert.equal(wrong.status, 401);
  await wrong.body?.cancel();
  const index = await fetch(`${t.url}/pypi/simple/`);
  assert.equal(index.status, 200);
  await index.body?.cancel();
});

Deno.test("a yanked release is shown as PEP 592 says, with its reason escaped, until it is unyanked", async () => {
  await using t = await startTestServer();
  await uploadOk(t.url, await wheel("yankable", "1.0"));
  await uploadOk(t.url, await wheel("yankable", "1.1"));
  const admin = { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" };
  const reason = 'broken <script>alert("x")</script> & worse';
  const yanked = await fetch(`${t.url}/pypi/-/yank/yankable/1.1.0`, {
    method: "POST",
    headers: admin,
    body: JSON.stringify({ reason }),
  });
  assert.equal(yanked.status, 200, await yanked.text());

  const files = (await projectJson(t.url, "yankable")).files;
  assert.deepEqual(files.map((f) => f.yanked), [false, reason]);
  const html = await (await fetch(`${t.url}/pypi/simple/yankable/`)).text();
  assert.ok(
    html.includes('data-yanked="broken &#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; worse"'),
    html,
  );
  assert.ok(!html.includes("<script>"));

  const noReason = await fetch(`${t.url}/pypi/-/yank/yankable/1.0`, { method: "POST", headers: admin });
  assert.equal(noReason.status, 200);
  await noReason.body?.cancel();
  assert.deepEqual((await projectJson(t.url, "yankable")).files.map((f) => f.yanked), [true, reason]);
  assert.match(await (await fetch(`${t.url}/pypi/simple/yankable/`)).text(), /data-yanked="">yankable-1\.0-/);

  const unyanked = await fetch(`${t.url}/pypi/-/unyank/yankable/1.1`, { method: "POST", headers: admin });
  assert.equal(unyanked.status, 200);
  await unyanked.body?.cancel();
  assert.deepEqual((await projectJson(t.url, "yankable")).files.map((f) => f.yanked), [true, false]);

  const anonymous = await fetch(`${t.url}/pypi/-/yank/yankable/1.0`, { method: "POST" });
  assert.equal(anonymous.status, 401);
  await anonymous.body?.cancel();
  const unknown = await fetch(`${t.url}/pypi/-/yank/yankable/9.9`, { method: "POST", headers: admin });
  assert.equal(unknown.status, 404);
  assert.match(await unknown.text(), /yankable has no release 9\.9/);
});

Deno.test("main.ts pypi yank and unyank, run beside the server, show on its pages within 2 s", async () => {
  let now = Date.now();
  await using t = await startTestServer({ now: () => now });
  await uploadOk(t.url, await wheel("clipkg", "2.0"));
  assert.equal((await projectJson(t.url, "clipkg")).files[0].yanked, false);
  const env = { REGISTRY_DATA_DIR: t.dataDir };

  const yanked = await runMain(["pypi", "yank", "CliPkg", "2.0", "--reason", "use 2.1"], env);
  assert.equal(yanked.code, 0, yanked.stderr);
  assert.match(yanked.stdout, /yanked clipkg 2\.0 \(reason: use 2\.1\)/);
  now += 2_000;
  assert.equal((await projectJson(t.url, "clipkg")).files[0].yanked, "use 2.1");

  const unyanked = await runMain(["pypi", "unyank", "clipkg", "2.0"], env);
  assert.equal(unyanked.code, 0, unyanked.stderr);
  now += 2_000;
  assert.equal((await projectJson(t.url, "clipkg")).files[0].yanked, false);

  const missing = await runMain(["pypi", "yank", "clipkg", "3.0"], env);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /clipkg has no release 3\.0/);
  const usage = await runMain(["pypi", "yank", "clipkg"], env);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /usage: pypi yank/);
});

Deno.test("an ingestion source publishes a wheel by its file name, checked like an upload", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "pypi-ingest-" });
  const config = await loadConfig({ dataDir }, {});
  const open = await openRegistry(config, createMemoryLogger());
  try {
    const registry = open.sources.for("test-source");
    const whl = await wheel("ingested", "1.0");
    const archive = () => new Blob([whl.bytes]).stream();
    const release = { package: { format: "pypi", name: "ingested" }, version: "1.0", filename: whl.filename };
    const published = await registry.publish({ ...release, archive: archive() });
    assert.deepEqual(published, { status: "published", checksum: await sha256Hex(whl.bytes) });
    assert.deepEqual(await registry.publish({ ...release, archive: archive() }), { status: "exists" });
    const versions = await registry.versions({ format: "pypi", name: "Ingested" });
    assert.deepEqual(Object.keys(versions ?? {}), ["1.0"]);
    assert.deepEqual(versions!["1.0"].metadata, { files: [whl.filename] });

    const unnamed = await registry.publish({ ...release, filename: undefined, archive: archive() });
    assert.deepEqual(unnamed, { status: "refused", reason: "a PyPI release needs the file's name (filename)" });
    const mismatched = await registry.publish({ ...release, version: "2.0", archive: archive() });
    assert.equal(mismatched.status, "refused");
    const scoped = await registry.publish({
      ...release,
      package: { format: "pypi", scope: "x", name: "y" },
      archive: archive(),
    });
    assert.deepEqual(scoped, { status: "refused", reason: "PyPI projects have no scope" });
  } finally {
    await open.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("names that are not files or versions of a project are 404s, not lookups of anything else", async () => {
  await using t = await startTestServer();
  await uploadOk(t.url, await wheel("plain", "1.0"));
  for (const name of ["constructor", "__proto__", "toString.metadata", "hasOwnProperty"]) {
    const response = await fetch(`${t.url}/pypi/files/plain/${name}`);
    assert.equal(response.status, 404, name);
    await response.body?.cancel();
  }
  const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
  const proto = await fetch(`${t.url}/pypi/-/yank/plain/constructor`, { method: "POST", headers: admin });
  assert.equal(proto.status, 400);
  assert.match(await proto.text(), /not a valid PEP 440 version/);
});

Deno.test("an upload whose fields come after the file (as curl -F may send them) is accepted", async () => {
  await using t = await startTestServer();
  const whl = await wheel("late-fields", "1.0");
  const form = new FormData();
  form.append("content", new File([whl.bytes], whl.filename));
  form.append("name", "late-fields");
  form.append("version", "1.0");
  form.append("sha256_digest", await sha256Hex(whl.bytes));
  const response = await fetch(`${t.url}/pypi/`, {
    method: "POST",
    body: form,
    headers: { Authorization: `Basic ${btoa(`__token__:${ADMIN_TOKEN}`)}` },
  });
  assert.equal(response.status, 200, await response.text());
  assert.equal((await projectJson(t.url, "late-fields")).files[0].filename, whl.filename);
});
