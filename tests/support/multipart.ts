/**
 * Builds publish bodies byte for byte as SwiftPM's RegistryClient does:
 * no `filename` on the archive part, `Content-Transfer-Encoding: binary`,
 * metadata labelled quoted-printable but sent raw, quoted boundary.
 *
 * @module
 */

/** The parts a publish may carry. */
export interface PublishParts {
  archive?: Uint8Array;
  metadata?: unknown;
  archiveSignature?: Uint8Array;
  metadataSignature?: Uint8Array;
}

/** A multipart body and its Content-Type header. */
export interface MultipartBody {
  body: Uint8Array<ArrayBuffer>;
  contentType: string;
}

/** Encodes `parts` the way SwiftPM does. */
export function swiftPublishBody(parts: PublishParts, boundary: string = crypto.randomUUID()): MultipartBody {
  const chunks: Uint8Array[] = [];
  const text = (s: string) => chunks.push(new TextEncoder().encode(s));
  let first = true;
  const open = (name: string, type: string, encoding: string) => {
    text(
      `${first ? "" : "\r\n"}--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n` +
        `Content-Type: ${type}\r\nContent-Transfer-Encoding: ${encoding}\r\n\r\n`,
    );
    first = false;
  };
  if (parts.archive) {
    open("source-archive", "application/zip", "binary");
    chunks.push(parts.archive);
  }
  if (parts.archiveSignature) {
    open("source-archive-signature", "application/octet-stream", "binary");
    chunks.push(parts.archiveSignature);
  }
  if (parts.metadata !== undefined) {
    open("metadata", "application/json", "quoted-printable");
    text(`${typeof parts.metadata === "string" ? parts.metadata : JSON.stringify(parts.metadata)}\n`);
  }
  if (parts.metadataSignature) {
    open("metadata-signature", "application/octet-stream", "binary");
    chunks.push(parts.metadataSignature);
  }
  text(`\r\n--${boundary}--\r\n`);
  const size = chunks.reduce((n, c) => n + c.length, 0);
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return { body, contentType: `multipart/form-data;boundary="${boundary}"` };
}
