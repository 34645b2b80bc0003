/**
 * File-system helpers for tests.
 *
 * @module
 */

/**
 * Scratch files under `<dataDir>/tmp` (every process's, recursively), not
 * counting the lock files that mark live scratch directories.
 */
export async function scratchFiles(dataDir: string): Promise<string[]> {
  const files: string[] = [];
  try {
    for await (const path of walk(`${dataDir}/tmp`)) if (!path.endsWith(".lock")) files.push(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return files;
}

/** Every regular file under `dir`, recursively. */
export async function* walk(dir: string): AsyncIterable<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* walk(path);
    else if (entry.isFile) yield path;
  }
}

/**
 * Where this process stands in each file under `dir` (a real path) it has
 * open for reading only: the file offsets the kernel reports. Linux only.
 * Read in-process with synchronous calls (Deno allows `/proc` with
 * `--allow-all`): a few microseconds per look, where a shell took tens of
 * milliseconds on a loaded machine and looked too late.
 */
export function readingOffsets(dir: string): number[] {
  const offsets: number[] = [];
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    let target: string;
    let info: string;
    try {
      target = Deno.readLinkSync(`/proc/self/fd/${entry.name}`);
      if (!target.startsWith(`${dir}/`)) continue;
      info = Deno.readTextFileSync(`/proc/self/fdinfo/${entry.name}`);
    } catch {
      continue; // closed meanwhile
    }
    const pos = /\bpos:\s+(\d+)/.exec(info)?.[1];
    const flags = /\bflags:\s+(\d+)/.exec(info)?.[1];
    if (pos !== undefined && flags !== undefined && (parseInt(flags, 8) & 3) === 0) offsets.push(Number(pos)); // O_RDONLY
  }
  return offsets;
}
