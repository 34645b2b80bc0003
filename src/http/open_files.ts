/**
 * The open-files limit (RLIMIT_NOFILE) of this process, read and its soft
 * value raised to the hard one at start-up with util-linux's `prlimit` (Deno
 * has no setrlimit). Every connection is a
 * file descriptor, so this limit bounds how many clients can be served.
 * Fails soft: where `prlimit` is missing or not permitted, the
 * limit stays as it is and the reason is returned for logging.
 *
 * @module
 */

/** Soft and hard open-files limits (Infinity for "unlimited"). */
export interface OpenFilesLimit {
  soft: number;
  hard: number;
}

/** The outcome of {@link raiseOpenFilesLimit}. */
export interface RaiseOutcome {
  /** The limit now in force, when it could be read. */
  limit?: OpenFilesLimit;
  /** The soft limit before, when it was raised. */
  raisedFrom?: number;
  /** Why the limit could not be read or raised. */
  problem?: string;
}

/**
 * Raises the soft open-files limit to the hard limit when it is lower. `deno
 * run` does this itself before any code runs; a compiled binary does not. Both
 * reading and raising go through `prlimit --pid <this process>`
 * (`--allow-run=prlimit`): Deno lets only `--allow-all` read `/proc/self`.
 */
export async function raiseOpenFilesLimit(): Promise<RaiseOutcome> {
  let before: OpenFilesLimit;
  try {
    before = parseLimit(await prlimit("--output=SOFT,HARD", "--noheadings", "--raw"));
  } catch (error) {
    return { problem: (error as Error).message };
  }
  if (before.soft >= before.hard) return { limit: before };
  try {
    await prlimit(`--nofile=${before.hard === Infinity ? "unlimited" : before.hard}:`);
    const after = parseLimit(await prlimit("--output=SOFT,HARD", "--noheadings", "--raw"));
    return after.soft > before.soft ? { limit: after, raisedFrom: before.soft } : { limit: after };
  } catch (error) {
    return { limit: before, problem: (error as Error).message };
  }
}

async function prlimit(...args: string[]): Promise<string> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("prlimit", {
      args: [`--pid=${Deno.pid}`, "--nofile", ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    throw new Error(`prlimit cannot be run: ${(error as Error).message}`);
  }
  if (!output.success) throw new Error(`prlimit failed: ${new TextDecoder().decode(output.stderr).trim()}`);
  return new TextDecoder().decode(output.stdout);
}

function parseLimit(text: string): OpenFilesLimit {
  const match = /^\s*(\S+)\s+(\S+)\s*$/.exec(text);
  const value = (raw: string) => raw === "unlimited" || raw === "-1" ? Infinity : Number(raw);
  if (match === null || Number.isNaN(value(match[1])) || Number.isNaN(value(match[2]))) {
    throw new Error(`prlimit printed an unexpected limit: ${JSON.stringify(text.slice(0, 80))}`);
  }
  return { soft: value(match[1]), hard: value(match[2]) };
}

/**
 * The default bound on open connections for an open-files soft limit: three
 * quarters of it, at most 16384; 768 when the limit is unknown (3/4 of the
 * common default of 1024).
 */
export function defaultMaxConnections(limit: OpenFilesLimit | undefined): number {
  if (limit === undefined) return 768;
  if (limit.soft === Infinity) return 16384;
  return Math.max(16, Math.min(16384, Math.floor(limit.soft * 0.75)));
}
