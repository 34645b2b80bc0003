/**
 * {@link ObjectStore} on an S3-compatible bucket (AWS S3, R2, MinIO, Ceph) with
 * the AWS SDK. Conditional writes use `If-None-Match: *` / `If-Match`; large
 * streams go up as multipart uploads in constant memory. Every call has a
 * timeout and bounded retries; connection failures become
 * {@link StorageUnavailableError}.
 *
 * @module
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import type { S3Config } from "../config.ts";
import {
  assertValidKey,
  type GetOptions,
  type ObjectBody,
  type ObjectInfo,
  type ObjectStore,
  PreconditionFailedError,
  type PutBody,
  type PutOptions,
  StorageUnavailableError,
  withBodyStream,
} from "./object_store.ts";

/** Attempts per S3 call (first included) for calls that are safe to repeat. */
const MAX_ATTEMPTS = 3;

/** The SDK clients of one bucket. */
export interface S3Clients {
  /** For calls that are safe to retry (reads, unconditional writes, deletes, lists). */
  client: S3Client;
  /**
   * For conditional writes: one attempt only. A retried conditional PUT whose
   * first attempt was applied (but whose answer was lost) would fail its own
   * precondition; callers re-read and decide instead.
   */
  conditional: S3Client;
  destroy(): void;
}

/**
 * Creates the SDK clients for `config`. Every call has a deadline: `timeoutMs`
 * to get an answer (and to stay silent mid-body), at most 3 s to connect.
 */
export function createS3Clients(config: S3Config): S3Clients {
  const base: S3ClientConfig = {
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle,
    credentials: config.credentials,
    requestHandler: {
      connectionTimeout: Math.min(3_000, config.timeoutMs),
      requestTimeout: config.timeoutMs,
      throwOnRequestTimeout: true,
      socketTimeout: config.timeoutMs,
    },
    // S3-compatible stores differ in checksum support; send and check them only when an API requires it.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  };
  const client = new S3Client({ ...base, maxAttempts: MAX_ATTEMPTS });
  const conditional = new S3Client({ ...base, maxAttempts: 1 });
  return {
    client,
    conditional,
    destroy() {
      client.destroy();
      conditional.destroy();
    },
  };
}

/** Bodies at most this large go up in one PutObject; larger streams as a multipart upload. */
const SINGLE_PUT_MAX = 8 * 1024 * 1024;

/** An {@link ObjectStore} over one bucket and key prefix. */
export class S3Store implements ObjectStore {
  readonly #client: S3Client;
  readonly #conditional: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(clients: S3Clients, bucket: string, prefix = "") {
    this.#client = clients.client;
    this.#conditional = clients.conditional;
    this.#bucket = bucket;
    this.#prefix = prefix === "" ? "" : `${prefix}/`;
  }

  /**
   * Checks that the bucket exists and the credentials reach it.
   *
   * @throws {Error} naming the bucket when S3 says it does not exist or access is denied.
   * @throws {StorageUnavailableError} when S3 cannot be reached.
   */
  async checkBucket(): Promise<void> {
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: this.#bucket }));
    } catch (error) {
      const status = statusOf(error);
      if (status === 404 || status === 403 || status === 301 || status === 400) {
        throw new Error(`bucket "${this.#bucket}" is not usable (S3 answered ${status})`);
      }
      throw translate(error, `HEAD bucket ${this.#bucket}`);
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const out = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }));
      return { key, size: out.ContentLength ?? 0, etag: out.ETag ?? "", lastModified: out.LastModified ?? new Date(0) };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw translate(error, `HEAD ${key}`);
    }
  }

  async get(key: string, options: GetOptions = {}): Promise<ObjectBody | null> {
    const range = options.range ? `bytes=${options.range.start}-${options.range.end}` : undefined;
    try {
      const out = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(key), Range: range }),
      );
      const total = out.ContentRange ? Number(out.ContentRange.split("/")[1]) : out.ContentLength ?? 0;
      const body = out.Body?.transformToWebStream() as ReadableStream<Uint8Array> | undefined;
      return {
        key,
        size: total,
        etag: out.ETag ?? "",
        lastModified: out.LastModified ?? new Date(0),
        body: body ?? new Response(new Uint8Array(0)).body!,
      };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw translate(error, `GET ${key}`);
    }
  }

  async put(key: string, body: PutBody, options: PutOptions = {}): Promise<ObjectInfo> {
    const Key = this.#key(key);
    const conditions = {
      ...(options.ifNoneMatch ? { IfNoneMatch: options.ifNoneMatch } : {}),
      ...(options.ifMatch ? { IfMatch: options.ifMatch } : {}),
    };
    try {
      if (body instanceof Uint8Array) {
        const client = options.ifNoneMatch || options.ifMatch ? this.#conditional : this.#client;
        const out = await client.send(
          new PutObjectCommand({
            Bucket: this.#bucket,
            Key,
            Body: body,
            ContentType: options.contentType,
            ...conditions,
          }),
        );
        return { key, size: body.byteLength, etag: out.ETag ?? "", lastModified: new Date() };
      }
      if (options.ifNoneMatch || options.ifMatch) {
        throw new Error("conditional puts take a buffer, not a stream");
      }
      return await withBodyStream(body, async (stream) => {
        let size = 0;
        const counted = stream.pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              size += chunk.byteLength;
              controller.enqueue(chunk);
            },
          }),
        );
        const upload = new Upload({
          client: this.#client,
          params: { Bucket: this.#bucket, Key, Body: counted, ContentType: options.contentType },
          partSize: SINGLE_PUT_MAX,
          queueSize: 2,
          leavePartsOnError: false,
        });
        const out = await upload.done();
        return { key, size, etag: out.ETag ?? "", lastModified: new Date() };
      });
    } catch (error) {
      if (isPreconditionFailure(error)) throw new PreconditionFailedError(key);
      throw translate(error, `PUT ${key}`);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }));
    } catch (error) {
      if (isNotFound(error)) return;
      throw translate(error, `DELETE ${key}`);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      let out;
      try {
        out = await this.#client.send(
          new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: this.#prefix + prefix, ContinuationToken: token }),
        );
      } catch (error) {
        throw translate(error, `LIST ${prefix}`);
      }
      for (const object of out.Contents ?? []) {
        if (!object.Key) continue;
        yield {
          key: object.Key.slice(this.#prefix.length),
          size: object.Size ?? 0,
          etag: object.ETag ?? "",
          lastModified: object.LastModified ?? new Date(0),
        };
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  #key(key: string): string {
    assertValidKey(key);
    return this.#prefix + key;
  }
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string })?.name;
  return name === "NotFound" || name === "NoSuchKey" || (statusOf(error) === 404 && name !== "NoSuchBucket");
}

/** 412 (condition false), 409 (concurrent conditional write) and If-Match on a missing key (404) all mean "lost the race". */
function isPreconditionFailure(error: unknown): boolean {
  const name = (error as { name?: string })?.name;
  const status = statusOf(error);
  return status === 412 || name === "PreconditionFailed" || status === 409 || name === "ConditionalRequestConflict" ||
    name === "NoSuchKey";
}

/** Errors a client cannot fix become {@link StorageUnavailableError}; configuration errors stay as they are. */
function translate(error: unknown, operation: string): Error {
  const status = statusOf(error);
  const name = (error as { name?: string })?.name ?? "Error";
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof S3ServiceException && status !== undefined && status < 500 && status !== 429) {
    return new Error(`S3 ${operation} failed: ${name} (${status}): ${message}`);
  }
  return new StorageUnavailableError(`S3 ${operation} failed: ${name}${status ? ` (${status})` : ""}: ${message}`);
}
