/**
 * Scratch directories private to one process, so several processes (the
 * server, `main.ts token` and `main.ts sync`) can share a data directory.
 *
 * A process claims `<parent>/<pid>-<random>/` and holds an exclusive lock on
 * `<parent>/<pid>-<random>.lock` for as long as it uses it; the operating
 * system drops the lock when the process exits, however it exits. Claiming
 * also sweeps the parent: a directory whose lock can be taken belongs to a
 * process that is gone and is removed; a live owner's is never touched.
 * Entries that belong to no lock (left by an older version, or by a crash
 * between creating a lock and its directory) are removed once they are an
 * hour old.
 *
 * @module
 */
import { join } from "node:path";

/** Entries that belong to no lock are removed once they are this old. */
const ORPHAN_AGE_MS = 60 * 60 * 1000;
const LOCK_SUFFIX = ".lock";
const PENDING_SUFFIX = ".pending";

/** A claimed scratch directory. Call {@link release} when done with it. */
export class ScratchDir {
  /** The directory: empty when claimed, used by this process only. */
  readonly path: string;
  readonly #lockPath: string;
  #lock: Deno.FsFile | null;

  private constructor(path: string, lockPath: string, lock: Deno.FsFile) {
    this.path = path;
    this.#lockPath = lockPath;
    this.#lock = lock;
  }

  /**
   * Claims a fresh directory under `parent` (created if needed), after
   * removing the directories of processes that have exited.
   */
  static async claim(parent: string, clock: () => number = Date.now): Promise<ScratchDir> {
    await Deno.mkdir(parent, { recursive: true });
    await sweep(parent, clock());
    const name = `${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
    const lockPath = join(parent, name + LOCK_SUFFIX);
    // Locked before it gets the name a sweep looks for, so no sweep can take it first.
    const pending = join(parent, name + PENDING_SUFFIX);
    const lock = await Deno.open(pending, { write: true, createNew: true });
    try {
      if (!(await lock.tryLock(true))) throw new Error(`cannot lock ${pending}`);
      await Deno.rename(pending, lockPath);
      await Deno.mkdir(join(parent, name));
    } catch (error) {
      lock.close();
      await Deno.remove(pending).catch(() => {});
      await Deno.remove(lockPath).catch(() => {});
      throw error;
    }
    return new ScratchDir(join(parent, name), lockPath, lock);
  }

  /**
   * Removes the directory and everything in it, and gives up the claim
   * (idempotent). Removal is best effort: what is left is swept by a later claim.
   */
  async release(): Promise<void> {
    const lock = this.#lock;
    if (lock === null) return;
    this.#lock = null;
    await Deno.remove(this.path, { recursive: true }).catch(() => {});
    await Deno.remove(this.#lockPath).catch(() => {});
    lock.close();
  }
}

/** Removes what exited processes left under `parent` (see the module doc). */
async function sweep(parent: string, now: number): Promise<void> {
  const names = new Set<string>();
  for await (const entry of Deno.readDir(parent)) names.add(entry.name);
  for (const name of names) {
    // Best effort: what cannot be removed now is tried again at the next claim.
    if (name.endsWith(LOCK_SUFFIX)) {
      await removeIfAbandoned(parent, name.slice(0, -LOCK_SUFFIX.length)).catch(() => {});
    } else if (!names.has(name + LOCK_SUFFIX)) {
      await removeIfOld(join(parent, name), now).catch(() => {});
    }
  }
}

/** Removes scratch directory `name` and its lock when no live process holds the lock. */
async function removeIfAbandoned(parent: string, name: string): Promise<void> {
  let lock: Deno.FsFile;
  try {
    lock = await Deno.open(join(parent, name + LOCK_SUFFIX), { write: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return; // released meanwhile
    throw error;
  }
  try {
    if (!(await lock.tryLock(true))) return; // its owner is alive
    await Deno.remove(join(parent, name), { recursive: true }).catch(ignoreNotFound);
    await Deno.remove(join(parent, name + LOCK_SUFFIX)).catch(ignoreNotFound);
  } finally {
    lock.close();
  }
}

/** Removes an entry that belongs to no lock once it has not changed for {@link ORPHAN_AGE_MS}. */
async function removeIfOld(path: string, now: number): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch {
    return;
  }
  if (info.mtime !== null && now - info.mtime.getTime() < ORPHAN_AGE_MS) return;
  await Deno.remove(path, { recursive: true }).catch(ignoreNotFound);
}

function ignoreNotFound(error: unknown): void {
  if (!(error instanceof Deno.errors.NotFound)) throw error;
}
