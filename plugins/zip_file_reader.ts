/**
 * A zip.js reader over an open file, for reading zips from disk with random
 * access instead of loading them into memory. Used by the registry and by
 * plugins that look inside archives.
 *
 * @module
 */
import * as zip from "@zip.js/zip.js";

zip.configure({ useWebWorkers: false });

/** Reads shorter than this are served from one cached block read ahead of them. */
const READ_AHEAD_BYTES = 64 * 1024;

/**
 * zip.js reader over an open file: random access, reads serialised (zip.js may
 * overlap them). Small reads are served from a block read ahead, so walking the
 * entries of an archive in order costs one system call per 64 KiB, not several
 * per entry.
 */
export class FsFileReader extends zip.Reader<Deno.FsFile> {
  #file: Deno.FsFile;
  #queue: Promise<unknown> = Promise.resolve();
  #block: Uint8Array = new Uint8Array(0);
  #blockOffset = 0;

  constructor(file: Deno.FsFile) {
    super(file);
    this.#file = file;
  }

  override async init(): Promise<void> {
    this.size = (await this.#file.stat()).size;
  }

  override readUint8Array(offset: number, length: number): Promise<Uint8Array> {
    const result = this.#queue.then(async () => {
      if (length >= READ_AHEAD_BYTES) return await this.#read(offset, length);
      const start = offset - this.#blockOffset;
      if (start < 0 || start + length > this.#block.length) {
        this.#block = await this.#read(offset, READ_AHEAD_BYTES);
        this.#blockOffset = offset;
        return this.#block.slice(0, length);
      }
      return this.#block.slice(start, start + length);
    });
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #read(offset: number, length: number): Promise<Uint8Array> {
    await this.#file.seek(offset, Deno.SeekMode.Start);
    const data = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const count = await this.#file.read(data.subarray(filled));
      if (count === null) return data.subarray(0, filled);
      filled += count;
    }
    return data;
  }
}
