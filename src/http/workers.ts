/**
 * Serving one port with several workers (`REGISTRY_WORKERS`, default: the
 * CPU cores): the first worker is the main thread; the others are Deno
 * `Worker` isolates of the same process (src/http/worker.ts), each a whole
 * registry on the same data directory or bucket, listening on the same port
 * with `SO_REUSEPORT`, so the kernel spreads connections over them.
 *
 * What keeps them one registry:
 * - writes: every store write is atomic, and compare-and-swap of one key is
 *   serialised by a lock file (src/storage/disk_store.ts) or by S3 itself;
 * - reads: a write bumps a change counter in memory shared by all workers
 *   before it is acknowledged (src/storage/change_counters.ts), so a
 *   document cached by another worker is revalidated on its next read: a
 *   publish answered by one worker is read through any other at once;
 * - the scheduler (ingestion, plugin sources) runs in the first worker only;
 *   leases in storage keep it to one node of a cluster as before;
 * - the rest goes over a channel between them (src/util/peers.ts): `/metrics`
 *   adds up every worker's counters, the status page asks the first worker,
 *   a poll of an asynchronous publish finds the worker running it;
 * - log lines of the other workers are written by the first one, so lines
 *   never interleave.
 *
 * Each worker has its own memory caches (prepared responses, small
 * artifacts, documents), staging directory and, with S3, its own disk cache
 * with an equal share of `REGISTRY_DISK_MAX_BYTES`. A worker that crashes is
 * started again; its connections are lost, the others go on serving.
 *
 * @module
 */
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";

/** What the main thread sends a worker to start it. */
export interface WorkerStart {
  kind: "start";
  config: Config;
  index: number;
  count: number;
  changes: SharedArrayBuffer;
  channel: string;
}

/** Messages between the main thread and a worker. */
export type WorkerMessage =
  | WorkerStart
  | { kind: "stop" }
  | { kind: "ready" }
  | { kind: "failed"; message: string; configError: boolean }
  | { kind: "stopped" }
  | { kind: "log"; bytes: Uint8Array<ArrayBuffer> };

/** The extra workers of a server. */
export interface WorkerPool {
  /** Workers serving now, the main thread included. */
  readonly running: number;
  /** Stops every worker: they finish their requests and background work. */
  stop(): Promise<void>;
}

/** How the main thread starts the extra workers. */
export interface StartWorkersOptions {
  config: Config;
  /** Workers in all (the main thread is the first). */
  count: number;
  port: number;
  changes: SharedArrayBuffer;
  channel: string;
  logger: Logger;
  /** The worker module (default src/http/worker.ts). */
  module?: URL;
}

/** Thrown when an extra worker cannot start; `configError` when its settings were refused. */
export class WorkerStartError extends Error {
  constructor(message: string, readonly configError: boolean) {
    super(message);
    this.name = "WorkerStartError";
  }
}

/** True when Deno runs with `--unstable-net` (needed to share a port): only then does it have `Deno.listenDatagram`. */
export function canSharePort(): boolean {
  return typeof (Deno as unknown as { listenDatagram?: unknown }).listenDatagram === "function";
}

/**
 * Starts workers 1 to `count - 1` and resolves once all serve.
 *
 * @throws {WorkerStartError} when one cannot start (the others are stopped).
 */
export async function startWorkers(options: StartWorkersOptions): Promise<WorkerPool> {
  const { logger, count } = options;
  const module = options.module ?? new URL("./worker.ts", import.meta.url);
  const workers = new Map<number, Worker>();
  let stopping = false;

  const spawn = (index: number): Promise<void> => {
    const worker = new Worker(module.href, { type: "module", name: `registry-worker-${index}` });
    workers.set(index, worker);
    return new Promise<void>((resolve, reject) => {
      let started = false;
      worker.onmessage = (event: MessageEvent<WorkerMessage>) => {
        const message = event.data;
        if (message.kind === "log") {
          logger.writeBatch?.(message.bytes);
        } else if (message.kind === "ready") {
          started = true;
          resolve();
        } else if (message.kind === "failed") {
          worker.terminate();
          workers.delete(index);
          reject(new WorkerStartError(message.message, message.configError));
        }
      };
      worker.onerror = (event) => {
        event.preventDefault();
        worker.terminate();
        if (workers.get(index) === worker) workers.delete(index);
        logger.log("error", "worker failed", { worker: index, error: event.message });
        if (!started) return reject(new WorkerStartError(`worker ${index} failed: ${event.message}`, false));
        if (!stopping) restart(index, 1_000);
      };
      const start: WorkerStart = {
        kind: "start",
        // Every worker listens on the first worker's port (the configured one may be 0).
        config: { ...options.config, port: options.port },
        index,
        count,
        changes: options.changes,
        channel: options.channel,
      };
      worker.postMessage(start);
    });
  };

  const restart = (index: number, delayMs: number) => {
    const timer = setTimeout(() => {
      if (stopping) return;
      spawn(index).then(
        () => logger.log("info", "worker started again", { worker: index }),
        (error) => {
          logger.log("error", "worker could not be started again", { worker: index, error: String(error) });
          restart(index, Math.min(60_000, delayMs * 2));
        },
      );
    }, delayMs);
    Deno.unrefTimer(timer);
  };

  const stopAll = async () => {
    stopping = true;
    await Promise.all([...workers.values()].map((worker) => stopWorker(worker)));
    workers.clear();
  };

  try {
    await Promise.all(Array.from({ length: count - 1 }, (_, i) => spawn(i + 1)));
  } catch (error) {
    await stopAll();
    throw error;
  }
  return {
    get running() {
      return workers.size + 1;
    },
    stop: stopAll,
  };
}

/** Asks a worker to stop and waits for it (its shutdown is bounded like the main thread's), then ends it. */
async function stopWorker(worker: Worker): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stopped = new Promise<void>((resolve) => {
    const previous = worker.onmessage;
    worker.onmessage = (event: MessageEvent<WorkerMessage>) => {
      if (event.data.kind === "stopped") resolve();
      else previous?.call(worker, event);
    };
    timer = setTimeout(resolve, 30_000);
  });
  worker.postMessage({ kind: "stop" } satisfies WorkerMessage);
  await stopped;
  clearTimeout(timer);
  worker.terminate();
}
