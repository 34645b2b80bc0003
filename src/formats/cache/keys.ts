/**
 * Where build-cache entries live in storage, and which names clients may use.
 * Everything is under `cache/`, apart from packages and their budget:
 *
 * - `cache/cas/<sha256>`: bazel-protocol CAS blobs (bazel, ccache);
 * - `cache/ac/<key>`: bazel-protocol action-cache entries (opaque keys);
 * - `cache/tuist/<account>/<project>/cas/<sha256(id)>` and `.../kv/<sha256(cas_id)>`:
 *   Tuist's CAS and key-value entries, one area per project (its ids are
 *   opaque strings of any length, so they are stored by their digest);
 * - `cache/meta/`: access stamps and the last sweep's usage (not entries).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { BadRequestError } from "../../errors.ts";

/** The namespaces entries are counted and reported in. */
export type Namespace = "cas" | "ac" | "tuist";

/** Every namespace with the key prefix of its entries. */
export const NAMESPACES: readonly { namespace: Namespace; prefix: string }[] = [
  { namespace: "cas", prefix: "cache/cas/" },
  { namespace: "ac", prefix: "cache/ac/" },
  { namespace: "tuist", prefix: "cache/tuist/" },
];

/** Prefix of the cache's own bookkeeping (never an entry). */
export const META_PREFIX = "cache/meta/";

/** The SHA-256 of no bytes: bazel asks for it without ever uploading it. */
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

const SHA256_HEX = /^[a-f0-9]{64}$/;
const ACTION_KEY = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;
const HANDLE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const MAX_TUIST_ID_LENGTH = 1024;

/**
 * The storage key of the CAS blob with this digest.
 *
 * @throws {BadRequestError} unless `hash` is 64 lowercase hex digits.
 */
export function casKey(hash: string): string {
  if (!SHA256_HEX.test(hash)) throw new BadRequestError(`"${clip(hash)}" is not a SHA-256 digest (64 lowercase hex)`);
  return `cache/cas/${hash}`;
}

/**
 * The storage key of an action-cache entry. Keys are opaque (ccache pads its
 * 40-hex keys to 64): any 1 to 128 of `A-Z a-z 0-9 . _ -`, not starting with `.`.
 *
 * @throws {BadRequestError} for any other key.
 */
export function acKey(key: string): string {
  if (!ACTION_KEY.test(key)) {
    throw new BadRequestError(`"${clip(key)}" is not an action-cache key (1-128 of A-Z a-z 0-9 . _ -)`);
  }
  return `cache/ac/${key}`;
}

/** A Tuist project: its account and project handles, lower-cased. */
export interface TuistProject {
  account: string;
  project: string;
}

/**
 * The project named by `account_handle` and `project_handle` (Tuist compares
 * handles without case).
 *
 * @throws {BadRequestError} when either is missing or not a handle.
 */
export function tuistProject(account: string | undefined, project: string | undefined): TuistProject {
  for (const [name, value] of [["account_handle", account], ["project_handle", project]]) {
    if (value === undefined || value === "") throw new BadRequestError(`the "${name}" query parameter is required`);
    if (!HANDLE.test(value)) throw new BadRequestError(`"${clip(value)}" is not a valid ${name}`);
  }
  return { account: account!.toLowerCase(), project: project!.toLowerCase() };
}

/**
 * The storage key of a Tuist CAS object or key-value entry of `project`.
 *
 * @throws {BadRequestError} when `id` is empty or longer than 1024 characters.
 */
export function tuistKey(project: TuistProject, kind: "cas" | "kv", id: string): string {
  if (id === "" || id.length > MAX_TUIST_ID_LENGTH) {
    throw new BadRequestError(`a cache id must have 1 to ${MAX_TUIST_ID_LENGTH} characters`);
  }
  const digest = createHash("sha256").update(id).digest("hex");
  return `cache/tuist/${project.account}/${project.project}/${kind}/${digest}`;
}

/** The namespace a storage key belongs to, or `undefined` for keys outside the entries. */
export function namespaceOf(key: string): Namespace | undefined {
  return NAMESPACES.find((n) => key.startsWith(n.prefix))?.namespace;
}

function clip(value: string): string {
  return value.length > 80 ? `${value.slice(0, 80)}…` : value;
}
