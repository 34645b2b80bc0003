/**
 * Raw TCP helpers for tests that need what `fetch` cannot do: odd `Host`
 * headers, partial request heads, idle connections, and watching a
 * connection get closed by the server.
 *
 * @module
 */

/** Opens a TCP connection to 127.0.0.1:`port`. */
export function connect(port: number): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port });
}

/** Writes `text` (UTF-8) to `conn`. */
export async function send(conn: Deno.Conn, text: string | Uint8Array): Promise<void> {
  const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
  for (let written = 0; written < bytes.length;) written += await conn.write(bytes.subarray(written));
}

/**
 * Reads until the server closes `conn` (or resets it), up to `boundMs`.
 * Resolves to what was read, or to `"still open"` when the bound passed first:
 * the bound only keeps a broken server from hanging the test run.
 */
export async function readUntilClosed(conn: Deno.Conn, boundMs = 20_000): Promise<string | "still open"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<"still open">((resolve) => timer = setTimeout(() => resolve("still open"), boundMs));
  const read = (async () => {
    const chunks: string[] = [];
    const buffer = new Uint8Array(65536);
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) break;
        chunks.push(decoder.decode(buffer.subarray(0, n), { stream: true }));
      }
    } catch { /* reset by the server: closed too */ }
    return chunks.join("");
  })();
  const outcome = await Promise.race([read, bound]);
  clearTimeout(timer);
  try {
    conn.close();
  } catch { /* already closed */ }
  if (outcome === "still open") await read;
  return outcome;
}

/** Reads one HTTP/1.1 response with a Content-Length body from `conn` (keeping the connection open). */
export async function readResponse(conn: Deno.Conn): Promise<{ status: number; head: string; body: string }> {
  const decoder = new TextDecoder();
  let text = "";
  const buffer = new Uint8Array(65536);
  for (;;) {
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) {
      const head = text.slice(0, end);
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (text.length - end - 4 >= length) {
        return { status: Number(head.split(" ")[1]), head, body: text.slice(end + 4, end + 4 + length) };
      }
    }
    const n = await conn.read(buffer);
    if (n === null) throw new Error(`connection closed after ${JSON.stringify(text.slice(0, 200))}`);
    text += decoder.decode(buffer.subarray(0, n), { stream: true });
  }
}

/**
 * Sends one request on a new connection and reads the response; the connection
 * is closed after. Throws when no answer came within `boundMs` (which only
 * keeps a server that never answers from hanging the test run).
 */
export async function rawRequest(
  port: number,
  request: string | Uint8Array,
  boundMs = 20_000,
): Promise<{ status: number; head: string; body: string }> {
  const conn = await connect(port);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    conn.close();
  }, boundMs);
  try {
    await send(conn, request);
    return await readResponse(conn);
  } catch (error) {
    throw timedOut ? new Error(`no answer within ${boundMs} ms`) : error;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed already */ }
  }
}
