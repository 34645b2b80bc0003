/**
 * The `filesystem` source: mirrors packages from a local directory tree, for
 * air-gapped sites and tests. Layout (one entry per release):
 *
 * ```
 * <root>/<scope>/<name>/<version>.zip   a source archive (one top-level directory)
 * <root>/<scope>/<name>/<version>/      the package's files (Package.swift at its root)
 * ```
 *
 * Version folders are zipped under a top-level directory named after the
 * package. Everything is published through `ctx.registry`, the contract
 * plugin sources use (the ingestion transforms, validation and exactly-once
 * commit); a release, once stored, is never re-read. Entries that fail are
 * remembered with their modification time and retried only when they change.
 * `watch()` runs a pass shortly after anything under the root changes.
 *
 * @module
 */
import * as zip from "@zip.js/zip.js";
import { join, relative } from "node:path";
import type { PackageName, PluginStorage, RegistryApi } from "../../plugins/types.ts";
import { normalizeVersion } from "../formats/swift/version.ts";
import type { Logger } from "../log.ts";

zip.configure({ useWebWorkers: false });

/** What a filesystem pass did. */
export interface FilesystemSummary {
  newVersions: number;
  failed: number;
}

interface FilesystemState {
  /** Entries that failed, by path, with the modification time they had then. */
  failed: Record<string, { mtime: number; reason: string }>;
}

/** Options of a {@link FilesystemSource}. */
export interface FilesystemSourceOptions {
  root: string;
  /** The registry, as every ingestion source sees it. */
  registry: RegistryApi;
  /** The source's own state. */
  storage: PluginStorage;
  /** Where version folders are zipped. */
  scratchDir: string;
  logger: Logger;
}

interface Entry {
  pkg: PackageName;
  version: string;
  path: string;
  mtime: number;
  isDirectory: boolean;
}

/** Mirrors a directory tree of releases into the registry, through the same contract as plugin sources. */
export class FilesystemSource {
  readonly #options: FilesystemSourceOptions;

  constructor(options: FilesystemSourceOptions) {
    this.#options = options;
  }

  /** Entries that failed (paths relative to the root) with their reasons, until they change. */
  async failures(): Promise<Record<string, string>> {
    const state = await this.#options.storage.read<FilesystemState>("state.json");
    return Object.fromEntries(
      Object.entries(state?.failed ?? {}).map(([path, { reason }]) => [relative(this.#options.root, path), reason]),
    );
  }

  /** One pass over the tree. */
  async sync(signal?: AbortSignal): Promise<FilesystemSummary> {
    const { registry, logger, storage } = this.#options;
    const summary: FilesystemSummary = { newVersions: 0, failed: 0 };
    const state = (await storage.read<FilesystemState>("state.json")) ?? { failed: {} };
    const failed = { ...state.failed };
    for await (const entry of this.#entries()) {
      if (signal?.aborted) break;
      const { pkg, version, path, mtime } = entry;
      if ((await registry.versions(pkg))?.[version] !== undefined) continue;
      if (failed[path]?.mtime === mtime) continue;
      try {
        const outcome = await registry.publish({ package: pkg, version, archive: await this.#archive(entry) });
        if (outcome.status === "refused") {
          failed[path] = { mtime, reason: outcome.reason };
          summary.failed++;
          logger.log("warn", "filesystem release refused", { path, reason: outcome.reason });
          continue;
        }
        delete failed[path];
        if (outcome.status === "published") {
          summary.newVersions++;
          logger.log("info", "version ingested", {
            source: "filesystem",
            package: `${pkg.scope}.${pkg.name}`,
            version,
          });
        }
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        failed[path] = { mtime, reason };
        summary.failed++;
        logger.log("error", "filesystem release refused", { path, reason });
      }
    }
    await storage.update<FilesystemState>("state.json", () => ({ failed }));
    return summary;
  }

  /**
   * Runs `onChange` (debounced by `debounceMs`) whenever something under the
   * root changes, until `signal` aborts.
   */
  async watch(onChange: () => void, signal: AbortSignal, debounceMs = 500): Promise<void> {
    const watcher = Deno.watchFs(this.#options.root, { recursive: true });
    const close = () => watcher.close();
    signal.addEventListener("abort", close, { once: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      for await (const _event of watcher) {
        clearTimeout(timer);
        timer = setTimeout(onChange, debounceMs);
      }
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", close);
    }
  }

  async *#entries(): AsyncIterable<Entry> {
    const root = this.#options.root;
    for (const scope of await listDir(root)) {
      if (!scope.isDirectory) continue;
      for (const name of await listDir(join(root, scope.name))) {
        if (!name.isDirectory) continue;
        const pkg = { format: "swift", scope: scope.name, name: name.name };
        for (const item of await listDir(join(root, scope.name, name.name))) {
          const raw = item.isFile && item.name.endsWith(".zip")
            ? item.name.slice(0, -4)
            : item.isDirectory
            ? item.name
            : null;
          const version = raw === null ? null : normalizeVersion(raw);
          if (version === null) continue;
          const path = join(root, scope.name, name.name, item.name);
          const mtime = await newestModification(path);
          yield { pkg, version, path, mtime, isDirectory: item.isDirectory };
        }
      }
    }
  }

  /** The entry as a source archive: the zip itself, or the folder zipped under a directory named after the package. */
  async #archive(entry: Entry): Promise<ReadableStream<Uint8Array>> {
    if (entry.isDirectory) return await zipDirectory(entry.path, entry.pkg.name, this.#options.scratchDir);
    return (await Deno.open(entry.path, { read: true })).readable;
  }
}

/** The newest modification time of a file, or of anything inside a folder (a fix deep inside counts). */
async function newestModification(path: string): Promise<number> {
  const info = await Deno.lstat(path);
  let newest = info.mtime?.getTime() ?? 0;
  if (info.isDirectory) {
    for await (const file of walk(path)) newest = Math.max(newest, (await Deno.lstat(file.path)).mtime?.getTime() ?? 0);
  }
  return newest;
}

async function listDir(path: string): Promise<Deno.DirEntry[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(path))).sort((a, b) => a.name.localeCompare(b.name));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

/** Zips a directory under one top-level folder `top`, streaming each file from disk. */
async function zipDirectory(dir: string, top: string, scratchDir: string): Promise<ReadableStream<Uint8Array>> {
  const path = join(scratchDir, `${crypto.randomUUID()}.zip`);
  const out = await Deno.open(path, { write: true, createNew: true });
  const writer = new zip.ZipWriter(out.writable);
  try {
    await writer.add(`${top}/`, undefined, { directory: true });
    for await (const file of walk(dir)) {
      const name = `${top}/${relative(dir, file.path).split("\\").join("/")}`;
      if (file.isSymlink) {
        await writer.add(name, new zip.TextReader(await Deno.readLink(file.path)), { unixMode: 0o120777 });
      } else {
        const source = await Deno.open(file.path, { read: true });
        await writer.add(name, source.readable);
      }
    }
    await writer.close();
  } catch (error) {
    await Deno.remove(path).catch(() => {});
    throw error;
  }
  const zipped = await Deno.open(path, { read: true });
  await Deno.remove(path); // the open handle keeps the bytes until the stream is read
  return zipped.readable;
}

async function* walk(dir: string): AsyncIterable<{ path: string; isSymlink: boolean }> {
  for (const entry of await listDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isSymlink) yield { path, isSymlink: true };
    else if (entry.isDirectory) yield* walk(path);
    else if (entry.isFile) yield { path, isSymlink: false };
  }
}
