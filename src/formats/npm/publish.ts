/**
 * `npm publish` (`PUT /:name` with one version and its tarball attached): the
 * body checked against itself and the URL (one version, one attachment whose
 * length, SHA-1 and SHA-512 match `dist`), turned into a publish input.
 *
 * @module
 */
import * as semver from "semver";
import type { PackageRef } from "../../core/package.ts";
import { BadRequestError } from "../../errors.ts";
import { assertPublishableName } from "./names.ts";
import type { PublishBody, StagedAttachment } from "./publish_body.ts";
import { checkTagName, type NpmPublishInput } from "./registry.ts";

/**
 * The publish a body describes.
 *
 * @throws {BadRequestError} naming what does not fit.
 */
export function publishInput(ref: PackageRef, body: PublishBody & { attachment: StagedAttachment }): NpmPublishInput {
  assertPublishableName(ref);
  const { document, attachment } = body;
  if (document.name !== undefined && document.name !== ref.id) {
    throw new BadRequestError(`the body publishes ${JSON.stringify(document.name)} to the URL of ${ref.id}`);
  }
  const versions = Object.entries(objectField(document, "versions"));
  if (versions.length !== 1) throw new BadRequestError("a publish carries exactly one version");
  const [version, listed] = versions[0];
  if (semver.valid(version) !== version) throw new BadRequestError(`"${version}" is not a valid semantic version`);
  const manifest = objectField({ [`versions["${version}"]`]: listed }, `versions["${version}"]`);
  if (manifest.name !== ref.id || manifest.version !== version) {
    throw new BadRequestError(`the version document must name ${ref.id} and ${version}`);
  }
  checkAttachment(document, attachment, objectField(manifest, "dist"));
  const tags = Object.entries(objectField(document, "dist-tags", true)).map(([tag, target]) => {
    checkTagName(tag);
    if (target !== version) throw new BadRequestError(`dist-tag "${tag}" must point to the version published`);
    return tag;
  });
  const readme = typeof manifest.readme === "string" && manifest.readme !== ""
    ? {
      text: manifest.readme.slice(0, 64 * 1024),
      ...(typeof manifest.readmeFilename === "string" ? { filename: manifest.readmeFilename } : {}),
    }
    : undefined;
  return {
    ref,
    version,
    manifest,
    ...(readme === undefined ? {} : { readme }),
    tarball: attachment.file,
    digests: { sha1Hex: attachment.sha1Hex, sha512Base64: attachment.sha512Base64 },
    tags: tags.length > 0 ? tags : ["latest"],
  };
}

/** The attachment's stated length and the version's `dist` digests must match the bytes received. */
function checkAttachment(
  document: Record<string, unknown>,
  attachment: StagedAttachment,
  dist: Record<string, unknown>,
) {
  const attachments = objectField(document, "_attachments");
  const described = objectField(attachments, attachment.name);
  const { size } = attachment.file;
  if (size === 0) throw new BadRequestError(`the attachment "${attachment.name}" is empty`);
  if (described.length !== undefined && described.length !== size) {
    throw new BadRequestError(
      `the attachment "${attachment.name}" is ${size} bytes, but its length says ${JSON.stringify(described.length)}`,
    );
  }
  if (typeof dist.integrity !== "string") {
    throw new BadRequestError("dist.integrity must hold the tarball's sha512 (sha512-<base64>)");
  }
  const sha512 = dist.integrity.split(/\s+/).filter((h) => h.startsWith("sha512-"));
  if (sha512.length === 0) throw new BadRequestError("dist.integrity must hold the tarball's sha512 (sha512-<base64>)");
  if (!sha512.every((h) => h.slice("sha512-".length).split("?")[0] === attachment.sha512Base64)) {
    throw new BadRequestError(
      `the tarball does not match dist.integrity: its sha512 is sha512-${attachment.sha512Base64}`,
    );
  }
  if (dist.shasum !== undefined && String(dist.shasum).toLowerCase() !== attachment.sha1Hex) {
    throw new BadRequestError(`the tarball does not match dist.shasum: its sha1 is ${attachment.sha1Hex}`);
  }
}

function objectField(value: Record<string, unknown>, field: string, optional = false): Record<string, unknown> {
  const found = value[field];
  if (found === undefined && optional) return {};
  if (typeof found !== "object" || found === null || Array.isArray(found)) {
    throw new BadRequestError(`"${field}" must be a JSON object`);
  }
  return found as Record<string, unknown>;
}
