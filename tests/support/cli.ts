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

/** How `main.ts` is run: `unstableNet: false` leaves out the flag that lets several workers share a port. */
export interface MainOptions {
  unstableNet?: boolean;
}

/** A `main.ts` command, ready to `output()` or `spawn()`. */
export function mainCommand(
  args: string[],
  env: Record<string, string> = {},
  { unstableNet = true }: MainOptions = {},
): Deno.Command {
  const runArgs = unstableNet ? MAIN_RUN_ARGS : MAIN_RUN_ARGS.filter((arg) => arg !== "--unstable-net");
  return new Deno.Command(Deno.execPath(), {
    args: [...runArgs, ...args],
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
  options: MainOptions = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await mainCommand(args, env, options).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}
