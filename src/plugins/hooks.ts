/**
 * Calling plugin code safely: every hook has a deadline, and whatever a plugin
 * throws becomes one typed error for that request, never a crash.
 *
 * @module
 */
import { RegistryError } from "../errors.ts";
import { withDeadline } from "../util/deadlines.ts";

/** Default deadline of a plugin hook. */
export const HOOK_TIMEOUT_MS = 10_000;

/** A plugin hook failed or took too long. Maps to 503: the client may retry; the operator sees the cause in the log. */
export class PluginFailureError extends RegistryError {
  readonly plugin: string;
  constructor(plugin: string, detail: string) {
    super(503, "Service Unavailable", `plugin "${plugin}" failed: ${detail}`, { "Retry-After": "5" });
    this.plugin = plugin;
  }
}

/**
 * Runs `hook` (a plugin's code) with a deadline. Errors the plugin meant for
 * the client ({@link RegistryError}) pass through; anything else, and a
 * timeout, becomes a {@link PluginFailureError} naming the plugin. Deadlines
 * are watched by the shared sweeper (src/util/deadlines.ts), not a timer each.
 */
export async function callHook<T>(
  plugin: string,
  hook: () => T | Promise<T>,
  timeoutMs = HOOK_TIMEOUT_MS,
): Promise<T> {
  return await callHookNow(plugin, hook, timeoutMs);
}

/**
 * {@link callHook} for hot paths: an answer the hook gives at once comes back
 * at once, with no deadline timer (nothing could have interrupted it anyway);
 * only a promise races the deadline. Authorizing every search result calls
 * hooks thousands of times per request.
 *
 * @throws what {@link callHook} rejects with, when the hook throws at once.
 */
export function callHookNow<T>(
  plugin: string,
  hook: () => T | PromiseLike<T>,
  timeoutMs = HOOK_TIMEOUT_MS,
): T | Promise<T> {
  let answer: T | PromiseLike<T>;
  try {
    answer = hook();
  } catch (error) {
    throw hookError(plugin, error);
  }
  return isPromiseLike(answer) ? withHookDeadline(plugin, answer, timeoutMs) : answer;
}

async function withHookDeadline<T>(plugin: string, answer: PromiseLike<T>, timeoutMs: number): Promise<T> {
  try {
    return await withDeadline(
      Promise.resolve(answer),
      timeoutMs,
      () => new PluginFailureError(plugin, `no answer within ${timeoutMs} ms`),
    );
  } catch (error) {
    throw hookError(plugin, error);
  }
}

/** True for a promise or any other thenable. */
export function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

function hookError(plugin: string, error: unknown): RegistryError {
  if (error instanceof RegistryError) return error;
  return new PluginFailureError(plugin, error instanceof Error ? error.message : String(error));
}
