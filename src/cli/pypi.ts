/**
 * `main.ts pypi yank|unyank <project> <version> [--reason TEXT]`: yank a
 * release of a PyPI project (PEP 592: installers skip it unless it is pinned
 * exactly) or undo that, in the storage the server uses (disk or S3). Safe
 * beside a running server, which shows the change within 2 seconds.
 *
 * @module
 */
import { type Config, ConfigError } from "../config.ts";
import { packageDocumentKey } from "../core/package.ts";
import { projectRef, type PypiProject } from "../formats/pypi/project.ts";
import { setYanked } from "../formats/pypi/registry.ts";
import { RegistryError } from "../errors.ts";
import { silentLogger } from "../log.ts";
import { DocumentCache } from "../storage/document_cache.ts";
import { openStorage } from "../storage/open_storage.ts";

const USAGE = "usage: pypi yank <project> <version> [--reason TEXT] | pypi unyank <project> <version>";

/** Runs `pypi <sub> [args]`; returns the exit code. */
export async function runPypiCommand(config: Config, args: string[], flags: { reason?: string }): Promise<number> {
  const [sub, name, version, ...rest] = args;
  if (!["yank", "unyank"].includes(sub) || name === undefined || version === undefined || rest.length > 0) {
    throw new ConfigError(USAGE);
  }
  if (sub === "unyank" && flags.reason !== undefined) throw new ConfigError("unyank takes no --reason");
  let ref;
  try {
    ref = projectRef(name);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  // Beside a running server: S3 directly (the node's disk cache is the server's); disk writes are locked.
  const storage = await openStorage(config, silentLogger, undefined, { diskCache: false });
  try {
    const documents = new DocumentCache(storage.store, { maxAgeMs: 0 });
    const reason = sub === "yank" ? flags.reason ?? "" : null;
    await setYanked(
      (mutate) => documents.update<PypiProject>(packageDocumentKey(ref), mutate),
      ref,
      version,
      reason,
      Date.now,
    );
    console.log(
      reason === null
        ? `unyanked ${ref.id} ${version}`
        : `yanked ${ref.id} ${version}${reason ? ` (reason: ${reason})` : ""}`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof RegistryError)) throw error;
    console.error(`error: ${error.message}`);
    return 1;
  } finally {
    await storage.close();
  }
}
