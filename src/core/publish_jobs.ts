/**
 * Tracking of asynchronous publishes (`Prefer: respond-async`): each gets a
 * random id whose status can be polled until it succeeds or fails.
 *
 * @module
 */

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

  constructor(retentionMs = 60 * 60 * 1000, now: () => number = Date.now) {
    this.#retentionMs = retentionMs;
    this.#now = now;
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
