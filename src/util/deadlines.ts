/**
 * Deadlines without a timer per call: one coarse sweeper (an interval that
 * runs only while some deadline is pending) fails every promise whose time
 * has passed. A request or plugin hook pays a set insertion and removal
 * instead of a `setTimeout` and `clearTimeout`; a deadline fires up to one
 * sweep period late, which is fine for bounds measured in seconds or minutes.
 * The sweeper runs only while something is pending (it keeps the process
 * alive meanwhile, as a timer would).
 *
 * @example
 * const answer = await withDeadline(provider.authenticate(request), 10_000, () => new Error("no answer"));
 *
 * @module
 */

/** How often pending deadlines are checked, in ms. */
export const SWEEP_INTERVAL_MS = 100;

interface Pending {
  at: number;
  fail: (error: unknown) => void;
  timeout: () => unknown;
}

const pending = new Set<Pending>();
let sweeper: ReturnType<typeof setInterval> | undefined;

function sweep(): void {
  const now = performance.now();
  for (const entry of pending) {
    if (entry.at > now) continue;
    settle(entry);
    entry.fail(entry.timeout());
  }
}

function settle(entry: Pending): void {
  pending.delete(entry);
  if (pending.size === 0 && sweeper !== undefined) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

/**
 * Settles like `work`, or rejects with `timeout()` once `ms` have passed
 * (checked every {@link SWEEP_INTERVAL_MS}). The work itself is not stopped;
 * its late outcome is ignored.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, timeout: () => unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const entry: Pending = { at: performance.now() + ms, fail: reject, timeout };
    pending.add(entry);
    sweeper ??= setInterval(sweep, SWEEP_INTERVAL_MS);
    work.then(
      (value) => {
        settle(entry);
        resolve(value);
      },
      (error) => {
        settle(entry);
        reject(error);
      },
    );
  });
}

/** Deadlines pending now (for tests). */
export function pendingDeadlines(): number {
  return pending.size;
}
