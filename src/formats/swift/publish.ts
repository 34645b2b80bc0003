/**
 * `PUT /{scope}/{name}/{version}`: publishing with multipart/form-data exactly
 * as SwiftPM sends it, synchronously (201) or, with `Prefer: respond-async`,
 * asynchronously (202 and a status URL to poll).
 *
 * @module
 */
import type { Context } from "hono";
import { packageRef } from "./identity.ts";
import { authorizeAction, requireWritable } from "../../auth/access.ts";
import { MAX_METADATA_BYTES, parseReleaseMetadata } from "./release.ts";
import type { ReleaseSignatures } from "./signing.ts";
import { type StagedFile, stageStream } from "../../core/staging.ts";
import { parseVersion } from "./version.ts";
import {
  BadRequestError,
  ConflictError,
  PayloadTooLargeError,
  SignatureRefusedError,
  UnprocessableError,
  UnsupportedMediaTypeError,
} from "../../errors.ts";
import { multipartBoundary, type MultipartPart, readMultipart, readPartBytes } from "../../http/multipart.ts";
import type { SwiftUrls } from "./links.ts";
import type { SwiftApiDeps } from "./routes.ts";

/** The outcome of a successful publish, as remembered for status polls. */
export interface PublishedRelease {
  scope: string;
  name: string;
  version: string;
}

/** The parts of a publish request, with the archive staged on disk. */
interface PublishForm {
  archive?: StagedFile;
  metadata?: Uint8Array;
  archiveSignature?: Uint8Array;
  metadataSignature?: Uint8Array;
}

const MAX_SIGNATURE_BYTES = 64 * 1024;

/** Handles a publish request end to end. */
export async function handlePublish(c: Context, deps: SwiftApiDeps, urls: SwiftUrls): Promise<Response> {
  const { registry, auth } = deps;
  requireWritable(auth);
  const ref = packageRef(c.req.param("scope")!, c.req.param("name")!);
  const version = parseVersion(c.req.param("version")!);
  await authorizeAction(auth, c.req.raw, "publish", ref);

  const location = urls.release(ref, version);
  if ((await registry.getPackage(ref))?.releases[version] !== undefined) {
    throw new ConflictError(`release ${version} of ${ref.scope}.${ref.name} already exists`, { Location: location });
  }
  const boundary = multipartBoundary(c.req.header("content-type"));
  if (boundary === null) {
    throw new UnsupportedMediaTypeError("publishing requires Content-Type: multipart/form-data with a boundary");
  }
  if (c.req.raw.body === null) {
    throw new UnprocessableError('the request has no body; a "source-archive" part is required');
  }

  const form = await readPublishForm(c.req.raw.body, boundary, deps.scratchDir, deps.maxArchiveBytes);
  const archive = form.archive;
  let signatures: ReleaseSignatures | undefined;
  let metadata: Record<string, unknown>;
  try {
    if (archive === undefined) throw new UnprocessableError('the "source-archive" part is missing');
    if (archive.size === 0) throw new UnprocessableError('the "source-archive" part is empty');
    signatures = signaturesOf(form, c.req.header("x-swift-package-signature-format"));
    metadata = parseReleaseMetadata(form.metadata);
  } catch (error) {
    await archive?.dispose();
    throw error;
  }

  // Validate before answering, also for asynchronous publishes: conflicts and
  // bad archives are reported on this response, where SwiftPM shows them. An
  // asynchronous publish claims its version across the cluster first, so the
  // 409 of a concurrent publish on another node is on that publish too.
  const async = prefersAsync(c.req.header("prefer"));
  let prepared;
  try {
    prepared = await registry.prepare({
      ref,
      version,
      archive,
      metadata,
      signatures,
      metadataBytes: form.metadata,
    }, { claimCluster: async });
  } catch (error) {
    await archive.dispose();
    throw error;
  }
  const commit = async (): Promise<PublishedRelease> => {
    try {
      await prepared.commit();
      return { scope: ref.scope, name: ref.name, version };
    } finally {
      await archive.dispose();
    }
  };

  if (async) {
    const statusUrl = urls.publishStatus(deps.publishJobs.start(commit));
    return c.json({ message: "publish accepted; poll the Location for its outcome", url: statusUrl }, 202, {
      Location: statusUrl,
      "Retry-After": "1",
    });
  }
  await commit();
  return c.json({ message: "release published", url: location }, 201, { Location: location });
}

async function readPublishForm(
  body: ReadableStream<Uint8Array>,
  boundary: string,
  scratchDir: string,
  maxArchiveBytes: number,
): Promise<PublishForm> {
  const form: PublishForm = {};
  try {
    for await (const part of readMultipart(body, boundary)) {
      const encoding = (part.headers.get("content-transfer-encoding") ?? "binary").toLowerCase();
      if (part.name === "source-archive") {
        if (form.archive) throw duplicate(part);
        if (!["binary", "8bit", "7bit"].includes(encoding)) {
          throw new BadRequestError(`unsupported Content-Transfer-Encoding "${encoding}" for the source-archive part`);
        }
        form.archive = await stageStream(scratchDir, part.body, maxArchiveBytes);
      } else if (part.name === "metadata") {
        if (form.metadata) throw duplicate(part);
        const raw = await readSmallPart(part, MAX_METADATA_BYTES);
        // SwiftPM labels the metadata part quoted-printable but sends the JSON as is.
        form.metadata = encoding === "quoted-printable" && isJson(raw) ? raw : decode(raw, encoding, part.name);
      } else if (part.name === "source-archive-signature" || part.name === "metadata-signature") {
        const field = part.name === "metadata-signature" ? "metadataSignature" : "archiveSignature";
        if (form[field]) throw duplicate(part);
        form[field] = decode(await readSmallPart(part, MAX_SIGNATURE_BYTES), encoding, part.name);
      } else {
        throw new BadRequestError(
          `unexpected multipart part "${part.name}": expected source-archive, metadata, source-archive-signature or metadata-signature`,
        );
      }
    }
  } catch (error) {
    await form.archive?.dispose();
    throw error;
  }
  return form;
}

function readSmallPart(part: MultipartPart, maxBytes: number): Promise<Uint8Array> {
  return readPartBytes(
    part,
    maxBytes,
    () => new PayloadTooLargeError(`the "${part.name}" part is over ${maxBytes} bytes`),
  );
}

function duplicate(part: MultipartPart): BadRequestError {
  return new BadRequestError(`the "${part.name}" part appears more than once`);
}

function decode(bytes: Uint8Array, encoding: string, partName: string): Uint8Array {
  if (encoding === "binary" || encoding === "8bit" || encoding === "7bit") return bytes;
  const text = new TextDecoder().decode(bytes);
  if (encoding === "base64") {
    try {
      return Uint8Array.from(atob(text.replace(/\s+/g, "")), (ch) => ch.charCodeAt(0));
    } catch {
      throw new BadRequestError(`the "${partName}" part is not valid base64`);
    }
  }
  if (encoding === "quoted-printable") {
    const unfolded = text.replace(/=\r?\n/g, "");
    const bytesOut = unfolded.replace(/=([0-9A-Fa-f]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
    return Uint8Array.from(bytesOut, (ch) => ch.charCodeAt(0) & 0xff);
  }
  throw new BadRequestError(`unsupported Content-Transfer-Encoding "${encoding}" for the ${partName} part`);
}

function isJson(bytes: Uint8Array): boolean {
  try {
    JSON.parse(new TextDecoder().decode(bytes));
    return true;
  } catch {
    return false;
  }
}

/** The signatures of a signed publish (both or neither of archive and metadata signed), or `undefined`. */
function signaturesOf(form: PublishForm, format: string | undefined): ReleaseSignatures | undefined {
  if (form.archiveSignature === undefined) {
    if (form.metadataSignature !== undefined) {
      throw new SignatureRefusedError(
        "signature-pair",
        "a metadata-signature was sent without a source-archive-signature",
      );
    }
    return undefined;
  }
  if (form.metadata !== undefined && form.metadataSignature === undefined) {
    throw new SignatureRefusedError(
      "signature-pair",
      "a signed release with metadata also needs a metadata-signature part",
    );
  }
  if (form.metadata === undefined && form.metadataSignature !== undefined) {
    throw new SignatureRefusedError("signature-pair", "a metadata-signature was sent without a metadata part");
  }
  if (format === undefined || !/^[a-z0-9][a-z0-9.-]{0,31}$/i.test(format)) {
    throw new BadRequestError("a signed release needs the X-Swift-Package-Signature-Format header (e.g. cms-1.0.0)");
  }
  return {
    format,
    archive: form.archiveSignature,
    ...(form.metadataSignature ? { metadata: form.metadataSignature } : {}),
  };
}

function prefersAsync(prefer: string | undefined): boolean {
  return prefer !== undefined &&
    prefer.split(",").some((p) => p.split(";")[0].trim().toLowerCase() === "respond-async");
}
