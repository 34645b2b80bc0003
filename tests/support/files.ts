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
