import assert from "node:assert/strict";
import { encodeResponse, headEnd, HeadRequest, httpDate, parseHead, UNSUPPORTED } from "./http1.ts";

const head = (...lines: string[]) => lines.map((line) => `${line}\r\n`).join("") + "\r\n";

Deno.test("a plain request head is read: URL as Deno builds it, headers joined, body framing", () => {
  const request = parseHead(
    head("GET /swift/a/b?x=1 HTTP/1.1", "Host: reg.example:8080", "Accept: a", "accept:  b ", "X-Empty:"),
  );
  assert.ok(request instanceof HeadRequest);
  assert.equal(request.method, "GET");
  assert.equal(request.url, "http://reg.example:8080/swift/a/b?x=1");
  assert.equal(request.headers.get("ACCEPT"), "a, b");
  assert.equal(request.headers.get("x-empty"), "");
  assert.equal(request.headers.has("range"), false);
  assert.deepEqual(request.framing, { kind: "none" });
  assert.equal(request.close, false);
  const put = parseHead(head("PUT /x HTTP/1.1", "Host: h", "Content-Length: 12", "Connection: close"));
  assert.ok(put instanceof HeadRequest);
  assert.deepEqual(put.framing, { kind: "length", length: 12 });
  assert.equal(put.close, true);
  const chunked = parseHead(head("POST /x HTTP/1.1", "Host: h", "Transfer-Encoding: Chunked"));
  assert.ok(chunked instanceof HeadRequest);
  assert.deepEqual(chunked.framing, { kind: "chunked" });
  const request2 = put.toRequest(new Blob(["twelve bytes"]).stream());
  assert.equal(request2.method, "PUT");
  assert.equal(request2.headers.get("content-length"), "12");
});

Deno.test("anything but a plain head is left to Deno's server", () => {
  const odd = [
    head("GET http://h/x HTTP/1.1", "Host: h"), // absolute form
    head("GET /x HTTP/1.0", "Host: h"),
    head("GET /x HTTP/1.1"), // no Host
    head("GET /x HTTP/1.1", "Host: h", "Host: h"),
    head("GET /x HTTP/1.1", "Host: a b"),
    head("GET /x#frag HTTP/1.1", "Host: h"),
    head("GET /x HTTP/1.1 extra", "Host: h"),
    head("CONNECT h:443 HTTP/1.1", "Host: h"),
    head("TRACE /x HTTP/1.1", "Host: h"),
    head("GET /x HTTP/1.1", "Host: h", "Bad Name: x"),
    head("GET /x HTTP/1.1", "Host: h", " folded: x"),
    head("GET /x HTTP/1.1", "Host: h", "NoColon"),
    head("GET /x HTTP/1.1", "Host: h", "Expect: 100-continue"),
    head("GET /x HTTP/1.1", "Host: h", "Upgrade: websocket", "Connection: Upgrade"),
    head("GET /x HTTP/1.1", "Host: h", "Content-Length: 3"), // a GET with a body
    head("PUT /x HTTP/1.1", "Host: h", "Content-Length: 3", "Transfer-Encoding: chunked"),
    head("PUT /x HTTP/1.1", "Host: h", "Content-Length: 3", "Content-Length: 3"),
    head("PUT /x HTTP/1.1", "Host: h", "Content-Length: -3"),
    head("PUT /x HTTP/1.1", "Host: h", "Transfer-Encoding: gzip, chunked"),
    head("GET /x HTTP/1.1", "Host: h", "X: a\u0001b"),
    "GET /x HTTP/1.1\r\nHost: h\r\n", // not a whole head
  ];
  for (const text of odd) assert.equal(parseHead(text), UNSUPPORTED, JSON.stringify(text));
});

Deno.test("headEnd finds the blank line, refuses non-ASCII and NUL bytes, and waits for more", () => {
  const bytes = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /next");
  assert.equal(headEnd(bytes, 0, bytes.length), 27);
  assert.equal(headEnd(bytes, 27, bytes.length), -1);
  assert.equal(headEnd(new TextEncoder().encode("GET /é HTTP/1.1\r\n\r\n"), 0, 20), UNSUPPORTED);
  assert.equal(headEnd(new Uint8Array([71, 0, 13, 10, 13, 10]), 0, 6), UNSUPPORTED);
});

Deno.test("encodeResponse writes one buffer: status line, headers, request id, Date, blank line, body", () => {
  const now = Date.UTC(2026, 11, 2, 16, 9, 4);
  assert.equal(httpDate(now), "Wed, 02 Dec 2026 16:09:04 GMT");
  const bytes = encodeResponse(206, [["Content-Length", "3"]], new TextEncoder().encode("ABC"), "r");
  const text = new TextDecoder().decode(bytes);
  assert.match(
    text,
    /^HTTP\/1\.1 206 Partial Content\r\nContent-Length: 3\r\nX-Request-ID: r\r\nDate: \w{3}, .* GMT\r\n\r\nABC$/,
  );
  // Header values are byte strings: one byte per character, as Headers holds them.
  const latin1 = encodeResponse(200, [["Content-Disposition", 'attachment; filename="caf\u00e9"']]);
  assert.ok(latin1.includes(0xe9));
});
