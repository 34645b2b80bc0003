/**
 * Builds real zip archives for tests: with zip.js, or byte by byte for
 * archives whose headers lie.
 *
 * @module
 */
import * as zip from "@zip.js/zip.js";
import { constants as zlibConstants, crc32, deflateRawSync } from "node:zlib";

zip.configure({ useWebWorkers: false });

/** One entry of a test archive. */
export interface TestEntry {
  name: string;
  /** File content (or, with `symlink`, the link target). Omit for a directory. */
  content?: string | Uint8Array;
  symlink?: boolean;
}

/** Zips `entries` in order. Directories are entries without content whose name ends with `/`. */
export async function buildZip(entries: TestEntry[]): Promise<Uint8Array<ArrayBuffer>> {
  const writer = new zip.ZipWriter(new zip.Uint8ArrayWriter(), { lastModDate: new Date(Date.UTC(2026, 0, 1)) });
  for (const entry of entries) {
    if (entry.content === undefined) {
      await writer.add(entry.name, undefined, { directory: true });
      continue;
    }
    const reader = typeof entry.content === "string"
      ? new zip.TextReader(entry.content)
      : new zip.Uint8ArrayReader(entry.content);
    await writer.add(entry.name, reader, entry.symlink ? { unixMode: 0o120777, versionMadeBy: 0x031e } : {});
  }
  return new Uint8Array(await writer.close());
}

/** A minimal valid package archive: `{top}/Package.swift` (tools 5.9), sources, and optional alternates. */
export function packageZip(options: {
  top?: string;
  toolsVersion?: string;
  alternates?: Record<string, string>;
  extra?: TestEntry[];
} = {}): Promise<Uint8Array<ArrayBuffer>> {
  const top = options.top ?? "LinkedList";
  const entries: TestEntry[] = [
    { name: `${top}/` },
    {
      name: `${top}/Package.swift`,
      content: `// swift-tools-version:${options.toolsVersion ?? "5.9"}\nimport PackageDescription\n\n` +
        `let package = Package(name: "${top}")\n`,
    },
    { name: `${top}/Sources/${top}/${top}.swift`, content: `public struct ${top} {}\n` },
  ];
  for (const [swiftVersion, toolsVersion] of Object.entries(options.alternates ?? {})) {
    entries.push({
      name: `${top}/Package@swift-${swiftVersion}.swift`,
      content: `// swift-tools-version:${toolsVersion}\nimport PackageDescription\n`,
    });
  }
  entries.push(...(options.extra ?? []));
  return buildZip(entries);
}

/** One entry of {@link rawZip}: its content, and the header fields a hostile archive may lie about. */
export interface RawEntry {
  name: string;
  /** File content, deflated unless `stored`; omit (with `deflated`) for a directory, whose name ends with `/`. */
  content?: string | Uint8Array;
  /** Raw deflate data to write as the entry's data, in place of deflating `content`. */
  deflated?: Uint8Array;
  stored?: boolean;
  /** The name written in the local header, when it should differ from the central directory's. */
  localName?: string;
  /** The name's bytes, written without the UTF-8 flag, in place of `name`. */
  nameBytes?: Uint8Array;
  /**
   * A name for an Info-ZIP Unicode Path extra field in both headers (with the
   * CRC-32 of the headers' name, and without the UTF-8 flag, as readers that
   * prefer it to the headers' name require).
   */
  unicodePath?: string;
  /** CRC-32 written in both headers (default: the content's). */
  crc32?: number;
  /** Uncompressed size written in both headers (default: the content's length). */
  uncompressedSize?: number;
}

/**
 * Builds a zip byte by byte (no data descriptors, no zip64), so tests can
 * write headers that lie: sizes, CRC-32, a local name differing from the
 * central directory's.
 */
export function rawZip(entries: RawEntry[]): Uint8Array<ArrayBuffer> {
  const encoder = new TextEncoder();
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const entry of entries) {
    const content = typeof entry.content === "string" ? encoder.encode(entry.content) : entry.content ?? null;
    const directory = content === null && entry.deflated === undefined;
    const method = directory || entry.stored ? 0 : 8;
    const data = entry.deflated ??
      (content === null ? new Uint8Array(0) : method === 8 ? deflateRawSync(content) : content);
    const crc = entry.crc32 ?? (content === null ? 0 : crc32(content));
    const size = entry.uncompressedSize ?? content?.length ?? 0;
    const name = entry.nameBytes ?? encoder.encode(entry.name);
    const localName = entry.localName === undefined ? name : encoder.encode(entry.localName);
    const extra = entry.unicodePath === undefined ? new Uint8Array(0) : unicodePathField(name, entry.unicodePath);
    const utf8 = entry.nameBytes === undefined && entry.unicodePath === undefined;
    const common = (view: DataView, at: number) => {
      view.setUint16(at, 20, true); // version needed
      view.setUint16(at + 2, utf8 ? 0x0800 : 0, true); // UTF-8 names
      view.setUint16(at + 4, method, true);
      view.setUint32(at + 6, 0x5c210000, true); // 2026-01-01 00:00
      view.setUint32(at + 10, crc >>> 0, true);
      view.setUint32(at + 14, data.length, true);
      view.setUint32(at + 18, size, true);
    };
    const local = new Uint8Array(30 + localName.length + extra.length + data.length);
    const localView = new DataView(local.buffer);
    localView.setUint32(0, 0x04034b50, true);
    common(localView, 4);
    localView.setUint16(26, localName.length, true);
    localView.setUint16(28, extra.length, true);
    local.set(localName, 30);
    local.set(extra, 30 + localName.length);
    local.set(data, 30 + localName.length + extra.length);
    const central = new Uint8Array(46 + name.length + extra.length);
    const centralView = new DataView(central.buffer);
    centralView.setUint32(0, 0x02014b50, true);
    centralView.setUint16(4, 0x031e, true); // made by Unix
    common(centralView, 6);
    centralView.setUint16(28, name.length, true);
    centralView.setUint16(30, extra.length, true);
    centralView.setUint32(38, (directory ? 0o40755 : 0o100644) * 0x10000, true);
    centralView.setUint32(42, offset, true);
    central.set(name, 46);
    central.set(extra, 46 + name.length);
    locals.push(local);
    centrals.push(central);
    offset += local.length;
  }
  const directorySize = centrals.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array(22);
  const endView = new DataView(end.buffer);
  endView.setUint32(0, 0x06054b50, true);
  endView.setUint16(8, entries.length, true);
  endView.setUint16(10, entries.length, true);
  endView.setUint32(12, directorySize, true);
  endView.setUint32(16, offset, true);
  const zip = new Uint8Array(offset + directorySize + 22);
  let at = 0;
  for (const part of [...locals, ...centrals, end]) {
    zip.set(part, at);
    at += part.length;
  }
  return zip;
}

/** An Info-ZIP Unicode Path extra field (0x7075, version 1) giving `path` as the name of the entry named `name`. */
function unicodePathField(name: Uint8Array, path: string): Uint8Array {
  const utf8 = new TextEncoder().encode(path);
  const field = new Uint8Array(9 + utf8.length);
  const view = new DataView(field.buffer);
  view.setUint16(0, 0x7075, true);
  view.setUint16(2, 5 + utf8.length, true);
  view.setUint8(4, 1);
  view.setUint32(5, crc32(name), true);
  field.set(utf8, 9);
  return field;
}

/**
 * Raw deflate data inflating to `mebibytes` MiB of zeros, about 1 KiB per MiB:
 * one block of a MiB of zeros ending in a sync flush, repeated, then an empty
 * final block. Also returns the CRC-32 of what it inflates to.
 */
export function zeroBomb(mebibytes: number): { deflated: Uint8Array; crc32: number } {
  const zeros = new Uint8Array(1024 * 1024);
  const block = deflateRawSync(zeros, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  const deflated = new Uint8Array(block.length * mebibytes + 2);
  let crc = 0;
  for (let i = 0; i < mebibytes; i++) {
    deflated.set(block, i * block.length);
    crc = crc32(zeros, crc);
  }
  deflated.set([0x03, 0x00], block.length * mebibytes); // a final fixed-Huffman block holding only its end
  return { deflated, crc32: crc };
}

/**
 * Package archives whose headers lie in ways only reading the data shows (the
 * registry used to store them): a label, the archive, the problem to name.
 */
export function headerLyingArchives(): Array<[string, Uint8Array, RegExp]> {
  const manifest = { name: "pkg/Package.swift", content: "// swift-tools-version:5.9\n" };
  const source = "public struct LinkedList {}\n";
  const bomb = zeroBomb(1024);
  return [
    [
      "a zip bomb declaring 1 MiB that inflates to 1 GiB",
      rawZip([manifest, { name: "pkg/zeros.bin", ...bomb, uncompressedSize: 1024 * 1024 }]),
      /entry "pkg\/zeros\.bin" inflates to more than the 1048576 bytes its headers declare/,
    ],
    [
      "a source file with a wrong CRC-32",
      rawZip([manifest, { name: "pkg/Sources/LinkedList.swift", content: source, crc32: crc32(source) ^ 1 }]),
      /entry "pkg\/Sources\/LinkedList\.swift" is corrupt: its CRC-32 is [0-9a-f]{8}, its headers say [0-9a-f]{8}/,
    ],
    [
      "a local header naming another file than the central directory",
      rawZip([manifest, { name: "pkg/Sources/evil.sh", localName: "../../../../evil.sh", content: "rm -rf ~\n" }]),
      /entry "pkg\/Sources\/evil\.sh" is named "\.\.\/\.\.\/\.\.\/\.\.\/evil\.sh" in its local header/,
    ],
    [
      "a header name that climbs out, hidden behind a Unicode Path extra field naming a safe file",
      rawZip([manifest, {
        name: "pkg/../../../../evil.sh",
        unicodePath: "pkg/Sources/evil.sh",
        content: "rm -rf ~\n",
      }]),
      /entry "pkg\/Sources\/evil\.sh" is named "pkg\/\.\.\/\.\.\/\.\.\/\.\.\/evil\.sh" in its headers and "pkg\/Sources\/evil\.sh" in a Unicode Path extra field/,
    ],
  ];
}
