/**
 * An S3-compatible server for tests: fauxqs in-process, behind a small proxy on
 * 127.0.0.1 that (1) implements conditional PUTs the way S3 does (fauxqs
 * ignores them): `If-None-Match: *` on an existing key and a stale `If-Match`
 * get 412, `If-Match` on a missing key 404, serialised per key; (2) counts
 * requests per method and key; (3) can be stopped and restarted on the same
 * port to simulate an outage.
 *
 * @module
 */
import { startFauxqs } from "fauxqs";
import { KeyedMutex } from "../../src/util/keyed_mutex.ts";

/** A running test S3. */
export interface TestS3 extends AsyncDisposable {
  /** `http://127.0.0.1:PORT` of the proxy (what the registry talks to). */
  endpoint: string;
  bucket: string;
  /** Number of requests seen, by `"METHOD key"` (query ignored). */
  count(method: string, keyPart: string): number;
  /** Every request seen, as `"METHOD key"`. */
  requests: string[];
  /** The registry settings that point at this S3. */
  env: Record<string, string>;
  /** Makes the endpoint unreachable (connections refused) until {@link start}. */
  stop(): Promise<void>;
  /**
   * Fault injection: `"hang"` leaves every request unanswered; `"stall"` sends
   * the first 64 KiB of GET bodies whose key contains `keyPart`, then goes
   * silent; `"lose-answer"` applies the next conditional PUT whose key contains
   * `keyPart`, then answers 500 as if the response were lost. `null` heals.
   */
  fault(mode: "hang" | "stall" | "lose-answer" | null, keyPart?: string): void;
  start(): void;
  close(): Promise<void>;
}

let buckets = 0;

/** Starts fauxqs and the proxy, with a fresh bucket. */
export async function startTestS3(): Promise<TestS3> {
  const fauxqs = await startFauxqs({ port: 0, logger: false });
  const bucket = `test-bucket-${++buckets}-${crypto.randomUUID().slice(0, 8)}`;
  await fauxqs.createBucket(bucket);
  const upstream = `http://127.0.0.1:${fauxqs.port}`;
  const locks = new KeyedMutex();
  const requests: string[] = [];
  let fault: { mode: "hang" | "stall" | "lose-answer"; keyPart: string } | null = null;
  let heal: () => void = () => {};
  let healed = Promise.resolve();
  const setFault = (mode: "hang" | "stall" | "lose-answer" | null, keyPart = "") => {
    heal();
    fault = mode === null ? null : { mode, keyPart };
    healed = new Promise((resolve) => heal = resolve);
  };

  const handler = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const key = decodeURIComponent(url.pathname.split("/").slice(2).join("/"));
    requests.push(`${request.method} ${key}`);
    if (fault?.mode === "hang") {
      await healed;
      return new Response(null, { status: 503 });
    }
    if (fault?.mode === "stall" && request.method === "GET" && key.includes(fault.keyPart)) {
      const upstreamResponse = await forward(request, url);
      const reader = upstreamResponse.body!.getReader();
      let sent = 0;
      const stalled = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (sent >= 64 * 1024) {
            await healed; // silence until healed, then end abruptly
            controller.error(new Error("stalled"));
            await reader.cancel();
            return;
          }
          const { value, done } = await reader.read();
          if (done) return controller.close();
          sent += value.length;
          controller.enqueue(value);
        },
        cancel: () => reader.cancel(),
      });
      return new Response(stalled, { status: upstreamResponse.status, headers: upstreamResponse.headers });
    }
    const ifNoneMatch = request.headers.get("if-none-match");
    const ifMatch = request.headers.get("if-match");
    if (request.method === "PUT" && key !== "" && (ifNoneMatch || ifMatch) && !url.searchParams.has("uploadId")) {
      return await locks.run(key, async () => {
        const head = await fetch(`${upstream}${url.pathname}`, { method: "HEAD" });
        await head.body?.cancel();
        const exists = head.status === 200;
        if (ifNoneMatch === "*" && exists) return s3Error(412, "PreconditionFailed");
        if (ifMatch && !exists) return s3Error(404, "NoSuchKey");
        if (ifMatch && head.headers.get("etag") !== ifMatch) return s3Error(412, "PreconditionFailed");
        const applied = await forward(request, url);
        if (fault?.mode === "lose-answer" && key.includes(fault.keyPart)) {
          fault = null;
          await applied.body?.cancel();
          return s3Error(500, "InternalError");
        }
        return applied;
      });
    }
    return await forward(request, url);
  };

  const forward = async (request: Request, url: URL): Promise<Response> => {
    const headers = new Headers(request.headers);
    headers.delete("host");
    const response = await fetch(`${upstream}${url.pathname}${url.search}`, {
      method: request.method,
      headers,
      body: request.body,
      redirect: "manual",
    });
    return new Response(response.body, { status: response.status, headers: response.headers });
  };

  let server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  const port = server.addr.port;
  let running = true;
  const endpoint = `http://127.0.0.1:${port}`;
  const close = async () => {
    setFault(null);
    if (running) await server.shutdown();
    running = false;
    await fauxqs.stop();
  };
  return {
    endpoint,
    bucket,
    requests,
    count: (method, keyPart) => requests.filter((r) => r.startsWith(`${method} `) && r.includes(keyPart)).length,
    env: {
      REGISTRY_S3_BUCKET: bucket,
      REGISTRY_S3_ENDPOINT: endpoint,
      REGISTRY_S3_FORCE_PATH_STYLE: "true",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
    },
    fault: setFault,
    async stop() {
      if (!running) return;
      running = false;
      await server.shutdown();
    },
    start() {
      if (running) return;
      server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, handler);
      running = true;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function s3Error(status: number, code: string): Response {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${code}</Message></Error>`;
  return new Response(body, { status, headers: { "Content-Type": "application/xml" } });
}
