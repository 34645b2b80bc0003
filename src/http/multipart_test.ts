import assert from "node:assert/strict";
import {
  multipartBoundary,
  type MultipartLimits,
  type MultipartPart,
  readMultipart,
  readPartBytes,
} from "./multipart.ts";
import { BadRequestError, PayloadTooLargeError } from "../errors.ts";

const BOUNDARY = "----swiftpm-boundary-7MA4YWxkTrZu0gW";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Concatenates strings (UTF-8 encoded) and byte arrays. */
function bytes(...pieces: (string | Uint8Array)[]): Uint8Array {
  const arrays = pieces.map((piece) => typeof piece === "string" ? encoder.encode(piece) : piece);
  const out = new Uint8Array(arrays.reduce((sum, a) => sum + a.length, 0));
  let offset = 0;
  for (const a of arrays) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
}

/** A stream of `data` cut into chunks whose sizes cycle through `sizes`. */
function chunked(data: Uint8Array, sizes: number[]): ReadableStream<Uint8Array> & { cancelled: () => boolean } {
  let offset = 0;
  let index = 0;
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= data.length) {
        controller.close();
        return;
      }
      const size = Math.max(1, Math.min(sizes[index++ % sizes.length], data.length - offset));
      // A fresh copy per chunk, so the parser cannot rely on one shared buffer.
      controller.enqueue(data.slice(offset, offset + size));
      offset += size;
    },
    cancel() {
      cancelled = true;
    },
  }, { highWaterMark: 0 });
  return Object.assign(stream, { cancelled: () => cancelled });
}

/** Chunkings every parsing test runs under: tiny, odd, mixed and whole-body. */
const CHUNKINGS: [string, number[]][] = [
  ["1-byte chunks", [1]],
  ["3-byte chunks", [3]],
  ["7-byte chunks", [7]],
  ["mixed 1/3/7/2/64-byte chunks", [1, 3, 7, 2, 64]],
  ["one chunk", [Number.MAX_SAFE_INTEGER]],
];

function part(headers: string[], body: string | Uint8Array): Uint8Array {
  return bytes(`--${BOUNDARY}\r\n`, headers.map((h) => `${h}\r\n`).join(""), "\r\n", body, "\r\n");
}

function closing(): string {
  return `--${BOUNDARY}--\r\n`;
}

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return bytes(...chunks);
}

interface ReadPart {
  name: string;
  filename?: string;
  contentType: string | null;
  body: Uint8Array;
}

/** Reads every part and its body, in order. */
async function parse(
  data: Uint8Array,
  sizes: number[],
  limits?: MultipartLimits,
): Promise<ReadPart[]> {
  const parts: ReadPart[] = [];
  for await (const p of readMultipart(chunked(data, sizes), BOUNDARY, limits)) {
    const entry: ReadPart = { name: p.name, contentType: p.headers.get("content-type"), body: await readAll(p.body) };
    if (p.filename !== undefined) entry.filename = p.filename;
    parts.push(entry);
  }
  return parts;
}

async function assertBadRequest(promise: Promise<unknown>, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof BadRequestError, String(error));
    assert.equal(error.status, 400);
    if (message) assert.match(error.message, message);
    return true;
  });
}

/** Binary content that stresses delimiter search: every byte value and near-misses of the delimiter. */
function trickyBinary(): Uint8Array {
  const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);
  let seed = 12345;
  const noise = Uint8Array.from({ length: 3000 }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
  return bytes(
    allBytes,
    "\r\n--",
    noise.subarray(0, 500),
    `\r\n--${BOUNDARY.slice(0, 10)}`, // the delimiter cut short
    noise.subarray(500, 1000),
    `\r\n--${BOUNDARY.slice(0, -1)}`, // all but the last byte of the delimiter
    `--${BOUNDARY}`, // the boundary without the leading CRLF is not a delimiter
    noise.subarray(1000),
    "\r\n-\r\n--\r", // ends on a delimiter prefix, right before the real delimiter
  );
}

// ---------------------------------------------------------------------------
// multipartBoundary

Deno.test("multipartBoundary reads an unquoted boundary", () => {
  assert.equal(multipartBoundary(`multipart/form-data; boundary=${BOUNDARY}`), BOUNDARY);
  assert.equal(multipartBoundary("multipart/form-data;boundary=abc"), "abc");
});

Deno.test("multipartBoundary reads a quoted boundary, which may contain spaces and semicolons", () => {
  assert.equal(multipartBoundary('multipart/form-data; boundary="a b;c"'), "a b;c");
});

Deno.test("multipartBoundary ignores case, whitespace and other parameters", () => {
  assert.equal(multipartBoundary("Multipart/Form-Data ;  charset=utf-8;  BOUNDARY = xyz ; foo=bar"), "xyz");
});

Deno.test("multipartBoundary accepts a 70-character boundary", () => {
  const b70 = "b".repeat(70);
  assert.equal(multipartBoundary(`multipart/form-data; boundary=${b70}`), b70);
  assert.equal(multipartBoundary(`multipart/form-data; boundary="${b70}"`), b70);
});

Deno.test("multipartBoundary rejects a quoted boundary longer than 70 characters", () => {
  assert.equal(multipartBoundary(`multipart/form-data; boundary="${"b".repeat(71)}"`), null);
});

Deno.test({
  name: "multipartBoundary rejects an unquoted boundary longer than 70 characters",
  fn() {
    assert.equal(multipartBoundary(`multipart/form-data; boundary=${"b".repeat(71)}`), null);
  },
});

Deno.test("multipartBoundary returns null without a multipart/form-data boundary", () => {
  const values = [
    null,
    undefined,
    "",
    "multipart/form-data",
    "multipart/form-data;",
    "multipart/form-data; boundary=",
    'multipart/form-data; boundary=""',
    "multipart/form-data; xboundary=abc",
    "multipart/mixed; boundary=abc",
    "multipart/form-datax; boundary=abc",
    "application/json; boundary=abc",
    "text/plain",
  ];
  for (const value of values) assert.equal(multipartBoundary(value), null, String(value));
});

// ---------------------------------------------------------------------------
// readMultipart: well-formed bodies

for (const [label, sizes] of CHUNKINGS) {
  Deno.test(`readMultipart passes binary part bytes through byte-identical with ${label}`, async () => {
    const binary = trickyBinary();
    const metadata = JSON.stringify({ repositoryURLs: ["https://github.com/mona/LinkedList"] });
    const data = bytes(
      part(['Content-Disposition: form-data; name="source-archive"', "Content-Type: application/zip"], binary),
      part(['Content-Disposition: form-data; name="metadata"', "Content-Type: application/json"], metadata),
      closing(),
    );
    const parts = await parse(data, sizes);
    assert.equal(parts.length, 2);
    assert.equal(parts[0].name, "source-archive");
    assert.equal(parts[0].contentType, "application/zip");
    assert.equal(parts[0].body.length, binary.length);
    assert.deepEqual(parts[0].body, binary);
    assert.equal(parts[1].name, "metadata");
    assert.equal(decoder.decode(parts[1].body), metadata);
  });

  Deno.test(`readMultipart skips a part the consumer does not read with ${label}`, async () => {
    const binary = trickyBinary();
    const data = bytes(
      part(['Content-Disposition: form-data; name="first"'], "one"),
      part(['Content-Disposition: form-data; name="ignored"; filename="x.bin"'], binary),
      part(['Content-Disposition: form-data; name="third"'], "three"),
      closing(),
    );
    const seen: [string, string | null][] = [];
    for await (const p of readMultipart(chunked(data, sizes), BOUNDARY)) {
      seen.push([p.name, p.name === "ignored" ? null : decoder.decode(await readAll(p.body))]);
    }
    assert.deepEqual(seen, [["first", "one"], ["ignored", null], ["third", "three"]]);
  });

  Deno.test(`readMultipart skips the rest of a partly read part with ${label}`, async () => {
    const long = "x".repeat(500);
    const data = bytes(
      part(['Content-Disposition: form-data; name="long"'], long),
      part(['Content-Disposition: form-data; name="after"'], "after"),
      closing(),
    );
    const seen: [string, string][] = [];
    for await (const p of readMultipart(chunked(data, sizes), BOUNDARY)) {
      if (p.name === "long") {
        for await (const chunk of p.body) {
          assert.ok(chunk.length > 0);
          break; // read one chunk only
        }
        seen.push([p.name, "partial"]);
      } else {
        seen.push([p.name, decoder.decode(await readAll(p.body))]);
      }
    }
    assert.deepEqual(seen, [["long", "partial"], ["after", "after"]]);
  });

  Deno.test(`readMultipart reports the filename only when the part has one with ${label}`, async () => {
    const data = bytes(
      part(['Content-Disposition: form-data; name="metadata"'], "{}"),
      part(['Content-Disposition: form-data; name="source-archive"; filename="LinkedList-1.1.1.zip"'], "zip"),
      closing(),
    );
    const parts = await parse(data, sizes);
    assert.equal(parts[0].filename, undefined);
    assert.ok(!("filename" in parts[0]));
    assert.equal(parts[1].filename, "LinkedList-1.1.1.zip");
  });

  Deno.test(`readMultipart ignores the preamble and the epilogue with ${label}`, async () => {
    const data = bytes(
      "This is the preamble; it mentions --not-the-boundary.\r\n",
      part(['Content-Disposition: form-data; name="a"'], "A"),
      closing(),
      "epilogue text, even with --",
      BOUNDARY,
      " in it",
    );
    const parts = await parse(data, sizes);
    assert.deepEqual(parts.map((p) => [p.name, decoder.decode(p.body)]), [["a", "A"]]);
  });
}

Deno.test("readMultipart yields an empty body for an empty part", async () => {
  for (const [, sizes] of CHUNKINGS) {
    const data = bytes(
      part(['Content-Disposition: form-data; name="empty"'], ""),
      part(['Content-Disposition: form-data; name="next"'], "n"),
      closing(),
    );
    const parts = await parse(data, sizes);
    assert.equal(parts[0].body.length, 0);
    assert.equal(decoder.decode(parts[1].body), "n");
  }
});

Deno.test("readMultipart handles a body with no parts", async () => {
  assert.deepEqual(await parse(encoder.encode(closing()), [1]), []);
});

Deno.test("readMultipart handles a body that starts with a CRLF before the first boundary", async () => {
  const data = bytes("\r\n", part(['Content-Disposition: form-data; name="a"'], "A"), closing());
  assert.deepEqual((await parse(data, [1])).map((p) => p.name), ["a"]);
});

Deno.test("readMultipart accepts a closing boundary without a trailing CRLF", async () => {
  const data = bytes(part(['Content-Disposition: form-data; name="a"'], "A"), `--${BOUNDARY}--`);
  assert.deepEqual((await parse(data, [3])).map((p) => decoder.decode(p.body)), ["A"]);
});

Deno.test("readMultipart keeps a body that contains the boundary without a preceding CRLF", async () => {
  const content = `a--${BOUNDARY}b\n--${BOUNDARY}\r--${BOUNDARY}`;
  const data = bytes(part(['Content-Disposition: form-data; name="a"'], content), closing());
  for (const [, sizes] of CHUNKINGS) {
    assert.equal(decoder.decode((await parse(data, sizes))[0].body), content);
  }
});

Deno.test("readMultipart parses quoted, escaped and unquoted disposition parameters", async () => {
  const data = bytes(
    part(['content-disposition: FORM-DATA; NAME=plain; FileName="a \\"quoted\\" name;.zip"'], "1"),
    part(['Content-Disposition: form-data; name="semi;colon"; filename=""'], "2"),
    part(['Content-Disposition: form-data ; name = "spaced" '], "3"),
    closing(),
  );
  const parts = await parse(data, [7]);
  assert.deepEqual(parts.map((p) => [p.name, p.filename]), [
    ["plain", 'a "quoted" name;.zip'],
    ["semi;colon", ""],
    ["spaced", undefined],
  ]);
});

Deno.test("readMultipart decodes UTF-8 Latin-1 characters in part headers", async () => {
  const data = bytes(part(['Content-Disposition: form-data; name="file"; filename="Ünïcødé.zip"'], "z"), closing());
  assert.equal((await parse(data, [1]))[0].filename, "Ünïcødé.zip");
});

Deno.test({
  name: "readMultipart decodes UTF-8 beyond Latin-1 in part headers",
  async fn() {
    const data = bytes(part(['Content-Disposition: form-data; name="file"; filename="日本-📦.zip"'], "z"), closing());
    assert.equal((await parse(data, [1]))[0].filename, "日本-📦.zip");
  },
});

Deno.test("readMultipart exposes every part header", async () => {
  const data = bytes(
    part([
      'Content-Disposition: form-data; name="a"',
      "Content-Type: application/octet-stream",
      "Content-Length: 1",
      "X-Custom:   padded value  ",
    ], "A"),
    closing(),
  );
  for await (const p of readMultipart(chunked(data, [3]), BOUNDARY)) {
    assert.equal(p.headers.get("content-type"), "application/octet-stream");
    assert.equal(p.headers.get("content-length"), "1");
    assert.equal(p.headers.get("x-custom"), "padded value");
    await readAll(p.body);
  }
});

Deno.test("readMultipart accepts exactly maxParts parts", async () => {
  const data = bytes(
    part(['Content-Disposition: form-data; name="a"'], "A"),
    part(['Content-Disposition: form-data; name="b"'], "B"),
    closing(),
  );
  const parts = await parse(data, [1], { maxParts: 2, maxHeaderBytes: 1024 });
  assert.equal(parts.length, 2);
});

Deno.test("readMultipart accepts a header block of exactly maxHeaderBytes in one chunk", async () => {
  const header = 'Content-Disposition: form-data; name="a"';
  const data = bytes(part([header], "A"), closing());
  const parts = await parse(data, [Number.MAX_SAFE_INTEGER], { maxParts: 16, maxHeaderBytes: header.length });
  assert.equal(parts.length, 1);
});

Deno.test({
  name: "readMultipart accepts a header block of exactly maxHeaderBytes in tiny chunks",
  async fn() {
    const header = 'Content-Disposition: form-data; name="a"';
    const data = bytes(part([header], "A"), closing());
    const parts = await parse(data, [1], { maxParts: 16, maxHeaderBytes: header.length });
    assert.equal(parts.length, 1);
  },
});

Deno.test({
  name: "readMultipart yields nothing from a skipped part's body read late",
  async fn() {
    const data = bytes(
      part(['Content-Disposition: form-data; name="one"'], "FIRST"),
      part(['Content-Disposition: form-data; name="two"'], "SECOND"),
      closing(),
    );
    const iterator = readMultipart(chunked(data, [Number.MAX_SAFE_INTEGER]), BOUNDARY);
    const one = (await iterator.next()).value as MultipartPart;
    const two = (await iterator.next()).value as MultipartPart;
    try {
      assert.equal(decoder.decode(await readAll(one.body)), "");
      assert.equal(decoder.decode(await readAll(two.body)), "SECOND");
    } finally {
      await iterator.return(undefined);
    }
  },
});

// ---------------------------------------------------------------------------
// readMultipart: malformed bodies

Deno.test("readMultipart rejects an empty body", async () => {
  await assertBadRequest(parse(new Uint8Array(0), [1]), /no multipart boundary/);
});

Deno.test("readMultipart rejects a body without the boundary", async () => {
  await assertBadRequest(parse(encoder.encode("just some text\r\n--other\r\n"), [3]), /no multipart boundary/);
});

Deno.test("readMultipart rejects a boundary followed by neither CRLF nor --", async () => {
  await assertBadRequest(parse(encoder.encode(`--${BOUNDARY}xx\r\n`), [1]), /bad boundary line/);
});

for (const [label, sizes] of CHUNKINGS) {
  Deno.test(`readMultipart rejects a body truncated inside a part with ${label}`, async () => {
    const full = bytes(part(['Content-Disposition: form-data; name="a"'], trickyBinary()), closing());
    // Cut inside the part body and inside the closing delimiter.
    for (const cut of [full.length - closing().length - 100, full.length - closing().length - 1]) {
      await assertBadRequest(parse(full.subarray(0, cut), sizes), /ended inside a part/);
    }
  });
}

Deno.test("readMultipart rejects a truncated part even when the consumer does not read it", async () => {
  const truncated = bytes(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\nsome bytes`);
  const consume = async () => {
    for await (const _part of readMultipart(chunked(truncated, [3]), BOUNDARY)) { /* do not read */ }
  };
  await assertBadRequest(consume(), /ended inside a part/);
});

Deno.test("readMultipart rejects a body truncated inside part headers", async () => {
  const truncated = encoder.encode(`--${BOUNDARY}\r\nContent-Disposition: form-data; na`);
  for (const [, sizes] of CHUNKINGS) await assertBadRequest(parse(truncated, sizes), /inside part headers/);
});

Deno.test("readMultipart rejects a body truncated right after a boundary", async () => {
  await assertBadRequest(parse(encoder.encode(`--${BOUNDARY}`), [1]), /ended early/);
  const afterPart = bytes(part(['Content-Disposition: form-data; name="a"'], "A"), `--${BOUNDARY}`);
  await assertBadRequest(parse(afterPart, [1]), /ended early/);
  await assertBadRequest(parse(bytes(`--${BOUNDARY}-`), [1]), /ended early/);
});

Deno.test("readMultipart rejects a part without Content-Disposition", async () => {
  const data = bytes(part(["Content-Type: text/plain"], "x"), closing());
  await assertBadRequest(parse(data, [1]), /Content-Disposition/);
});

Deno.test("readMultipart rejects a part with no headers at all", async () => {
  for (const [, sizes] of CHUNKINGS) {
    const data = bytes(part([], "x"), closing());
    await assertBadRequest(parse(data, sizes), /Content-Disposition/);
  }
});

Deno.test("readMultipart rejects a Content-Disposition that is not form-data", async () => {
  for (const disposition of ['attachment; name="a"', 'form-datax; name="a"', "inline"]) {
    const data = bytes(part([`Content-Disposition: ${disposition}`], "x"), closing());
    await assertBadRequest(parse(data, [7]), /Content-Disposition/);
  }
});

Deno.test("readMultipart rejects a part without a name", async () => {
  for (const disposition of ["form-data", 'form-data; filename="a.zip"', 'form-data; name=""', "form-data; name="]) {
    const data = bytes(part([`Content-Disposition: ${disposition}`], "x"), closing());
    await assertBadRequest(parse(data, [7]), /no name/);
  }
});

Deno.test("readMultipart rejects malformed part header lines", async () => {
  for (const line of ["no colon here", ": empty name", "Bad Name: value"]) {
    const data = bytes(part(['Content-Disposition: form-data; name="a"', line], "x"), closing());
    await assertBadRequest(parse(data, [3]), /malformed multipart part header/);
  }
});

Deno.test("readMultipart rejects more parts than maxParts", async () => {
  const data = bytes(
    part(['Content-Disposition: form-data; name="a"'], "A"),
    part(['Content-Disposition: form-data; name="b"'], "B"),
    part(['Content-Disposition: form-data; name="c"'], "C"),
    closing(),
  );
  const limits = { maxParts: 2, maxHeaderBytes: 1024 };
  for (const [, sizes] of CHUNKINGS) await assertBadRequest(parse(data, sizes, limits), /more than 2 parts/);
});

Deno.test("readMultipart rejects more than the default 16 parts", async () => {
  const parts = Array.from({ length: 17 }, (_, i) => part([`Content-Disposition: form-data; name="p${i}"`], "x"));
  await assertBadRequest(parse(bytes(...parts, closing()), [64]), /more than 16 parts/);
});

Deno.test("readMultipart rejects a header block larger than maxHeaderBytes", async () => {
  const data = bytes(
    part(['Content-Disposition: form-data; name="a"', `X-Padding: ${"p".repeat(200)}`], "A"),
    closing(),
  );
  const limits = { maxParts: 16, maxHeaderBytes: 100 };
  for (const [, sizes] of CHUNKINGS) await assertBadRequest(parse(data, sizes, limits), /longer than 100 bytes/);
});

Deno.test("readMultipart rejects an unterminated header block once it exceeds maxHeaderBytes", async () => {
  // No "\r\n\r\n" ever arrives: the reader must give up at the limit, not read on.
  const endless = bytes(`--${BOUNDARY}\r\nX-Padding: `, "p".repeat(100_000));
  await assertBadRequest(parse(endless, [7], { maxParts: 16, maxHeaderBytes: 1000 }), /longer than 1000 bytes/);
});

Deno.test("readMultipart rejects a header block larger than the default 8 KiB", async () => {
  const data = bytes(
    part(['Content-Disposition: form-data; name="a"', `X-Padding: ${"p".repeat(9000)}`], "A"),
    closing(),
  );
  await assertBadRequest(parse(data, [1024]), /longer than 8192 bytes/);
});

// ---------------------------------------------------------------------------
// readMultipart: releasing the source

Deno.test("readMultipart cancels the source when the consumer stops early", async () => {
  const data = bytes(
    part(['Content-Disposition: form-data; name="a"'], "A"),
    part(['Content-Disposition: form-data; name="b"'], "B"),
    closing(),
  );
  const stream = chunked(data, [3]);
  for await (const p of readMultipart(stream, BOUNDARY)) {
    assert.equal(p.name, "a");
    break;
  }
  assert.equal(stream.cancelled(), true);
  assert.equal(stream.locked, false);
});

Deno.test("readMultipart releases the source after a parse error", async () => {
  const stream = chunked(encoder.encode(`--${BOUNDARY}\r\nbroken header\r\n\r\n`), [3]);
  await assertBadRequest(Array.fromAsync(readMultipart(stream, BOUNDARY)));
  assert.equal(stream.locked, false);
});

Deno.test("readMultipart releases the source after reading to the end", async () => {
  const stream = chunked(bytes(part(['Content-Disposition: form-data; name="a"'], "A"), closing()), [3]);
  for await (const p of readMultipart(stream, BOUNDARY)) await readAll(p.body);
  assert.equal(stream.locked, false);
});

// ---------------------------------------------------------------------------
// readPartBytes

async function firstPart(body: Uint8Array, sizes: number[], use: (p: MultipartPart) => Promise<void>): Promise<void> {
  const data = bytes(part(['Content-Disposition: form-data; name="a"'], body), closing());
  for await (const p of readMultipart(chunked(data, sizes), BOUNDARY)) {
    await use(p);
    break;
  }
}

Deno.test("readPartBytes collects a whole part byte-identically", async () => {
  const binary = trickyBinary();
  for (const [, sizes] of CHUNKINGS) {
    await firstPart(binary, sizes, async (p) => {
      const collected = await readPartBytes(p, binary.length, () => new Error("too large"));
      assert.deepEqual(collected, binary);
    });
  }
});

Deno.test("readPartBytes returns an empty array for an empty part", async () => {
  await firstPart(new Uint8Array(0), [1], async (p) => {
    assert.deepEqual(await readPartBytes(p, 0, () => new Error("too large")), new Uint8Array(0));
  });
});

Deno.test("readPartBytes accepts a part of exactly maxBytes", async () => {
  await firstPart(encoder.encode("12345"), [2], async (p) => {
    assert.equal(decoder.decode(await readPartBytes(p, 5, () => new Error("too large"))), "12345");
  });
});

Deno.test("readPartBytes throws the caller's error for a part over maxBytes", async () => {
  await firstPart(encoder.encode("123456"), [2], async (p) => {
    await assert.rejects(
      readPartBytes(p, 5, () => new PayloadTooLargeError("metadata too large")),
      (error: unknown) => error instanceof PayloadTooLargeError && error.status === 413,
    );
  });
});

// ---------------------------------------------------------------------------
// Work done: linear in the body, whatever the chunking

/** Reads one large part cut into chunks cycling through `sizes`: bytes copied, and whether body chunks were views of input chunks. */
async function readLargePart(size: number, sizes: number[]): Promise<{ copied: number; views: boolean; sum: number }> {
  const content = new Uint8Array(size).map((_, i) => (i * 7) & 0xff);
  const data = bytes(part(['Content-Disposition: form-data; name="source-archive"'], content), closing());
  const inputs = new Set<ArrayBufferLike>();
  let offset = 0;
  let index = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= data.length) return controller.close();
      const chunk = data.slice(offset, offset + sizes[index++ % sizes.length]);
      inputs.add(chunk.buffer);
      offset += chunk.length;
      controller.enqueue(chunk);
    },
  }, { highWaterMark: 0 });
  const stats = { bytesCopied: 0 };
  let views = true;
  let sum = 0;
  for await (const p of readMultipart(stream, BOUNDARY, undefined, stats)) {
    for await (const chunk of p.body) {
      // Only a chunk shorter than the delimiter is appended to the bytes before it (a copy of a few bytes).
      views &&= chunk.length < 2 * (BOUNDARY.length + 4) || inputs.has(chunk.buffer);
      sum += chunk.length;
    }
  }
  return { copied: stats.bytesCopied, views, sum };
}

Deno.test("readMultipart hands out part bodies as views of the chunks read, copying only bytes around chunk seams", async () => {
  for (const sizes of [[65536], [65536, 65529, 100], [4096, 61]]) {
    const small = await readLargePart(4 << 20, sizes);
    const large = await readLargePart(16 << 20, sizes);
    assert.equal(large.sum, 16 << 20);
    assert.ok(small.views && large.views, `body chunks are views of the input (${sizes})`);
    const chunks = Math.ceil((16 << 20) / (sizes.reduce((a, b) => a + b) / sizes.length));
    const delimiter = BOUNDARY.length + 4;
    // The header block is copied once; after that, at most two delimiters' worth per chunk.
    assert.ok(large.copied <= 8192 + chunks * 2 * delimiter, `${large.copied} bytes copied for ${chunks} chunks`);
    assert.ok(large.copied <= 4 * small.copied + 8192, `4x the body, at most 4x the copying (${sizes})`);
  }
});

Deno.test("readMultipart reports a request body that fails mid-read (cut off, bad chunked framing) as a 400", async () => {
  let sent = false;
  const failing = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(part(['Content-Disposition: form-data; name="a"'], "x".repeat(100)).subarray(0, 80));
      } else {controller.error(
          new Deno.errors.BadResource("Cannot read request body as underlying resource unavailable"),
        );}
    },
  });
  await assertBadRequest(parseStream(failing), /request body could not be read/);
});

async function parseStream(stream: ReadableStream<Uint8Array>): Promise<void> {
  for await (const p of readMultipart(stream, BOUNDARY)) await readAll(p.body);
}
