import assert from "node:assert/strict";
import { headerLyingArchives, packageZip } from "./support/archives.ts";
import { swiftPublishBody } from "./support/multipart.ts";
import { type Dist, PIP_ACCEPT, upload, uploadForm, wheel } from "./support/pypi.ts";
import { ADMIN_TOKEN, publish, startTestServer } from "./support/server.ts";
import { connect, readUntilClosed, send } from "./support/raw_http.ts";
import { seededRandom } from "./support/seeded_random.ts";

Deno.test("random requests to every route never get a 5xx, and nothing is written outside the data directory", async () => {
  const parent = await Deno.makeTempDir();
  await Deno.writeTextFile(`${parent}/outside.txt`, "untouched");
  await using t = await startTestServer({ dataDir: `${parent}/data` });
  const archive = await packageZip({ alternates: { "5.8": "5.8" } });
  const hostile = headerLyingArchives().map(([, bytes]) => bytes);
  assert.equal((await publish(t.swift, "mona/LinkedList/1.0.0", { archive })).status, 201);

  const seed = Number(Deno.env.get("FUZZ_SEED") ?? Date.now() % 100000);
  const next = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  const scopes = ["mona", "MONA", "-bad-", "a".repeat(40), "%2e%2e", "..", "%00", "😀", "identifiers"];
  const names = ["LinkedList", "linkedlist", "LinkedList.json", "x_y", "Linked.List", "%E0%A4%A", "a".repeat(300)];
  const versions = ["1.0.0", "v1.0", "1.0", "1.0.0.zip", "1.0.0.json", "9.9.9.zip", "1.0.0-beta+exp.sha", "..", "%2F"];
  const templates: Array<() => string[]> = [
    () => [pick(scopes)],
    () => [pick(scopes), pick(names)],
    () => [pick(scopes), pick(names), pick(versions)],
    () => [
      pick(scopes),
      pick(names),
      pick(versions),
      pick(["Package.swift", "package.swift", "Package@swift-5.8.swift"]),
    ],
    () => [pick(["identifiers", "login", "availability", ""])],
    () => ["-", "publishes", pick(["x", crypto.randomUUID(), "..", ""])],
    () => ["-", pick(["status", "status/", "metrics"])],
    () => ["-", pick(["yank", "takedown"]), pick(scopes), pick(names), pick(versions)],
    () => [pick(["search", "search/", "availability"])],
    () => Array.from({ length: 1 + Math.floor(next() * 6) }, () => pick([...scopes, ...names, ...versions])),
  ];
  const methods = ["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH", "FOO"];
  const headerChoices: Array<[string, string[]]> = [
    ["Accept", [
      "application/vnd.swift.registry.v1+json",
      "application/vnd.swift.registry.v9",
      "application/vnd.swift.registry.v+",
      "*/*",
      "application/vnd.swift.registry.vx+zip;q=0.5, text/html",
    ]],
    ["Range", ["bytes=0-0", "bytes=-0", "bytes=999999-", "bytes=5-1", "bytes=a-b", "items=0-1", "bytes=0-1,2-3"]],
    ["If-None-Match", ["*", '"x"', 'W/"y"', ""]],
    ["Authorization", [
      `Bearer ${ADMIN_TOKEN}`,
      "Bearer",
      "Basic !!!",
      `Basic ${btoa("no-colon")}`,
      "Digest x",
      "Bearer wrong",
    ]],
    ["Content-Type", [
      "multipart/form-data",
      "multipart/form-data; boundary=",
      "multipart/form-data; boundary=zz",
      "application/json",
      'multipart/form-data;boundary="unterminated',
    ]],
    ["Prefer", ["respond-async", "respond-async, wait=1", "handling=lenient"]],
    ["X-Request-ID", ["abc", "\u00e9\u00e9", "x".repeat(500)]],
  ];
  const queries = [
    "",
    "?swift-version=5.8",
    "?swift-version=5.8.0",
    "?swift-version=x",
    "?url=",
    "?url=git@github.com:a/b.git",
    "?url=%%%",
    "?swift-version=1&swift-version=2",
    "?page=2",
    "?page=0",
    "?q=mona&limit=1&offset=0",
    "?q=%22unterminated",
    "?q=pkg:swift/mona/LinkedList@1.0.0",
    "?q=a+OR+OR&limit=500",
    "?q=NOT+-x+scope:&offset=-3",
    "?q=%E0%A4%A&limit=&offset=",
  ];

  for (let i = 0; i < 1000; i++) {
    const path = pick(templates)().join("/");
    const method = pick(methods);
    const headers = new Headers();
    for (const [name, values] of headerChoices) {
      if (next() < 0.4) {
        try {
          headers.set(name, pick(values));
        } catch { /* not a valid header value for fetch; skip */ }
      }
    }
    let body: Uint8Array<ArrayBuffer> | undefined;
    if (method === "PUT" || method === "POST") {
      const kind = next();
      if (kind < 0.3) body = crypto.getRandomValues(new Uint8Array(Math.floor(next() * 2000)));
      else if (kind < 0.7) {
        const multipart = swiftPublishBody({
          archive: pick([archive, archive, crypto.getRandomValues(new Uint8Array(100)), ...hostile]),
        }, "zz");
        body = multipart.body.slice(0, Math.floor(next() * multipart.body.length) + 1);
      }
    }
    const base = next() < 0.05
      ? `${t.url}/${pick(["health", "metrics", "health/", "metrics/"])}`
      : `${t.swift}/${path}`;
    const url = `${base}${pick(queries)}`;
    let response: Response;
    try {
      response = await fetch(url, { method, headers, body });
    } catch (error) {
      throw new Error(`seed ${seed}: ${method} ${url} failed at the transport level: ${error}`);
    }
    await response.body?.cancel();
    assert.ok(
      response.status < 500,
      `seed ${seed}: ${method} ${url} ${JSON.stringify([...headers])} -> ${response.status}`,
    );
    assert.equal(response.headers.get("content-version"), "1");
  }
  const errors = t.logs.filter((line) => JSON.parse(line).level === "error");
  assert.deepEqual(errors, [], `seed ${seed}`);
  const beside = (await Array.fromAsync(Deno.readDir(parent))).map((e) => e.name).sort();
  assert.deepEqual(beside, ["data", "outside.txt"], `seed ${seed}: nothing appeared beside the data directory`);
  assert.equal(await Deno.readTextFile(`${parent}/outside.txt`), "untouched");
  await t.close();
  await Deno.remove(parent, { recursive: true });
});

Deno.test("random raw requests with odd Hosts, chunked bodies, slow and idle connections never get a 5xx or stop the server", async () => {
  await using t = await startTestServer({ env: { REGISTRY_HEADER_TIMEOUT: "200ms", REGISTRY_IDLE_TIMEOUT: "200ms" } });
  const archive = await packageZip();
  assert.equal((await publish(t.swift, "mona/LinkedList/1.0.0", { archive })).status, 201);
  const seed = Number(Deno.env.get("FUZZ_SEED") ?? Date.now() % 100000);
  const next = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  const hostChars = "ab.:[]@/?#% -_~!$&'()*+,;=0123456789";
  const hosts = [
    () => "127.0.0.1",
    () => "registry.example.com:8080",
    () => "[::1]:443",
    () => "x/swift/mona/LinkedList/1.0.0.zip?",
    () => "x:99999",
    () => "",
    () => Array.from({ length: 1 + Math.floor(next() * 12) }, () => pick([...hostChars])).join(""),
  ];
  const paths = [
    "/health",
    "/swift/mona/LinkedList",
    "/swift/mona/LinkedList/1.0.0.zip",
    "/swift/mona/LinkedList/9.9.9",
  ];
  const encoder = new TextEncoder();
  const held: Deno.Conn[] = [];

  for (let i = 0; i < 200; i++) {
    const kind = next();
    const conn = await connect(t.server.port);
    if (kind < 0.1) {
      held.push(conn); // idle: never sends a byte
      continue;
    }
    const method = pick(["GET", "HEAD", "PUT", "POST"]);
    const host = pick(hosts)();
    let head = `${method} ${
      pick(paths)
    } HTTP/1.1\r\nHost: ${host}\r\nAccept: application/vnd.swift.registry.v1+json\r\n`;
    if (kind < 0.2) {
      await send(conn, head.slice(0, Math.floor(next() * head.length))); // slow: stops mid-head
      held.push(conn);
      continue;
    }
    head += `Authorization: Bearer ${ADMIN_TOKEN}\r\nConnection: close\r\n`;
    const pieces: Uint8Array[] = [];
    if (method === "PUT" || method === "POST") {
      const { body, contentType } = swiftPublishBody({ archive: next() < 0.5 ? archive : new Uint8Array(50) }, "zz");
      head += `Content-Type: ${contentType}\r\nTransfer-Encoding: chunked\r\n`;
      for (let offset = 0; offset < body.length;) {
        const size = Math.min(body.length - offset, 1 + Math.floor(next() * 3000));
        const sizeLine = next() < 0.03 ? "zz" : size.toString(16);
        pieces.push(encoder.encode(`${sizeLine}\r\n`), body.subarray(offset, offset + size), encoder.encode("\r\n"));
        offset += size;
      }
      if (next() < 0.9) pieces.push(encoder.encode("0\r\n\r\n")); // else: truncated, then closed by the client
    }
    await send(conn, encoder.encode(`${head}\r\n`));
    for (const piece of pieces) await send(conn, piece).catch(() => {});
    const answer = pieces.length > 0 && !new TextDecoder().decode(pieces.at(-1)).startsWith("0\r\n")
      ? (conn.closeWrite(), await readUntilClosed(conn))
      : await readUntilClosed(conn);
    assert.notEqual(
      answer,
      "still open",
      `seed ${seed}: ${method} with Host ${JSON.stringify(host)} was never answered`,
    );
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1] ?? 0);
    assert.ok(status < 500, `seed ${seed}: ${method} with Host ${JSON.stringify(host)} -> ${answer.slice(0, 400)}`);
  }
  const health = await fetch(`${t.url}/health`);
  assert.equal(health.status, 200, `seed ${seed}: still serving`);
  await health.body?.cancel();
  // Idle and slow connections are closed by the server on its own.
  for (const conn of held) assert.notEqual(await readUntilClosed(conn), "still open", `seed ${seed}`);
  const errors = t.logs.filter((line) => JSON.parse(line).level === "error");
  assert.deepEqual(errors, [], `seed ${seed}`);
});

Deno.test("random requests under /pypi never get a 5xx, and every error is plain text", async () => {
  await using t = await startTestServer();
  const whl = await wheel("fuzzed", "1.0");
  const uploaded = await upload(t.url, whl);
  assert.equal(uploaded.status, 200, await uploaded.text());

  const seed = Number(Deno.env.get("FUZZ_SEED") ?? Date.now() % 100000);
  const next = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  const names = ["fuzzed", "Fuzzed", "fu_zz.ed", "-bad-", "..", "%2e%2e", "%00", "😀", "a".repeat(300), "__proto__"];
  const files = [
    whl.filename,
    `${whl.filename}.metadata`,
    "fuzzed-1.0.tar.gz",
    "constructor",
    "..",
    "%2F",
    ".metadata",
  ];
  const versions = ["1.0", "1.0.0", "9.9", "one", "..", "__proto__", "1!2.0+local"];
  const templates: Array<() => string[]> = [
    () => [""],
    () => ["simple", ""],
    () => ["simple", pick(names), pick(["", "x"])],
    () => ["files", pick(names), pick(files)],
    () => ["-", pick(["yank", "unyank", "other"]), pick(names), pick(versions)],
    () => Array.from({ length: 1 + Math.floor(next() * 5) }, () => pick([...names, ...files, ...versions])),
  ];
  const methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"];
  const headerChoices: Array<[string, string[]]> = [
    ["Accept", [PIP_ACCEPT, "application/json", "text/html;q=0", "*/*", "application/vnd.pypi.simple.v9+json"]],
    ["Range", ["bytes=0-0", "bytes=-0", "bytes=999999-", "bytes=5-1", "items=0-1"]],
    ["If-None-Match", ["*", '"x"', ""]],
    ["Authorization", [`Bearer ${ADMIN_TOKEN}`, `Basic ${btoa(`__token__:${ADMIN_TOKEN}`)}`, "Basic !!!", "Bearer"]],
    ["Content-Type", ["multipart/form-data; boundary=zz", "application/json", "multipart/form-data"]],
  ];
  const queries = ["", "?format=json", "?format=xml", "?format=", "?reason=x", "?format=text/html&format=json"];
  const form = await formBody(whl);

  for (let i = 0; i < 500; i++) {
    const method = pick(methods);
    const headers = new Headers();
    for (const [name, values] of headerChoices) if (next() < 0.4) headers.set(name, pick(values));
    let body: Uint8Array<ArrayBuffer> | undefined;
    if (method === "POST" || method === "PUT") {
      const kind = next();
      if (kind < 0.3) body = crypto.getRandomValues(new Uint8Array(Math.floor(next() * 2000)));
      else if (kind < 0.7) {
        body = form.body.slice(0, Math.floor(next() * form.body.length) + 1);
        headers.set("Content-Type", form.contentType);
      }
    }
    const url = `${t.url}/pypi/${pick(templates)().join("/")}${pick(queries)}`;
    let response: Response;
    try {
      response = await fetch(url, { method, headers, body });
    } catch (error) {
      throw new Error(`seed ${seed}: ${method} ${url} failed at the transport level: ${error}`);
    }
    const text = method === "HEAD" ? "" : await response.text();
    const where = `seed ${seed}: ${method} ${url} ${JSON.stringify([...headers])} -> ${response.status} ${text}`;
    assert.ok(response.status < 500, where);
    // ("/pypi/../x" is "/x" by the time it is sent: not PyPI's.)
    if (response.status >= 400 && method !== "HEAD" && new URL(url).pathname.startsWith("/pypi")) {
      assert.equal(response.headers.get("content-type"), "text/plain; charset=utf-8", where);
    }
  }
  const errors = t.logs.filter((line) => JSON.parse(line).level === "error");
  assert.deepEqual(errors, [], `seed ${seed}`);
});

/** A twine-like multipart body uploading `dist` (with its content type), for cutting short. */
async function formBody(dist: Dist): Promise<{ body: Uint8Array<ArrayBuffer>; contentType: string }> {
  const request = new Request("http://x/", { method: "POST", body: await uploadForm(dist) });
  return {
    body: new Uint8Array(await request.arrayBuffer()),
    contentType: request.headers.get("content-type")!,
  };
}
