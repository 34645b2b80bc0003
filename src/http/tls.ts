/**
 * HTTPS key material: the PEM certificate chain and private key read from
 * `REGISTRY_TLS_CERT` / `REGISTRY_TLS_KEY`, and a watcher that notices when a
 * renewal replaced them (by content, so a certbot-style symlink swap counts).
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { TlsFiles } from "../config.ts";
import type { Logger } from "../log.ts";

/** A certificate chain and its private key, as PEM text. */
export interface KeyPair {
  cert: string;
  key: string;
}

/** Reads both files of `files`. */
export async function readKeyPair(files: Pick<TlsFiles, "certFile" | "keyFile">): Promise<KeyPair> {
  const [cert, key] = await Promise.all([Deno.readTextFile(files.certFile), Deno.readTextFile(files.keyFile)]);
  return { cert, key };
}

/** A short fingerprint of a key pair's bytes, to tell a renewal from the same files read again. */
export function keyPairDigest(pair: KeyPair): string {
  return createHash("sha256").update(pair.cert).update("\0").update(pair.key).digest("hex").slice(0, 16);
}

/** A running certificate watcher. */
export interface KeyPairWatcher {
  stop(): void;
}

/**
 * Re-reads `files` every `files.reloadIntervalMs` and calls `onRenewal` with
 * the new pair when their content changed. A pair that cannot be read, or that
 * `onRenewal` rejects (a key that does not match its certificate, say, while
 * a renewal is half written), is logged and tried again at the next check;
 * the pair in use stays in use meanwhile.
 */
export function watchKeyPair(
  files: TlsFiles,
  current: KeyPair,
  onRenewal: (pair: KeyPair) => Promise<void>,
  logger: Logger,
): KeyPairWatcher {
  let digest = keyPairDigest(current);
  let failedDigest: string | undefined;
  let running = false;
  const check = async () => {
    if (running) return;
    running = true;
    try {
      const pair = await readKeyPair(files);
      const next = keyPairDigest(pair);
      if (next === digest || next === failedDigest) return;
      try {
        await onRenewal(pair);
        digest = next;
        failedDigest = undefined;
        logger.log("info", "TLS certificate reloaded", { cert: files.certFile, digest: next });
      } catch (error) {
        failedDigest = next;
        logger.log("error", "TLS certificate renewal not used; the previous one stays in use", {
          cert: files.certFile,
          error: (error as Error).message,
        });
      }
    } catch (error) {
      logger.log("warn", "TLS certificate files cannot be read; the loaded ones stay in use", {
        error: (error as Error).message,
      });
    } finally {
      running = false;
    }
  };
  const timer = setInterval(check, files.reloadIntervalMs);
  return { stop: () => clearInterval(timer) };
}
