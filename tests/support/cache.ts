/**
 * Helpers for build-cache tests: raw HTTP as bazel, ccache and Tuist send it.
 *
 * @module
 */
import { ADMIN_TOKEN, sha256Hex } from "./server.ts";
import { walk } from "./files.ts";

/** `Authorization` values: Basic with the token as password (ccache, bazel) and Bearer (Tuist). */
export const BASIC = `Basic ${btoa(`ci:${ADMIN_TOKEN}`)}`;
export const BEARER = `Bearer ${ADMIN_TOKEN}`;

/** `length` incompressible bytes. */
export function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(length, i + 65536)));
  return bytes;
}

/** `PUT /cache/<kind>/<key>` (a CAS key defaults to the body's SHA-256); returns the response, body read. */
export async function cachePut(
  base: string,
  kind: "cas" | "ac",
  body: Uint8Array<ArrayBuffer>,
  options: { key?: string; authorization?: string | null } = {},
): Promise<{ status: number; text: string; key: string; headers: Headers }> {
  const key = options.key ?? await sha256Hex(body);
  const headers: Record<string, string> = {};
  const authorization = options.authorization === undefined ? BASIC : options.authorization;
  if (authorization !== null) headers.Authorization = authorization;
  const response = await fetch(`${base}/cache/${kind}/${key}`, { method: "PUT", headers, body });
  return { status: response.status, text: await response.text(), key, headers: response.headers };
}

/** `GET /cache/<kind>/<key>`: the status and the body's bytes. */
export async function cacheGet(
  base: string,
  kind: "cas" | "ac",
  key: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; bytes: Uint8Array; headers: Headers }> {
  const response = await fetch(`${base}/cache/${kind}/${key}`, { headers });
  return { status: response.status, bytes: new Uint8Array(await response.arrayBuffer()), headers: response.headers };
}

/** The query naming a Tuist project. */
export function project(account: string, name: string): string {
  return `account_handle=${encodeURIComponent(account)}&project_handle=${encodeURIComponent(name)}`;
}

/** Total bytes of build-cache entries on a server's local disk (not its bookkeeping). */
export async function cacheBytesOnDisk(dataDir: string): Promise<number> {
  let total = 0;
  for (const kind of ["cas", "ac", "tuist"]) {
    try {
      for await (const path of walk(`${dataDir}/objects/cache/${kind}`)) total += (await Deno.stat(path)).size;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return total;
}

/** The value of a counter series in Prometheus text, 0 when absent. */
export async function metric(base: string, series: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/**
 * Writes a server's access stamps to storage, including every read made
 * before the call: a run already in progress may have started before them,
 * so a second run follows it (a no-op when there is nothing new).
 */
export async function flushStamps(server: { scheduler: { runNow(name: string): Promise<void> } }): Promise<void> {
  await server.scheduler.runNow("cache-access-stamps");
  await server.scheduler.runNow("cache-access-stamps");
}
