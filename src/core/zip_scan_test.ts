import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { buildZip, type RawEntry, rawZip, zeroBomb } from "../../tests/support/archives.ts";
import { PayloadTooLargeError, UnprocessableError } from "../errors.ts";
import { scanZip, type ZipScanOptions } from "./zip_scan.ts";

const LIMITS = { maxEntries: 1000, maxUncompressedBytes: 1024 ** 3, maxCompressionRatio: 10_000 };

async function scan(zip: Uint8Array, options: Partial<ZipScanOptions> = {}) {
  const path = await Deno.makeTempFile();
  await Deno.writeFile(path, zip);
  try {
    return await scanZip(path, { limits: LIMITS, subject: "archive", ...options });
  } finally {
    await Deno.remove(path);
  }
}

async function refused(zip: Uint8Array, detail: RegExp, options: Partial<ZipScanOptions> = {}): Promise<void> {
  await assert.rejects(scan(zip, options), (error: unknown) => {
    assert.ok(error instanceof UnprocessableError, String(error));
    assert.match(error.message, detail);
    return true;
  });
}

/** `zip` with the compression method of every header (local and central) set to `method`. */
function withMethod(zip: Uint8Array, method: number): Uint8Array {
  const patched = zip.slice();
  const view = new DataView(patched.buffer);
  for (let i = 0; i + 4 <= patched.length; i++) {
    const signature = view.getUint32(i, true);
    if (signature === 0x04034b50) view.setUint16(i + 8, method, true);
    if (signature === 0x02014b50) view.setUint16(i + 10, method, true);
  }
  return patched;
}

Deno.test("scanZip lists entries, resolves symlinks and keeps the bytes of the files asked for", async () => {
  const zip = await buildZip([
    { name: "pkg/" },
    { name: "pkg/a.txt", content: "alpha" },
    { name: "pkg/b.txt", content: "beta" },
    { name: "pkg/link", content: "a.txt", symlink: true },
  ]);
  const result = await scan(zip, { collect: (entry) => entry.name === "pkg/b.txt" ? 10 : undefined });
  assert.deepEqual([...result.entries.values()], [
    { name: "pkg", type: "directory", size: 0 },
    { name: "pkg/a.txt", type: "file", size: 5 },
    { name: "pkg/b.txt", type: "file", size: 4 },
    { name: "pkg/link", type: "symlink", size: 5 },
  ]);
  assert.deepEqual(result.links, new Map([["pkg/link", "a.txt"]]));
  assert.deepEqual([...result.contents.keys()], ["pkg/b.txt"]);
  assert.equal(new TextDecoder().decode(result.contents.get("pkg/b.txt")), "beta");
});

Deno.test("scanZip keeps for a collected symlink the bytes of its target, even one listed before it", async () => {
  const zip = await buildZip([
    { name: "pkg/real.txt", content: "the target" },
    { name: "pkg/link", content: "real.txt", symlink: true },
  ]);
  const result = await scan(zip, { collect: (entry) => entry.name === "pkg/link" ? 100 : undefined });
  assert.equal(new TextDecoder().decode(result.contents.get("pkg/link")), "the target");
  await refused(zip, /"pkg\/real\.txt" is 10 bytes, over the 5-byte limit/, {
    collect: (entry) => entry.name === "pkg/link" ? 5 : undefined,
  });
});

Deno.test("scanZip gives the event loop a turn at least every 64 entries", async () => {
  const entries: RawEntry[] = Array.from({ length: 640 }, (_, i) => ({ name: `pkg/f${i}`, content: String(i) }));
  let turns = 0;
  await scan(rawZip(entries), { yieldToEventLoop: () => Promise.resolve(turns++) });
  assert.ok(turns >= 10, `${turns} turns for 640 entries`);
});

Deno.test("scanZip stops inflating one byte past the declared size, for small and for streamed entries", async () => {
  const small = { name: "pkg/small.bin", ...zeroBomb(16), uncompressedSize: 1000 };
  await refused(rawZip([small]), /entry "pkg\/small\.bin" inflates to more than the 1000 bytes its headers declare/);
  const large = { name: "pkg/large.bin", ...zeroBomb(1024), uncompressedSize: 2 * 1024 * 1024 };
  await refused(rawZip([large]), /entry "pkg\/large\.bin" inflates to more than the 2097152 bytes/);
});

Deno.test("scanZip refuses entries that inflate to less than declared, stored or deflated", async () => {
  await refused(
    rawZip([{ name: "pkg/a", content: "x".repeat(100), stored: true, uncompressedSize: 150 }]),
    /entry "pkg\/a" inflates to 100 bytes, not the 150 its headers declare/,
  );
  await refused(
    rawZip([{ name: "pkg/b", content: "x".repeat(100), uncompressedSize: 150 }]),
    /entry "pkg\/b" inflates to 100 bytes, not the 150 its headers declare/,
  );
});

Deno.test("scanZip checks the CRC-32 of entries streamed in chunks too", async () => {
  const { deflated, crc32 } = zeroBomb(3);
  const entry = { name: "pkg/zeros", deflated, uncompressedSize: 3 * 1024 * 1024 };
  assert.equal((await scan(rawZip([{ ...entry, crc32 }]))).entries.size, 1);
  await refused(rawZip([{ ...entry, crc32: crc32 ^ 0x80 }]), /entry "pkg\/zeros" is corrupt: its CRC-32 is/);
});

Deno.test("scanZip refuses names that are not safe relative paths, before reading any data", async () => {
  for (const [name, why] of [["pkg/a\\b", "backslash"], ["pkg//a", "empty segment"], ["pkg/./a", '"." segment']]) {
    await refused(rawZip([{ name, content: "x" }]), new RegExp(`is not a safe relative path \\(${why}`));
  }
});

Deno.test("scanZip refuses entries inside a file, names listed twice and unknown compression methods", async () => {
  await refused(
    rawZip([{ name: "pkg/a", content: "x" }, { name: "pkg/a/b", content: "y" }]),
    /entry "pkg\/a\/b" lies inside the file "pkg\/a"/,
  );
  await refused(rawZip([{ name: "pkg/a/" }, { name: "pkg/a", content: "x" }]), /lists the entry "pkg\/a" twice/);
  await refused(
    withMethod(rawZip([{ name: "pkg/a", content: "x" }]), 12),
    /entry "pkg\/a" uses compression method 12; only stored and deflated entries are accepted/,
  );
});

Deno.test("scanZip refuses archives declaring more than the total allowed, or inflating past the ratio", async () => {
  const zip = rawZip([{ name: "pkg/zeros", ...zeroBomb(4), uncompressedSize: 4 * 1024 * 1024 }]);
  await assert.rejects(
    scan(zip, { limits: { ...LIMITS, maxUncompressedBytes: 1024 ** 2 } }),
    PayloadTooLargeError,
  );
  await refused(zip, /expands \d+ times, over the ratio of 100 .*REGISTRY_MAX_COMPRESSION_RATIO/, {
    limits: { ...LIMITS, maxCompressionRatio: 100 },
  });
});

/** Offsets of the records with this signature in `zip`. */
function records(zip: Uint8Array, signature: number): number[] {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const found = [];
  for (let i = 0; i + 4 <= zip.length; i++) if (view.getUint32(i, true) === signature) found.push(i);
  return found;
}

Deno.test("scanZip refuses an entry hidden inside another entry's data, whatever the central directory's order", async () => {
  const inner = rawZip([{ name: "pkg/b", content: "bee", stored: true }]);
  const innerEntry = inner.subarray(0, 30 + "pkg/b".length + 3); // local header, name, data
  const zip = rawZip([
    { name: "pkg/a", content: innerEntry, stored: true },
    { name: "pkg/b", content: "bee", stored: true },
  ]);
  const view = new DataView(zip.buffer);
  const [centralA, centralB] = records(zip, 0x02014b50);
  // pkg/b now points at the copy of its local header inside pkg/a's data.
  view.setUint32(centralB + 42, view.getUint32(centralA + 42, true) + 30 + "pkg/a".length, true);
  await refused(zip, /entry "pkg\/b" overlaps the entry "pkg\/a"/);
  // The same with the central directory listing pkg/b first (both records have the same length).
  const swapped = zip.slice();
  swapped.set(zip.subarray(centralB, centralB + (centralB - centralA)), centralA);
  swapped.set(zip.subarray(centralA, centralB), centralB);
  await refused(swapped, /entry "pkg\/b" overlaps the entry "pkg\/a"/);
});

Deno.test("scanZip refuses a local header or data descriptor disagreeing with the central directory", async () => {
  const plain = rawZip([{ name: "pkg/a", content: "hello" }]);
  const localSize = plain.slice();
  new DataView(localSize.buffer).setUint32(22, 6, true); // uncompressed size, local header only
  await refused(localSize, /entry "pkg\/a" has another CRC-32 or other sizes in its local header/);

  const described = await buildZip([{ name: "pkg/a", content: "hello" }]); // zip.js writes data descriptors
  const [descriptor] = records(described, 0x08074b50);
  const wrongDescriptor = described.slice();
  new DataView(wrongDescriptor.buffer).setUint32(descriptor + 4, 0xdeadbeef, true);
  await refused(wrongDescriptor, /entry "pkg\/a" has a data descriptor that disagrees with the central directory/);
});

Deno.test("scanZip gives, when asked, the SHA-256 of every entry's data: files, directories, symlink targets", async () => {
  const zip = await buildZip([
    { name: "pkg/" },
    { name: "pkg/a.txt", content: "alpha" },
    { name: "pkg/link", content: "a.txt", symlink: true },
  ]);
  const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
  const result = await scan(zip, { sha256: true });
  assert.deepEqual(
    Object.fromEntries([...result.sha256].map(([name, digest]) => [name, Buffer.from(digest).toString("hex")])),
    { "pkg": sha256(""), "pkg/a.txt": sha256("alpha"), "pkg/link": sha256("a.txt") },
  );
  assert.equal((await scan(zip)).sha256.size, 0, "none unless asked");
});

Deno.test("scanZip reads names without the UTF-8 flag as CP437 unless asked to read every name as UTF-8", async () => {
  const cafe = new Uint8Array([...new TextEncoder().encode("pkg/caf"), 0x82]); // not UTF-8; "é" in CP437
  const zip = rawZip([{ name: "pkg/cafe", nameBytes: cafe, content: "x" }]);
  assert.deepEqual([...(await scan(zip)).entries.keys()], ["pkg/café"]);
  assert.deepEqual([...(await scan(zip, { utf8Names: true })).entries.keys()], ["pkg/caf\uFFFD"]);
  const utf8 = rawZip([{ name: "pkg/cafe", nameBytes: new TextEncoder().encode("pkg/café"), content: "x" }]);
  assert.deepEqual([...(await scan(utf8, { utf8Names: true })).entries.keys()], ["pkg/café"]);
});

Deno.test("scanZip refuses an entry marked a directory whose name does not end with a slash", async () => {
  // rawZip marks entries without content directories in their Unix mode, whatever their name.
  await refused(rawZip([{ name: "pkg/dir" }]), /entry "pkg\/dir" is marked a directory, but its name does not end/);
  assert.equal((await scan(rawZip([{ name: "pkg/dir/" }]))).entries.get("pkg/dir")?.type, "directory");
});

Deno.test("scanZip refuses a Unicode Path extra field naming an entry otherwise than its headers", async () => {
  // zip.js and unzip take the field's name (pkg/ok.txt), the go command and Python the headers' (../evil.txt).
  await refused(
    rawZip([{ name: "pkg/../../evil.txt", unicodePath: "pkg/ok.txt", content: "x" }]),
    /entry "pkg\/ok\.txt" is named "pkg\/\.\.\/\.\.\/evil\.txt" in its headers and "pkg\/ok\.txt" in a Unicode Path/,
  );
  // Two entries one tool sees as one file listed twice.
  await refused(
    rawZip([
      { name: "pkg/Package.swift", content: "a" },
      { name: "pkg/Package.swift", unicodePath: "pkg/Other.swift", content: "b" },
    ]),
    /entry "pkg\/Other\.swift" is named "pkg\/Package\.swift" in its headers/,
  );
  const agreeing = rawZip([{ name: "pkg/café.txt", unicodePath: "pkg/café.txt", content: "x" }]);
  assert.deepEqual([...(await scan(agreeing)).entries.keys()], ["pkg/café.txt"]);
});
