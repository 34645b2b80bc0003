/**
 * The second description of each zip entry: its local header (and data
 * descriptor), which extraction tools may trust instead of the central
 * directory. {@link LocalHeaders} checks that both agree and that no two
 * entries share bytes, as zip.js does in strict mode, without keeping zip.js's
 * per-entry objects alive (about 7 KiB each) for the whole scan; and that no
 * header gives its entry another name in a Unicode Path extra field, which
 * some tools (zip.js, unzip) prefer to the name and others (the go command,
 * Python) ignore.
 *
 * @module
 */
import type * as zip from "@zip.js/zip.js";
import { crc32 } from "node:zlib";

const LOCAL_HEADER_SIGNATURE = 0x04034b50;
const LOCAL_HEADER_BYTES = 30;
const DATA_DESCRIPTOR_SIGNATURE = 0x08074b50;
const FLAG_DATA_DESCRIPTOR = 0x0008;
/** Flags both headers must agree on: encryption (and strong encryption), data descriptor, UTF-8 names. */
const FLAGS_TO_AGREE = 0x0001 | 0x0008 | 0x0040 | 0x0800;
const ZIP64_EXTRA_FIELD = 0x0001;
const UNICODE_PATH_EXTRA_FIELD = 0x7075;
const ZIP64_MARKER = 0xffffffff;

/** Reads `length` bytes at `offset` (fewer at the end of the file). */
export type ReadBytes = (offset: number, length: number) => Promise<Uint8Array>;

/** Checks the local headers of a zip's entries, one entry at a time, against the central directory. */
export class LocalHeaders {
  readonly #read: ReadBytes;
  readonly #dataLimit: number;
  /** Extents of the entries checked: local header to end of data (descriptor included). */
  readonly #extents: Array<{ start: number; end: number; name: string }> = [];
  #inOrder = true;

  /** `dataLimit`: where the central directory starts; no entry may reach past it. */
  constructor(read: ReadBytes, dataLimit: number) {
    this.#read = read;
    this.#dataLimit = dataLimit;
  }

  /**
   * Reads the local header (and data descriptor) of `entry`, named `name`;
   * returns where its data starts, or what is wrong.
   */
  async check(entry: zip.Entry, name: string): Promise<{ dataOffset: number } | { problem: string }> {
    const header = await this.#read(entry.offset, LOCAL_HEADER_BYTES);
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
    if (header.length < LOCAL_HEADER_BYTES || view.getUint32(0, true) !== LOCAL_HEADER_SIGNATURE) {
      return { problem: "has no local header where the central directory says" };
    }
    const flags = view.getUint16(6, true);
    const nameLength = view.getUint16(26, true);
    const extraLength = view.getUint16(28, true);
    const variable = await this.#read(entry.offset + LOCAL_HEADER_BYTES, nameLength + extraLength);
    const localName = variable.subarray(0, nameLength);
    if (!sameBytes(localName, entry.rawFilename)) {
      const decoded = new TextDecoder().decode(localName);
      return { problem: `is named "${decoded}" in its local header: the two names must agree` };
    }
    for (const extraField of [entry.rawExtraField, variable.subarray(nameLength)]) {
      const other = unicodePath(extraField, localName);
      if (other !== null && !sameBytes(other, localName)) {
        const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
        return {
          problem: `is named "${decode(localName)}" in its headers and "${decode(other)}" in a Unicode Path ` +
            "extra field: the names must agree",
        };
      }
    }
    if (((flags ^ (entry.rawBitFlag ?? 0)) & FLAGS_TO_AGREE) !== 0) {
      return { problem: "has other flags in its local header than in the central directory" };
    }
    if (view.getUint16(8, true) !== entry.compressionMethod) {
      return { problem: "has another compression method in its local header than in the central directory" };
    }
    const dataOffset = entry.offset + LOCAL_HEADER_BYTES + nameLength + extraLength;
    let end = dataOffset + entry.compressedSize;
    if (variable.length < nameLength + extraLength || end > this.#dataLimit) {
      return { problem: "has data reaching past the end of the entries" };
    }
    if ((flags & FLAG_DATA_DESCRIPTOR) !== 0) {
      const length = await this.#descriptorLength(entry, end);
      if (length === null || end + length > this.#dataLimit) {
        return { problem: "has a data descriptor that disagrees with the central directory" };
      }
      end += length;
    } else if (!this.#sizesAgree(entry, view, variable.subarray(nameLength))) {
      return { problem: "has another CRC-32 or other sizes in its local header than in the central directory" };
    }
    const previous = this.#extents.at(-1);
    if (previous !== undefined && entry.offset < previous.end) {
      if (entry.offset >= previous.start) return { problem: `overlaps the entry "${previous.name}"` };
      this.#inOrder = false;
    }
    this.#extents.push({ start: entry.offset, end, name });
    return { dataOffset };
  }

  /** Once every entry was checked: two entries listed out of order that share bytes, or `null`. */
  overlap(): { problem: string; name: string } | null {
    if (this.#inOrder) return null;
    const sorted = this.#extents.toSorted((a, b) => a.start - b.start);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i].start < sorted[i - 1].end) {
        return { name: sorted[i].name, problem: `overlaps the entry "${sorted[i - 1].name}"` };
      }
    }
    return null;
  }

  /** Like zip.js, local CRC-32 and sizes all zero are taken as unknown: the data is checked against the central ones. */
  #sizesAgree(entry: zip.Entry, header: DataView, extraField: Uint8Array): boolean {
    const crc = header.getUint32(14, true);
    let compressed = header.getUint32(18, true);
    let uncompressed = header.getUint32(22, true);
    if (crc === 0 && compressed === 0 && uncompressed === 0) return true;
    if (compressed === ZIP64_MARKER || uncompressed === ZIP64_MARKER) {
      const zip64 = extraFieldData(extraField, ZIP64_EXTRA_FIELD);
      if (zip64 === null) return false;
      let at = 0;
      const next = () => {
        const value = at + 8 <= zip64.byteLength ? Number(zip64.getBigUint64(at, true)) : NaN;
        at += 8;
        return value;
      };
      if (uncompressed === ZIP64_MARKER) uncompressed = next();
      if (compressed === ZIP64_MARKER) compressed = next();
    }
    return crc === entry.crc32 && compressed === entry.compressedSize && uncompressed === entry.uncompressedSize;
  }

  /** The length of the data descriptor at `offset` if one of its layouts agrees with the central directory. */
  async #descriptorLength(entry: zip.Entry, offset: number): Promise<number | null> {
    const bytes = await this.#read(offset, 24);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (const signed of [true, false]) {
      for (const zip64 of [false, true]) {
        const at = signed ? 4 : 0;
        const length = at + (zip64 ? 20 : 12);
        if (bytes.length < length || (signed && view.getUint32(0, true) !== DATA_DESCRIPTOR_SIGNATURE)) continue;
        const compressed = zip64 ? Number(view.getBigUint64(at + 4, true)) : view.getUint32(at + 4, true);
        const uncompressed = zip64 ? Number(view.getBigUint64(at + 12, true)) : view.getUint32(at + 8, true);
        if (
          view.getUint32(at, true) === entry.crc32 && compressed === entry.compressedSize &&
          uncompressed === entry.uncompressedSize
        ) return length;
      }
    }
    return null;
  }
}

/** The data of the first extra field record with this `id`, or `null`. */
function extraFieldData(extraField: Uint8Array, id: number): DataView | null {
  const view = new DataView(extraField.buffer, extraField.byteOffset, extraField.byteLength);
  for (let at = 0; at + 4 <= extraField.length;) {
    const size = view.getUint16(at + 2, true);
    if (view.getUint16(at, true) === id) {
      return at + 4 + size <= extraField.length
        ? new DataView(extraField.buffer, extraField.byteOffset + at + 4, size)
        : null;
    }
    at += 4 + size;
  }
  return null;
}

/**
 * The name an Info-ZIP Unicode Path extra field gives the entry named `name`,
 * or `null` when there is none that tools would use (another version, or
 * written for another name: its CRC-32 differs).
 */
function unicodePath(extraField: Uint8Array, name: Uint8Array): Uint8Array | null {
  const data = extraFieldData(extraField, UNICODE_PATH_EXTRA_FIELD);
  if (data === null || data.byteLength < 5 || data.getUint8(0) !== 1 || data.getUint32(1, true) !== crc32(name)) {
    return null;
  }
  return new Uint8Array(data.buffer, data.byteOffset + 5, data.byteLength - 5);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
