/**
 * Reaching each worker of a server started with `REGISTRY_WORKERS` above 1:
 * every request on a connection of its own, so the kernel may hand it to any
 * worker, and the worker that answered read from its access-log line.
 *
 * @module
 */
import { eventually } from "./eventually.ts";
import type { TestServer } from "./server.ts";

/** An answer and the worker that gave it (0 for the first). */
export interface WorkerAnswer {
  response: Response;
  body: string;
  worker: number;
}

/**
 * Fetches `url` on a new connection (a client of its own), so the kernel may
 * hand it to any worker; returns the response and the worker that answered,
 * read from its access-log line (workers other than the first name themselves).
 */
export async function onNewConnection(t: TestServer, url: string, init: RequestInit = {}): Promise<WorkerAnswer> {
  const id = crypto.randomUUID();
  const client = Deno.createHttpClient({});
  try {
    const response = await fetch(url, { ...init, client, headers: { ...init.headers, "X-Request-ID": id } });
    const body = await response.text();
    const line = await eventually(
      `the access-log line of ${id}`,
      () => t.logs.map((l) => JSON.parse(l)).find((l) => l.msg === "request" && l.id === id),
    );
    return { response, body, worker: line.worker ?? 0 };
  } finally {
    client.close();
  }
}

/** Reads `url` on new connections until both workers have answered; returns every answer. */
export async function fromBothWorkers(t: TestServer, url: string, init: RequestInit = {}): Promise<WorkerAnswer[]> {
  const answers: WorkerAnswer[] = [];
  await eventually("both workers answered", async () => {
    answers.push(await onNewConnection(t, url, init));
    return new Set(answers.map((a) => a.worker)).size === 2;
  }, 0);
  return answers;
}
