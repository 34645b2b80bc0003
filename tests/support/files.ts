/**
 * File-system helpers for tests.
 *
 * @module
 */

/** Every regular file under `dir`, recursively. */
export async function* walk(dir: string): AsyncIterable<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* walk(path);
    else if (entry.isFile) yield path;
  }
}
