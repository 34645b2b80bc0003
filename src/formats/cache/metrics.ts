/**
 * The build cache's Prometheus counters, per namespace (`cas`, `ac`, `tuist`).
 *
 * @module
 */
import type { Counter, MetricRegistry } from "../../util/prometheus.ts";
import type { Namespace } from "./keys.ts";

/** Counters of one server's build cache. */
export class CacheMetrics {
  readonly hits: Counter<"namespace">;
  readonly misses: Counter<"namespace">;
  readonly bytesIn: Counter<"namespace">;
  readonly bytesOut: Counter<"namespace">;
  readonly evictions: Counter<"namespace">;

  /** `storedBytes` reads this node's estimate of the bytes of entries in storage (all nodes' entries). */
  constructor(registry: MetricRegistry, storedBytes: () => number) {
    this.hits = registry.counter("registry_cache_hits_total", "Build cache reads that found the entry", [
      "namespace",
    ]);
    this.misses = registry.counter("registry_cache_misses_total", "Build cache reads that found nothing", [
      "namespace",
    ]);
    this.bytesIn = registry.counter("registry_cache_bytes_in_total", "Bytes of build cache entries stored", [
      "namespace",
    ]);
    this.bytesOut = registry.counter("registry_cache_bytes_out_total", "Bytes of build cache entries served", [
      "namespace",
    ]);
    this.evictions = registry.counter(
      "registry_cache_evictions_total",
      "Build cache entries evicted to stay within REGISTRY_CACHE_MAX_BYTES",
      ["namespace"],
    );
    registry.gauge(
      "registry_cache_stored_bytes",
      "Bytes of build cache entries in storage: the last sweep's count plus what this node stored since",
      storedBytes,
    );
  }

  /** Labels of a namespace (kept once, not built per request). */
  static labels(namespace: Namespace): { namespace: Namespace } {
    return LABELS[namespace];
  }
}

const LABELS: Record<Namespace, { namespace: Namespace }> = {
  cas: { namespace: "cas" },
  ac: { namespace: "ac" },
  tuist: { namespace: "tuist" },
};
