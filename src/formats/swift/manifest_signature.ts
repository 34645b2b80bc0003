/**
 * The signature line SwiftPM appends to each manifest of a signed release
 * (`"\n// signature: cms-1.0.0;" + base64`), split exactly as SwiftPM's
 * `ManifestSignatureParser` does: the signature is the last non-blank line,
 * and what it signs is the manifest up to the newline before that line.
 *
 * @module
 */

/** A manifest's signature line, taken apart. */
export interface ManifestSignature {
  /** The bytes the signature covers: the manifest up to the newline before the signature line. */
  contents: Uint8Array;
  /** E.g. `cms-1.0.0`. */
  format: string;
  signature: Uint8Array;
}

/**
 * Splits a manifest into its contents and signature, or returns `null` when
 * its last non-blank line is no signature line (SwiftPM then calls the
 * manifest unsigned). `"malformed"` when the line is there but its signature
 * is not base64, or the manifest is not UTF-8 (SwiftPM would sign and check
 * other bytes than these).
 */
export function parseManifestSignature(manifest: Uint8Array): ManifestSignature | null | "malformed" {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(manifest);
  } catch {
    return "malformed";
  }
  const chars = Array.from(text); // code points: Swift walks Characters, which differ only for "\r\n" here
  const find = (from: number, test: (c: string) => boolean, backwards = false): number => {
    if (backwards) {
      for (let i = from; i >= 0; i--) if (test(chars[i])) return i;
      return -1;
    }
    for (let i = from; i < chars.length; i++) if (test(chars[i])) return i;
    return chars.length;
  };
  const end = chars.length;
  // The last non-whitespace character ends the signature line.
  const lastVisible = find(end - 1, (c) => !isWhitespace(c), true);
  if (lastVisible === -1) return null;
  // The newline before it ends the signed contents ("\r\n" is one Character to Swift).
  let contentsEnd = find(lastVisible - 1, isNewline, true);
  if (contentsEnd === -1) return null;
  if (chars[contentsEnd] === "\n" && chars[contentsEnd - 1] === "\r") contentsEnd--;
  const commentStart = find(contentsEnd, (c) => c === "/");
  if (commentStart >= lastVisible) return null;
  const commentEnd = find(commentStart, (c) => c !== "/");
  const labelStart = find(commentEnd, (c) => !isWhitespace(c));
  const labelEnd = find(labelStart, (c) => c === ":");
  if (labelStart >= labelEnd || chars.slice(labelStart, labelEnd).join("").toLowerCase() !== "signature") return null;
  const formatStart = find(labelEnd, (c) => c !== ":" && !isWhitespace(c));
  const formatEnd = find(formatStart, (c) => c === ";");
  if (formatStart >= formatEnd) return null;
  const base64Start = find(formatEnd, (c) => c !== ";");
  if (base64Start >= lastVisible) return null;
  const base64 = chars.slice(base64Start, lastVisible + 1).join("");
  const signature = decodeBase64(base64);
  if (signature === null) return "malformed";
  return {
    contents: new TextEncoder().encode(chars.slice(0, contentsEnd).join("")),
    format: chars.slice(formatStart, formatEnd).join(""),
    signature,
  };
}

/** Foundation's `Data(base64Encoded:)`: the standard alphabet with padding, nothing else. */
function decodeBase64(text: string): Uint8Array | null {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/** Swift's `Character.isNewline`. */
function isNewline(c: string): boolean {
  return c === "\n" || c === "\r" || c === "\v" || c === "\f" || c === "\u0085" || c === "\u2028" ||
    c === "\u2029";
}

/** Swift's `Character.isWhitespace` (the Unicode White_Space property). */
function isWhitespace(c: string): boolean {
  return /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/.test(c);
}
