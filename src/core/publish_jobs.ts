/**
 * Tracking of asynchronous publishes (`Prefer: respond-async`): each gets a
 * random id whose status can be polled until it succeeds or fails, through
 * any worker of the process (the one that runs it answers the others).
 *
 * @module
 */
import { RegistryError } from "../errors.ts";
import { NO_PEERS, type Peers } from "../util/peers.ts";

/** Where an asynchronous publish stands. */
export type PublishJobStatus<T> =
  | { state: "pending" }
  | { state: "succeeded"; result: T }
  | { state: "failed"; error: unknown };

/**
 * Runs publishes in the background and remembers their outcome for
 * `retentionMs` after they finish (in memory: a restart forgets them, and
 * the client's poll then gets 404).
 */
export class PublishJobs<T> {
  readonly #jobs = new Map<string, { status: PublishJobStatus<T>; finishedAt?: number; done: Promise<void> }>();
  readonly #retentionMs: number;
  readonly #now: () => number;

  readonly #peers: Peers;

  /** `peers`: the other workers, asked about ids this one does not know (and answered about its own). */
  constructor(retentionMs = 60 * 60 * 1000, now: () => number = Date.now, peers: Peers = NO_PEERS) {
    this.#retentionMs = retentionMs;
    this.#now = now;
    this.#peers = peers;
    peers.answer(PEER_TOPIC, (id) => {
      const status = this.get(String(id));
      if (status === undefined) return undefined;
      return status.state === "failed" ? { state: "failed", error: portableError(status.error) } : status;
    });
  }

  /** Starts `work` and returns the id to poll. */
  start(work: () => Promise<T>): string {
    this.#purge();
    const id = crypto.randomUUID();
    const job: { status: PublishJobStatus<T>; finishedAt?: number; done: Promise<void> } = {
      status: { state: "pending" },
      done: Promise.resolve(),
    };
    job.done = work().then(
      (result) => {
        job.status = { state: "succeeded", result };
      },
      (error) => {
        job.status = { state: "failed", error };
      },
    ).finally(() => {
      job.finishedAt = this.#now();
    });
    this.#jobs.set(id, job);
    return id;
  }

  /** The status of job `id`, or `undefined` when unknown or expired. */
  get(id: string): PublishJobStatus<T> | undefined {
    this.#purge();
    return this.#jobs.get(id)?.status;
  }

  /**
   * The status of job `id` wherever it runs: this worker's, else the answer of
   * the worker that runs it; `undefined` when no worker knows it.
   */
  async lookup(id: string): Promise<PublishJobStatus<T> | undefined> {
    const local = this.get(id);
    if (local !== undefined) return local;
    const [remote] = await this.#peers.ask<PublishJobStatus<T>>(PEER_TOPIC, id);
    if (remote?.state !== "failed") return remote;
    const error = remote.error as PortableError;
    return {
      state: "failed",
      error: error.status === undefined
        ? new Error(error.message)
        : new RegistryError(error.status, error.title!, error.message, error.headers),
    };
  }

  /** Resolves once every job started so far has finished (for shutdown and tests). */
  async settle(): Promise<void> {
    await Promise.all([...this.#jobs.values()].map((job) => job.done));
  }

  #purge(): void {
    const cutoff = this.#now() - this.#retentionMs;
    for (const [id, job] of this.#jobs) {
      if (job.finishedAt !== undefined && job.finishedAt < cutoff) this.#jobs.delete(id);
    }
  }
}

const PEER_TOPIC = "publish-job";

/** An error as plain data, to cross to another worker. */
interface PortableError {
  message: string;
  status?: number;
  title?: string;
  headers?: Record<string, string>;
}

function portableError(error: unknown): PortableError {
  if (error instanceof RegistryError) {
    return { message: error.message, status: error.status, title: error.title, headers: error.headers };
  }
  return { message: error instanceof Error ? error.message : String(error) };
}
