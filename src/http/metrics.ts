/**
 * Prometheus metrics (`GET /metrics`, text format): HTTP
 * requests by route, method and status with latency histograms, bytes served,
 * the disk cache, S3 calls and errors, ingestion and plugin hook errors.
 * One {@link Metrics} per server (no global registry), so tests can run
 * several servers in one process.
 *
 * @module
 */
import type { Context } from "hono";
import type { TieredStore } from "../storage/tiered_store.ts";
import { type CounterSeries, type HistogramSeries, MetricRegistry, type RegistrySnapshot } from "../util/prometheus.ts";
import type { AppEnv } from "./middleware.ts";

const KNOWN_METHODS = new Set(["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"]);

/** Connection counters of the server (src/http/listen.ts). */
export interface ConnectionStats {
  open: number;
  refused: number;
  timedOut: number;
  reclaimed: number;
  acceptErrors: number;
}

/** The metrics of one server. */
export class Metrics {
  readonly #routes = new Map<string, RouteMetrics>();
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
    // Each worker has a disk cache of its own: their figures add up.
    const stat = (name: string, help: string, read: () => number) => this.registry.gauge(name, help, read, "sum");
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
      this.registry.gauge(name, help, () => read(stats()), "sum");
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

  /** The counters of one route pattern (kept per route, so recording a request allocates nothing). */
  route(route: string): RouteMetrics {
    let metrics = this.#routes.get(route);
    if (metrics === undefined) {
      metrics = new RouteMetrics(this, route);
      this.#routes.set(route, metrics);
    }
    return metrics;
  }

  /**
   * Records a request the routes answered: count, latency, bytes. Routes are
   * the matched patterns (bounded). Called by the request frame (src/http/middleware.ts).
   */
  recordResponse(c: Context<AppEnv>, seconds: number): void {
    const length = c.res.headers.get("content-length");
    this.route(routePattern(c)).record(c.req.method, c.res.status, seconds, length === null ? 0 : Number(length));
  }

  /** The metrics in Prometheus text format, with other workers' snapshots added in. */
  text(others: readonly RegistrySnapshot[] = []): string {
    return this.registry.text(others);
  }
}

/** The route pattern Hono matched for a request (its last handler's, not a middleware's), or `unmatched`. */
export function routePattern(c: Context): string {
  const routes = c.req.matchedRoutes;
  for (let i = routes.length - 1; i >= 0; i--) if (routes[i].method !== "ALL") return routes[i].path;
  return "unmatched";
}

/**
 * The request counters of one route: per method and status, latency per
 * method, bytes sent. Series are looked up once and kept.
 */
export class RouteMetrics {
  readonly #metrics: Metrics;
  readonly #route: string;
  readonly #requests = new Map<string, Map<number, CounterSeries>>();
  readonly #duration = new Map<string, HistogramSeries>();
  readonly #bytes: CounterSeries;

  constructor(metrics: Metrics, route: string) {
    this.#metrics = metrics;
    this.#route = route;
    this.#bytes = metrics.bytesServed.series({ route });
  }

  /** Counts one request: its method, status, duration in seconds, and body bytes sent (not counted for HEAD). */
  record(rawMethod: string, status: number, seconds: number, bodyBytes: number): void {
    // A fixed set, so made-up methods cannot add series without bound.
    const method = KNOWN_METHODS.has(rawMethod) ? rawMethod : "other";
    let byStatus = this.#requests.get(method);
    if (byStatus === undefined) this.#requests.set(method, byStatus = new Map());
    let requests = byStatus.get(status);
    if (requests === undefined) {
      requests = this.#metrics.requests.series({ route: this.#route, method, status: String(status) });
      byStatus.set(status, requests);
    }
    requests.value++;
    let duration = this.#duration.get(method);
    if (duration === undefined) {
      duration = this.#metrics.duration.series({ route: this.#route, method });
      this.#duration.set(method, duration);
    }
    duration.observe(seconds);
    if (method !== "HEAD" && bodyBytes > 0) this.#bytes.value += bodyBytes;
  }
}
