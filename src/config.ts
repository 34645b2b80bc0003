/**
 * Settings: read once at start-up from flags, then environment (`REGISTRY_*`),
 * validated into one typed {@link Config}. Nothing else in the code base reads
 * `Deno.env`. A bad value raises a {@link ConfigError} whose message is one
 * line naming the setting.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import type { LogLevel } from "./log.ts";

/** The validated settings of one registry process. */
export interface Config {
  /** Interface to listen on. */
  host: string;
  /** TCP port to listen on (0 picks a free one). */
  port: number;
  /** Absolute path of the data directory. */
  dataDir: string;
  /** Absolute base URL used in Link/Location headers, without trailing slash; derived per request when unset. */
  publicUrl?: string;
  /** SHA-256 of the operator's admin token; the token itself is never kept. */
  adminTokenSha256?: Uint8Array;
  /** Minimum level of log lines written. */
  logLevel: LogLevel;
}

/** A setting has a value that cannot be used. The message names the setting. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** One documented setting, for `--help` and the README. */
export interface SettingDoc {
  env: string;
  flag?: string;
  default: string;
  description: string;
}

/** Every setting the server reads. */
export const SETTINGS: readonly SettingDoc[] = [
  { env: "REGISTRY_HOST", flag: "--host", default: "127.0.0.1", description: "interface to listen on" },
  { env: "REGISTRY_PORT", flag: "--port", default: "8080", description: "TCP port to listen on (0 = any free port)" },
  {
    env: "REGISTRY_DATA_DIR",
    flag: "--data-dir",
    default: "./data",
    description: "where packages and metadata are stored",
  },
  {
    env: "REGISTRY_PUBLIC_URL",
    default: "(from the request)",
    description: "absolute base URL clients use, e.g. https://registry.example.com",
  },
  {
    env: "REGISTRY_ADMIN_TOKEN",
    default: "(unset: publishing off)",
    description: "token that may publish (Bearer, or Basic password)",
  },
  { env: "REGISTRY_LOG_LEVEL", default: "info", description: "debug, info, warn or error" },
];

/** Command-line flags that override environment settings. */
export interface ConfigFlags {
  host?: string;
  port?: string;
  dataDir?: string;
}

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/**
 * Builds the configuration from flags and an environment map, creating the
 * data directory and proving it writable.
 *
 * @example
 * const config = await loadConfig({ port: "0" }, Deno.env.toObject());
 */
export async function loadConfig(
  flags: ConfigFlags,
  env: Record<string, string | undefined>,
): Promise<Config> {
  const pick = (flag: string | undefined, name: string) => flag ?? nonEmpty(env[name]);

  const host = pick(flags.host, "REGISTRY_HOST") ?? "127.0.0.1";
  const port = parsePort(
    pick(flags.port, "REGISTRY_PORT") ?? "8080",
    flags.port !== undefined ? "--port" : "REGISTRY_PORT",
  );
  const dataDirSetting = flags.dataDir !== undefined ? "--data-dir" : "REGISTRY_DATA_DIR";
  const dataDir = resolve(pick(flags.dataDir, "REGISTRY_DATA_DIR") ?? "./data");
  const publicUrl = parsePublicUrl(nonEmpty(env.REGISTRY_PUBLIC_URL));
  const adminToken = nonEmpty(env.REGISTRY_ADMIN_TOKEN);
  const logLevel = (nonEmpty(env.REGISTRY_LOG_LEVEL) ?? "info") as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`REGISTRY_LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")} (got "${logLevel}")`);
  }
  if (adminToken !== undefined && adminToken.length < 16) {
    throw new ConfigError("REGISTRY_ADMIN_TOKEN must be at least 16 characters long");
  }
  await ensureWritableDir(dataDir, dataDirSetting);

  return {
    host,
    port,
    dataDir,
    publicUrl,
    adminTokenSha256: adminToken === undefined ? undefined : sha256(adminToken),
    logLevel,
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

function sha256(text: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(text).digest());
}

function parsePort(raw: string, setting: string): number {
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) {
    throw new ConfigError(`${setting} must be an integer between 0 and 65535 (got "${raw}")`);
  }
  return Number(raw);
}

function parsePublicUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`REGISTRY_PUBLIC_URL must be an absolute http(s) URL (got "${raw}")`);
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.search || url.hash) {
    throw new ConfigError(
      `REGISTRY_PUBLIC_URL must be an absolute http(s) URL without query or fragment (got "${raw}")`,
    );
  }
  // Commas would split a Link header value in SwiftPM's parser.
  return url.href.replace(/\/+$/, "").replaceAll(",", "%2C");
}

async function ensureWritableDir(dir: string, setting: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
    const probe = `${dir}/.write-probe-${crypto.randomUUID()}`;
    await Deno.writeTextFile(probe, "ok");
    await Deno.remove(probe);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(`${setting} "${dir}" is not a writable directory: ${reason}`);
  }
}
