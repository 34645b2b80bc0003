/**
 * Module zips checked as the go command checks them (golang.org/x/mod/zip)
 * before anything is stored, and hashed as go.sum records them:
 *
 * - every entry is `<module>@<version>/<path>` with a clean, valid file path
 *   (no `..`, no characters the go command refuses), no two paths equal
 *   under case folding, no symlinks or other irregular files;
 * - a go.mod only at the root, named exactly `go.mod`, declaring the module;
 * - the go command's size limits: 500 MiB zipped and unzipped, 16 MiB for
 *   go.mod and LICENSE; the registry's entry limit;
 * - every entry is inflated, counting the bytes it really produces against
 *   its declared size, and its CRC-32 checked;
 * - the `h1:` hash of the zip (`dirhash.HashZip`) and of its go.mod.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import * as zip from "@zip.js/zip.js";
import { FsFileReader } from "../../../plugins/zip_file_reader.ts";
import type { ArchiveLimits } from "../../core/zip_scan.ts";
import { PayloadTooLargeError, RegistryError, UnprocessableError } from "../../errors.ts";
import { declaredModulePath } from "./go_mod.ts";
import { filePathProblem } from "./module.ts";

zip.configure({ useWebWorkers: false });

const UTF8 = new TextDecoder();

/** The go command's limit on a module zip, zipped and unzipped (`modzip.MaxZipFile`). */
export const MAX_ZIP_BYTES = 500 * 1024 * 1024;
/** What limits module zips to `bytes`: the go command, or the operator. */
export function zipLimitSetting(bytes: number): string {
  return bytes === MAX_ZIP_BYTES ? "the go command's limit on module zips" : "REGISTRY_MAX_ARCHIVE_BYTES";
}

/** The go command's limit on go.mod and LICENSE (`modzip.MaxGoMod`, `modzip.MaxLICENSE`). */
export const MAX_GO_MOD_BYTES = 16 * 1024 * 1024;

/** What checking a module zip learned. */
export interface ModuleZipInspection {
  /** The root go.mod, or `null` when the zip has none. */
  goMod: Uint8Array | null;
  /** The go.sum hash of the zip (`h1:` + base64). */
  h1: string;
}

/** Options of {@link inspectModuleZip}. */
export interface ModuleZipOptions {
  module: string;
  version: string;
  /** `"required"`, `"forbidden"` (+incompatible versions) or `"optional"` (what an upstream serves). */
  goMod: "required" | "forbidden" | "optional";
  limits: Pick<ArchiveLimits, "maxEntries" | "maxUncompressedBytes">;
}

interface CheckedEntry {
  entry: zip.Entry;
  isDirectory: boolean;
}

/**
 * Checks the module zip at `path` for `options.module`@`options.version`.
 *
 * @throws {UnprocessableError} naming the first entry and problem found.
 * @throws {PayloadTooLargeError} when the zip or its contents are too large.
 */
export async function inspectModuleZip(path: string, options: ModuleZipOptions): Promise<ModuleZipInspection> {
  const { size } = await Deno.stat(path);
  if (size > MAX_ZIP_BYTES) {
    throw new PayloadTooLargeError(`module zip is ${size} bytes; the go command's limit is ${MAX_ZIP_BYTES} bytes`);
  }
  const file = await Deno.open(path, { read: true });
  const reader = new zip.ZipReader(new FsFileReader(file), {
    strictness: "strict",
    filenameValidation: "strict",
    // Names are bytes to the go command, read as UTF-8 whatever the entry's flags say (invalid bytes are refused).
    decodeText: (value, _encoding, type) => type === "filename" ? UTF8.decode(value) : undefined,
  });
  try {
    const entries = await listEntries(reader, options);
    return await hashEntries(entries, options);
  } catch (error) {
    if (error instanceof RegistryError) throw error;
    const filename = (error as { filename?: unknown })?.filename;
    if ((error as Error)?.message === zip.ERR_UNSAFE_FILENAME && typeof filename === "string") {
      throw new UnprocessableError(
        `module zip entry "${filename}": not a safe relative path (absolute, "..", "." or empty element)`,
      );
    }
    const where = typeof filename === "string" ? ` (entry "${filename}")` : "";
    throw new UnprocessableError(`module zip is not a valid zip file: ${(error as Error)?.message ?? error}${where}`);
  } finally {
    await reader.close().catch(() => {});
    file.close();
  }
}

/** Checks every entry's name, kind and declared size, as `modzip.CheckZip` does. */
async function listEntries(reader: zip.ZipReader<unknown>, options: ModuleZipOptions): Promise<CheckedEntry[]> {
  const prefix = `${options.module}@${options.version}/`;
  const maxUnzipped = Math.min(MAX_ZIP_BYTES, options.limits.maxUncompressedBytes);
  const folded = new Map<string, { path: string; isDirectory: boolean }>();
  const entries: CheckedEntry[] = [];
  let unzipped = 0;
  for await (const entry of reader.getEntriesGenerator()) {
    if (entries.length >= options.limits.maxEntries) {
      throw new PayloadTooLargeError(
        `module zip has more than ${options.limits.maxEntries} entries (REGISTRY_MAX_ARCHIVE_ENTRIES)`,
      );
    }
    const refuse = (why: string) => new UnprocessableError(`module zip entry "${entry.filename}": ${why}`);
    if (!entry.filename.startsWith(prefix)) throw refuse(`path does not have prefix "${prefix}"`);
    if (entry.encrypted) throw refuse("encrypted");
    if (entry.symlink) throw refuse("symbolic links are not allowed in module zips");
    if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
      throw refuse(`compression method ${entry.compressionMethod} (only stored and deflated entries are accepted)`);
    }
    let name = entry.filename.slice(prefix.length);
    if (name === "") continue;
    const isDirectory = name.endsWith("/");
    if (isDirectory) name = name.slice(0, -1);
    if (!isClean(name)) throw refuse("file path is not clean");
    const problem = filePathProblem(name);
    if (problem !== null) throw refuse(`malformed file path "${name}": ${problem}`);
    const collision = checkCollision(folded, name, isDirectory);
    if (collision !== null) throw refuse(collision);
    entries.push({ entry, isDirectory });
    if (isDirectory) continue;
    const base = name.split("/").at(-1)!;
    if (base.toLowerCase() === "go.mod") {
      if (base !== name) throw refuse("go.mod file not in module root directory");
      if (name !== "go.mod") throw refuse("go.mod files must have lowercase names");
    }
    unzipped += entry.uncompressedSize;
    if (unzipped > maxUnzipped) {
      throw new PayloadTooLargeError(
        `module zip contents are over ${maxUnzipped} bytes uncompressed` +
          (maxUnzipped === MAX_ZIP_BYTES ? " (the go command's limit)" : " (REGISTRY_MAX_UNCOMPRESSED_BYTES)"),
      );
    }
    if ((name === "go.mod" || name === "LICENSE") && entry.uncompressedSize > MAX_GO_MOD_BYTES) {
      throw refuse(`${name} file too large (max size is ${MAX_GO_MOD_BYTES} bytes)`);
    }
  }
  return entries;
}

/** True when `name` is what Go's `path.Clean` makes of it. */
function isClean(name: string): boolean {
  return !name.startsWith("/") && name.split("/").every((s) => s !== "" && s !== "." && s !== "..");
}

/**
 * Records `name` (and its parent directories) under its case-folded form;
 * returns the problem when another spelling, or the same file twice, is there.
 */
function checkCollision(
  folded: Map<string, { path: string; isDirectory: boolean }>,
  name: string,
  isDirectory: boolean,
): string | null {
  for (let path = name, dir = isDirectory; path !== ""; path = path.slice(0, Math.max(0, path.lastIndexOf("/")))) {
    const key = path.toLowerCase();
    const other = folded.get(key);
    if (other === undefined) folded.set(key, { path, isDirectory: dir });
    else if (other.path !== path) return `case-insensitive file name collision: "${other.path}" and "${path}"`;
    else if (other.isDirectory !== dir) return `entry "${path}" is both a file and a directory`;
    else if (!dir) return `multiple entries for file "${path}"`;
    dir = true;
  }
  return null;
}

/** Inflates every entry (counting real bytes, checking CRC-32s), hashing as `dirhash.HashZip` does. */
async function hashEntries(entries: CheckedEntry[], options: ModuleZipOptions): Promise<ModuleZipInspection> {
  const lines: { name: string; digest: string }[] = [];
  let goMod: Uint8Array | null = null;
  const goModName = `${options.module}@${options.version}/go.mod`;
  for (const { entry, isDirectory } of entries) {
    const keep = entry.filename === goModName;
    const { digest, bytes } = isDirectory
      ? { digest: createHash("sha256").digest("hex"), bytes: undefined }
      : await hashEntry(entry, keep);
    if (keep) goMod = bytes!;
    lines.push({ name: entry.filename, digest });
  }
  checkGoMod(goMod, options);
  lines.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  const summary = lines.map(({ name, digest }) => `${digest}  ${name}\n`).join("");
  return { goMod, h1: h1OfSummary(summary) };
}

async function hashEntry(entry: zip.Entry, keep: boolean): Promise<{ digest: string; bytes?: Uint8Array }> {
  const hash = createHash("sha256");
  const chunks: Uint8Array[] = [];
  let size = 0;
  const lie = () =>
    new UnprocessableError(
      `module zip entry "${entry.filename}" inflates to more than the ${entry.uncompressedSize} bytes its headers declare`,
    );
  const sink = new WritableStream<Uint8Array>({
    write(chunk) {
      size += chunk.byteLength;
      if (size > entry.uncompressedSize) throw lie();
      hash.update(chunk);
      if (keep) chunks.push(chunk);
    },
  });
  try {
    await (entry as zip.FileEntry).getData(sink, { checkSignature: true });
  } catch (error) {
    if (size > entry.uncompressedSize) throw lie();
    if (error instanceof RegistryError) throw error;
    throw new UnprocessableError(`module zip entry "${entry.filename}" is corrupt: ${(error as Error)?.message}`);
  }
  if (size !== entry.uncompressedSize) {
    throw new UnprocessableError(
      `module zip entry "${entry.filename}" inflates to ${size} bytes, not the ${entry.uncompressedSize} its headers declare`,
    );
  }
  return { digest: hash.digest("hex"), bytes: keep ? Buffer.concat(chunks) : undefined };
}

function checkGoMod(goMod: Uint8Array | null, options: ModuleZipOptions): void {
  const { module, version } = options;
  if (goMod === null) {
    if (options.goMod === "required") {
      throw new UnprocessableError(`module zip for ${module}@${version} has no go.mod at its root`);
    }
    return;
  }
  if (options.goMod === "forbidden") {
    throw new UnprocessableError(
      `${module}@${version}: +incompatible suffix not allowed: module contains a go.mod file, ` +
        `so the module path must end in its major version`,
    );
  }
  const declared = declaredModulePath(new TextDecoder().decode(goMod));
  if (declared === null) throw new UnprocessableError(`the go.mod of ${module}@${version} has no module directive`);
  if (declared !== module) {
    throw new UnprocessableError(
      `the go.mod of ${module}@${version} declares its path as "${declared}": it must be "${module}"`,
    );
  }
}

/** The go.sum hash of a go.mod file's bytes (`h1:` of a tree holding only `go.mod`). */
export function goModH1(bytes: Uint8Array): string {
  return h1OfSummary(`${createHash("sha256").update(bytes).digest("hex")}  go.mod\n`);
}

function h1OfSummary(summary: string): string {
  return `h1:${createHash("sha256").update(summary).digest("base64")}`;
}
