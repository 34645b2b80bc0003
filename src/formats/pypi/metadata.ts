/**
 * Core metadata (`METADATA` in a wheel, `PKG-INFO` in an sdist): the header
 * fields of an email-style message, as the core metadata specification
 * defines them. Only the headers are read; the body (the long description)
 * is ignored.
 *
 * @module
 */
import { UnprocessableError } from "../../errors.ts";

/** The fields of a core metadata file, by lower-cased name; multiple-use fields keep every value. */
export type CoreMetadata = Map<string, string[]>;

/**
 * Parses the header block of a core metadata file.
 *
 * @throws {UnprocessableError} when it is not UTF-8 or has no `Name`/`Version`.
 */
export function parseCoreMetadata(bytes: Uint8Array, label: string): CoreMetadata {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new UnprocessableError(`${label} is not UTF-8 text`);
  }
  const fields: CoreMetadata = new Map();
  let last: { name: string; values: string[] } | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line === "") break; // the body starts
    if (/^[ \t]/.test(line) && last !== undefined) {
      last.values[last.values.length - 1] += `\n${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const values = fields.get(name) ?? [];
    values.push(line.slice(colon + 1).trim());
    fields.set(name, values);
    last = { name, values };
  }
  for (const required of ["name", "version"]) {
    if (!fields.get(required)?.[0]) {
      throw new UnprocessableError(`${label} has no ${required === "name" ? "Name" : "Version"} field`);
    }
  }
  return fields;
}

/** The `Keywords` of core metadata (comma- or space-separated), at most 20 of at most 50 characters each. */
export function keywordsOf(metadata: CoreMetadata): string[] {
  return (field(metadata, "keywords") ?? "").split(/[,\s]+/).filter((k) => k !== "" && k.length <= 50).slice(0, 20);
}

/** The first value of a field, or `undefined`. */
export function field(metadata: CoreMetadata, name: string): string | undefined {
  const value = metadata.get(name.toLowerCase())?.[0];
  return value === undefined || value === "" || value === "UNKNOWN" ? undefined : value;
}
