import assert from "node:assert/strict";
import { parseManifestSignature } from "./manifest_signature.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);
const MANIFEST = "// swift-tools-version:5.9\nimport PackageDescription\n";

Deno.test("the signature line SwiftPM appends splits into the exact bytes it signed, its format and signature", () => {
  const parsed = parseManifestSignature(bytes(`${MANIFEST}\n// signature: cms-1.0.0;AQID`));
  assert.ok(parsed !== null && parsed !== "malformed");
  assert.equal(text(parsed.contents), MANIFEST, "up to the newline before the line, that newline excluded");
  assert.equal(parsed.format, "cms-1.0.0");
  assert.deepEqual(parsed.signature, new Uint8Array([1, 2, 3]));
});

Deno.test("trailing blank lines, CRLF and free spacing are read as SwiftPM reads them", () => {
  const parsed = parseManifestSignature(bytes(`${MANIFEST}\r\n  //signature:  cms-1.0.0;;AQID  \r\n\n \n`));
  assert.ok(parsed !== null && parsed !== "malformed");
  assert.equal(text(parsed.contents), MANIFEST, "a CRLF before the line is one newline to Swift");
  assert.deepEqual(parsed.signature, new Uint8Array([1, 2, 3]));
  const prefixed = parseManifestSignature(bytes(`${MANIFEST}let x = 1 // Signature: cms-1.0.0;AQID\n`));
  assert.ok(prefixed !== null && prefixed !== "malformed", "SwiftPM skips to the first slash of the line");
  assert.equal(text(prefixed.contents), MANIFEST.slice(0, -1));
});

Deno.test("a manifest whose last non-blank line is no signature line is unsigned; a bad signature is malformed", () => {
  assert.equal(parseManifestSignature(bytes(MANIFEST)), null);
  assert.equal(parseManifestSignature(bytes(`${MANIFEST}\n// signature: cms-1.0.0;AQID\nlet x = 1\n`)), null);
  assert.equal(parseManifestSignature(bytes(`${MANIFEST}// note: cms-1.0.0;AQID`)), null, "another label");
  assert.equal(
    parseManifestSignature(bytes(`${MANIFEST}// signature : cms-1.0.0;AQID`)),
    null,
    "the label is up to ':'",
  );
  assert.equal(parseManifestSignature(bytes(`${MANIFEST}// signature: cms-1.0.0`)), null, "no format terminator");
  assert.equal(parseManifestSignature(bytes(`${MANIFEST}// signature: ;AQID`)), null, "no format");
  assert.equal(parseManifestSignature(bytes("// signature: cms-1.0.0;AQID")), null, "no line before it");
  assert.equal(parseManifestSignature(bytes(`${MANIFEST}// signature: cms-1.0.0;A`)), null, "SwiftPM needs two");
  assert.equal(parseManifestSignature(bytes(`${MANIFEST}// signature: cms-1.0.0;AQI`)), "malformed");
  assert.equal(parseManifestSignature(bytes(`${MANIFEST}// signature: cms-1.0.0;AQ$D`)), "malformed");
  assert.equal(parseManifestSignature(new Uint8Array([0x2f, 0x2f, 0xff, 0x0a])), "malformed", "not UTF-8");
});
