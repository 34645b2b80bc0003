/**
 * Runs `main.ts` as a separate process with exactly the permissions the
 * `start` task grants, and a clean environment.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

/** The repository root (with a trailing slash). */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/?$/, "/");

/** `deno` arguments that run `main.ts` as the `start` task does. */
export const MAIN_RUN_ARGS: readonly string[] = [
  "run",
  "--quiet",
  "--unstable-net",
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
  "--allow-run=prlimit",
  `${ROOT}main.ts`,
];

/** A `main.ts` command, ready to `output()` or `spawn()`. */
export function mainCommand(args: string[], env: Record<string, string> = {}): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [...MAIN_RUN_ARGS, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** Runs `main.ts` to completion: its exit code and output. */
export async function runMain(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await mainCommand(args, env).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}
