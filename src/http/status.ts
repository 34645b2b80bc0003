/**
 * The operational status operators see (`GET /-/status` as JSON, the
 * operator web page as HTML): sources and their jobs, what they failed or
 * skipped and why, rate limits, storage and its disk caches, upstream health
 * per format, and the latest publishes on this node.
 *
 * @module
 */
import type { Config } from "../config.ts";
import type { OpenRegistry } from "../core/open_registry.ts";
import type { RecentPublish } from "../core/publisher.ts";
import type { UpstreamHealth } from "../core/upstream.ts";
import type { LastPass, RepositoryState } from "../ingest/github.ts";
import type { RunningSources } from "../ingest/sources.ts";
import type { JobStatus, Scheduler } from "../scheduler/scheduler.ts";
import type { StorageStatus } from "../storage/open_storage.ts";

/** The GitHub mirror's state. */
export type GitHubStatus = { enabled: false; reason: string } | {
  enabled: true;
  /** When a recorded rate limit ends, while it holds. */
  rateLimitedUntil?: string;
  lastPass: LastPass | null;
  repositories: Array<RepositoryState & { repository: string; skipped: Record<string, string> }>;
};

/** One ingestion source (built-in mirror or plugin) and its job. */
export interface SourceStatus {
  name: string;
  job?: JobStatus;
  /** Versions it skipped and why, by package (`<format>:<package key>`). */
  skipped: Record<string, Record<string, string>>;
}

/** Everything operators see. */
export interface RegistryStatus {
  /** The server's version. */
  version: string;
  /** The served formats. */
  formats: string[];
  ingestion: GitHubStatus;
  filesystem: { enabled: false } | {
    enabled: true;
    root: string;
    /** Releases under the root that were refused (paths relative to it), with the reason, until they change. */
    failed: Record<string, string>;
  };
  jobs: JobStatus[];
  sources: SourceStatus[];
  storage: StorageStatus;
  upstreams: UpstreamHealth[];
  /** Requests per second allowed per client IP and per caller (0: unlimited). */
  rateLimits: { perIp: number; perPrincipal: number };
  /** Releases committed by this node, newest first. */
  recentPublishes: RecentPublish[];
}

/** What the status is gathered from. */
export interface StatusSources {
  config: Config;
  open: OpenRegistry;
  sources: RunningSources;
  scheduler: Scheduler;
  version: string;
}

/** A function gathering the {@link RegistryStatus} afresh each time it is called. */
export function createStatus(
  { config, open, sources, scheduler, version }: StatusSources,
): () => Promise<RegistryStatus> {
  return async () => {
    const github = sources.github;
    const jobs = scheduler.status();
    return {
      version,
      formats: open.formats.map((f) => f.id),
      ingestion: github === undefined ? { enabled: false, reason: "REGISTRY_GITHUB_TOKEN is not set" } : {
        enabled: true,
        rateLimitedUntil: await github.source.rateLimitedUntil(),
        ...await github.source.status(),
      },
      filesystem: sources.filesystem === undefined || sources.filesystemRoot === undefined
        ? { enabled: false }
        : { enabled: true, root: sources.filesystemRoot, failed: await sources.filesystem.failures() },
      jobs,
      sources: await Promise.all(sources.names.map(async (name) => ({
        name,
        job: jobs.find((job) => job.name === `source-${name}`),
        skipped: await open.sources.skippedBy(name),
      }))),
      storage: await open.storage.status(),
      upstreams: open.upstreams.map((upstream) => upstream.health()),
      rateLimits: { perIp: config.rateLimit.perIp, perPrincipal: config.rateLimit.perPrincipal },
      recentPublishes: open.publisher.recent(),
    };
  };
}
