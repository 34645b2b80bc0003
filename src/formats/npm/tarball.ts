/**
 * What an npm tarball must be: a gzip'd tar whose entries all lie in
 * `package/` (checked like every archive, see `src/core/tar_archive.ts`),
 * with a `package/package.json` naming the package and version published.
 *
 * @module
 */
import type { ArchiveLimits } from "../../core/zip_scan.ts";
import { readEntryBytes, scanTarGz } from "../../core/tar_archive.ts";
import { UnprocessableError } from "../../errors.ts";

/** What inspecting a tarball learned. */
export interface TarballInspection {
  /** `package/package.json`, parsed. */
  packageJson: Record<string, unknown>;
  /** The readme at the package root (`README.md` or the like), when there is one. */
  readme?: { filename: string; text: string };
  hasShrinkwrap: boolean;
  fileCount: number;
  unpackedSize: number;
}

const MAX_PACKAGE_JSON_BYTES = 1024 * 1024;
/** npm's registry keeps readmes up to 64 KiB in packuments; longer ones are cut there. */
const MAX_README_BYTES = 64 * 1024;

/**
 * Checks the tarball at `path` and reads its package.json (and readme).
 *
 * @throws {UnprocessableError} naming the problem (or {PayloadTooLargeError} for a bomb).
 */
export async function inspectTarball(path: string, limits: ArchiveLimits): Promise<TarballInspection> {
  let packageJson: Uint8Array | undefined;
  let readme: TarballInspection["readme"];
  let hasShrinkwrap = false;
  const scan = await scanTarGz(path, {
    root: "package",
    limits,
    label: "tarball",
    async visit(entry, body) {
      if (entry.path === "package/package.json") {
        if (entry.type !== "file") throw new UnprocessableError("package/package.json in the tarball must be a file");
        packageJson = await readEntryBytes(body, MAX_PACKAGE_JSON_BYTES, "package/package.json");
      } else if (entry.path === "package/npm-shrinkwrap.json") {
        hasShrinkwrap = true;
      } else if (readme === undefined && entry.type === "file" && /^package\/readme(\.[^/]*)?$/i.test(entry.path)) {
        const text = new TextDecoder().decode(await readEntryBytes(body, MAX_README_BYTES, entry.path, true));
        readme = { filename: entry.path.slice("package/".length), text };
      }
    },
  });
  if (packageJson === undefined) throw new UnprocessableError("the tarball has no package/package.json");
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(packageJson).replace(/^\uFEFF/, ""));
  } catch (error) {
    throw new UnprocessableError(`package/package.json in the tarball is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new UnprocessableError("package/package.json in the tarball must be a JSON object");
  }
  return {
    packageJson: parsed as Record<string, unknown>,
    ...(readme === undefined ? {} : { readme }),
    hasShrinkwrap,
    fileCount: scan.files,
    unpackedSize: scan.unpackedSize,
  };
}
