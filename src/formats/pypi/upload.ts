/**
 * Uploads through the legacy upload API that twine speaks: a multipart POST at
 * the repository URL with `:action=file_upload`, the project `name`,
 * `version`, `filetype`, digests, and the file as `content`. The file is
 * staged, checked against its digests, and published through the core.
 *
 * @module
 */
import type { Authenticator, Principal } from "../../auth/auth.ts";
import { requireWritable } from "../../auth/access.ts";
import { hashFile, type StagedFile, stageStream } from "../../core/staging.ts";
import type { PackageRef } from "../../core/package.ts";
import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from "../../errors.ts";
import { multipartBoundary, readMultipart, readPartBytes } from "../../http/multipart.ts";
import { checkFilenameAgrees, checkVersion, parseDistributionFilename } from "./names.ts";
import { projectRef, type PypiProject } from "./project.ts";
import type { PypiRegistry, UploadInput } from "./registry.ts";

/** What an upload needs from the host. */
export interface UploadDeps {
  registry: PypiRegistry;
  auth: Authenticator;
  scratchDir: string;
  /** Largest file accepted (REGISTRY_MAX_ARCHIVE_BYTES). */
  maxFileBytes: number;
}

/** What was uploaded. */
export interface Uploaded {
  project: string;
  version: string;
  filename: string;
}

/** The checked fields of an upload form. */
interface UploadFields {
  ref: PackageRef;
  version: string;
}

/** Most parts an upload may have (twine sends one per classifier and dependency). */
const MAX_PARTS = 2_000;
/** Most bytes of all text fields together (the description is the big one). */
export const MAX_FIELD_BYTES = 16 * 1024 * 1024;
const FILETYPES = ["bdist_wheel", "sdist"];

/**
 * Handles an upload end to end: authenticates before reading the body,
 * authorizes for the project as soon as its name is known (before the file
 * is staged), checks the file, publishes it.
 *
 * @throws {RegistryError} for anything refused; nothing is stored then.
 */
export async function handleUpload(request: Request, deps: UploadDeps): Promise<Uploaded> {
  const { auth } = deps;
  requireWritable(auth, "uploading");
  const principal = await auth.authenticate(request);
  await auth.authorize(principal, "publish");
  const boundary = multipartBoundary(request.headers.get("content-type"));
  if (boundary === null || request.body === null) {
    throw new UnsupportedMediaTypeError("an upload is a multipart/form-data POST (as twine sends it)");
  }
  let content: { filename: string; staged: StagedFile } | undefined;
  try {
    const fields = new Map<string, string>();
    let checked: UploadFields | undefined;
    // Once: before the file is staged when the fields came first (as twine sends them), else at the end.
    const check = async () => checked ??= await checkFields(fields, principal, auth);
    const checkFile = async (filename: string) => {
      const { ref, version } = await check();
      const file = parseDistributionFilename(filename);
      checkFilenameAgrees(file, filename, ref.name, version, fields.get("filetype"));
      return { ref, version, file };
    };
    let fieldBytes = 0;
    for await (const part of readMultipart(request.body, boundary, { maxParts: MAX_PARTS, maxHeaderBytes: 8192 })) {
      if (part.name === "content") {
        if (content !== undefined) throw new BadRequestError('the "content" part appears more than once');
        if (!part.filename) throw new BadRequestError('the "content" part has no filename');
        if (fields.has("name") && fields.has("version")) await checkFile(part.filename);
        content = { filename: part.filename, staged: await stageStream(deps.scratchDir, part.body, deps.maxFileBytes) };
        continue;
      }
      const bytes = await readPartBytes(
        part,
        MAX_FIELD_BYTES - fieldBytes,
        () => new PayloadTooLargeError(`the upload's fields are over ${MAX_FIELD_BYTES} bytes together`),
      );
      fieldBytes += bytes.byteLength;
      // Multiple-use fields (classifiers, requires_dist) are not needed: the first value is kept.
      if (!fields.has(part.name)) fields.set(part.name, new TextDecoder().decode(bytes));
    }
    if (content === undefined) {
      await check();
      throw new BadRequestError('the upload has no file (the "content" part)');
    }
    const { ref, version, file } = await checkFile(content.filename);
    await checkDigests(content.staged, fields);
    const summary = fields.get("summary");
    await publish(deps.registry, {
      ref,
      version,
      filename: content.filename,
      file,
      archive: content.staged,
      metadata: { filename: content.filename, ...(summary ? { summary } : {}) },
    });
    return { project: ref.id, version, filename: content.filename };
  } finally {
    await content?.staged.dispose();
  }
}

async function checkFields(
  fields: Map<string, string>,
  principal: Principal | null,
  auth: Authenticator,
): Promise<UploadFields> {
  const action = fields.get(":action");
  if (action !== undefined && action !== "file_upload") {
    throw new BadRequestError(`unsupported :action "${action.slice(0, 50)}"; only file_upload is`);
  }
  const protocol = fields.get("protocol_version");
  if (protocol !== undefined && protocol !== "1") {
    throw new BadRequestError(`unsupported protocol_version "${protocol.slice(0, 20)}"; only 1 is`);
  }
  const name = fields.get("name")?.trim();
  const version = fields.get("version")?.trim();
  if (!name) throw new BadRequestError('the upload has no "name" field (the project name)');
  if (!version) throw new BadRequestError('the upload has no "version" field');
  const filetype = fields.get("filetype");
  if (filetype !== undefined && !FILETYPES.includes(filetype)) {
    throw new BadRequestError(`filetype "${filetype.slice(0, 50)}" is not accepted: upload wheels and sdists`);
  }
  const ref = projectRef(name);
  const normalized = checkVersion(version);
  await auth.authorize(principal, "publish", ref);
  return { ref, version: normalized };
}

/**
 * Checks the file against the digests the client computed (`sha256_digest`,
 * and `md5_digest` when no SHA-256 is given): one of them is required.
 *
 * @throws {BadRequestError} when a digest is missing, malformed or does not match.
 */
async function checkDigests(staged: StagedFile, fields: Map<string, string>): Promise<void> {
  const sha256 = fields.get("sha256_digest")?.trim().toLowerCase();
  if (sha256) {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new BadRequestError("sha256_digest is not a hex SHA-256 digest");
    if (sha256 !== staged.sha256Hex) {
      throw new BadRequestError(
        `the file's SHA-256 is ${staged.sha256Hex}, not the ${sha256} given as sha256_digest: it was damaged on the way`,
      );
    }
    return;
  }
  const md5 = fields.get("md5_digest")?.trim().toLowerCase();
  if (!md5) throw new BadRequestError("the upload needs a sha256_digest of the file");
  if ((await hashFile(staged.path, ["md5"])).md5.toString("hex") !== md5) {
    throw new BadRequestError("the file does not match its md5_digest: it was damaged on the way");
  }
}

/** Publishes a checked upload (HTTP uploads and ingestion alike); returns the stored project. */
export async function publish(
  registry: PypiRegistry,
  input: UploadInput,
  transforms: "publish" | "ingest" = "publish",
): Promise<PypiProject> {
  const prepared = await registry.prepare(input, { transforms });
  return await prepared.commit();
}
