/**
 * `main.ts sync [owner/repo...]`: one ingestion pass in the foreground, with a
 * progress bar on a terminal (plain lines otherwise) and a summary. Exits 1
 * when anything failed or a rate limit stopped the pass.
 *
 * @module
 */
import { type Config, ConfigError } from "../config.ts";
import { openRegistry } from "../core/open_registry.ts";
import { createIngestion } from "../ingest/ingestion.ts";
import { createJsonLogger } from "../log.ts";

/** Runs the sync command; returns the exit code. */
export async function runSync(config: Config, only: string[]): Promise<number> {
  if (config.github === undefined) throw new ConfigError("REGISTRY_GITHUB_TOKEN is not set: ingestion is off");
  for (const name of only) {
    if (!/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/.test(name)) throw new ConfigError(`not an owner/repo: "${name}"`);
  }
  // Progress goes to stdout; log lines (warnings and up) to stderr.
  const logger = createJsonLogger("warn", (line) => console.error(line));
  // Beside a running server: a scratch directory of its own, and no share of the server's disk cache.
  const open = await openRegistry(config, logger, { scratchName: "sync", storageOptions: { diskCache: false } });
  try {
    const ingestion = createIngestion(config.github, open, logger);
    const terminal = Deno.stdout.isTerminal();
    const encoder = new TextEncoder();
    const summary = await ingestion.pass(only, (done, total, repository) => {
      if (terminal) {
        const width = 30;
        const filled = Math.round((done / total) * width);
        const bar = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total} ${repository}`;
        Deno.stdout.writeSync(encoder.encode(`\r\x1b[K${bar}`));
      } else {
        console.log(`synced ${repository} (${done}/${total})`);
      }
    });
    if (terminal) Deno.stdout.writeSync(encoder.encode("\n"));
    console.log(
      `packages ${summary.packages}, new versions ${summary.newVersions}, skipped ${summary.skipped}, ` +
        `failed ${summary.failed}, API requests ${summary.apiRequests}` +
        (summary.rateLimitedUntil ? `, rate limited until ${summary.rateLimitedUntil}` : ""),
    );
    return summary.failed > 0 || summary.rateLimitedUntil ? 1 : 0;
  } finally {
    await open.close();
  }
}
