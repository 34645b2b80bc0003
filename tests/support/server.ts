/**
 * Starts a real registry in the test process on 127.0.0.1 port 0, with its own
 * temporary data directory, through the same config loader the CLI uses.
 *
 * @module
 */
import { loadConfig } from "../../src/config.ts";
import { type RunningServer, startServer } from "../../src/http/server.ts";
import { createMemoryLogger } from "../../src/log.ts";
import { type PublishParts, swiftPublishBody } from "./multipart.ts";

/** The admin token test servers are started with. */
export const ADMIN_TOKEN = "test-admin-token-0123456789";

/** A running test registry. */
export interface TestServer extends AsyncDisposable {
  server: RunningServer;
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `http://127.0.0.1:PORT/swift` */
  swift: string;
  dataDir: string;
  /** Log lines written so far. */
  logs: string[];
  close(): Promise<void>;
}

/**
 * Options: extra `REGISTRY_*` settings (one worker unless `REGISTRY_WORKERS`
 * says otherwise), a data dir to reuse (e.g. across a restart), and a clock to
 * control time (of the first worker).
 */
export async function startTestServer(
  options: {
    env?: Record<string, string>;
    dataDir?: string;
    now?: () => number;
    /** The clock of the header and idle timeouts. */
    connectionClock?: () => number;
  } = {},
): Promise<TestServer> {
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? await Deno.makeTempDir({ prefix: "registry-test-" });
  const config = await loadConfig({ port: "0", host: "127.0.0.1", dataDir }, {
    REGISTRY_ADMIN_TOKEN: ADMIN_TOKEN,
    REGISTRY_LOG_LEVEL: "debug",
    // One worker unless a test asks for more: tests reach into the server (scheduler, cache, clock).
    REGISTRY_WORKERS: "1",
    ...options.env,
  });
  const logger = createMemoryLogger();
  const server = await startServer(config, logger, { now: options.now, connectionClock: options.connectionClock });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await server.shutdown();
    if (ownsDataDir) await Deno.remove(dataDir, { recursive: true });
  };
  return {
    server,
    url: server.url,
    swift: `${server.url}/swift`,
    dataDir,
    logs: logger.lines,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Sends a publish as SwiftPM would (synchronous unless `prefer` says otherwise). */
export function publish(
  swift: string,
  path: string,
  parts: PublishParts,
  options: { token?: string | null; prefer?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const { body, contentType } = swiftPublishBody(parts);
  const headers: Record<string, string> = {
    "Content-Type": contentType,
    Accept: "application/vnd.swift.registry.v1+json",
    ...options.headers,
  };
  const token = options.token === undefined ? ADMIN_TOKEN : options.token;
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  if (options.prefer) headers.Prefer = options.prefer;
  return fetch(`${swift}/${path}`, { method: "PUT", headers, body });
}

/** Fetches `url` with the registry JSON Accept header (or `accept`). */
export function get(url: string, init: RequestInit & { accept?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has("accept")) headers.set("Accept", init.accept ?? "application/vnd.swift.registry.v1+json");
  return fetch(url, { ...init, headers });
}

/** Reads a problem+json body and checks its shape; returns it. */
export async function problem(response: Response): Promise<{ status: number; detail: string; title: string }> {
  const type = response.headers.get("content-type");
  if (type !== "application/problem+json") {
    throw new Error(`expected application/problem+json, got ${type}: ${await response.text()}`);
  }
  const body = await response.json();
  if (body.status !== response.status || typeof body.detail !== "string" || body.detail === "") {
    throw new Error(`malformed problem document ${JSON.stringify(body)} for status ${response.status}`);
  }
  return body;
}

/** SHA-256 of bytes as lowercase hex. */
export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A token a test server accepts, configured through the built-in static-token plugin. */
export interface TestToken {
  name: string;
  token: string;
  scopes: Array<"read" | "publish" | "admin">;
  packageScopes?: string[];
}

/** A `REGISTRY_CONFIG` file that gives the server `tokens`; its `env` goes to {@link startTestServer}. */
export async function tokenConfig(
  tokens: TestToken[],
): Promise<{ env: { REGISTRY_CONFIG: string } } & AsyncDisposable> {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(path, JSON.stringify({ plugins: [{ use: "static-token", options: { tokens } }] }));
  return { env: { REGISTRY_CONFIG: path }, [Symbol.asyncDispose]: () => Deno.remove(path) };
}
