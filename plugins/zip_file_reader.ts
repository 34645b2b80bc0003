/**
 * A zip.js reader over an open file, for reading zips from disk with random
 * access instead of loading them into memory. Used by the registry and by
 * plugins that look inside archives.
 *
 * @module
 */
import * as zip from "@zip.js/zip.js";

zip.configure({ useWebWorkers: false });

/** zip.js reader over an open file: random access, reads serialised (zip.js may overlap them). */
export class FsFileReader extends zip.Reader<Deno.FsFile> {
  #file: Deno.FsFile;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(file: Deno.FsFile) {
    super(file);
    this.#file = file;
  }

  override async init(): Promise<void> {
    this.size = (await this.#file.stat()).size;
  }

  override readUint8Array(offset: number, length: number): Promise<Uint8Array> {
    const result = this.#queue.then(async () => {
      await this.#file.seek(offset, Deno.SeekMode.Start);
      const data = new Uint8Array(length);
      let filled = 0;
      while (filled < length) {
        const count = await this.#file.read(data.subarray(filled));
        if (count === null) return data.subarray(0, filled);
        filled += count;
      }
      return data;
    });
    this.#queue = result.catch(() => undefined);
    return result;
  }
}
