/**
 * Helpers for auth plugins: reading the secret a request presents and
 * comparing token hashes in constant time. Plugins may import this file.
 *
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";

/**
 * The secret a request presents: a Bearer token, or the password of Basic
 * credentials. `null` without an `Authorization` header; `undefined` when the
 * header is malformed or of another scheme.
 */
export function presentedSecret(request: Request): string | null | undefined {
  const header = request.headers.get("authorization");
  if (header === null) return null;
  const [scheme, ...rest] = header.trim().split(/\s+/);
  const value = rest.join(" ");
  if (/^bearer$/i.test(scheme) && value) return value;
  if (/^basic$/i.test(scheme) && value) {
    try {
      const decoded = new TextDecoder("utf-8", { fatal: true }).decode(
        Uint8Array.from(atob(value), (c) => c.charCodeAt(0)),
      );
      const colon = decoded.indexOf(":");
      if (colon >= 0 && colon < decoded.length - 1) return decoded.slice(colon + 1);
    } catch { /* malformed */ }
  }
  return undefined;
}

/**
 * Lowercase hex SHA-256 of a token: the only form in which tokens are kept.
 * In JavaScript (noble-hashes) rather than `node:crypto`: it runs on every
 * authenticated request, and with `node:crypto`'s hash objects a registry
 * answering tens of thousands of token reads a second stalled now and then
 * for 50-120 ms (measured: p99 40-90 ms instead of 1 ms). One hasher is
 * reset for each digest, and an ASCII token is copied into a buffer kept for
 * it, instead of a new hasher and a `TextEncoder` call each time (0.6 µs a
 * digest instead of 2.7). Both are wiped after each digest.
 */
export function sha256Hex(token: string): string {
  const bytes = asciiBytes(token) ?? encoder.encode(token);
  initialHasher._cloneInto(hasher);
  hasher.update(bytes);
  hasher.digestInto(digest);
  hasher.destroy();
  if (bytes.buffer === tokenBytes.buffer) bytes.fill(0);
  return bytesToHex(digest);
}

const encoder = new TextEncoder();
const initialHasher = sha256.create();
const hasher = sha256.create();
const digest = new Uint8Array(32);
const tokenBytes = new Uint8Array(8192);

/** `text` as bytes in {@link tokenBytes} when it is ASCII and fits, else `undefined`. */
function asciiBytes(text: string): Uint8Array | undefined {
  if (text.length > tokenBytes.length) return undefined;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) {
      tokenBytes.fill(0, 0, i);
      return undefined;
    }
    tokenBytes[i] = code;
  }
  return tokenBytes.subarray(0, text.length);
}

/**
 * {@link sha256Hex} of `secret`, the secret `request` presents (as
 * {@link presentedSecret} reads it): worked out once for a request from
 * {@link credentialsRequest}, which the auth chain is asked about again and
 * again, and on every call for any other.
 */
export function secretSha256(request: Request, secret: string): string {
  const known = knownDigests.get(request);
  return known !== undefined && known.secret === secret ? known.digest : sha256Hex(secret);
}

/**
 * A request presenting the `authorization` header and nothing else, for
 * asking the auth chain about the same credentials many times (the hot path
 * does before each answer it gives them): {@link secretSha256} hashes its
 * secret here, once.
 */
export function credentialsRequest(url: string, authorization: string | null): Request {
  const request = new Request(url, { headers: authorization === null ? {} : { authorization } });
  const secret = presentedSecret(request);
  if (typeof secret === "string") knownDigests.set(request, { secret, digest: sha256Hex(secret) });
  return request;
}

/** Digests of the secrets of requests from {@link credentialsRequest} (each held as long as its request). */
const knownDigests = new WeakMap<Request, { secret: string; digest: string }>();

/**
 * Compares two lowercase hex digests (as {@link sha256Hex} writes them) in
 * constant time: every character is looked at whatever differs, and the
 * strings are compared as they are (no decoding, which cost more than the
 * hashing on every authenticated request).
 */
export function digestsEqual(aHex: string, bHex: string): boolean {
  if (aHex.length !== bHex.length || aHex.length === 0) return false;
  let difference = 0;
  for (let i = 0; i < aHex.length; i++) difference |= aHex.charCodeAt(i) ^ bHex.charCodeAt(i);
  return difference === 0;
}

/** True when `token` can travel in an `Authorization` header: 1 to 4096 visible ASCII characters, no spaces. */
export function isTokenText(token: string): boolean {
  return /^[\x21-\x7e]{1,4096}$/.test(token);
}

/**
 * A request presenting `token` as a bearer token (to ask the auth chain about
 * it), or `null` when the text cannot be a token (see {@link isTokenText}):
 * building the header would fail, with the text in the error.
 */
export function bearerRequest(url: string, token: string): Request | null {
  return isTokenText(token) ? new Request(url, { headers: { Authorization: `Bearer ${token}` } }) : null;
}
