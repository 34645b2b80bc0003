/**
 * Wires a configured registry together and serves it: storage, core, auth and
 * the HTTP app, over bounded connections (src/http/listen.ts), with HTTPS when
 * a certificate is configured, in one or several workers (src/http/workers.ts).
 *
 * @module
 */
import { createAuthChain } from "../auth/chain.ts";
import { type Config, ConfigError } from "../config.ts";
import { hostname } from "node:os";
import { openRegistry } from "../core/open_registry.ts";
import { RECENT_PUBLISHES, type RecentPublish } from "../core/publisher.ts";
import { type RunningSources, startSources } from "../ingest/sources.ts";
import { catalogMissing, rebuildCatalog } from "../formats/catalog_rebuild.ts";
import { Scheduler } from "../scheduler/scheduler.ts";
import { ChangeCounters } from "../storage/change_counters.ts";
import { LeaseManager } from "../storage/leases.ts";
import type { Logger } from "../log.ts";
import type { TieredStore } from "../storage/tiered_store.ts";
import { ChannelPeers, NO_PEERS, type Peers } from "../util/peers.ts";
import { VERSION } from "../version.ts";
import { createApp } from "./app.ts";
import { type ConnectionServer, nativeServeOnConnection, serveConnections } from "./listen.ts";
import { Metrics } from "./metrics.ts";
import { defaultMaxConnections, raiseOpenFilesLimit, type RaiseOutcome } from "./open_files.ts";
import { OpenFilesCache } from "./open_files_cache.ts";
import { problemResponse } from "./problem.ts";
import { createStatus, type RegistryStatus } from "./status.ts";
import { createWebPages } from "../web/pages.ts";
import { ServiceUnavailableError } from "../errors.ts";
import { type KeyPair, type KeyPairWatcher, readKeyPair, watchKeyPair } from "./tls.ts";
import { canSharePort, startWorkers, type WorkerPool, WorkerStartError } from "./workers.ts";

/** A registry that is listening. */
export interface RunningServer {
  /** `http://host:port` (or `https://`) the server listens on. */
  url: string;
  port: number;
  /** Open client connections (of this worker). */
  readonly connections: number;
  /** Workers serving the port, this one included (see src/http/workers.ts). */
  readonly workers: number;
  /** The in-process job runner (ingestion passes run in the first worker only). */
  scheduler: Scheduler;
  /** The disk cache in front of S3, when S3 is on (for tests and metrics). */
  cache?: TieredStore;
  /** Stops accepting, finishes in-flight requests and background publishes (every worker's). */
  shutdown(): Promise<void>;
}

/** Optional dependencies of {@link startServer}. */
export interface ServerOptions {
  /** The clock (default `Date.now`); tests pass their own to control time. */
  now?: () => number;
  /** The milliseconds clock of the header and idle timeouts (default `performance.now`); tests control it. */
  connectionClock?: () => number;
  /**
   * Set in an extra worker (src/http/worker.ts): its peers and the shared
   * change counters. Its config names the port the first worker listens on,
   * and the connection bound for the whole process.
   */
  worker?: { peers: Peers; changes: ChangeCounters };
}

/**
 * Starts a registry for `config`, logging to `logger`: the first worker and,
 * with `REGISTRY_WORKERS` above 1, the others (src/http/workers.ts).
 *
 * @throws {ConfigError} when it cannot listen on the configured host and port.
 */
export async function startServer(
  config: Config,
  logger: Logger,
  options: ServerOptions = {},
): Promise<RunningServer> {
  nativeServeOnConnection();
  const follower = options.worker;
  const first = follower === undefined;
  const count = follower?.peers.count ?? workerCount(config, logger);
  let openFiles: RaiseOutcome = {};
  if (first) {
    // One descriptor table for the whole process: the first worker raises its limit.
    openFiles = await raiseOpenFilesLimit();
    if (openFiles.raisedFrom !== undefined) {
      logger.log("info", "raised the open-files limit", { from: openFiles.raisedFrom, to: openFiles.limit?.soft });
    }
    if (openFiles.problem !== undefined) {
      logger.log("warn", "the open-files limit is unknown or could not be raised", { problem: openFiles.problem });
    }
  }
  let keyPair: KeyPair | undefined;
  if (config.tls !== undefined) {
    keyPair = await readKeyPair(config.tls).catch((error) => {
      throw new ConfigError(`REGISTRY_TLS_CERT/REGISTRY_TLS_KEY cannot be read: ${(error as Error).message}`);
    });
  }
  const channel = `registry-${crypto.randomUUID()}`;
  const changes = follower?.changes ?? new ChangeCounters();
  const peers = follower?.peers ?? (count > 1 ? new ChannelPeers(channel, 0, count) : NO_PEERS);
  const metrics = new Metrics();
  peers.answer("metrics", () => metrics.registry.snapshot());
  const open = await openRegistry(config, logger, {
    metrics,
    now: options.now,
    peers,
    storageOptions: { worker: { index: peers.index, count }, changes },
  });
  const { storage, plugins } = open;
  const auth = createAuthChain(plugins.authProviders, { requireAuthForRead: config.requireAuthForRead });
  const scheduler = new Scheduler(new LeaseManager(storage.store, { owner: hostname() }), logger);
  if (storage.cache !== undefined) {
    metrics.observeCache(storage.cache);
    // Writes evict as they go; this sweep also catches a budget lowered between restarts.
    const cache = storage.cache;
    scheduler.add({ name: "disk-eviction", intervalMs: 10 * 60_000, run: () => cache.evictIfNeeded() });
  }
  // Formats' sweeps look after this worker's own copies and memory (or hold a lease): every worker runs them.
  for (const format of open.formats) format.schedule?.(scheduler);
  // Cluster-wide work (the catalog, ingestion and plugin sources) runs in the first worker only.
  let sources: RunningSources = { names: [], stop() {} };
  if (first) {
    // The catalog is rebuilt soon after start when a format has packages but no catalog (they predate it), then daily.
    scheduler.add({
      name: "catalog-rebuild",
      intervalMs: 24 * 3_600_000,
      firstRunAfterMs: await catalogMissing(open.formats, storage.store, open.catalog) ? 0 : 24 * 3_600_000,
      leaseTtlMs: 10 * 60_000,
      run: () =>
        rebuildCatalog(open.formats, storage.store, open.documents, open.catalog, logger, options.now ?? Date.now)
          .then(() => {}),
    });
    sources = startSources(config, open, scheduler, logger, metrics);
  }
  const ownStatus = createStatus({ config, open, sources, scheduler, version: VERSION });
  // Every worker commits publishes: the status lists the latest of all of them.
  peers.answer("recent-publishes", () => open.publisher.recent());
  const localStatus = count < 2 ? ownStatus : async (): Promise<RegistryStatus> => {
    const [own, others] = await Promise.all([ownStatus(), peers.ask<RecentPublish[]>("recent-publishes")]);
    const recentPublishes = [own.recentPublishes, ...others].flat().sort((a, b) => b.at.localeCompare(a.at))
      .slice(0, RECENT_PUBLISHES);
    return { ...own, recentPublishes };
  };
  const status = first ? localStatus : async () => {
    const [answer] = await peers.ask<RegistryStatus>("status");
    if (answer === undefined) throw new ServiceUnavailableError("the first worker did not answer; try again", 1);
    return answer;
  };
  const runJob = async (name: string): Promise<boolean> => {
    if (scheduler.status().some((job) => job.name === name)) {
      scheduler.requestRun(name);
      return true;
    }
    // The catalog and the sources are scheduled in the first worker only.
    return !first && (await peers.ask<boolean>("run-job", name)).includes(true);
  };
  if (first) {
    peers.answer("status", localStatus);
    peers.answer("run-job", (name) => runJob(String(name)));
  }
  const pages = !config.web ? undefined : createWebPages({
    formats: open.formats,
    catalog: open.catalog,
    auth,
    status,
    runJob,
    version: VERSION,
  });
  const heldFiles = new OpenFilesCache();
  const app = createApp({
    openFiles: heldFiles,
    formats: open.formats,
    pages,
    auth,
    logger,
    metrics,
    metricsTokenSha256: config.metricsTokenSha256,
    rateLimit: config.rateLimit,
    requestTimeoutMs: config.requestTimeoutMs,
    status,
    publicUrl: config.publicUrl,
    version: VERSION,
    now: options.now ?? Date.now,
    accessLogSample: config.accessLogSample,
    hotCacheBytes: config.hotCacheBytes,
    artifacts: open.artifacts,
    accelRedirect: config.accelRedirect,
    worker: peers.index,
    otherWorkersMetrics: count > 1 ? () => peers.ask("metrics") : undefined,
  });

  let server: ConnectionServer;
  // One descriptor table for the process (its limit read by the first worker): each worker gets its share.
  const processMaxConnections = config.connections.max ?? defaultMaxConnections(openFiles.limit);
  const maxConnections = Math.max(1, Math.floor(processMaxConnections / count));
  try {
    server = serveConnections({
      hostname: config.host,
      port: config.port,
      tls: keyPair,
      reusePort: count > 1,
      limits: {
        maxConnections,
        maxPerIp: config.connections.perIp,
        headerTimeoutMs: config.connections.headerTimeoutMs,
        idleTimeoutMs: config.connections.idleTimeoutMs,
        exemptIps: config.rateLimit.trustedProxies,
      },
      handler: app.fetch,
      ...(config.fastLane ? { fastLane: { answer: app.answerWire, routes: app.routes } } : {}),
      onError: (error) => {
        logger.log("error", "unhandled error outside the app", { error: String(error) });
        return problemResponse(500, "Internal Server Error", "internal error");
      },
      logger,
      ...(options.connectionClock === undefined ? {} : { clock: options.connectionClock }),
    });
  } catch (error) {
    sources.stop();
    await scheduler.stop();
    await open.close();
    if (first) peers.close();
    const message = (error as Error).message;
    throw new ConfigError(
      keyPair !== undefined && !(error instanceof Deno.errors.AddrInUse) &&
        !(error instanceof Deno.errors.PermissionDenied)
        ? `REGISTRY_TLS_CERT/REGISTRY_TLS_KEY cannot be used: ${message}`
        : `REGISTRY_HOST/REGISTRY_PORT (--host/--port): cannot listen on ${config.host}:${config.port}: ${message}`,
    );
  }
  metrics.observeConnections(() => server.stats());
  const port = server.addr.port;
  let pool: WorkerPool | undefined;
  if (first && count > 1) {
    try {
      const shared = { ...config, connections: { ...config.connections, max: processMaxConnections } };
      pool = await startWorkers({ config: shared, count, port, changes: changes.buffer, channel, logger });
    } catch (error) {
      sources.stop();
      await scheduler.stop();
      await server.shutdown();
      await open.close();
      peers.close();
      if (error instanceof WorkerStartError && error.configError) throw new ConfigError(error.message);
      throw error;
    }
  }
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `${keyPair === undefined ? "http" : "https"}://${host}:${port}`;
  let watcher: KeyPairWatcher | undefined;
  if (config.tls !== undefined && keyPair !== undefined) {
    watcher = watchKeyPair(config.tls, keyPair, (pair) => server.replaceKeyPair(pair), logger);
  }
  if (first) {
    logger.log("info", "registry listening", {
      url,
      // Where each client is pointed: the base URL of every format served.
      formats: Object.fromEntries(open.formats.map((f) => [f.id, `${config.publicUrl ?? url}${f.paths[0]}`])),
      dataDir: config.dataDir,
      workers: count,
      maxConnections: maxConnections * count,
      openFilesLimit: openFiles.limit?.soft,
    });
    if (config.github === undefined) {
      logger.log("info", "ingestion is off: REGISTRY_GITHUB_TOKEN is not set");
    }
    if (!auth.acceptsCredentials) {
      logger.log("warn", "publishing is disabled: set REGISTRY_ADMIN_TOKEN or configure an auth plugin");
    }
  }
  return {
    url,
    port,
    cache: storage.cache,
    scheduler,
    get connections() {
      return server.connections;
    },
    get workers() {
      return pool?.running ?? 1;
    },
    async shutdown() {
      watcher?.stop();
      // The other workers stop first: meanwhile they may still ask this one (status, publishes).
      await pool?.stop();
      sources.stop();
      await scheduler.stop();
      await server.shutdown();
      heldFiles.clear();
      await open.close();
      peers.close();
    },
  };
}

/**
 * The number of workers to run: `REGISTRY_WORKERS`, or the CPU cores when it
 * is not set. Several workers share the port with `SO_REUSEPORT`, which Deno
 * allows only with `--unstable-net` (the start task and the compiled binary
 * have it): without it, the default is one worker and a set value above one is
 * a configuration error.
 */
function workerCount(config: Config, logger: Logger): number {
  if (config.workers <= 1 || canSharePort()) return config.workers;
  if (config.workersSet) {
    throw new ConfigError(
      `REGISTRY_WORKERS=${config.workers} needs Deno's --unstable-net flag (deno task start and the compiled binary have it)`,
    );
  }
  logger.log("info", "serving with one worker: several need Deno's --unstable-net flag (deno task start has it)");
  return 1;
}
