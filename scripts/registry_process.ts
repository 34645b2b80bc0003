/**
 * The registry as its own process, for the benchmarks: started with
 * `deno run -A main.ts`, ready once it logs "registry listening", its log
 * drained for as long as it runs.
 *
 * @module
 */

/** A running registry process. */
export interface RegistryProcess {
  url: string;
  pid: number;
  /** Its resident memory now, in bytes (from `/proc`). */
  rss(): number;
  /** Stops it (SIGTERM) and waits until it has exited. */
  stop(): Promise<void>;
}

/**
 * Starts `main` with `args` (after `run -A`, e.g. `--unstable-net`, then
 * `main`, then `--port 0` and `serverArgs`) and `env`; resolves once it listens.
 *
 * @throws {Error} when it exits before listening.
 */
export async function startRegistryProcess(options: {
  main: string;
  serverArgs: string[];
  env: Record<string, string>;
  denoFlags?: string[];
}): Promise<RegistryProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...options.denoFlags ?? [], options.main, "--port", "0", ...options.serverArgs],
    env: options.env,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let url: string | undefined;
  for (let buffered = ""; url === undefined;) {
    const { value, done } = await lines.read();
    if (done) throw new Error("the registry exited before listening");
    buffered += value;
    const line = buffered.split("\n").find((l) => l.includes('"registry listening"'));
    if (line) url = JSON.parse(line).url;
  }
  // The log goes on being written (and read here): logging is part of what is measured.
  const drain = (async () => {
    while (!(await lines.read()).done) { /* discard */ }
  })();
  return {
    url: url!,
    pid: child.pid,
    rss: () => Number(/VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${child.pid}/status`))![1]) * 1024,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await drain;
    },
  };
}
