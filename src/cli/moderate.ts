/**
 * `main.ts yank|unyank|takedown <scope.name> <version> [--reason R]`: withdraw
 * a Swift release from the command line, in the storage the server uses;
 * `main.ts allow-signer-change <scope.name> --reason R`: let a package's next
 * release be signed by another entity (or not at all). Safe
 * beside running servers (a scratch directory of its own; with S3, no share of
 * a node's disk cache): they see the change within 2 seconds, and each node
 * deletes its own copies of a taken-down release within a minute.
 *
 * @module
 */
import { userInfo } from "node:os";
import { type Config, ConfigError } from "../config.ts";
import { openRegistry } from "../core/open_registry.ts";
import type { SwiftFormat } from "../formats/swift/format.ts";
import { packageRef } from "../formats/swift/identity.ts";
import { parseVersion } from "../formats/swift/version.ts";
import { RegistryError } from "../errors.ts";
import { createJsonLogger } from "../log.ts";

/** The withdrawal commands, and the signer-change allowance. */
export const MODERATION_COMMANDS = ["yank", "unyank", "takedown", "allow-signer-change"] as const;

/** Runs `command <scope.name> [<version>]`; returns the exit code. */
export async function runModeration(
  config: Config,
  command: typeof MODERATION_COMMANDS[number],
  args: string[],
  reason: string | undefined,
): Promise<number> {
  const perRelease = command !== "allow-signer-change";
  const usage = `usage: ${command} <scope.name>${perRelease ? " <version>" : ""}${
    command === "unyank" ? "" : " --reason <text>"
  }`;
  const [identity, rawVersion, ...rest] = args;
  const dot = identity?.indexOf(".") ?? -1;
  if ((rawVersion === undefined) === perRelease || rest.length > 0 || dot < 1) throw new ConfigError(usage);
  if (command !== "unyank" && (reason === undefined || reason.trim() === "")) throw new ConfigError(usage);
  let ref, version;
  try {
    ref = packageRef(identity.slice(0, dot), identity.slice(dot + 1));
    version = perRelease ? parseVersion(rawVersion) : "";
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  const logger = createJsonLogger("warn", (line) => console.error(line));
  const open = await openRegistry({ ...config, formats: ["swift"] }, logger, {
    scratchName: "moderation",
    storageOptions: { diskCache: false },
  });
  try {
    const swift = open.formats.find((f) => f.id === "swift") as SwiftFormat;
    const by = `cli:${userInfo().username}`;
    if (!perRelease) {
      const state = await swift.continuity.allowChange(ref, by, reason!);
      const allowance = state.allowances.at(-1)!;
      console.log(
        `${identity}: its next release may have another signer (allowed by ${allowance.by} at ${allowance.at})`,
      );
      return 0;
    }
    const release = command === "yank"
      ? await swift.moderation.yank(ref, version, { by, reason: reason! })
      : command === "unyank"
      ? await swift.moderation.unyank(ref, version, by)
      : await swift.moderation.takedown(ref, version, { by, reason: reason! });
    const state = release.takedown ? "taken down" : release.yanked ? "yanked" : "available";
    console.log(`${identity} ${version} is ${state}`);
    return 0;
  } catch (error) {
    if (error instanceof RegistryError && error.status < 500) {
      console.error(`error: ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    await open.close();
  }
}
