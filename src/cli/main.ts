/**
 * The command line: `serve` (default) and `help`. Exit codes: 0 success,
 * 1 runtime failure, 2 bad usage or configuration.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ConfigError, loadConfig, SETTINGS } from "../config.ts";
import { type RunningServer, startServer } from "../http/server.ts";
import { createJsonLogger, type Logger } from "../log.ts";
import { VERSION } from "../version.ts";
import { MODERATION_COMMANDS, runModeration } from "./moderate.ts";
import { runPluginCheck } from "./plugin_check.ts";
import { runPypiCommand } from "./pypi.ts";
import { runSync } from "./sync.ts";
import { runTokenCommand } from "./tokens.ts";

/** The `--help` text: commands, flags and every setting. */
export function helpText(): string {
  const width = Math.max(...SETTINGS.map((s) => s.env.length));
  const settings = SETTINGS.map((s) =>
    `  ${s.env.padEnd(width)}  ${s.flag ? `${s.flag}, ` : ""}${s.description} [default: ${s.default}]`
  );
  return [
    `swift-registry ${VERSION}: a package registry in one binary (Swift, npm, PyPI, Go, a build cache)`,
    "",
    "Usage: registry [command] [flags]",
    "",
    "Commands:",
    "  serve                       start the registry (the default)",
    "  sync [owner/repo...]        one ingestion pass from GitHub in the foreground, with a summary",
    "  token create --name N --scopes read,publish[,admin] [--package-scopes a,b] [--expires 90d]",
    "                              create a token-store token (printed once)",
    "  token list                  list token-store tokens",
    "  token revoke <id>           revoke a token-store token",
    "  yank <scope.name> <version> --reason R",
    "                              yank a Swift release (listed with a problem, still served)",
    "  unyank <scope.name> <version>",
    "                              make a yanked release available again",
    "  takedown <scope.name> <version> --reason R",
    "                              take a release down: 410 everywhere, its bytes deleted",
    "  pypi yank <project> <version> [--reason TEXT]",
    "                              yank a PyPI release (PEP 592); pypi unyank <project> <version> undoes it",
    "  allow-signer-change <scope.name> --reason R",
    "                              let a Swift package's next release have another signer (or none)",
    "  plugin check <path|name> [--options '{...}']",
    "                              load and validate a plugin without serving",
    "  help                        show this help",
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
    "Point pip at it:     pip install --index-url http://127.0.0.1:8080/pypi/simple/ <project>",
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
        name: { type: "string" },
        scopes: { type: "string" },
        "package-scopes": { type: "string" },
        expires: { type: "string" },
        options: { type: "string" },
        reason: { type: "string" },
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
  if (command === "plugin") {
    if (positionals[1] !== "check" || positionals.length !== 3) {
      console.error("error: usage: plugin check <absolute path or built-in name> [--options '{...}']");
      return 2;
    }
    let options: Record<string, unknown> = {};
    try {
      options = values.options ? JSON.parse(values.options) : {};
    } catch {
      console.error("error: --options must be a JSON object");
      return 2;
    }
    return await runPluginCheck(positionals[2], options);
  }
  const flags = { dataDir: values["data-dir"] };
  if (command === "sync") {
    return await exitCode(async () => await runSync(await loadConfig(flags, env), positionals.slice(1)));
  }
  if (command === "token") {
    return await exitCode(async () =>
      await runTokenCommand(await loadConfig(flags, env), positionals.slice(1), {
        name: values.name,
        scopes: values.scopes,
        packageScopes: values["package-scopes"],
        expires: values.expires,
      })
    );
  }
  const moderation = MODERATION_COMMANDS.find((c) => c === command);
  if (moderation !== undefined) {
    return await exitCode(async () =>
      await runModeration(await loadConfig(flags, env), moderation, positionals.slice(1), values.reason)
    );
  }
  if (command === "pypi") {
    return await exitCode(async () =>
      await runPypiCommand(await loadConfig(flags, env), positionals.slice(1), { reason: values.reason })
    );
  }
  if (command !== "serve" || positionals.length > 1) {
    console.error(`error: unknown command "${positionals.join(" ")}" (see --help)`);
    return 2;
  }

  let logger!: Logger;
  let server!: RunningServer;
  const started = await exitCode(async () => {
    const config = await loadConfig({ host: values.host, port: values.port, ...flags }, env);
    logger = createJsonLogger(config.logLevel);
    server = await startServer(config, logger);
    return 0;
  }, "could not start: ");
  if (started !== 0) return started;
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
  });
  logger.log("info", "shutting down");
  // In-flight requests get a bounded time to finish; then the process exits regardless.
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([server.shutdown(), new Promise((resolve) => timer = setTimeout(resolve, 30_000))]);
  clearTimeout(timer);
  logger.log("info", "stopped");
  await logger.flush?.();
  return 0;
}

/**
 * Runs a command, turning errors into one line on stderr and an exit code:
 * 2 for bad settings or usage ({@link ConfigError}), 1 for anything else.
 */
async function exitCode(command: () => Promise<number>, failurePrefix = ""): Promise<number> {
  try {
    return await command();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`error: ${error.message}`);
      return 2;
    }
    console.error(`error: ${failurePrefix}${(error as Error).message}`);
    return 1;
  }
}
