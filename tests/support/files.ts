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
 * open for reading only: the file offsets the kernel reports. Linux only; read
 * by a shell, since Deno asks for every permission to read `/proc`.
 */
export async function readingOffsets(dir: string): Promise<number[]> {
  const script = `for fd in /proc/$1/fd/*; do
    case "$(readlink "$fd")" in "$2"/*) tr '\\n' ' ' < "/proc/$1/fdinfo/\${fd##*/}" && echo ;; esac
  done 2>/dev/null; true`;
  const { stdout } = await new Deno.Command("sh", { args: ["-c", script, "sh", String(Deno.pid), dir] }).output();
  const offsets: number[] = [];
  for (const line of new TextDecoder().decode(stdout).split("\n")) {
    const pos = /\bpos:\s+(\d+)/.exec(line)?.[1];
    const flags = /\bflags:\s+(\d+)/.exec(line)?.[1];
    if (pos !== undefined && flags !== undefined && (parseInt(flags, 8) & 3) === 0) offsets.push(Number(pos)); // O_RDONLY
  }
  return offsets;
}
