import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { readPublishBody } from "./publish_body.ts";

const options = (scratchDir: string) => ({ scratchDir, maxAttachmentBytes: 1024 * 1024, maxDocumentBytes: 64 * 1024 });

/** `text` as a stream of `size`-byte chunks. */
function chunked(text: string, size: number): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset += size));
    },
  });
}

Deno.test("a publish body's attachment is decoded to a file with its digests, whatever the chunking", async () => {
  const dir = await Deno.makeTempDir();
  const tarball = crypto.getRandomValues(new Uint8Array(5000));
  const body = JSON.stringify({
    name: "x",
    'a "quoted" key': { data: "not an attachment" },
    _attachments: {
      "x-1.0.0.tgz": {
        content_type: "application/octet-stream",
        data: Buffer.from(tarball).toString("base64"),
        length: 5000,
      },
    },
    versions: { "1.0.0": { readme: 'data " here' } },
  }).replace(/\//g, "\\/");
  try {
    for (const size of [1, 3, 7, 64, 100_000]) {
      const { document, attachment } = await readPublishBody(chunked(body, size), options(dir));
      assert.ok(attachment, `chunks of ${size}`);
      assert.deepEqual(new Uint8Array(await Deno.readFile(attachment.file.path)), tarball);
      assert.equal(attachment.name, "x-1.0.0.tgz");
      assert.equal(attachment.sha1Hex, createHash("sha1").update(tarball).digest("hex"));
      assert.equal(attachment.sha512Base64, createHash("sha512").update(tarball).digest("base64"));
      const described = (document._attachments as Record<string, { data: string; length: number }>)["x-1.0.0.tgz"];
      assert.deepEqual(described, { content_type: "application/octet-stream", data: "", length: 5000 });
      assert.deepEqual(document['a "quoted" key'], { data: "not an attachment" });
      await attachment.file.dispose();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a publish body without attachment data is a plain document, and bad ones are refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const plain = await readPublishBody(chunked('{"versions": {"1.0.0": {"deprecated": "x"}}}', 5), options(dir));
    assert.equal(plain.attachment, undefined);
    assert.deepEqual(plain.document, { versions: { "1.0.0": { deprecated: "x" } } });
    const refusals: [string, RegExp][] = [
      ['{"_attachments": {"a": {"data": "QQ=A"}}}', /not valid base64/],
      ['{"_attachments": {"a": {"data": "QQ==QQ=="}}}', /not valid base64/],
      ['{"_attachments": {"a": {"data": "QUJD\\u0041"}}}', /not valid base64/],
      ['{"_attachments": {"a": {"data": "QUJD"}, "b": {"data": "QUJD"}}}', /exactly one tarball/],
      ['{"_attachments": {"a": {"data": "QUJD', /ends inside the attachment/],
      ["[1, 2]", /must be a JSON object/],
      ['{"a": ', /not valid JSON/],
      [`{"readme": "${"x".repeat(70 * 1024)}"}`, /over 65536 bytes/],
      [`{"_attachments": {"a": {"data": "${"QUJD".repeat(400_000)}"}}}`, /over the 1048576-byte limit/],
    ];
    for (const [body, message] of refusals) {
      await assert.rejects(readPublishBody(chunked(body, 1000), options(dir)), message, body.slice(0, 60));
    }
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
