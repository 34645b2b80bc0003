/**
 * Hostile and broken uploads: each is refused with a clear error, and nothing
 * is stored.
 */
import assert from "node:assert/strict";
import { buildZip } from "./support/archives.ts";
import { walk } from "./support/files.ts";
import { coreMetadata, type Dist, sdist, upload, wheel } from "./support/pypi.ts";
import { ADMIN_TOKEN, startTestServer } from "./support/server.ts";

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(length, i + 65536)));
  return bytes;
}

const zeros = new Uint8Array(4 * 1024 * 1024);

/** Each case: what it is, the file, form fields to change, the status and the message expected. */
async function hostileUploads(): Promise<Array<[string, Dist, Record<string, string | null>, number, RegExp]>> {
  return [
    [
      "a wheel with a path climbing out of the archive",
      await wheel("evil", "1.0", { entries: [{ name: "../../etc/evil.py", content: "x" }] }),
      {},
      422,
      /\.\.\/\.\.\/etc\/evil\.py/,
    ],
    [
      "a wheel with an absolute path",
      await wheel("evil", "1.0", { entries: [{ name: "/etc/evil.py", content: "x" }] }),
      {},
      422,
      /\/etc\/evil\.py/,
    ],
    [
      "a wheel whose names differ only by case",
      await wheel("evil", "1.0", {
        entries: [{ name: "evil/Module.py", content: "a" }, { name: "evil/module.py", content: "b" }],
      }),
      {},
      422,
      /evil\/module\.py.*case|case.*evil\/module\.py/i,
    ],
    [
      "a wheel with a symlink out of the archive",
      await wheel("evil", "1.0", { entries: [{ name: "evil/passwd", content: "../../../etc/passwd", symlink: true }] }),
      {},
      422,
      /evil\/passwd/,
    ],
    [
      "a wheel bomb",
      await wheel("evil", "1.0", { entries: [{ name: "evil/zeros.bin", content: zeros }] }),
      {},
      413,
      /REGISTRY_MAX_UNCOMPRESSED_BYTES/,
    ],
    [
      "an sdist with a path climbing out of the archive",
      await sdist("evil", "1.0", { entries: [{ header: { name: "evil-1.0/../../evil.py", size: 1 }, body: "x" }] }),
      {},
      422,
      /sdist entry "evil-1\.0\/\.\.\/\.\.\/evil\.py" is not a safe relative path/,
    ],
    [
      "an sdist with a symlink out of the archive",
      await sdist("evil", "1.0", {
        entries: [{ header: { name: "evil-1.0/passwd", type: "symlink", linkname: "/etc/passwd", size: 0 } }],
      }),
      {},
      422,
      /sdist symlink "evil-1\.0\/passwd" points outside "evil-1\.0\/"/,
    ],
    [
      "an sdist with a hard link out of it",
      await sdist("evil", "1.0", {
        entries: [{ header: { name: "evil-1.0/h", type: "link", linkname: "/etc/passwd", size: 0 } }],
      }),
      {},
      422,
      /sdist hard link "evil-1\.0\/h" must point to a file inside "evil-1\.0\/"/,
    ],
    [
      "an sdist whose names differ only by case",
      await sdist("evil", "1.0", {
        entries: [
          { header: { name: "evil-1.0/README", size: 1 }, body: "a" },
          { header: { name: "evil-1.0/readme", size: 1 }, body: "b" },
        ],
      }),
      {},
      422,
      /sdist entries "evil-1\.0\/README" and "evil-1\.0\/readme" differ only by case/,
    ],
    [
      "an sdist bomb",
      await sdist("evil", "1.0", {
        entries: [{ header: { name: "evil-1.0/zeros", size: zeros.length }, body: zeros }],
      }),
      {},
      422,
      /inflates more than 200 times its size.*REGISTRY_MAX_COMPRESSION_RATIO/,
    ],
    [
      "an sdist without PKG-INFO",
      await sdist("evil", "1.0", { pkgInfo: null }),
      {},
      422,
      /the sdist has no evil-1\.0\/PKG-INFO/,
    ],
    [
      "an sdist with two top-level directories",
      await sdist("evil", "1.0", { entries: [{ header: { name: "other/x.py", size: 1 }, body: "x" }] }),
      {},
      422,
      /sdist entry "other\/x\.py" lies outside "evil-1\.0\/"/,
    ],
    [
      "a wheel that is not a zip",
      { filename: "evil-1.0-py3-none-any.whl", bytes: new TextEncoder().encode("not a zip at all") },
      {},
      422,
      /wheel/,
    ],
    [
      "an sdist that is not gzip",
      { filename: "evil-1.0.tar.gz", bytes: await buildZip([{ name: "evil-1.0/PKG-INFO", content: "x" }]) },
      {},
      422,
      /the sdist is not gzip-compressed/,
    ],
    [
      "a file over the size limit",
      await wheel("evil", "1.0", { entries: [{ name: "evil/big.bin", content: randomBytes(80 * 1024) }] }),
      {},
      413,
      /REGISTRY_MAX_ARCHIVE_BYTES/,
    ],
    [
      "a project name the file does not start with",
      await wheel("evil", "1.0"),
      { name: "other" },
      400,
      /does not start with the project name "other"/,
    ],
    [
      "a version the file does not contain",
      await wheel("evil", "1.0"),
      { version: "2.0" },
      400,
      /does not contain the version "2\.0"/,
    ],
    ["a filetype the file is not", await wheel("evil", "1.0"), { filetype: "sdist" }, 400, /is a bdist_wheel/],
    ["an egg", await wheel("evil", "1.0"), { filetype: "bdist_egg" }, 400, /filetype "bdist_egg" is not accepted/],
    [
      "METADATA naming another project",
      await wheel("evil", "1.0", { metadata: coreMetadata("requests", "1.0") }),
      {},
      422,
      /METADATA names the project "requests", not "evil"/,
    ],
    [
      "METADATA with another version",
      await wheel("evil", "1.0", { metadata: coreMetadata("evil", "6.6.6") }),
      {},
      422,
      /METADATA has the version "6\.6\.6", not "1\.0"/,
    ],
    [
      "a .dist-info directory of another project",
      await wheel("evil", "1.0", { distInfo: "requests-1.0.dist-info" }),
      {},
      422,
      /directory "requests-1\.0\.dist-info" does not match evil 1\.0/,
    ],
    [
      "an invalid Requires-Python",
      await wheel("evil", "1.0", { metadata: coreMetadata("evil", "1.0", "Requires-Python: python three") }),
      {},
      422,
      /Requires-Python "python three" is not a valid version specifier/,
    ],
    ["a wrong sha256_digest", await wheel("evil", "1.0"), { sha256_digest: "0".repeat(64) }, 400, /damaged on the way/],
    [
      "a wrong md5_digest and no SHA-256",
      await wheel("evil", "1.0"),
      { sha256_digest: null, md5_digest: "0".repeat(32) },
      400,
      /md5_digest/,
    ],
    ["no digest at all", await wheel("evil", "1.0"), { sha256_digest: null }, 400, /needs a sha256_digest/],
    ["an invalid project name", await wheel("evil", "1.0"), { name: "../evil" }, 400, /not a valid project name/],
    ["an invalid version", await wheel("evil", "1.0"), { version: "one" }, 400, /not a valid PEP 440 version/],
    [
      "a file name that is neither wheel nor sdist",
      { filename: "evil-1.0.exe", bytes: new Uint8Array(10) },
      { version: "1.0" },
      400,
      /invalid distribution file name/,
    ],
    ["another :action", await wheel("evil", "1.0"), { ":action": "doc_upload" }, 400, /unsupported :action/],
  ];
}

Deno.test("hostile and broken uploads are each refused with a clear error, and nothing is stored", async () => {
  await using t = await startTestServer({
    env: { REGISTRY_MAX_ARCHIVE_BYTES: "64KiB", REGISTRY_MAX_UNCOMPRESSED_BYTES: "2MiB" },
  });
  for (const [label, dist, fields, status, message] of await hostileUploads()) {
    const response = await upload(t.url, dist, fields);
    const text = await response.text();
    assert.equal(response.status, status, `${label}: ${text}`);
    assert.equal(response.headers.get("content-type"), "text/plain; charset=utf-8", label);
    assert.match(text, message, `${label}: ${text}`);
  }
  const form = new FormData();
  form.append("name", "evil");
  form.append("version", "1.0");
  const noFile = await fetch(`${t.url}/pypi/`, { method: "POST", body: form, headers: basic() });
  assert.equal(noFile.status, 400);
  assert.match(await noFile.text(), /has no file/);
  const notMultipart = await fetch(`${t.url}/pypi/`, { method: "POST", body: "name=evil", headers: basic() });
  assert.equal(notMultipart.status, 415);
  await notMultipart.body?.cancel();

  const page = await fetch(`${t.url}/pypi/simple/evil/`);
  assert.equal(page.status, 404);
  await page.body?.cancel();
  const stored: string[] = [];
  for await (const path of walk(t.dataDir)) {
    // (A scratch directory's lock file is the process's, not an upload's.)
    if (/\/objects\/pypi\/|\/tmp\/uploads\//.test(path) && !path.endsWith(".lock")) stored.push(path);
  }
  assert.deepEqual(stored, [], "no file is kept, staged or stored");
});

Deno.test("a gzipped tar sdist built by Python's tarfile (pax headers) is accepted", async () => {
  await using t = await startTestServer();
  const dir = await Deno.makeTempDir();
  try {
    const root = `${dir}/paxpkg-1.0`;
    await Deno.mkdir(`${root}/src/${"long_directory_name_".repeat(6)}`, { recursive: true });
    await Deno.writeTextFile(`${root}/PKG-INFO`, coreMetadata("paxpkg", "1.0", "Requires-Python: >=3.9"));
    await Deno.writeTextFile(`${root}/src/${"long_directory_name_".repeat(6)}/${"m".repeat(80)}.py`, "x = 1\n");
    await Deno.writeTextFile(`${root}/ünïcode.txt`, "pax records carry this name\n");
    const code = "import tarfile, sys\nwith tarfile.open(sys.argv[1], 'w:gz', format=tarfile.PAX_FORMAT) as t: " +
      "t.add(sys.argv[2], arcname='paxpkg-1.0')";
    const made = await new Deno.Command("/usr/bin/python3", { args: ["-c", code, `${dir}/paxpkg-1.0.tar.gz`, root] })
      .output();
    assert.equal(made.code, 0, new TextDecoder().decode(made.stderr));
    const bytes = await Deno.readFile(`${dir}/paxpkg-1.0.tar.gz`);
    const response = await upload(t.url, { filename: "paxpkg-1.0.tar.gz", bytes });
    assert.equal(response.status, 200, await response.text());
    const page = await (await fetch(`${t.url}/pypi/simple/paxpkg/`, {
      headers: { Accept: "application/vnd.pypi.simple.v1+json" },
    })).json();
    assert.equal(page.files[0]["requires-python"], ">=3.9");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function basic(): Record<string, string> {
  return { Authorization: `Basic ${btoa(`__token__:${ADMIN_TOKEN}`)}` };
}

Deno.test("an sdist may be a zip, checked like a wheel's zip", async () => {
  await using t = await startTestServer();
  const good = await buildZip([
    { name: "zipsdist-1.0/" },
    { name: "zipsdist-1.0/PKG-INFO", content: coreMetadata("zipsdist", "1.0", "Requires-Python: >=3.10") },
    { name: "zipsdist-1.0/setup.py", content: "pass\n" },
  ]);
  const accepted = await upload(t.url, { filename: "zipsdist-1.0.zip", bytes: good });
  assert.equal(accepted.status, 200, await accepted.text());
  const bad = await buildZip([
    { name: "zipsdist-2.0/PKG-INFO", content: coreMetadata("zipsdist", "2.0") },
    { name: "zipsdist-2.0/../../escape.py", content: "x" },
  ]);
  const refused = await upload(t.url, { filename: "zipsdist-2.0.zip", bytes: bad });
  assert.equal(refused.status, 422);
  assert.match(await refused.text(), /sdist entry "zipsdist-2\.0\/\.\.\/\.\.\/escape\.py" is not a safe relative path/);
  const outbound = await buildZip([
    { name: "zipsdist-3.0/PKG-INFO", content: coreMetadata("zipsdist", "3.0") },
    { name: "zipsdist-3.0/link", content: "../zipsdist-3.0/PKG-INFO", symlink: true },
  ]);
  const linked = await upload(t.url, { filename: "zipsdist-3.0.zip", bytes: outbound });
  assert.equal(linked.status, 422);
  assert.match(await linked.text(), /sdist symlink "zipsdist-3\.0\/link" points outside "zipsdist-3\.0\/"/);
});
