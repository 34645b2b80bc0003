/**
 * The fast lane (src/http/fast_lane.ts) over raw connections: hot reads and
 * other plain requests answered in JavaScript, pipelined and kept alive,
 * uploads with chunked bodies, bodies left unread, and what it hands over to
 * Deno's own server.
 */
import assert from "node:assert/strict";
import { packageZip } from "./support/archives.ts";
import { swiftPublishBody } from "./support/multipart.ts";
import { connect, type RawResponse, ResponseReader, send } from "./support/raw_http.ts";
import { ADMIN_TOKEN, publish, startTestServer, type TestServer } from "./support/server.ts";

const SWIFT_JSON = "application/vnd.swift.registry.v1+json";

function portOf(t: TestServer): number {
  return Number(new URL(t.url).port);
}

function get(t: TestServer, path: string, headers: Record<string, string> = {}, method = "GET"): string {
  const lines = Object.entries({ Host: `127.0.0.1:${portOf(t)}`, Accept: SWIFT_JSON, ...headers })
    .map(([name, value]) => `${name}: ${value}\r\n`).join("");
  return `${method} ${path} HTTP/1.1\r\n${lines}\r\n`;
}

/** Runs `exchange` over a new raw connection to `t`, closed after. */
async function onConnection(
  t: TestServer,
  exchange: (conn: Deno.Conn, reader: ResponseReader) => Promise<void>,
): Promise<void> {
  const conn = await connect(portOf(t));
  try {
    await exchange(conn, new ResponseReader(conn));
  } finally {
    conn.close();
  }
}

/** What two answers to the same read must share: everything but when and which request. */
function comparable(response: { status: number; headers: Headers; body: Uint8Array }) {
  const headers = [...response.headers].filter(([name]) => name !== "date" && name !== "x-request-id");
  return { status: response.status, headers, body: response.body };
}

Deno.test("pipelined reads on one connection are answered in order, a hot read exactly as the routes answered it", async () => {
  await using t = await startTestServer();
  assert.equal((await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() })).status, 201);
  await onConnection(t, async (conn, reader) => {
    const paths = ["/swift/mona/LinkedList/1.0.0", "/swift/mona/LinkedList", "/swift/mona/LinkedList/1.0.0.zip"];
    // The first round goes through the routes, the second is hot: all six in one write.
    await send(conn, [...paths, ...paths].map((path) => get(t, path)).join(""));
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await reader.next());
    for (let i = 0; i < 3; i++) {
      assert.equal(answers[i].status, 200, paths[i]);
      assert.deepEqual(comparable(answers[i + 3]), comparable(answers[i]), paths[i]);
      assert.notEqual(answers[i].headers.get("x-request-id"), null, "the routes answered the first");
      assert.equal(answers[i + 3].headers.get("x-request-id"), null, "the hot path answered the second");
      assert.match(answers[i + 3].headers.get("date") ?? "", /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    }
    // HEAD says the GET's length and sends nothing; a matching If-None-Match gets 304; a client's id comes back.
    const etag = answers[3].headers.get("etag")!;
    await send(
      conn,
      get(t, paths[0], {}, "HEAD") + get(t, paths[0], { "If-None-Match": etag }) +
        get(t, paths[0], { "X-Request-ID": "lane-1" }) + get(t, paths[2], { Range: "bytes=0-9" }),
    );
    const head = await reader.next({ head: true });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), String(answers[3].body.length));
    assert.equal((await reader.next()).status, 304);
    const withId = await reader.next();
    assert.equal(withId.headers.get("x-request-id"), "lane-1");
    assert.deepEqual(withId.body, answers[3].body);
    const range = await reader.next();
    assert.equal(range.status, 206);
    assert.deepEqual(range.body, answers[5].body.subarray(0, 10));
  });
});

Deno.test("a publish with a chunked body is read in the lane, and the connection goes on", async () => {
  await using t = await startTestServer();
  const { body, contentType } = swiftPublishBody({ archive: await packageZip() });
  await onConnection(t, async (conn, reader) => {
    await send(
      conn,
      `PUT /swift/mona/LinkedList/1.0.0 HTTP/1.1\r\nHost: 127.0.0.1:${portOf(t)}\r\nAccept: ${SWIFT_JSON}\r\n` +
        `Authorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: ${contentType}\r\nTransfer-Encoding: chunked\r\n\r\n`,
    );
    // Chunks of odd sizes, each written apart, with an extension on one and a trailer at the end.
    for (let offset = 0, size = 1; offset < body.length; offset += size, size = size * 3 + 7) {
      const part = body.subarray(offset, offset + size);
      await send(conn, `${part.length.toString(16)}${offset === 0 ? ";note=first" : ""}\r\n`);
      await send(conn, part);
      await send(conn, "\r\n");
    }
    await send(conn, "0\r\nX-Trailer: yes\r\n\r\n" + get(t, "/swift/mona/LinkedList"));
    const published = await reader.next();
    assert.equal(published.status, 201, new TextDecoder().decode(published.body));
    const list = await reader.next();
    assert.equal(list.status, 200);
    assert.deepEqual(Object.keys(JSON.parse(new TextDecoder().decode(list.body)).releases), ["1.0.0"]);
  });
});

Deno.test("a body the app does not read still gets its answer, then the connection closes", async () => {
  await using t = await startTestServer();
  await onConnection(t, async (conn, reader) => {
    // No token: refused before the body is read. Only part of the announced body is ever sent.
    await send(
      conn,
      `PUT /swift/mona/LinkedList/1.0.0 HTTP/1.1\r\nHost: 127.0.0.1:${portOf(t)}\r\nAccept: ${SWIFT_JSON}\r\n` +
        `Content-Type: multipart/form-data; boundary=x\r\nContent-Length: ${4 * 1024 * 1024}\r\n\r\n`,
    );
    await send(conn, new Uint8Array(64 * 1024));
    assert.equal((await reader.next()).status, 401);
    assert.ok(await reader.closed(), "the server closed the connection");
  });
});

Deno.test("a chunked body that breaks its framing gets a 400 in the format's shape, then the connection closes", async () => {
  await using t = await startTestServer();
  await onConnection(t, async (conn, reader) => {
    await send(
      conn,
      `PUT /npm/broken HTTP/1.1\r\nHost: 127.0.0.1:${portOf(t)}\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\n` +
        `Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\nZZ\r\n`,
    );
    const refused = await reader.next();
    assert.equal(refused.status, 400);
    assert.match(JSON.parse(new TextDecoder().decode(refused.body)).error, /chunk size/);
    assert.ok(await reader.closed());
  });
});

Deno.test("Connection: close is honoured, after the routes and after a hot read", async () => {
  await using t = await startTestServer();
  assert.equal((await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() })).status, 201);
  for (const round of ["routes", "hot"]) {
    await onConnection(t, async (conn, reader) => {
      await send(conn, get(t, "/swift/mona/LinkedList", { Connection: "close" }) + get(t, "/health"));
      const answer = await reader.next();
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.has("x-request-id"), round === "routes", round);
      assert.ok(await reader.closed(), `${round}: closed after the first answer`);
    });
  }
});

Deno.test("what the lane does not read is answered by Deno's server, on the same connection", async () => {
  await using t = await startTestServer();
  const port = portOf(t);
  const answer = async (request: string) => {
    let response: RawResponse | undefined;
    await onConnection(t, async (conn, reader) => {
      await send(conn, request);
      response = await reader.next();
    });
    return response!;
  };
  // Deno's server names headers in lower case and writes `date`; the lane writes `Date`.
  const byDeno = (response: { head: string }) => /\r\ndate: /.test(response.head);
  const oldClient = await answer(`GET /health HTTP/1.0\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  assert.equal(oldClient.status, 200);
  assert.ok(byDeno(oldClient), oldClient.head);
  const expecting = await answer(get(t, "/health", { Expect: "100-continue" }));
  assert.ok([100, 200].includes(expecting.status), expecting.head);
  assert.equal((await answer(get(t, "/health", { "Bad Header": "x" }))).status, 400);
  const huge = await answer(get(t, "/health", { "X-Padding": "p".repeat(20 * 1024) }));
  assert.equal(huge.status, 200);
  assert.ok(byDeno(huge), "a head over 16 KiB is Deno's server's to judge");
  assert.equal((await answer(get(t, "/health", { Host: "x:99999" }))).status, 400);
  assert.equal(
    (await answer(get(t, "/health", { "Content-Length": "5", "Transfer-Encoding": "chunked" }))).status,
    400,
  );
  // A connection handed over stays with Deno's server, kept alive.
  await onConnection(t, async (conn, reader) => {
    await send(conn, `GET /health HTTP/1.0\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n\r\n`);
    assert.equal((await reader.next()).status, 200);
    await send(conn, get(t, "/health"));
    const next = await reader.next();
    assert.equal(next.status, 200);
    assert.ok(byDeno(next));
  });
});

Deno.test("REGISTRY_FAST_LANE=false leaves every connection to Deno's server", async () => {
  await using t = await startTestServer({ env: { REGISTRY_FAST_LANE: "false" } });
  assert.equal((await publish(t.swift, "mona/LinkedList/1.0.0", { archive: await packageZip() })).status, 201);
  await onConnection(t, async (conn, reader) => {
    await send(conn, get(t, "/swift/mona/LinkedList") + get(t, "/swift/mona/LinkedList"));
    const [first, hot] = [await reader.next(), await reader.next()];
    assert.deepEqual(comparable(hot), comparable(first));
    assert.match(hot.head, /\r\ndate: /, "written by Deno's server");
  });
});
