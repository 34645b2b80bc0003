/**
 * A fake Go checksum database holding one record (a tree of size 1), signed
 * with a fresh Ed25519 key the way golang.org/x/mod/sumdb/note signs: enough
 * for the real go command to verify a module through `GOSUMDB`.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";

/** A checksum database's answers, by path under `sumdb/<name>/`. */
export interface FakeChecksumDatabase {
  /** The `GOSUMDB` value that trusts it: `<name>+<hash>+<key>`. */
  gosumdb: string;
  /** Its answers by path (`supported`, `latest`, `lookup/...`, `tile/...`). */
  answers: Map<string, Uint8Array<ArrayBuffer>>;
}

const sha256 = (...parts: Uint8Array[]) => {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
};

/**
 * A database named `name` whose only record is the go.sum lines of
 * `module`@`version` (`zipH1` and `modH1`).
 */
export async function fakeChecksumDatabase(
  name: string,
  module: string,
  version: string,
  zipH1: string,
  modH1: string,
): Promise<FakeChecksumDatabase> {
  const keys = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]) as CryptoKeyPair;
  const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", keys.publicKey));
  const encode = (text: string) => new TextEncoder().encode(text);
  const algorithmAndKey = new Uint8Array([1, ...publicKey]); // 1: Ed25519
  const keyHash = sha256(encode(`${name}\n`), algorithmAndKey).subarray(0, 4);
  const gosumdb = `${name}+${Buffer.from(keyHash).toString("hex")}+${Buffer.from(algorithmAndKey).toString("base64")}`;

  const record = encode(`${module} ${version} ${zipH1}\n${module} ${version}/go.mod ${modH1}\n`);
  const leaf = sha256(new Uint8Array([0]), record); // tlog.RecordHash: the root of a tree of one record
  const tree = encode(`go.sum database tree\n1\n${Buffer.from(leaf).toString("base64")}\n`);
  const signature = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, keys.privateKey, tree));
  const signedTree = encode(
    `${new TextDecoder().decode(tree)}\n\u2014 ${name} ${Buffer.from([...keyHash, ...signature]).toString("base64")}\n`,
  );
  const escape = (text: string) => text.replace(/[A-Z]/g, (ch) => `!${ch.toLowerCase()}`);
  const lookup = new Uint8Array([...encode("0\n"), ...record, ...encode("\n"), ...signedTree]);
  return {
    gosumdb,
    answers: new Map<string, Uint8Array<ArrayBuffer>>([
      ["supported", new Uint8Array()],
      ["latest", signedTree],
      [`lookup/${escape(module)}@${escape(version)}`, lookup],
      ["tile/8/0/000.p/1", leaf],
      ["tile/8/data/000.p/1", record],
    ]),
  };
}
