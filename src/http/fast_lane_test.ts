import assert from "node:assert/strict";
import { RelayListener, sendResponse } from "./fast_lane.ts";
import { Inbox, requestBody } from "./inbox.ts";
import { ResponseReader } from "../../tests/support/raw_http.ts";

/** Both ends of a loopback TCP connection. */
async function pair(): Promise<{ client: Deno.Conn; server: Deno.Conn; [Symbol.dispose](): void }> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [client, server] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port }),
    listener.accept(),
  ]);
  return {
    client,
    server,
    [Symbol.dispose]() {
      for (const conn of [client, server]) {
        try {
          conn.close();
        } catch { /* closed already */ }
      }
    },
  };
}

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(chunks.map((chunk) => new TextEncoder().encode(chunk)));
}

Deno.test("sendResponse: a known length as is, one piece with its length, several pieces chunked, HEAD bare", async () => {
  using ends = await pair();
  const reader = new ResponseReader(ends.client);
  const cases: [Response, boolean][] = [
    [new Response(streamOf("ab", "cd"), { headers: { "Content-Length": "4" } }), false],
    [new Response("whole"), false],
    [new Response(streamOf("one ", "two ", "", "three")), false],
    [new Response(streamOf("x"), { headers: { "Content-Length": "1" } }), true],
    [new Response(null, { status: 204 }), false],
  ];
  for (const [response, head] of cases) assert.equal(await sendResponse(ends.server, response, head), true);
  const known = await reader.next();
  assert.equal(new TextDecoder().decode(known.body), "abcd");
  const whole = await reader.next();
  assert.equal(whole.headers.get("content-length"), "5");
  assert.equal(new TextDecoder().decode(whole.body), "whole");
  const chunked = await reader.next();
  assert.ok(chunked.chunked);
  assert.equal(new TextDecoder().decode(chunked.body), "one two three");
  const head = await reader.next({ head: true });
  assert.equal(head.headers.get("content-length"), "1");
  assert.equal((await reader.next()).status, 204);
  // Nothing stray was written after the HEAD's headers or the 204.
  await sendResponse(ends.server, new Response("end"), false);
  assert.equal(new TextDecoder().decode((await reader.next()).body), "end");
});

Deno.test("sendResponse: a body longer or shorter than its Content-Length, or a failing one, closes the connection", async () => {
  for (
    const body of [
      streamOf("abc", "def"),
      streamOf("ab"),
      new ReadableStream({
        pull(controller) {
          controller.error(new Error("disk gone"));
        },
      }),
    ]
  ) {
    using ends = await pair();
    const response = new Response(body, { headers: { "Content-Length": "4" } });
    assert.equal(await sendResponse(ends.server, response, false).catch(() => false), false);
  }
  using ends = await pair();
  const closing = new Response("bye", { headers: { Connection: "close" } });
  assert.equal(await sendResponse(ends.server, closing, false), false);
});

Deno.test("request bodies: Content-Length bytes and chunked, each leaving the next request in the inbox", async () => {
  using ends = await pair();
  const inbox = new Inbox(ends.server, 16);
  const next = "GET /next HTTP/1.1\r\n\r\n";
  const wire = "hello world!" + "5;ext=1\r\nchunk\r\n0b\r\n and more..\r\n0\r\nTrailer: t\r\n\r\n" + next;
  // Written in small pieces: boundaries fall inside sizes, data and line ends.
  (async () => {
    for (let i = 0; i < wire.length; i += 3) await ends.client.write(new TextEncoder().encode(wire.slice(i, i + 3)));
  })();
  const plain = requestBody(inbox, { kind: "length", length: 12 });
  assert.equal(await new Response(plain.stream).text(), "hello world!");
  assert.ok(plain.complete);
  const chunked = requestBody(inbox, { kind: "chunked" });
  assert.equal(chunked.complete, false);
  assert.equal(await new Response(chunked.stream).text(), "chunk and more..");
  assert.ok(chunked.complete);
  while (inbox.size < next.length) await inbox.fill(1024);
  assert.equal(new TextDecoder().decode(inbox.take(inbox.size)), next);
});

Deno.test("request bodies: a broken chunked body or a connection ending inside a body fails the stream", async () => {
  for (const wire of ["zz\r\nabc\r\n0\r\n\r\n", "3\r\nabcXY0\r\n\r\n", "a\r\nabc", `${"1".repeat(13)}\r\n`]) {
    using ends = await pair();
    await ends.client.write(new TextEncoder().encode(wire));
    await ends.client.closeWrite();
    const body = requestBody(new Inbox(ends.server), { kind: "chunked" });
    await assert.rejects(new Response(body.stream).text(), Error, JSON.stringify(wire));
    assert.equal(body.complete, false);
  }
  using ends = await pair();
  await ends.client.write(new TextEncoder().encode("short"));
  await ends.client.closeWrite();
  await assert.rejects(new Response(requestBody(new Inbox(ends.server), { kind: "length", length: 9 }).stream).text());
});

Deno.test("RelayListener: a relayed request carries the client's address; a stranger on its port gets 403", async () => {
  const served: Deno.HttpServer[] = [];
  const relays = new RelayListener((conn, handler) => {
    const serve = (Deno as unknown as Record<symbol, { serveHttpOnConnection: CallableFunction }>)[
      (Deno as unknown as { internal: symbol }).internal
    ].serveHttpOnConnection;
    const server = serve(conn, new AbortController().signal, handler, () => new Response("error"), () => {});
    served.push(server);
    return { graceful: () => void server.shutdown(), finished: server.finished.catch(() => {}) };
  });
  const client = { transport: "tcp" as const, hostname: "203.0.113.9", port: 4711 };
  const relay = await relays.connect(client, (_request, info) => new Response(info.remoteAddr.hostname));
  await relay.inner.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
  assert.equal(new TextDecoder().decode((await new ResponseReader(relay.inner).next()).body), "203.0.113.9");
  using stranger = await Deno.connect({ hostname: "127.0.0.1", port: relays.port });
  await stranger.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
  assert.equal((await new ResponseReader(stranger).next()).status, 403);
  relay.closeGracefully();
  relay.ended();
  await relays.close();
  relay.inner.close();
});
