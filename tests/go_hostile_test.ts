/**
 * Hostile module zips: each refused with a clear text error, nothing stored.
 */
import assert from "node:assert/strict";
import { buildZip, rawZip, type TestEntry } from "./support/archives.ts";
import { walk } from "./support/files.ts";
import { moduleZip, publishModule } from "./support/go.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

const MODULE = "example.com/evil";
const VERSION = "v1.0.0";
const PREFIX = `${MODULE}@${VERSION}/`;
const GO_MOD = { name: `${PREFIX}go.mod`, content: `module ${MODULE}\n` };

/** Publishes `zip` and checks it is refused with `status` and a message matching `message`, storing nothing. */
async function assertRefused(
  t: TestServer,
  zip: Uint8Array<ArrayBuffer>,
  status: number,
  message: RegExp,
  options: { module?: string; version?: string } = {},
): Promise<void> {
  const response = await publishModule(t.url, options.module ?? MODULE, options.version ?? VERSION, zip);
  const body = await response.text();
  assert.equal(response.status, status, body);
  assert.equal(response.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.match(body, message);
  const stored: string[] = [];
  for await (const file of walk(t.dataDir)) if (file.includes("/go/")) stored.push(file);
  assert.deepEqual(stored, [], "nothing stored");
  const list = await fetch(`${t.url}/go/${options.module ?? MODULE}/@v/list`);
  assert.equal(list.status, 404, await list.text());
}

function entries(...list: TestEntry[]): Promise<Uint8Array<ArrayBuffer>> {
  return buildZip(list);
}

Deno.test("module zips with paths that escape or that the go command refuses are refused", async () => {
  await using t = await startTestServer();
  const cases: [TestEntry, RegExp][] = [
    [{ name: `${PREFIX}../../etc/passwd`, content: "x" }, /not a safe relative path|file path is not clean/],
    [{ name: "/etc/passwd", content: "x" }, /not a safe relative path|does not have prefix/],
    [{ name: `${PREFIX}a\\b.go`, content: "x" }, /not a safe relative path|invalid char/],
    [{ name: `${PREFIX}a:b.go`, content: "x" }, /malformed file path "a:b\.go": invalid char ":"/],
    [{ name: `${PREFIX}sub/COM1.go`, content: "x" }, /disallowed as path element component on Windows/],
    [{ name: `${PREFIX}sub/go.mod`, content: "module x\n" }, /go\.mod file not in module root directory/],
    [{ name: `${PREFIX}link`, content: "../../../etc/passwd", symlink: true }, /symbolic links are not allowed/],
  ];
  for (const [entry, message] of cases) await assertRefused(t, await entries(GO_MOD, entry), 422, message);
});

Deno.test("a module zip whose local header names another path than its central directory is refused", async () => {
  await using t = await startTestServer();
  const zip = rawZip([
    GO_MOD,
    { name: `${PREFIX}x.go`, localName: "../../evil", content: "package evil\n" },
  ]);
  await assertRefused(
    t,
    zip,
    422,
    /entry "example\.com\/evil@v1\.0\.0\/x\.go" is named "\.\.\/\.\.\/evil" in its local header/,
  );
});

Deno.test("module zips whose names differ only in case, or that name a file twice, are refused", async () => {
  await using t = await startTestServer();
  await assertRefused(
    t,
    await entries(GO_MOD, { name: `${PREFIX}Readme.md`, content: "a" }, { name: `${PREFIX}README.md`, content: "b" }),
    422,
    /entries "example\.com\/evil@v1\.0\.0\/Readme\.md" and "example\.com\/evil@v1\.0\.0\/README\.md" differ only by case/,
  );
  await assertRefused(
    t,
    await entries(GO_MOD, { name: `${PREFIX}Pkg/a.go`, content: "a" }, { name: `${PREFIX}pkg/b.go`, content: "b" }),
    422,
    /entries "example\.com\/evil@v1\.0\.0\/Pkg" and "example\.com\/evil@v1\.0\.0\/pkg" differ only by case/,
  );
  await assertRefused(
    t,
    await entries({ name: `${PREFIX}GO.MOD`, content: `module ${MODULE}\n` }),
    422,
    /go\.mod files must have lowercase names/,
  );
  const twice = { name: `${PREFIX}a.go`, content: "package a\n" };
  await assertRefused(
    t,
    rawZip([GO_MOD, twice, twice]),
    422,
    /lists the entry "example\.com\/evil@v1\.0\.0\/a\.go" twice/,
  );
});

Deno.test("module zips for another module, version or path are refused", async () => {
  await using t = await startTestServer();
  await assertRefused(
    t,
    await moduleZip("example.com/other", VERSION, { "x.go": "package x\n" }),
    422,
    /path does not have prefix "example\.com\/evil@v1\.0\.0\/"/,
  );
  await assertRefused(
    t,
    await moduleZip(MODULE, "v1.0.1", { "x.go": "package x\n" }),
    422,
    /path does not have prefix "example\.com\/evil@v1\.0\.0\/"/,
  );
  await assertRefused(
    t,
    await moduleZip(MODULE, VERSION, { "go.mod": "module example.com/somebody/else\n" }),
    422,
    /declares its path as "example\.com\/somebody\/else": it must be "example\.com\/evil"/,
  );
  await assertRefused(
    t,
    await moduleZip(MODULE, VERSION, { "x.go": "package x\n" }, { goMod: false }),
    422,
    /no go\.mod/,
  );
  await assertRefused(
    t,
    await moduleZip(MODULE, "v2.0.0", { "x.go": "package x\n" }),
    400,
    /version v2 needs the module path to end in \/v2/,
    { version: "v2.0.0" },
  );
  await assertRefused(t, new TextEncoder().encode("not a zip at all"), 422, /not a valid zip file/);
});

Deno.test("oversize module zips are refused: the upload, too many entries, a go.mod over 16 MiB", async () => {
  {
    await using t = await startTestServer({
      env: { REGISTRY_MAX_ARCHIVE_BYTES: "64KiB", REGISTRY_MAX_ARCHIVE_ENTRIES: "5" },
    });
    const noise = randomBytes(65536);
    await assertRefused(
      t,
      await entries(GO_MOD, { name: `${PREFIX}noise.bin`, content: noise }, { name: `${PREFIX}more`, content: noise }),
      413,
      /over the 65536-byte limit \(REGISTRY_MAX_ARCHIVE_BYTES\)/,
    );
    const many = Array.from({ length: 6 }, (_, i) => ({ name: `${PREFIX}f${i}.go`, content: "package x\n" }));
    await assertRefused(t, await entries(GO_MOD, ...many), 413, /more than 5 entries/);
  }
  await using t = await startTestServer();
  // Incompressible, so that only the go command's go.mod limit can refuse it.
  const comment = Array.from(randomBytes(16 * 1024 * 1024), (b) => (b % 64).toString(36)).join("");
  await assertRefused(
    t,
    await entries({ name: `${PREFIX}go.mod`, content: `module ${MODULE}\n// ${comment}\n` }),
    422,
    /go\.mod file too large \(max size is 16777216 bytes\)/,
  );
});

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(length, i + 65536)));
  return bytes;
}
