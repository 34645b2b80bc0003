import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { type RawEntry, rawZip } from "../../../tests/support/archives.ts";
import { DEFAULT_ARCHIVE_LIMITS } from "../../core/zip_scan.ts";
import { UnprocessableError } from "../../errors.ts";
import { inspectModuleZip } from "./module_zip.ts";

const MODULE = "example.com/m";
const PREFIX = `${MODULE}@v1.0.0/`;
const GO_MOD: RawEntry = { name: `${PREFIX}go.mod`, content: `module ${MODULE}\n` };

async function inspect(entries: RawEntry[]) {
  const path = await Deno.makeTempFile();
  await Deno.writeFile(path, rawZip(entries));
  try {
    return await inspectModuleZip(path, {
      module: MODULE,
      version: "v1.0.0",
      goMod: "required",
      limits: DEFAULT_ARCHIVE_LIMITS,
    });
  } finally {
    await Deno.remove(path);
  }
}

async function refused(entries: RawEntry[], message: RegExp): Promise<void> {
  await assert.rejects(inspect(entries), (error: unknown) => {
    assert.ok(error instanceof UnprocessableError, String(error));
    assert.match(error.message, message);
    return true;
  });
}

Deno.test("module zip names are read as UTF-8 whatever their flags, as the go command reads them", async () => {
  const encode = (text: string) => new TextEncoder().encode(text);
  const utf8 = { name: "cafe", nameBytes: encode(`${PREFIX}café.go`), content: "package m\n" };
  const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
  const summary = `${sha256("package m\n")}  ${PREFIX}café.go\n${sha256(`module ${MODULE}\n`)}  ${PREFIX}go.mod\n`;
  const h1 = `h1:${createHash("sha256").update(summary).digest("base64")}`;
  assert.equal((await inspect([GO_MOD, utf8])).h1, h1, "hashed under its UTF-8 name");
  // 0x82 is "é" in CP437, which zip readers assume for names without the UTF-8 flag; the go command refuses it.
  const notUtf8 = { ...utf8, nameBytes: new Uint8Array([...encode(`${PREFIX}caf`), 0x82, ...encode(".go")]) };
  await refused([GO_MOD, notUtf8], /malformed file path "caf\uFFFD\.go": invalid UTF-8/);
});

Deno.test("module zip directory entries may not hold data, which the go command could not hash", async () => {
  await refused(
    [GO_MOD, { name: `${PREFIX}docs/`, content: "x" }],
    /"example\.com\/m@v1\.0\.0\/docs": a directory entry may not hold data/,
  );
});
