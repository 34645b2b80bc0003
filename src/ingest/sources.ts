/**
 * Ingestion sources on the scheduler. The built-in mirrors (GitHub, a
 * directory) are source plugins like any other (`SourcePlugin`: a name and
 * `sync(signal)`), built by the host from the settings; every source runs as
 * a job `source-<name>` every `REGISTRY_SYNC_INTERVAL`, one node of the
 * cluster at a time.
 *
 * @module
 */
import type { SourcePlugin } from "../../plugins/types.ts";
import type { Config } from "../config.ts";
import type { OpenRegistry } from "../core/open_registry.ts";
import type { Logger } from "../log.ts";
import { callHook } from "../plugins/hooks.ts";
import type { Metrics } from "../http/metrics.ts";
import type { Scheduler } from "../scheduler/scheduler.ts";
import { DocumentCache } from "../storage/document_cache.ts";
import { FilesystemSource } from "./filesystem.ts";
import { createIngestion, type Ingestion } from "./ingestion.ts";
import { pluginStorage } from "../plugins/host.ts";

/** Lease TTL of source jobs (renewed every third of it while a pass runs). */
const SOURCE_LEASE_TTL_MS = 60_000;

/** The sources that are running, for the status endpoint and shutdown. */
export interface RunningSources {
  github?: Ingestion;
  filesystemRoot?: string;
  /** The directory source, when REGISTRY_FILESYSTEM_ROOT is set. */
  filesystem?: FilesystemSource;
  /** Every scheduled source (built-in mirrors and plugins' sources), by name. */
  names: string[];
  /** Stops watching the directory source (the scheduler stops the jobs). */
  stop(): void;
}

/** Builds the built-in sources the settings ask for and schedules them with the plugins' sources. */
export function startSources(
  config: Config,
  open: OpenRegistry,
  scheduler: Scheduler,
  logger: Logger,
  metrics?: Metrics,
): RunningSources {
  const count = (source: string, summary: { newVersions: number; failed: number; skipped?: number }) => {
    metrics?.ingested.inc({ source, outcome: "ingested" }, summary.newVersions);
    metrics?.ingested.inc({ source, outcome: "skipped" }, summary.skipped ?? 0);
    metrics?.ingested.inc({ source, outcome: "failed" }, summary.failed);
  };
  const sources: SourcePlugin[] = [];
  const watching = new AbortController();
  const running: RunningSources = { names: [], stop: () => watching.abort() };

  if (config.github !== undefined) {
    const github = running.github = createIngestion(config.github, open, logger);
    sources.push({
      name: "github",
      async sync(signal) {
        const summary = await github.pass(undefined, undefined, signal);
        logger.log("info", "sync pass finished", { source: "github", ...summary });
        count("github", summary);
        if (summary.rateLimitedUntil) metrics?.rateLimitPauses.inc({ source: "github" });
        // Resume as soon as a rate limit ends rather than at the next interval.
        if (summary.rateLimitedUntil) scheduler.runAt("source-github", new Date(summary.rateLimitedUntil));
      },
    });
  }

  if (config.filesystemRoot !== undefined) {
    running.filesystemRoot = config.filesystemRoot;
    const directory = running.filesystem = new FilesystemSource({
      root: config.filesystemRoot,
      registry: open.sources.for("filesystem"),
      storage: pluginStorage(open.storage.store, new DocumentCache(open.storage.store, { maxAgeMs: 0 }), "filesystem"),
      scratchDir: open.scratchDir,
      logger,
    });
    sources.push({
      name: "filesystem",
      async sync(signal) {
        const summary = await directory.sync(signal);
        count("filesystem", summary);
        if (summary.newVersions + summary.failed > 0) {
          logger.log("info", "sync pass finished", { source: "filesystem", ...summary });
        }
      },
    });
    // A change under the root triggers a pass soon after (after the current one, if one is running).
    directory.watch(() => scheduler.requestRun("source-filesystem"), watching.signal).catch((error) =>
      logger.log("error", "watching REGISTRY_FILESYSTEM_ROOT failed", { error: String(error) })
    );
  }

  warnUnsignedMirrors(config, open.plugins.sources.map((s) => s.name), logger);
  for (const source of [...sources, ...open.plugins.sources]) {
    running.names.push(source.name);
    scheduler.add({
      name: `source-${source.name}`,
      intervalMs: config.syncIntervalMs,
      leaseTtlMs: SOURCE_LEASE_TTL_MS,
      run: (signal) =>
        callHook(source.name, () => source.sync(signal), Math.max(config.syncIntervalMs, 60_000)).catch((error) => {
          metrics?.pluginErrors.inc({ plugin: source.name });
          throw error;
        }),
    });
  }
  return running;
}

/**
 * Mirrored releases are unsigned, so a mirror cannot fill a scope that
 * requires signing (`REGISTRY_SWIFT_REQUIRE_SIGNED`): its releases there are
 * refused. Says so at start-up for every source configured for such a scope
 * (sources whose scopes are not known in advance: whenever a scope requires signing).
 */
function warnUnsignedMirrors(config: Config, pluginSources: string[], logger: Logger): void {
  const required = config.swift.requireSigned;
  if (required.length === 0 || !config.formats.includes("swift")) return;
  const covered = (scopes: string[] | "any"): string[] =>
    scopes === "any" ? required : required.includes("*") ? scopes : scopes.filter((s) => required.includes(s));
  const mirrors: Array<[string, string[] | "any"]> = [];
  if (config.github !== undefined) {
    const owners = config.github.packages.map((p) => p.split("/")[0].toLowerCase());
    mirrors.push(["github", config.github.spiPackageList === undefined ? [...new Set(owners)] : "any"]);
  }
  if (config.filesystemRoot !== undefined) {
    let scopes: string[] = [];
    try {
      scopes = [...Deno.readDirSync(config.filesystemRoot)].filter((e) => e.isDirectory).map((e) =>
        e.name.toLowerCase()
      );
    } catch { /* an unreadable root is reported by the source itself */ }
    mirrors.push(["filesystem", scopes]);
  }
  for (const name of pluginSources) mirrors.push([name, "any"]);
  for (const [source, scopes] of mirrors) {
    const overlap = covered(scopes);
    if (overlap.length === 0) continue;
    logger.log("warn", "a mirror cannot fill scopes that require signed releases: its releases there are refused", {
      source,
      scopes: overlap.join(","),
      setting: "REGISTRY_SWIFT_REQUIRE_SIGNED",
    });
  }
}
