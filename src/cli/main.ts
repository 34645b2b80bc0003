/**
 * The command line: `serve` (default) and `help`. Exit codes: 0 success,
 * 1 runtime failure, 2 bad usage or configuration.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ConfigError, loadConfig, SETTINGS } from "../config.ts";
import { startServer } from "../http/server.ts";
import { createJsonLogger } from "../log.ts";
import { VERSION } from "../version.ts";

/** The `--help` text: commands, flags and every setting. */
export function helpText(): string {
  const width = Math.max(...SETTINGS.map((s) => s.env.length));
  const settings = SETTINGS.map((s) =>
    `  ${s.env.padEnd(width)}  ${s.flag ? `${s.flag}, ` : ""}${s.description} [default: ${s.default}]`
  );
  return [
    `swift-registry ${VERSION}: a Swift Package Registry (SE-0292) in one binary`,
    "",
    "Usage: registry [command] [flags]",
    "",
    "Commands:",
    "  serve   start the registry (the default)",
    "  help    show this help",
    "",
    "Flags (win over the environment):",
    "  --host <addr>      interface to listen on",
    "  --port <n>         TCP port",
    "  --data-dir <path>  data directory",
    "  -h, --help         show this help",
    "  --version          print the version",
    "",
    "Settings (environment):",
    ...settings,
    "",
    "Point SwiftPM at it: swift package-registry set --allow-insecure-http http://127.0.0.1:8080/swift",
  ].join("\n");
}

/** Runs the CLI with `args`; resolves to the process exit code (the server keeps running until a signal). */
export async function runCli(args: string[], env: Record<string, string | undefined>): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        host: { type: "string" },
        port: { type: "string" },
        "data-dir": { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
      },
    });
  } catch (error) {
    console.error(`error: ${(error as Error).message} (see --help)`);
    return 2;
  }
  const { values, positionals } = parsed;
  const command = positionals[0] ?? "serve";
  if (values.help || command === "help") {
    console.log(helpText());
    return 0;
  }
  if (values.version) {
    console.log(VERSION);
    return 0;
  }
  if (command !== "serve" || positionals.length > 1) {
    console.error(`error: unknown command "${positionals.join(" ")}" (see --help)`);
    return 2;
  }

  let logger;
  let server;
  try {
    const config = await loadConfig({ host: values.host, port: values.port, dataDir: values["data-dir"] }, env);
    logger = createJsonLogger(config.logLevel);
    server = await startServer(config, logger);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`error: ${error.message}`);
      return 2;
    }
    console.error(`error: could not start: ${(error as Error).message}`);
    return 1;
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
  });
  logger.log("info", "shutting down");
  await server.shutdown();
  return 0;
}
