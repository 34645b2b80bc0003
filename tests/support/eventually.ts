/**
 * Waiting for something that happens in the background (a hook after the
 * answer, a scheduled pass) without assuming how fast the machine is: polls
 * until the condition holds, with a hang guard far above any honest wait.
 *
 * @module
 */

/** How long {@link eventually} waits before it gives up: a hang guard, not a performance bound. */
export const HANG_GUARD_MS = 60_000;

/**
 * Polls `check` every `intervalMs` until it returns a value other than
 * `undefined`, `null` or `false`, and returns that value.
 *
 * @throws {Error} naming `what` when the hang guard runs out.
 * @example
 * const versions = await eventually("three versions listed", async () => {
 *   const list = await listVersions();
 *   return list.length === 3 ? list : undefined;
 * });
 */
export async function eventually<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  intervalMs = 50,
): Promise<T> {
  const giveUpAt = Date.now() + HANG_GUARD_MS;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > giveUpAt) throw new Error(`gave up waiting for ${what} after ${HANG_GUARD_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
