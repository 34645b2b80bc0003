/**
 * The in-process job runner: interval jobs with jitter, never overlapping
 * themselves, optionally run by one node at a time across a cluster through
 * a storage lease (renewed while the job runs, released after). Stopping
 * aborts running jobs, waits for them within a bound and releases leases.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import type { Lease, LeaseManager } from "../storage/leases.ts";

/** A recurring job. */
export interface Job {
  name: string;
  intervalMs: number;
  /** Fraction of the interval by which each wait varies at random (default 0.1). */
  jitter?: number;
  /** Delay before the first run (default: a random part of the interval, at most 5 s). */
  firstRunAfterMs?: number;
  /** Run on one node at a time: hold lease `job-<name>` with this TTL while running. */
  leaseTtlMs?: number;
  /** The work; should stop soon after `signal` aborts. */
  run(signal: AbortSignal): Promise<void>;
}

/** What happened the last time a job was due. */
export interface JobStatus {
  name: string;
  running: boolean;
  lastStart?: string;
  lastFinish?: string;
  lastError?: string;
  /** The last time it was due but another node held its lease. */
  lastSkipped?: string;
  /** When it is next due (on this node). */
  nextRun?: string;
}

/** Runs registered jobs until stopped. */
export class Scheduler {
  readonly #leases: LeaseManager;
  readonly #logger: Logger;
  readonly #jobs = new Map<string, { job: Job; status: JobStatus; timer?: ReturnType<typeof setTimeout> }>();
  readonly #running = new Map<string, { done: Promise<void>; abort: AbortController; rerun: boolean }>();
  readonly #oneOffs = new Set<ReturnType<typeof setTimeout>>();
  #stopped = false;

  constructor(leases: LeaseManager, logger: Logger) {
    this.#leases = leases;
    this.#logger = logger;
  }

  /** Registers `job`; it first runs after a random part of its interval (at most 5 s), then every interval. */
  add(job: Job): void {
    this.#jobs.set(job.name, { job, status: { name: job.name, running: false } });
    this.#schedule(job.name, job.firstRunAfterMs ?? Math.random() * Math.min(job.intervalMs, 5_000));
  }

  /** Status of every job. */
  status(): JobStatus[] {
    return [...this.#jobs.values()].map((j) => ({ ...j.status }));
  }

  /** Runs job `name` now unless it is running already; resolves when this run ends. */
  async runNow(name: string): Promise<void> {
    const entry = this.#jobs.get(name);
    if (entry === undefined) throw new Error(`no job named ${name}`);
    const running = this.#running.get(name);
    if (running) return await running.done;
    await this.#run(entry.job);
  }

  /** Stops scheduling, aborts running jobs, waits for them (at most `graceMs`) and releases their leases. */
  async stop(graceMs = 10_000): Promise<void> {
    this.#stopped = true;
    for (const entry of this.#jobs.values()) clearTimeout(entry.timer);
    for (const timer of this.#oneOffs) clearTimeout(timer);
    for (const { abort } of this.#running.values()) abort.abort();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled([...this.#running.values()].map((r) => r.done)),
      new Promise((resolve) => timer = setTimeout(resolve, graceMs)),
    ]);
    clearTimeout(timer);
  }

  #schedule(name: string, delayMs: number): void {
    const entry = this.#jobs.get(name);
    if (entry === undefined || this.#stopped) return;
    entry.status.nextRun = new Date(Date.now() + Math.max(0, delayMs)).toISOString();
    entry.timer = setTimeout(async () => {
      if (!this.#running.has(name)) await this.#run(entry.job).catch(() => {});
      const jitter = entry.job.jitter ?? 0.1;
      this.#schedule(name, entry.job.intervalMs * (1 + (Math.random() * 2 - 1) * jitter));
    }, Math.max(0, delayMs));
  }

  /** Runs job `name` at `when` (besides its interval), e.g. when a rate limit ends. */
  runAt(name: string, when: Date): void {
    if (this.#stopped) return;
    const timer = setTimeout(() => {
      this.#oneOffs.delete(timer);
      this.requestRun(name);
    }, Math.max(0, when.getTime() - Date.now()));
    this.#oneOffs.add(timer);
  }

  /**
   * Runs job `name` soon: now when idle, or once more right after the current
   * run (which may have started before whatever prompted this request).
   */
  requestRun(name: string): void {
    const running = this.#running.get(name);
    if (running === undefined) {
      this.runNow(name).catch(() => {});
      return;
    }
    if (running.rerun) return;
    running.rerun = true;
    running.done.then(() => this.requestRun(name));
  }

  async #run(job: Job): Promise<void> {
    if (this.#stopped) return;
    const entry = this.#jobs.get(job.name)!;
    const abort = new AbortController();
    let finished!: () => void;
    const run = { done: new Promise<void>((resolve) => finished = resolve), abort, rerun: false };
    // Registered before the lease is asked for, so no second run can start meanwhile and stop() sees it.
    this.#running.set(job.name, run);
    let lease: Lease | null = null;
    let renewal: ReturnType<typeof setInterval> | undefined;
    try {
      if (job.leaseTtlMs !== undefined) {
        lease = await this.#leases.acquire(`job-${job.name}`, job.leaseTtlMs);
        if (lease === null) {
          entry.status.lastSkipped = new Date().toISOString();
          return; // another node runs it
        }
        if (this.#stopped) return;
        renewal = setInterval(() => this.#renew(job, () => lease!, (l) => lease = l, abort), job.leaseTtlMs / 3);
      }
      entry.status.running = true;
      entry.status.lastStart = new Date().toISOString();
      try {
        await job.run(abort.signal);
        entry.status.lastError = undefined;
      } catch (error) {
        entry.status.lastError = error instanceof Error ? error.message : String(error);
        this.#logger.log("error", "job failed", { job: job.name, error: entry.status.lastError });
      }
      entry.status.lastFinish = new Date().toISOString();
    } finally {
      clearInterval(renewal);
      if (lease !== null) await this.#leases.release(lease).catch(() => {});
      entry.status.running = false;
      this.#running.delete(job.name);
      finished();
    }
  }

  /** Renews a job's lease; a lost lease aborts the job, a failed attempt is retried until the lease expires. */
  async #renew(job: Job, current: () => Lease, update: (lease: Lease) => void, abort: AbortController): Promise<void> {
    const lease = current();
    try {
      const renewed = await this.#leases.renew(lease, job.leaseTtlMs!);
      if (renewed !== null) return update(renewed);
      this.#logger.log("warn", "job lost its lease; stopping it", { job: job.name });
      abort.abort();
    } catch (error) {
      // Storage trouble: keep trying on the next tick while the lease still holds.
      if (Date.now() >= lease.expiresAt - job.leaseTtlMs! / 3) {
        this.#logger.log("warn", "job could not renew its lease in time; stopping it", {
          job: job.name,
          error: String(error),
        });
        abort.abort();
      }
    }
  }
}
