/**
 * Built-in transform "normalize-archive": turns the archives that macOS and
 * `git archive`-style tools commonly produce into what SwiftPM expects.
 *
 * - drops `__MACOSX/` folders (at any depth) and `.DS_Store` files;
 * - resolves symlinks inside the package: a link to a file becomes a copy of
 *   the file, a link to a directory a copy of the directory (links met while
 *   copying are resolved the same way; a link back into a directory being
 *   copied is skipped); links that leave the package, dangle or loop are dropped;
 * - leaves exactly one top-level directory, wrapping the entries in a
 *   directory named after the package when they sit at the top level or in
 *   several top-level directories.
 *
 * Entries are copied without being decompressed (zip.js `passThrough`), so
 * their data, dates and Unix modes (the executable bit) are kept. An archive
 * that needs none of this is left as it is (`{}`), so its checksum does not
 * change. An archive this transform cannot safely rewrite (not a valid zip,
 * encrypted entries, duplicate names, entries inside a symlink, too many
 * entries) is also left as it is: the registry's validation then names the problem.
 *
 * The archive is spooled to a temporary file and read with random access; the
 * result is written to another temporary file and streamed from there. Both
 * are removed once the result has been read or cancelled, or on failure.
 *
 * Options (all optional):
 * - `maxEntries` (default 100000): the most entries the result may hold;
 * - `maxCopiedBytes` (default 256 MiB): the most uncompressed bytes resolving
 *   symlinks may copy. Crossing either limit refuses the release (422);
 * - `tempDir`: where the temporary files go (default: the system's).
 *
 * @module
 */
import * as zip from "@zip.js/zip.js";
import { resolveLink } from "../src/core/zip_paths.ts";
import { FsFileReader } from "./zip_file_reader.ts";
import type { PluginFactory, PluginLogger, TransformInput, TransformResult } from "./types.ts";

zip.configure({ useWebWorkers: false });

/** Options of the "normalize-archive" plugin. */
export interface NormalizeArchiveOptions {
  maxEntries?: number;
  maxCopiedBytes?: number;
  tempDir?: string;
}

interface Limits {
  maxEntries: number;
  maxCopiedBytes: number;
}

const DEFAULT_MAX_ENTRIES = 100_000;
const DEFAULT_MAX_COPIED_BYTES = 256 * 1024 * 1024;
const MAX_SYMLINK_TARGET_BYTES = 4096;
const TEMP_PREFIX = "normalize-archive-";

const factory: PluginFactory<NormalizeArchiveOptions> = (ctx) => {
  const options = ctx.options ?? {};
  const limits: Limits = {
    maxEntries: positiveInteger(options.maxEntries, "maxEntries", DEFAULT_MAX_ENTRIES),
    maxCopiedBytes: positiveInteger(options.maxCopiedBytes, "maxCopiedBytes", DEFAULT_MAX_COPIED_BYTES),
  };
  if (options.tempDir !== undefined && (typeof options.tempDir !== "string" || options.tempDir === "")) {
    throw new Error(`normalize-archive: option "tempDir" must be a non-empty string`);
  }
  const tempDir = options.tempDir;
  return {
    name: "normalize-archive",
    transforms: [{
      name: "normalize-archive",
      // Swift source archives only: other formats' artifacts pass through untouched.
      transform: async (input) => {
        if (input.format !== "swift") {
          await input.archive.cancel();
          return {};
        }
        return await normalize(input, limits, tempDir, ctx.logger);
      },
    }],
  };
};
export default factory;

function positiveInteger(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    const got = typeof value === "number" ? String(value) : JSON.stringify(value) ?? String(value);
    throw new Error(`normalize-archive: option "${name}" must be a positive integer, got ${got}`);
  }
  return value;
}

/** Refuses the release: resolving the symlinks would make the archive too large. */
class LimitError extends Error {}

async function normalize(
  input: TransformInput,
  limits: Limits,
  tempDir: string | undefined,
  logger: PluginLogger,
): Promise<TransformResult> {
  const label = { package: `${input.package.scope}.${input.package.name}`, version: input.version };
  let sourcePath: string | undefined;
  let outputPath: string | undefined;
  try {
    sourcePath = await Deno.makeTempFile({ dir: tempDir, prefix: TEMP_PREFIX, suffix: ".zip" });
    await spool(input.archive, sourcePath);

    const source = await Deno.open(sourcePath, { read: true });
    const reader = new zip.ZipReader(new FsFileReader(source), { strictness: "strict", filenameValidation: "strict" });
    try {
      const analysis = await analyse(reader, limits);
      if (typeof analysis === "string") {
        logger.debug(`archive left unchanged: ${analysis}`, label);
        return {};
      }
      const plan = planOutput(analysis, input.package.name, limits);
      if (plan === null) {
        logger.debug("archive already normalized", label);
        return {};
      }
      outputPath = await Deno.makeTempFile({ dir: tempDir, prefix: TEMP_PREFIX, suffix: ".zip" });
      await writeOutput(plan.items, outputPath);
      logger.info("archive normalized", { ...label, ...plan.summary });
    } finally {
      await reader.close().catch(() => {});
      source.close();
    }
    const archive = await streamAndRemove(outputPath);
    outputPath = undefined; // now owned by the stream
    return { archive };
  } catch (error) {
    if (error instanceof LimitError) return { reject: error.message, status: 422 };
    throw error;
  } finally {
    // Cancelling a stream already read (or locked by a failed spool) is harmless.
    await input.archive.cancel().catch(() => {});
    if (sourcePath !== undefined) await Deno.remove(sourcePath).catch(() => {});
    if (outputPath !== undefined) await Deno.remove(outputPath).catch(() => {});
  }
}

/** Writes `stream` to the file at `path`. */
async function spool(stream: ReadableStream<Uint8Array>, path: string): Promise<void> {
  const file = await Deno.open(path, { write: true, truncate: true });
  try {
    for await (const chunk of stream) await writeAll(file, chunk);
  } finally {
    file.close();
  }
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.length) written += await file.write(data.subarray(written));
}

// ---------------------------------------------------------------------------
// Analysis: the archive's entries as a small file system.

interface Analysis {
  /** Names of the junk entries dropped. */
  junk: string[];
  /** Kept entries in archive order, by name without trailing slash. */
  kept: Map<string, zip.Entry>;
  files: Map<string, zip.FileEntry>;
  /** Directory entries; `null` for directories only implied by the paths of other entries. */
  dirs: Map<string, zip.DirectoryEntry | null>;
  /** Symlink targets by link name. */
  links: Map<string, string>;
  /** Names directly inside each directory ("" is the archive root), in archive order. */
  children: Map<string, Set<string>>;
}

/** Reads the central directory and the symlink targets; a string says why the archive is left as it is. */
async function analyse(reader: zip.ZipReader<unknown>, limits: Limits): Promise<Analysis | string> {
  let entries: zip.Entry[];
  try {
    entries = await reader.getEntries();
  } catch (error) {
    return `not a readable zip file (${error instanceof Error ? error.message : String(error)})`;
  }
  if (entries.length > limits.maxEntries) return `more than ${limits.maxEntries} entries`;
  const analysis: Analysis = {
    junk: [],
    kept: new Map(),
    files: new Map(),
    dirs: new Map(),
    links: new Map(),
    children: new Map([["", new Set()]]),
  };
  const names = new Set<string>();
  for (const entry of entries) {
    const name = entry.filename.replace(/\/$/, "");
    if (entry.encrypted) return `entry "${name}" is encrypted`;
    if (names.has(name)) return `entry "${name}" appears twice`;
    names.add(name);
    if (isJunk(name, entry)) analysis.junk.push(name);
    else analysis.kept.set(name, entry);
  }
  for (const [name, entry] of analysis.kept) {
    if (entry.symlink) {
      if (entry.directory) return `entry "${name}" is both a directory and a symlink`;
      try {
        analysis.links.set(name, await readLinkTarget(entry));
      } catch (error) {
        return `symlink "${name}" cannot be read (${error instanceof Error ? error.message : String(error)})`;
      }
    } else if (entry.directory) analysis.dirs.set(name, entry);
    else analysis.files.set(name, entry);
  }
  for (const name of analysis.kept.keys()) {
    const segments = name.split("/");
    for (let depth = 1; depth < segments.length; depth++) {
      const parent = segments.slice(0, depth).join("/");
      if (analysis.links.has(parent)) return `entry "${name}" lies inside the symlink "${parent}"`;
      if (!analysis.dirs.has(parent)) analysis.dirs.set(parent, null);
    }
    addChild(analysis.children, name);
  }
  return analysis;
}

function addChild(children: Map<string, Set<string>>, name: string): void {
  const slash = name.lastIndexOf("/");
  const parent = slash < 0 ? "" : name.slice(0, slash);
  const siblings = children.get(parent);
  if (siblings === undefined) {
    addChild(children, parent);
    children.set(parent, new Set([name]));
  } else siblings.add(name);
}

/** `__MACOSX/` anywhere, and `.DS_Store` files. */
function isJunk(name: string, entry: zip.Entry): boolean {
  const segments = name.split("/");
  return segments.includes("__MACOSX") || (!entry.directory && segments[segments.length - 1] === ".DS_Store");
}

/** The link's target, or "" (an invalid target, dropped like an absolute one) when it is too long. */
async function readLinkTarget(entry: zip.Entry): Promise<string> {
  if (entry.directory || entry.uncompressedSize > MAX_SYMLINK_TARGET_BYTES) return "";
  const bytes = await entry.getData(new zip.Uint8ArrayWriter(), { checkSignature: true });
  return new TextDecoder().decode(bytes);
}

// ---------------------------------------------------------------------------
// Planning: which entries the result holds, under which names.

type OutputItem =
  /** A copy of `entry` (file or directory) named `name`. */
  | { name: string; entry: zip.Entry }
  /** A directory with no entry of its own in the source, dated `lastModDate`. */
  | { name: string; entry: null; lastModDate: Date };

interface Plan {
  items: OutputItem[];
  summary: { droppedJunk: number; resolvedLinks: number; droppedLinks: number; wrappedIn: string | null };
}

/** The result's entries, or `null` when the archive needs no change (or nothing would be left). */
function planOutput(analysis: Analysis, packageName: string, limits: Limits): Plan | null {
  if (analysis.kept.size === 0) return null;
  let top = singleTopDirectory([...analysis.kept].map(([name, entry]) => ({ name, directory: entry.directory })));
  let resolved = resolveAll(analysis, top ?? "", limits);
  if (top === null) {
    // Only dropped links may have sat outside one top directory: then keep it rather than wrap it.
    const survivor = singleTopDirectory(resolved.items.map((item) => ({ name: item.name, directory: isDir(item) })));
    if (survivor !== null) {
      top = survivor;
      resolved = resolveAll(analysis, top, limits);
    }
  }
  if (resolved.items.length === 0) return null;
  const wrap = top === null;
  if (!wrap && analysis.junk.length === 0 && analysis.links.size === 0) return null;

  let items = resolved.items;
  if (wrap) {
    let newest = 0;
    for (const entry of analysis.kept.values()) newest = Math.max(newest, entry.lastModDate.getTime());
    items = [
      { name: packageName, entry: null, lastModDate: new Date(newest) },
      ...items.map((item) => ({ ...item, name: `${packageName}/${item.name}` })),
    ];
    if (items.length > limits.maxEntries) {
      throw new LimitError(`normalized source archive would have more than ${limits.maxEntries} entries`);
    }
  }
  return {
    items,
    summary: {
      droppedJunk: analysis.junk.length,
      resolvedLinks: resolved.resolvedLinks,
      droppedLinks: analysis.links.size - resolved.resolvedLinks,
      wrappedIn: wrap ? packageName : null,
    },
  };
}

function isDir(item: OutputItem): boolean {
  return item.entry === null || item.entry.directory;
}

/** The one top-level directory every entry lies in, or `null`. */
function singleTopDirectory(entries: { name: string; directory: boolean }[]): string | null {
  let top: string | null = null;
  for (const { name, directory } of entries) {
    const segments = name.split("/");
    if (segments.length === 1 && !directory) return null;
    if (top === null) top = segments[0];
    else if (segments[0] !== top) return null;
  }
  return top;
}

/**
 * The entries with every symlink replaced by what it points to inside `root`
 * (a top-level directory, or "" for the whole archive), or dropped.
 */
function resolveAll(
  analysis: Analysis,
  root: string,
  limits: Limits,
): { items: OutputItem[]; resolvedLinks: number } {
  const items: OutputItem[] = [];
  // Names of the archive's own entries: a copy never replaces one of them.
  const taken = new Set([...analysis.kept].filter(([, entry]) => !entry.symlink).map(([name]) => name));
  let copiedBytes = 0;
  let resolvedLinks = 0;

  const push = (item: OutputItem) => {
    if (items.length >= limits.maxEntries) {
      throw new LimitError(
        `resolving the symlinks of the source archive would make more than ${limits.maxEntries} entries`,
      );
    }
    items.push(item);
  };
  const copyFile = (name: string, entry: zip.FileEntry) => {
    if (taken.has(name)) return;
    taken.add(name);
    copiedBytes += entry.uncompressedSize;
    if (copiedBytes > limits.maxCopiedBytes) {
      throw new LimitError(
        `resolving the symlinks of the source archive would copy more than ${limits.maxCopiedBytes} bytes`,
      );
    }
    push({ name, entry });
  };
  /** Copies the directory `source` as `name`; `expanding` are the source directories being copied. */
  const copyDir = (name: string, source: string, expanding: string[], fallbackDate: Date) => {
    if (!taken.has(name)) {
      taken.add(name);
      const entry = analysis.dirs.get(source) ?? null;
      push(entry === null ? { name, entry: null, lastModDate: fallbackDate } : { name, entry });
    }
    for (const child of analysis.children.get(source) ?? []) {
      const childName = `${name}/${child.slice(source.length + 1)}`;
      const file = analysis.files.get(child);
      if (file !== undefined) copyFile(childName, file);
      else if (analysis.links.has(child)) copyLink(childName, child, expanding);
      else if (analysis.dirs.has(child)) copyDir(childName, child, [...expanding, child], fallbackDate);
    }
  };
  /** Replaces the link `link` by what it points to, named `name`; `false` when it is dropped. */
  const copyLink = (name: string, link: string, expanding: string[]): boolean => {
    const target = resolveLink(link, analysis.links.get(link)!, analysis.links, root);
    if (target === null) return false;
    const file = analysis.files.get(target);
    if (file !== undefined) {
      copyFile(name, file);
      return true;
    }
    if (!analysis.dirs.has(target)) return false; // dangling
    // A directory containing the link, or one being copied, would contain itself: a loop.
    if ([link, ...expanding].some((path) => path === target || path.startsWith(`${target}/`))) return false;
    copyDir(name, target, [...expanding, target], analysis.kept.get(link)?.lastModDate ?? new Date(0));
    return true;
  };

  for (const [name, entry] of analysis.kept) {
    if (!entry.symlink) push({ name, entry });
    else if (copyLink(name, name, [])) resolvedLinks++;
  }
  return { items, resolvedLinks };
}

// ---------------------------------------------------------------------------
// Writing the result.

async function writeOutput(items: OutputItem[], path: string): Promise<void> {
  const file = await Deno.open(path, { write: true, truncate: true });
  try {
    // The file is closed here, not by zip.js, so it is closed on every path.
    const sink = new WritableStream<Uint8Array>({ write: (chunk) => writeAll(file, chunk) });
    const writer = new zip.ZipWriter(sink);
    for (const item of items) {
      if (item.entry === null) {
        await writer.add(`${item.name}/`, null, { directory: true, lastModDate: item.lastModDate });
      } else if (item.entry.directory) {
        await writer.add(`${item.name}/`, null, { entry: item.entry });
      } else {
        await copyEntry(writer, item.name, item.entry);
      }
    }
    await writer.close();
  } finally {
    file.close();
  }
}

/** Copies the still-compressed data and the metadata (dates, mode, extra fields) of `entry` as `name`. */
async function copyEntry(writer: zip.ZipWriter<unknown>, name: string, entry: zip.FileEntry): Promise<void> {
  let pipe!: TransformStreamDefaultController<Uint8Array>;
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>({ start: (c) => void (pipe = c) });
  const abort = new AbortController();
  const reading = entry.getData(writable, { passThrough: true, signal: abort.signal });
  // A data descriptor lets the entry be streamed without knowing its size first.
  const writing = writer.add(name, readable, { entry, passThrough: true, dataDescriptor: true });
  // Neither side notices the other failing on its own: fail the pipe so both settle.
  reading.catch((error) => pipe.error(error));
  writing.catch((error) => {
    abort.abort(error);
    pipe.error(error);
  });
  const [read, written] = await Promise.allSettled([reading, writing]);
  if (read.status === "rejected") throw read.reason;
  if (written.status === "rejected") throw written.reason;
}

/**
 * A stream of the file at `path` that removes the file once read, cancelled or
 * failed. On POSIX systems the file is unlinked right away: the open handle
 * keeps its data until the stream is done.
 */
async function streamAndRemove(path: string): Promise<ReadableStream<Uint8Array>> {
  let file: Deno.FsFile | undefined;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    await Deno.remove(path).catch(() => {});
    throw error;
  }
  let removed = false;
  if (Deno.build.os !== "windows") {
    removed = await Deno.remove(path).then(() => true, () => false);
  }
  const finish = async () => {
    file?.close();
    file = undefined;
    if (!removed) {
      removed = true;
      await Deno.remove(path).catch(() => {});
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (file === undefined) return;
      try {
        const buffer = new Uint8Array(64 * 1024);
        const count = await file.read(buffer);
        if (count === null) {
          await finish();
          controller.close();
        } else {
          controller.enqueue(buffer.subarray(0, count));
        }
      } catch (error) {
        await finish();
        controller.error(error);
      }
    },
    cancel: finish,
  }, { highWaterMark: 0 });
}
