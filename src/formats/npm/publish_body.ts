/**
 * Reading an npm publish body (`PUT /:name`) without holding the tarball in
 * memory: the JSON is scanned as it arrives, the base64 string at
 * `_attachments.<file>.data` is decoded straight into a staged file (its
 * SHA-1, SHA-512 and SHA-256 computed on the way), and the rest of the
 * document, small, is parsed as usual with that string left empty.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash, type Hash } from "node:crypto";
import { type StagedFile, stageStream } from "../../core/staging.ts";
import { BadRequestError, PayloadTooLargeError } from "../../errors.ts";

/** The tarball of a publish body, staged. */
export interface StagedAttachment {
  /** Its key in `_attachments` (`@scope/name-1.0.0.tgz`). */
  name: string;
  file: StagedFile;
  /** Lowercase hex SHA-1 of the decoded bytes. */
  sha1Hex: string;
  /** Base64 SHA-512 of the decoded bytes. */
  sha512Base64: string;
}

/** A publish body: the document (attachment data emptied) and the attachment, if it had one. */
export interface PublishBody {
  document: Record<string, unknown>;
  attachment?: StagedAttachment;
}

/** Limits of {@link readPublishBody}. */
export interface PublishBodyOptions {
  scratchDir: string;
  /** Largest decoded attachment (`REGISTRY_MAX_ARCHIVE_BYTES`). */
  maxAttachmentBytes: number;
  /** Largest document without the attachment data. */
  maxDocumentBytes: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MAX_KEY_BYTES = 4096;

interface Frame {
  object: boolean;
  /** The current key (objects), once read. */
  key: string | null;
  expectKey: boolean;
}

/**
 * Reads a publish body from `stream`. The caller disposes of the staged
 * attachment.
 *
 * @throws {BadRequestError} when the body is not a JSON object, or the attachment data not base64.
 * @throws {PayloadTooLargeError} when the document or the attachment is over its limit.
 */
export async function readPublishBody(
  stream: ReadableStream<Uint8Array>,
  options: PublishBodyOptions,
): Promise<PublishBody> {
  const scanner = new BodyScanner(options);
  try {
    for await (const chunk of stream) await scanner.feed(chunk);
    return await scanner.finish();
  } catch (error) {
    await scanner.abort(error);
    throw error;
  }
}

/** The scanner's state between chunks. */
class BodyScanner {
  readonly #options: PublishBodyOptions;
  readonly #kept: Uint8Array[] = [];
  #keptBytes = 0;
  readonly #stack: Frame[] = [];
  #inString = false;
  #escaped = false;
  #stringIsKey = false;
  #keyBytes: number[] = [];
  #diversion: Diversion | null = null;
  #attachment: Promise<StagedAttachment> | null = null;

  constructor(options: PublishBodyOptions) {
    this.#options = options;
  }

  async feed(chunk: Uint8Array): Promise<void> {
    let from = 0;
    let i = 0;
    while (i < chunk.length) {
      if (this.#diversion !== null) {
        const end = this.#diversion.findEnd(chunk, i);
        await this.#diversion.write(chunk.subarray(i, end === -1 ? chunk.length : end));
        if (end === -1) return;
        await this.#diversion.close();
        this.#diversion = null;
        this.#afterValue();
        from = end; // the closing quote is kept
        i = end + 1;
        continue;
      }
      const byte = chunk[i];
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (byte === BACKSLASH) this.#escaped = true;
        else if (byte === QUOTE) {
          this.#inString = false;
          if (this.#stringIsKey) this.#endKey();
          else this.#afterValue();
        }
        if (this.#stringIsKey && this.#inString && this.#keyBytes.length < MAX_KEY_BYTES) this.#keyBytes.push(byte);
        i++;
        continue;
      }
      const top = this.#stack.at(-1);
      switch (byte) {
        case 0x7b: // {
          this.#stack.push({ object: true, key: null, expectKey: true });
          break;
        case 0x5b: // [
          this.#stack.push({ object: false, key: null, expectKey: false });
          break;
        case 0x7d: // }
        case 0x5d: // ]
          this.#stack.pop();
          this.#afterValue();
          break;
        case 0x2c: // ,
          if (top?.object) {
            top.expectKey = true;
            top.key = null;
          }
          break;
        case QUOTE:
          this.#inString = true;
          this.#stringIsKey = top?.object === true && top.expectKey;
          this.#keyBytes = [];
          if (!this.#stringIsKey && this.#isAttachmentData()) {
            this.#inString = false;
            this.#keep(chunk.subarray(from, i + 1));
            this.#diversion = this.#divert(this.#stack[1].key!);
            from = i + 1;
          }
          break;
      }
      i++;
    }
    this.#keep(chunk.subarray(from));
  }

  async finish(): Promise<PublishBody> {
    if (this.#diversion !== null) throw new BadRequestError("the publish body ends inside the attachment data");
    const text = new TextDecoder().decode(Buffer.concat(this.#kept));
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch (error) {
      throw new BadRequestError(`the publish body is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof document !== "object" || document === null || Array.isArray(document)) {
      throw new BadRequestError("the publish body must be a JSON object");
    }
    const attachment = await this.#attachment ?? undefined;
    return { document: document as Record<string, unknown>, attachment };
  }

  async abort(reason: unknown): Promise<void> {
    await this.#diversion?.abort(reason);
    const staged = await this.#attachment?.catch(() => undefined);
    await staged?.file.dispose();
  }

  #keep(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#keptBytes += bytes.length;
    if (this.#keptBytes > this.#options.maxDocumentBytes) {
      throw new PayloadTooLargeError(
        `the publish document (without its tarball) is over ${this.#options.maxDocumentBytes} bytes`,
      );
    }
    this.#kept.push(bytes.slice());
  }

  #endKey(): void {
    const top = this.#stack.at(-1)!;
    try {
      top.key = JSON.parse(`"${new TextDecoder().decode(new Uint8Array(this.#keyBytes))}"`);
    } catch {
      top.key = null; // not valid JSON: the final parse reports it
    }
    top.expectKey = false;
  }

  #afterValue(): void {
    const top = this.#stack.at(-1);
    if (top?.object) top.key = null;
  }

  /** True for a string value at `_attachments.<name>.data` (depth 3, objects all the way). */
  #isAttachmentData(): boolean {
    const s = this.#stack;
    return s.length === 3 && s.every((f) => f.object) && s[0].key === "_attachments" && s[1].key !== null &&
      s[2].key === "data";
  }

  #divert(name: string): Diversion {
    if (this.#attachment !== null) throw new BadRequestError("a publish carries exactly one tarball attachment");
    const diversion = new Diversion(name, this.#options.scratchDir, this.#options.maxAttachmentBytes);
    this.#attachment = diversion.staged;
    return diversion;
  }
}

/** Base64 text of one attachment, decoded into a staged file as it arrives. */
class Diversion {
  readonly #name: string;
  readonly #pipe = new TransformStream<Uint8Array, Uint8Array>();
  readonly #writer = this.#pipe.writable.getWriter();
  readonly #sha1: Hash = createHash("sha1");
  readonly #sha512: Hash = createHash("sha512");
  #escaped = false;
  /** Base64 characters not yet decoded (fewer than 4, and a split escape). */
  #pending = "";
  /** A quad with "=" was decoded: the data has ended. */
  #padded = false;

  /** The decoded bytes, staged once the string ends. */
  readonly staged: Promise<StagedAttachment>;

  constructor(name: string, scratchDir: string, maxBytes: number) {
    this.#name = name;
    this.staged = this.#stage(scratchDir, maxBytes);
    // A failed staging (too large, disk full) fails the writes waiting on it.
    this.staged.catch((error) => this.abort(error));
  }

  async #stage(scratchDir: string, maxBytes: number): Promise<StagedAttachment> {
    const file = await stageStream(scratchDir, this.#pipe.readable, maxBytes);
    return { name: this.#name, file, sha1Hex: this.#sha1.digest("hex"), sha512Base64: this.#sha512.digest("base64") };
  }

  /** The staging's own error when it failed (it explains a failed write best), else `error`. */
  async #explain(error: unknown): Promise<unknown> {
    return await this.staged.then(() => error, (failure) => failure);
  }

  /** Where the string ends in `chunk` (the index of its closing quote), or -1. */
  findEnd(chunk: Uint8Array, from: number): number {
    for (let i = from; i < chunk.length; i++) {
      if (this.#escaped) this.#escaped = false;
      else if (chunk[i] === BACKSLASH) this.#escaped = true;
      else if (chunk[i] === QUOTE) return i;
    }
    return -1;
  }

  /** Decodes a piece of the string (JSON escapes allowed: `\/`, and `\n`, `\r`, `\t` as line breaks). */
  async write(raw: Uint8Array): Promise<void> {
    let text = (this.#pending + new TextDecoder("latin1").decode(raw)).replace(/\\[nrt]/g, "").replaceAll("\\/", "/");
    const trailingEscape = text.endsWith("\\") ? "\\" : "";
    if (trailingEscape) text = text.slice(0, -1);
    // Base64 with at most two "=" at its very end: nothing may follow a padded quad.
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || (this.#padded && text !== "")) throw this.#invalid();
    const whole = text.length - (text.length % 4);
    this.#pending = text.slice(whole) + trailingEscape;
    if (whole === 0) return;
    if (text[whole - 1] === "=") this.#padded = true;
    const bytes = new Uint8Array(Buffer.from(text.slice(0, whole), "base64"));
    this.#sha1.update(bytes);
    this.#sha512.update(bytes);
    await this.#writer.write(bytes).catch(async (error) => {
      throw await this.#explain(error);
    });
  }

  async close(): Promise<void> {
    if (this.#pending !== "") throw this.#invalid();
    await this.#writer.close().catch(async (error) => {
      throw await this.#explain(error);
    });
  }

  async abort(reason: unknown): Promise<void> {
    await this.#writer.abort(reason).catch(() => {});
  }

  #invalid(): BadRequestError {
    return new BadRequestError(`the data of attachment "${this.#name}" is not valid base64`);
  }
}
