/**
 * Prometheus metrics (`GET /metrics`, text format): HTTP
 * requests by route, method and status with latency histograms, bytes served,
 * the disk cache, S3 calls and errors, ingestion and plugin hook errors.
 * One {@link Metrics} per server (no global registry), so tests can run
 * several servers in one process.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { TieredStore } from "../storage/tiered_store.ts";
import { MetricRegistry } from "../util/prometheus.ts";
import type { AppEnv } from "./middleware.ts";

const KNOWN_METHODS = new Set(["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"]);

/** The metrics of one server. */
/** Connection counters of the server (src/http/listen.ts). */
export interface ConnectionStats {
  open: number;
  refused: number;
  timedOut: number;
  reclaimed: number;
  acceptErrors: number;
}

export class Metrics {
  readonly registry = new MetricRegistry();
  readonly requests = this.registry.counter(
    "registry_http_requests_total",
    "HTTP requests by route, method and status",
    ["route", "method", "status"],
  );
  readonly duration = this.registry.histogram(
    "registry_http_request_duration_seconds",
    "HTTP request latency by route and method",
    ["route", "method"],
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  );
  readonly bytesServed = this.registry.counter(
    "registry_http_response_bytes_total",
    "Bytes of response bodies sent, by route",
    ["route"],
  );
  readonly s3Calls = this.registry.counter("registry_s3_calls_total", "S3 API calls by operation", ["operation"]);
  readonly s3Errors = this.registry.counter(
    "registry_s3_errors_total",
    "Failed S3 API calls by operation",
    ["operation"],
  );
  readonly ingested = this.registry.counter(
    "registry_ingest_versions_total",
    "Versions handled by ingestion, by source and outcome (ingested, skipped, failed)",
    ["source", "outcome"],
  );
  readonly rateLimitPauses = this.registry.counter(
    "registry_ingest_rate_limit_pauses_total",
    "Ingestion passes stopped by a rate limit",
    ["source"],
  );
  readonly upstreamStale = this.registry.counter(
    "registry_upstream_stale_total",
    "Upstream metadata served stale because the upstream failed, by format",
    ["format"],
  );
  readonly pluginErrors = this.registry.counter(
    "registry_plugin_hook_errors_total",
    "Plugin hooks that failed or timed out, by plugin",
    ["plugin"],
  );

  /** Reports the disk cache's counters and usage (when S3 is on). */
  observeCache(cache: TieredStore): void {
    const stat = (name: string, help: string, read: () => number) => this.registry.gauge(name, help, read);
    stat("registry_disk_cache_hits", "Disk cache hits since start", () => cache.stats.hits);
    stat("registry_disk_cache_misses", "Disk cache misses since start", () => cache.stats.misses);
    stat("registry_disk_cache_evictions", "Files evicted from the disk cache since start", () => cache.stats.evictions);
    stat("registry_disk_cache_corruptions", "Damaged cached files found since start", () => cache.stats.corruptions);
    stat("registry_disk_cache_errors", "Disk errors since start", () => cache.stats.diskErrors);
    stat("registry_disk_cache_bytes", "Bytes of files in the disk cache", () => cache.usedBytes);
  }

  /** Reports the server's client connections: open now, refused, closed for timeouts or to make room, accept errors. */
  observeConnections(stats: () => ConnectionStats): void {
    const stat = (name: string, help: string, read: (s: ConnectionStats) => number) =>
      this.registry.gauge(name, help, () => read(stats()));
    stat("registry_connections_open", "Open client connections", (s) => s.open);
    stat("registry_connections_refused", "Connections refused over a limit since start", (s) => s.refused);
    stat(
      "registry_connections_timed_out",
      "Connections closed by the header or idle timeout since start",
      (s) => s.timedOut,
    );
    stat("registry_connections_reclaimed", "Idle connections closed to make room since start", (s) => s.reclaimed);
    stat("registry_accept_errors", "Failed accepts (e.g. out of file descriptors) since start", (s) => s.acceptErrors);
  }

  /** Counts S3 calls of an SDK client (any object with a middleware stack). */
  instrumentS3(client: { middlewareStack: { add(middleware: unknown, options: unknown): void } }): void {
    client.middlewareStack.add(
      (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
        const operation = (context.commandName ?? "unknown").replace(/Command$/, "");
        this.s3Calls.inc({ operation });
        try {
          return await next(args);
        } catch (error) {
          // "Not found" and "precondition failed" are answers, not failures.
          const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
          if (status !== 404 && status !== 412) this.s3Errors.inc({ operation });
          throw error;
        }
      },
      { step: "initialize", name: "registryMetrics" },
    );
  }

  /** Middleware recording every request: count, latency, bytes. Routes are the matched patterns (bounded). */
  middleware(): MiddlewareHandler<AppEnv> {
    return async (c, next) => {
      const started = performance.now();
      await next();
      const matched = c.req.matchedRoutes.filter((r) => r.method !== "ALL").at(-1);
      const route = matched?.path ?? "unmatched";
      // A fixed set, so made-up methods cannot add series without bound.
      const method = KNOWN_METHODS.has(c.req.method) ? c.req.method : "other";
      this.requests.inc({ route, method, status: String(c.res.status) });
      this.duration.observe({ route, method }, (performance.now() - started) / 1000);
      const length = Number(c.res.headers.get("content-length") ?? 0);
      if (method !== "HEAD" && length > 0) this.bytesServed.inc({ route }, length);
    };
  }

  /** The metrics in Prometheus text format. */
  text(): string {
    return this.registry.text();
  }
}
