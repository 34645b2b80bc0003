/**
 * Module zips checked as the go command checks them (golang.org/x/mod/zip)
 * before anything is stored, and hashed as go.sum records them. Every check
 * all zips get comes from {@link scanZip} (safe names, case collisions,
 * local headers, CRC-32s and sizes of the bytes really inflated, the
 * registry's limits, pauses for other requests); the go command's own rules
 * are applied here:
 *
 * - every entry is `<module>@<version>/<path>` with a valid file path
 *   ({@link filePathProblem}), no symlinks, no directory entries with data;
 * - a go.mod only at the root, named exactly `go.mod`, declaring the module;
 * - the go command's size limits: 500 MiB zipped and unzipped, 16 MiB for
 *   go.mod and LICENSE;
 * - the `h1:` hash of the zip (`dirhash.HashZip`) and of its go.mod.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { scanZip, type ZipEntryInfo, type ZipLimits } from "../../core/zip_scan.ts";
import { PayloadTooLargeError, UnprocessableError } from "../../errors.ts";
import { declaredModulePath } from "./go_mod.ts";
import { filePathProblem } from "./module.ts";

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
  limits: ZipLimits;
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
  const prefix = `${options.module}@${options.version}/`;
  const scan = await scanZip(path, {
    limits: options.limits,
    subject: "module zip",
    // Names are bytes to the go command, read as UTF-8 whatever the entry's flags say (invalid bytes are refused).
    utf8Names: true,
    sha256: true,
    checkEntry: moduleZipRules(prefix),
    collect: (entry) => entry.name === `${prefix}go.mod` && entry.type === "file" ? MAX_GO_MOD_BYTES : undefined,
  });
  const goMod = scan.contents.get(`${prefix}go.mod`) ?? null;
  checkGoMod(goMod, options);
  return { goMod, h1: zipH1(scan.entries.values(), scan.sha256) };
}

/** The rules of `modzip.CheckZip` beyond those every zip gets, entry by entry, for the zip of `prefix`. */
function moduleZipRules(prefix: string): (entry: ZipEntryInfo) => void {
  let unzipped = 0;
  return (entry) => {
    const refuse = (why: string) => new UnprocessableError(`module zip entry "${entry.name}": ${why}`);
    if (entry.type === "directory" && `${entry.name}/` === prefix) return;
    if (!entry.name.startsWith(prefix)) throw refuse(`path does not have prefix "${prefix}"`);
    if (entry.type === "symlink") throw refuse("symbolic links are not allowed in module zips");
    const name = entry.name.slice(prefix.length);
    const problem = filePathProblem(name);
    if (problem !== null) throw refuse(`malformed file path "${name}": ${problem}`);
    if (entry.type === "directory") {
      // Newer go commands cannot read a directory entry's data (archive/zip refuses it), so cannot hash the zip.
      if (entry.size > 0) throw refuse("a directory entry may not hold data");
      return;
    }
    const base = name.split("/").at(-1)!;
    if (base.toLowerCase() === "go.mod") {
      if (base !== name) throw refuse("go.mod file not in module root directory");
      if (name !== "go.mod") throw refuse("go.mod files must have lowercase names");
    }
    unzipped += entry.size;
    if (unzipped > MAX_ZIP_BYTES) {
      throw new PayloadTooLargeError(
        `module zip contents are over ${MAX_ZIP_BYTES} bytes uncompressed (the go command's limit)`,
      );
    }
    if ((name === "go.mod" || name === "LICENSE") && entry.size > MAX_GO_MOD_BYTES) {
      throw refuse(`${name} file too large (max size is ${MAX_GO_MOD_BYTES} bytes)`);
    }
  };
}

/**
 * The go.sum hash of a zip (`dirhash.HashZip`): every entry, directories
 * included under their name with its slash, as `<sha256 hex>  <name>\n`
 * lines sorted by name bytes, hashed again.
 */
function zipH1(entries: Iterable<ZipEntryInfo>, sha256: Map<string, Uint8Array>): string {
  const lines = [...entries].map((entry) => {
    const name = entry.type === "directory" ? `${entry.name}/` : entry.name;
    return { name, bytes: Buffer.from(name), digest: Buffer.from(sha256.get(entry.name)!).toString("hex") };
  });
  lines.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  return h1OfSummary(lines.map(({ name, digest }) => `${digest}  ${name}\n`).join(""));
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
