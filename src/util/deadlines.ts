/**
 * Deadlines without a timer per call: one coarse sweeper (an interval that
 * runs only while some deadline is pending) fails every promise whose time
 * has passed. A request or plugin hook pays a set insertion and removal
 * instead of a `setTimeout` and `clearTimeout`; a deadline fires up to one
 * sweep period late, which is fine for bounds measured in seconds or minutes.
 * The sweeper keeps the process alive only while something is pending (as a
 * timer would): it is ref'd and unref'd as the first deadline comes and the
 * last one goes (an op call, not a new timer), and stopped after a second
 * with nothing pending.
 *
 * @example
 * const answer = await withDeadline(provider.authenticate(request), 10_000, () => new Error("no answer"));
 *
 * @module
 */

/** How often pending deadlines are checked, in ms. */
export const SWEEP_INTERVAL_MS = 100;

/** Idle sweeps after which the sweeper stops. */
const IDLE_SWEEPS = 10;

interface Pending {
  at: number;
  fail: (error: unknown) => void;
  timeout: () => unknown;
}

const pending = new Set<Pending>();
let sweeper: ReturnType<typeof setInterval> | undefined;
let idleSweeps = 0;

function sweep(): void {
  if (pending.size === 0) {
    if (++idleSweeps >= IDLE_SWEEPS) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
    return;
  }
  idleSweeps = 0;
  const now = performance.now();
  for (const entry of pending) {
    if (entry.at > now) continue;
    settle(entry);
    entry.fail(entry.timeout());
  }
}

function add(entry: Pending): void {
  pending.add(entry);
  if (pending.size > 1) return;
  if (sweeper === undefined) sweeper = setInterval(sweep, SWEEP_INTERVAL_MS);
  else Deno.refTimer(Number(sweeper)); // a timer id, or Node's Timeout (whose number is its id)
}

function settle(entry: Pending): void {
  if (pending.delete(entry) && pending.size === 0 && sweeper !== undefined) Deno.unrefTimer(Number(sweeper));
}

/**
 * Settles like `work`, or rejects with `timeout()` once `ms` have passed
 * (checked every {@link SWEEP_INTERVAL_MS}). The work itself is not stopped;
 * its late outcome is ignored.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, timeout: () => unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const entry: Pending = { at: performance.now() + ms, fail: reject, timeout };
    add(entry);
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
