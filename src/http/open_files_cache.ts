/**
 * Artifact files held open for the hot path, as nginx's `open_file_cache`
 * does: opening a file costs Deno a path check and several system calls
 * (about 4 µs, as much as the rest of a hot read), reading an open one
 * with a seek costs under 1 µs. A file is held for at most `validMs` (one
 * second by default), so a file removed or replaced is opened anew soon
 * after; at most `max` are held, the least recently used closed first, and
 * never while a response is still reading it.
 *
 * @module
 */
import { closeQuietly } from "../util/io.ts";
import { RecencyMap } from "../util/recency_map.ts";

/** An open file lent out by an {@link OpenFilesCache}: read it, then give it back. */
export interface OpenFile {
  /** Bytes of the file when it was opened. */
  readonly size: number;
  /** Reads into `into` from `position`: the bytes read, 0 at the end. */
  readAt(into: Uint8Array, position: number): number;
  /** Bytes of the file now (it may have changed since it was opened). */
  sizeNow(): number;
  /** Gives the file back (once); `stale`: it is not what it was (e.g. shorter), open it anew next time. */
  release(stale?: boolean): void;
}

interface Entry {
  path: string;
  file: Deno.FsFile;
  size: number;
  openedAt: number;
  /** Responses reading it now. */
  users: number;
  /** No longer lent out; closed once its last user gives it back. */
  retired: boolean;
}

/** Open files by path (see the module doc). */
export class OpenFilesCache {
  /** By path; the least recently used is retired first. */
  readonly #entries = new RecencyMap<string, Entry>();
  readonly #max: number;
  readonly #validMs: number;
  readonly #clock: () => number;

  constructor(options: { max?: number; validMs?: number; clock?: () => number } = {}) {
    this.#max = options.max ?? 256;
    this.#validMs = options.validMs ?? 1000;
    this.#clock = options.clock ?? (() => performance.now());
  }

  /** Files held open now. */
  get size(): number {
    return this.#entries.size;
  }

  /** The file at `path` when it is there and `size` bytes long, lent out until released; else `undefined`. */
  acquire(path: string, size: number): OpenFile | undefined {
    const now = this.#clock();
    let entry = this.#entries.use(path);
    if (entry !== undefined && now - entry.openedAt > this.#validMs) {
      this.#retire(entry);
      entry = undefined;
    }
    if (entry === undefined) {
      entry = this.#open(path, now);
      if (entry === undefined) return undefined;
    }
    if (entry.size !== size) {
      this.#retire(entry);
      return undefined;
    }
    entry.users++;
    const lent = entry;
    let released = false;
    return {
      size: lent.size,
      readAt: (into, position) => {
        lent.file.seekSync(position, Deno.SeekMode.Start);
        return lent.file.readSync(into) ?? 0;
      },
      sizeNow: () => lent.file.statSync().size,
      release: (stale = false) => {
        if (released) return;
        released = true;
        lent.users--;
        if (stale) this.#retire(lent);
        else if (lent.retired && lent.users === 0) closeQuietly(lent.file);
      },
    };
  }

  /** Closes every file not in use, and the others once they are given back. */
  clear(): void {
    for (const [, entry] of [...this.#entries]) this.#retire(entry);
  }

  #open(path: string, now: number): Entry | undefined {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, { read: true });
    } catch {
      return undefined;
    }
    let size: number;
    try {
      size = file.statSync().size;
    } catch {
      closeQuietly(file);
      return undefined;
    }
    if (this.#entries.size >= this.#max) {
      for (const [, oldest] of this.#entries.evictionOrder()) {
        this.#retire(oldest);
        break;
      }
    }
    const entry: Entry = { path, file, size, openedAt: now, users: 0, retired: false };
    this.#entries.set(path, entry);
    return entry;
  }

  #retire(entry: Entry): void {
    if (this.#entries.get(entry.path) === entry) this.#entries.delete(entry.path);
    entry.retired = true;
    if (entry.users === 0) closeQuietly(entry.file);
  }
}
