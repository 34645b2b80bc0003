/**
 * Settings: read once at start-up from flags, then environment (`REGISTRY_*`),
 * validated into one typed {@link Config}. Nothing else in the code base reads
 * `Deno.env`. A bad value raises a {@link ConfigError} whose message is one
 * line naming the setting.
 *
 * @module
 */
import { createHash, createPrivateKey, X509Certificate } from "node:crypto";
import { resolve } from "node:path";
import { parse as parseJsonc, type ParseError, printParseErrorCode } from "jsonc-parser";
import type { LogLevel } from "./log.ts";
import { type ArchiveLimits, DEFAULT_ARCHIVE_LIMITS } from "./core/zip_scan.ts";
import type { PluginSpec } from "./plugins/spec.ts";
import { FORMATS } from "./formats/index.ts";
import type { UpstreamSettings } from "./core/upstream.ts";
import { compileModulePatterns, PatternError } from "./formats/go/patterns.ts";
import { isValidScope } from "./formats/swift/identity.ts";

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
  /** Hex SHA-256 of the bearer token `/metrics` requires; open when unset. */
  metricsTokenSha256?: string;
  /** S3 settings; when set, S3 is the source of truth and disk a bounded cache. */
  s3?: S3Config;
  /** Disk cache budget in bytes (only with S3; without it disk is the source of truth and never evicted). */
  diskMaxBytes: number;
  /** Largest source archive a publish may upload (413 above). */
  maxArchiveBytes: number;
  /** Memory for small archives served from RAM (`REGISTRY_MEMORY_CACHE_BYTES`). */
  memoryCacheBytes: number;
  /** Longest a request may take, in ms (`REGISTRY_REQUEST_TIMEOUT`). */
  requestTimeoutMs: number;
  /** Zip-bomb and size limits applied to every archive's contents. */
  archiveLimits: ArchiveLimits;
  /** Requests per second allowed per client IP and per authenticated principal; 0 = unlimited. */
  rateLimit: { perIp: number; perPrincipal: number; trustedProxies: string[] };
  /** Plugins in order: from the config file, then `REGISTRY_PLUGINS`. */
  plugins: PluginSpec[];
  /** Anonymous reads are refused (401). */
  requireAuthForRead: boolean;
  /** Mirroring from GitHub; absent when `REGISTRY_GITHUB_TOKEN` is not set (ingestion off). */
  github?: GitHubConfig;
  /** Mirroring from a local directory tree (`REGISTRY_FILESYSTEM_ROOT`). */
  filesystemRoot?: string;
  /** Time between scheduled sync passes. */
  syncIntervalMs: number;
  /** Ids of the formats served (`REGISTRY_FORMATS`), in mounting order. */
  formats: string[];
  /** Upstream registries to pull through from, by format id (`REGISTRY_<FORMAT>_UPSTREAM`). */
  upstreams: Record<string, UpstreamSettings>;
  /** Module path globs the Go proxy never asks its upstream for (`REGISTRY_GO_EXCLUDE`, GOPRIVATE syntax). */
  goExclude: string[];
  /** The build cache (format `cache`): its total budget and the largest blob it accepts. */
  cache: CacheConfig;
  /** Bounds on client connections (`REGISTRY_MAX_CONNECTIONS*`, `REGISTRY_HEADER_TIMEOUT`, `REGISTRY_IDLE_TIMEOUT`). */
  connections: ConnectionLimits;
  /** HTTPS certificate and key files (`REGISTRY_TLS_CERT`/`REGISTRY_TLS_KEY`); plain HTTP when absent. */
  tls?: TlsFiles;
  /** Settings of the Swift format. */
  swift: SwiftConfig;
  /** Serve the web pages at `/` and under `/-/web/` (`REGISTRY_WEB`). */
  web: boolean;
  /** Share of requests written to the access log: 1 all, 0 none, between: a sample plus every 5xx. */
  accessLogSample: number;
  /** Bytes of prepared responses kept in memory for hot reads (`REGISTRY_HOT_CACHE_BYTES`). */
  hotCacheBytes: number;
  /** Workers serving the port (`REGISTRY_WORKERS`; default: the number of CPU cores). */
  workers: number;
  /** `REGISTRY_WORKERS` was set (the default falls back to one worker where several are impossible). */
  workersSet: boolean;
  /** Hot reads over plain HTTP are answered by the fast lane (`REGISTRY_FAST_LANE`, src/http/fast_lane.ts). */
  fastLane: boolean;
  /** nginx's internal location of `<data>/objects/` (`REGISTRY_ACCEL_REDIRECT`): artifacts are sent by nginx. */
  accelRedirect?: string;
}

/** Bounds on client connections. */
export interface ConnectionLimits {
  /** Most open connections in all; undefined: three quarters of the open-files limit, at most 16384. */
  max?: number;
  /** Most open connections from one client IP (trusted proxies exempt); 0 = no per-IP bound. */
  perIp: number;
  /** Time a new connection has to send its first request head (TLS handshake included). */
  headerTimeoutMs: number;
  /** Time a keep-alive connection may sit without a request in flight before it is closed. */
  idleTimeoutMs: number;
}

/** PEM files served over HTTPS, re-read when they change. */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** How often the files are checked for a renewal. */
  reloadIntervalMs: number;
}

/** Limits of the build cache. */
export interface CacheConfig {
  /** Bytes of cache entries kept (`REGISTRY_CACHE_MAX_BYTES`); least recently used entries are evicted above it. */
  maxBytes: number;
  /** Largest blob accepted (`REGISTRY_CACHE_MAX_BLOB_BYTES`, 413 above). */
  maxBlobBytes: number;
}

/** Settings of the Swift format. */
export interface SwiftConfig {
  /** Releases per page of a release list (`REGISTRY_SWIFT_PAGE_SIZE`). */
  pageSize: number;
  /** Lower-cased scopes pulled through from the upstream (`REGISTRY_SWIFT_UPSTREAM_SCOPES`); all when absent. */
  upstreamScopes?: string[];
  /** DER root certificates signers must chain to (`REGISTRY_SWIFT_TRUSTED_ROOTS`); empty: any valid signature. */
  trustedRoots: Uint8Array<ArrayBuffer>[];
  /** Lower-cased scopes whose releases must be signed, or `["*"]` (`REGISTRY_SWIFT_REQUIRE_SIGNED`). */
  requireSigned: string[];
}

/** Where and what to mirror from GitHub. */
export interface GitHubConfig {
  token: string;
  apiUrl: string;
  /** `owner/repo` or `owner/*` patterns. */
  packages: string[];
  /** `owner/repo/path` of a JSON list of repository URLs (the Swift Package Index's package list format). */
  spiPackageList?: string;
  concurrency: number;
  requestTimeoutMs: number;
  /** First wait before retrying a version that failed (doubles each time, up to a day). */
  retryAfterMs: number;
}

/** Where and how to reach the S3-compatible bucket. */
export interface S3Config {
  bucket: string;
  /** Custom endpoint (MinIO, R2, Ceph, ...); AWS when unset. */
  endpoint?: string;
  region: string;
  /** Key prefix inside the bucket, without leading or trailing slash ("" for none). */
  prefix: string;
  forcePathStyle: boolean;
  /** Deadline of every S3 call in ms: to answer, and of silence while a body streams. */
  timeoutMs: number;
  /** From AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN); the SDK's default chain when unset. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
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
  {
    env: "REGISTRY_FORMATS",
    default: "(all)",
    description: `formats to serve, comma-separated: ${FORMATS.map((f) => f.id).join(", ")}`,
  },
  { env: "REGISTRY_PORT", flag: "--port", default: "8080", description: "TCP port to listen on (0 = any free port)" },
  {
    env: "REGISTRY_DATA_DIR",
    flag: "--data-dir",
    default: "./data",
    description: "where packages and metadata are stored",
  },
  {
    env: "REGISTRY_<FORMAT>_UPSTREAM",
    default: "(none)",
    description:
      "upstream registry a format pulls through from, e.g. REGISTRY_NPM_UPSTREAM (credentials: user:password@ in it)",
  },
  {
    env: "REGISTRY_<FORMAT>_UPSTREAM_TOKEN",
    default: "(none)",
    description: "bearer token sent to that upstream (only to its own host)",
  },
  {
    env: "REGISTRY_GO_EXCLUDE",
    default: "(none)",
    description: "module path globs never fetched from the Go upstream, GOPRIVATE syntax (e.g. *.corp.example.com)",
  },
  {
    env: "REGISTRY_UPSTREAM_TTL",
    default: "5m",
    description: "how long upstream metadata is used before asking again",
  },
  {
    env: "REGISTRY_SWIFT_UPSTREAM_SCOPES",
    default: "(all)",
    description: "comma-separated scopes the Swift upstream may fill (scopes with local packages never are)",
  },
  {
    env: "REGISTRY_SWIFT_TRUSTED_ROOTS",
    default: "(none: any valid signature)",
    description: "directory of PEM or DER root certificates that signers of Swift releases must chain to",
  },
  {
    env: "REGISTRY_SWIFT_REQUIRE_SIGNED",
    default: "(none)",
    description: "* or comma-separated scopes whose Swift releases must be signed (unsigned publishes get 422)",
  },
  {
    env: "REGISTRY_SWIFT_PAGE_SIZE",
    default: "1000",
    description: "releases per page of a Swift release list (Link rel=next beyond it)",
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
  {
    env: "REGISTRY_ACCESS_LOG",
    default: "on",
    description: "access log: on, off, or a share to sample such as 0.01 (5xx are always logged)",
  },
  {
    env: "REGISTRY_WORKERS",
    default: "(CPU cores)",
    description: "workers (threads) serving the port; more than 1 needs --unstable-net",
  },
  {
    env: "REGISTRY_FAST_LANE",
    default: "true",
    description: "plain-HTTP hot reads answered before Deno's HTTP server (false: every request goes through it)",
  },
  {
    env: "REGISTRY_ACCEL_REDIRECT",
    default: "(unset: the registry sends artifacts)",
    description: "nginx internal location of <data>/objects/, e.g. /_registry_files/: nginx sends artifacts",
  },
  {
    env: "REGISTRY_HOT_CACHE_BYTES",
    default: "64MiB",
    description: "memory for prepared responses of hot reads (bodies and headers), per worker",
  },
  { env: "REGISTRY_METRICS_TOKEN", default: "(unset: open)", description: "bearer token required by GET /metrics" },
  {
    env: "REGISTRY_CONFIG",
    default: "(none)",
    description: 'JSON/JSONC file: {"plugins":[{"use":"<built-in name or absolute path>","options":{}}]}',
  },
  {
    env: "REGISTRY_PLUGINS",
    default: "(none)",
    description: "comma-separated plugins (built-in names or absolute paths)",
  },
  { env: "REGISTRY_REQUIRE_AUTH_FOR_READ", default: "false", description: "true: anonymous reads get 401" },
  {
    env: "REGISTRY_WEB",
    default: "true",
    description: "false: no web pages (package browser and operator page at / and /-/web/)",
  },
  {
    env: "REGISTRY_GITHUB_TOKEN",
    default: "(unset: ingestion off)",
    description: "GitHub token used to mirror packages",
  },
  {
    env: "REGISTRY_GITHUB_API_URL",
    default: "https://api.github.com",
    description: "GitHub (Enterprise) API base URL",
  },
  { env: "REGISTRY_SYNC_PACKAGES", default: "(none)", description: "owner/repo or owner/* to mirror, comma-separated" },
  {
    env: "REGISTRY_SPI_PACKAGE_LIST",
    default: "(none)",
    description: "owner/repo/path of a JSON list of repository URLs to mirror (Swift Package Index format)",
  },
  { env: "REGISTRY_SYNC_INTERVAL", default: "10m", description: "time between sync passes" },
  { env: "REGISTRY_SYNC_CONCURRENCY", default: "4", description: "repositories synced at once" },
  {
    env: "REGISTRY_SYNC_RETRY_AFTER",
    default: "5m",
    description: "first wait before a failed version is tried again (doubles each time, up to a day)",
  },
  {
    env: "REGISTRY_FILESYSTEM_ROOT",
    default: "(none)",
    description: "directory of releases to mirror: <scope>/<name>/<version>.zip or <version>/",
  },
  {
    env: "REGISTRY_S3_BUCKET",
    default: "(unset: local disk only)",
    description: "S3 bucket; turns S3 on as the source of truth",
  },
  {
    env: "REGISTRY_S3_ENDPOINT",
    default: "(AWS)",
    description: "endpoint of an S3-compatible store (MinIO, R2, Ceph)",
  },
  { env: "REGISTRY_S3_REGION", default: "us-east-1", description: "S3 region" },
  { env: "REGISTRY_S3_PREFIX", default: "(none)", description: "key prefix inside the bucket" },
  {
    env: "REGISTRY_S3_TIMEOUT",
    default: "30s",
    description: "deadline of each S3 call (to answer, or silent mid-body)",
  },
  {
    env: "REGISTRY_S3_FORCE_PATH_STYLE",
    default: "false",
    description: "true for path-style URLs (MinIO, most self-hosted stores)",
  },
  { env: "REGISTRY_MAX_ARCHIVE_BYTES", default: "2GiB", description: "largest source archive accepted on publish" },
  {
    env: "REGISTRY_MEMORY_CACHE_BYTES",
    default: "64MiB",
    description: "memory for serving small archives, and as much for build-cache entries (0 = off)",
  },
  {
    env: "REGISTRY_REQUEST_TIMEOUT",
    default: "10m",
    description: "longest a request other than a publish may take before a 503",
  },
  { env: "REGISTRY_MAX_ARCHIVE_ENTRIES", default: "100000", description: "most entries an archive may have" },
  { env: "REGISTRY_MAX_UNCOMPRESSED_BYTES", default: "8GiB", description: "most bytes an archive may expand to" },
  { env: "REGISTRY_MAX_COMPRESSION_RATIO", default: "200", description: "largest expansion ratio of an archive" },
  { env: "REGISTRY_RATE_LIMIT_IP", default: "0 (off)", description: "requests per second per client IP (429 above)" },
  {
    env: "REGISTRY_RATE_LIMIT_PRINCIPAL",
    default: "0 (off)",
    description: "requests per second per authenticated caller (429 above)",
  },
  {
    env: "REGISTRY_TRUSTED_PROXIES",
    default: "(none)",
    description:
      "comma-separated proxy IPs whose X-Forwarded-For/-Proto/-Host are believed (rate limits, links); no per-IP connection bound",
  },
  {
    env: "REGISTRY_DISK_MAX_BYTES",
    default: "10GiB",
    description: "disk cache budget with S3; on local disk, of copies pulled from upstreams (e.g. 500MB)",
  },
  {
    env: "REGISTRY_MAX_CONNECTIONS",
    default: "auto",
    description: "most open client connections (auto: 3/4 of the open-files limit, at most 16384)",
  },
  {
    env: "REGISTRY_MAX_CONNECTIONS_PER_IP",
    default: "256",
    description: "most open connections from one client IP (0 = no bound; trusted proxies exempt)",
  },
  {
    env: "REGISTRY_HEADER_TIMEOUT",
    default: "30s",
    description: "time a new connection has to send its first request (TLS handshake included)",
  },
  { env: "REGISTRY_IDLE_TIMEOUT", default: "60s", description: "idle keep-alive connections are closed after this" },
  { env: "REGISTRY_TLS_CERT", default: "(unset: plain HTTP)", description: "PEM certificate chain; serve HTTPS" },
  { env: "REGISTRY_TLS_KEY", default: "(unset: plain HTTP)", description: "PEM private key of REGISTRY_TLS_CERT" },
  {
    env: "REGISTRY_TLS_RELOAD_INTERVAL",
    default: "1m",
    description: "how often the certificate files are checked for a renewal",
  },
  {
    env: "REGISTRY_CACHE_MAX_BYTES",
    default: "10GiB",
    description: "build cache budget (least recently used entries evicted above it; on disk, and in S3 with S3)",
  },
  {
    env: "REGISTRY_CACHE_MAX_BLOB_BYTES",
    default: "2GiB",
    description: "largest build cache blob accepted (413 above; at most REGISTRY_CACHE_MAX_BYTES)",
  },
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
  const s3 = parseS3(env);
  const diskMaxBytes = parseByteSize(nonEmpty(env.REGISTRY_DISK_MAX_BYTES) ?? "10GiB", "REGISTRY_DISK_MAX_BYTES");
  const plugins = [
    ...await readConfigFile(nonEmpty(env.REGISTRY_CONFIG)),
    ...commaList(nonEmpty(env.REGISTRY_PLUGINS) ?? "").map((use) => ({ use })),
  ];
  const requireAuthForRead = parseBoolean(
    nonEmpty(env.REGISTRY_REQUIRE_AUTH_FOR_READ),
    "REGISTRY_REQUIRE_AUTH_FOR_READ",
  );
  const github = parseGitHub(env);
  const syncIntervalMs = parseDuration(nonEmpty(env.REGISTRY_SYNC_INTERVAL) ?? "10m", "REGISTRY_SYNC_INTERVAL");
  const filesystemRoot = nonEmpty(env.REGISTRY_FILESYSTEM_ROOT);
  if (filesystemRoot !== undefined) {
    const info = await Deno.stat(filesystemRoot).catch(() => null);
    if (!filesystemRoot.startsWith("/") || !info?.isDirectory) {
      throw new ConfigError(
        `REGISTRY_FILESYSTEM_ROOT must be an absolute path to a directory (got "${filesystemRoot}")`,
      );
    }
  }
  const maxArchiveBytes = parseByteSize(
    nonEmpty(env.REGISTRY_MAX_ARCHIVE_BYTES) ?? "2GiB",
    "REGISTRY_MAX_ARCHIVE_BYTES",
  );
  const positive = (name: string, fallback: string, allowZero = false) => {
    const raw = nonEmpty(env[name]) ?? fallback;
    const value = Number(raw);
    if (!/^\d+(\.\d+)?$/.test(raw) || (!allowZero && value <= 0)) {
      throw new ConfigError(`${name} must be a ${allowZero ? "non-negative" : "positive"} number (got "${raw}")`);
    }
    return value;
  };
  const archiveLimits: ArchiveLimits = {
    ...DEFAULT_ARCHIVE_LIMITS,
    maxEntries: positive("REGISTRY_MAX_ARCHIVE_ENTRIES", "100000"),
    maxUncompressedBytes: parseByteSize(
      nonEmpty(env.REGISTRY_MAX_UNCOMPRESSED_BYTES) ?? "8GiB",
      "REGISTRY_MAX_UNCOMPRESSED_BYTES",
    ),
    maxCompressionRatio: positive("REGISTRY_MAX_COMPRESSION_RATIO", "200"),
  };
  const rateLimit = {
    perIp: positive("REGISTRY_RATE_LIMIT_IP", "0", true),
    perPrincipal: positive("REGISTRY_RATE_LIMIT_PRINCIPAL", "0", true),
    trustedProxies: commaList(nonEmpty(env.REGISTRY_TRUSTED_PROXIES) ?? ""),
  };
  await ensureWritableDir(dataDir, dataDirSetting);

  const memoryRaw = nonEmpty(env.REGISTRY_MEMORY_CACHE_BYTES) ?? "64MiB";
  const memoryCacheBytes = memoryRaw === "0" ? 0 : parseByteSize(memoryRaw, "REGISTRY_MEMORY_CACHE_BYTES");
  const requestTimeoutMs = parseDuration(nonEmpty(env.REGISTRY_REQUEST_TIMEOUT) ?? "10m", "REGISTRY_REQUEST_TIMEOUT");
  const formats = parseFormats(nonEmpty(env.REGISTRY_FORMATS));
  const workersRaw = nonEmpty(env.REGISTRY_WORKERS);
  const workers = workersRaw === undefined ? navigator.hardwareConcurrency : Number(workersRaw);
  if (workersRaw !== undefined && (!/^\d+$/.test(workersRaw) || workers < 1 || workers > 64)) {
    throw new ConfigError(`REGISTRY_WORKERS must be an integer from 1 to 64 (got "${workersRaw}")`);
  }
  const connections = parseConnectionLimits(env);
  const tls = await parseTlsFiles(env);
  const webSetting = nonEmpty(env.REGISTRY_WEB);
  const web = webSetting === undefined || parseBoolean(webSetting, "REGISTRY_WEB");
  return {
    web,
    cache: parseCache(env),
    accessLogSample: parseAccessLog(nonEmpty(env.REGISTRY_ACCESS_LOG)),
    hotCacheBytes: parseByteSize(nonEmpty(env.REGISTRY_HOT_CACHE_BYTES) ?? "64MiB", "REGISTRY_HOT_CACHE_BYTES"),
    workers,
    workersSet: workersRaw !== undefined,
    fastLane: parseBoolean(nonEmpty(env.REGISTRY_FAST_LANE) ?? "true", "REGISTRY_FAST_LANE"),
    accelRedirect: parseAccelRedirect(nonEmpty(env.REGISTRY_ACCEL_REDIRECT), s3),
    formats,
    upstreams: parseUpstreams(env, formats),
    goExclude: parseGoExclude(nonEmpty(env.REGISTRY_GO_EXCLUDE)),
    connections,
    tls,
    swift: { ...parseSwift(env), ...await parseSwiftSigning(env) },
    archiveLimits,
    rateLimit,
    memoryCacheBytes,
    requestTimeoutMs,
    s3,
    diskMaxBytes,
    maxArchiveBytes,
    plugins,
    requireAuthForRead,
    github,
    filesystemRoot,
    syncIntervalMs,
    host,
    port,
    dataDir,
    publicUrl,
    adminTokenSha256: adminToken === undefined ? undefined : sha256(adminToken),
    metricsTokenSha256: nonEmpty(env.REGISTRY_METRICS_TOKEN) === undefined
      ? undefined
      : createHash("sha256").update(nonEmpty(env.REGISTRY_METRICS_TOKEN)!).digest("hex"),
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

const BYTE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
};

/**
 * Parses a byte size such as `500MB`, `20GiB` or `1048576` (decimal units are
 * powers of 1000, binary units and bare `K/M/G/T` powers of 1024).
 *
 * @throws {ConfigError} naming `setting` when the value is not a size.
 */
export function parseByteSize(raw: string, setting: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(raw);
  const unit = match ? BYTE_UNITS[match[2].toLowerCase()] : undefined;
  if (!match || unit === undefined || Number(match[1]) * unit < 1) {
    throw new ConfigError(`${setting} must be a size such as 500MB or 20GiB (got "${raw}")`);
  }
  return Math.floor(Number(match[1]) * unit);
}

/**
 * Parses a duration such as `30s`, `500ms`, `2m` or `1h` into milliseconds.
 *
 * @throws {ConfigError} naming `setting` when the value is not a duration.
 */
export function parseDuration(raw: string, setting: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/i.exec(raw);
  const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
  const unit = match ? units[match[2].toLowerCase()] : undefined;
  if (!match || unit === undefined || Number(match[1]) * unit < 1) {
    throw new ConfigError(`${setting} must be a duration such as 500ms, 30s, 10m or 1h (got "${raw}")`);
  }
  return Math.round(Number(match[1]) * unit);
}

function parseGitHub(env: Record<string, string | undefined>): GitHubConfig | undefined {
  const token = nonEmpty(env.REGISTRY_GITHUB_TOKEN);
  if (token === undefined) return undefined;
  const apiUrl = nonEmpty(env.REGISTRY_GITHUB_API_URL) ?? "https://api.github.com";
  if (!/^https?:\/\/[^\s/]+/.test(apiUrl)) {
    throw new ConfigError(`REGISTRY_GITHUB_API_URL must be an http(s) URL (got "${apiUrl}")`);
  }
  const packages = commaList(nonEmpty(env.REGISTRY_SYNC_PACKAGES) ?? "");
  for (const pattern of packages) {
    if (!/^[A-Za-z0-9-]+\/(\*|[A-Za-z0-9._-]+)$/.test(pattern)) {
      throw new ConfigError(`REGISTRY_SYNC_PACKAGES entries must be owner/repo or owner/* (got "${pattern}")`);
    }
  }
  const spiPackageList = nonEmpty(env.REGISTRY_SPI_PACKAGE_LIST);
  if (spiPackageList !== undefined && !/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+\/.+$/.test(spiPackageList)) {
    throw new ConfigError(`REGISTRY_SPI_PACKAGE_LIST must be owner/repo/path (got "${spiPackageList}")`);
  }
  const concurrency = Number(nonEmpty(env.REGISTRY_SYNC_CONCURRENCY) ?? "4");
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new ConfigError("REGISTRY_SYNC_CONCURRENCY must be an integer from 1 to 64");
  }
  return {
    token,
    apiUrl,
    packages,
    spiPackageList,
    concurrency,
    requestTimeoutMs: 30_000,
    retryAfterMs: parseDuration(nonEmpty(env.REGISTRY_SYNC_RETRY_AFTER) ?? "5m", "REGISTRY_SYNC_RETRY_AFTER"),
  };
}

/** Reads the plugin list of a JSON/JSONC config file (`REGISTRY_CONFIG`). */
async function readConfigFile(path: string | undefined): Promise<PluginSpec[]> {
  if (path === undefined) return [];
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new ConfigError(`REGISTRY_CONFIG "${path}" cannot be read: ${(error as Error).message}`);
  }
  const errors: ParseError[] = [];
  const value = parseJsonc(text, errors, { allowTrailingComma: true });
  if (errors.length > 0) {
    const { error, offset } = errors[0];
    throw new ConfigError(
      `REGISTRY_CONFIG "${path}" is not valid JSON/JSONC: ${printParseErrorCode(error)} at offset ${offset}`,
    );
  }
  const plugins = value?.plugins ?? [];
  const valid = Array.isArray(plugins) && plugins.every((p) =>
    typeof p?.use === "string" && p.use !== "" &&
    (p.options === undefined || (typeof p.options === "object" && p.options !== null && !Array.isArray(p.options)))
  );
  if (typeof value !== "object" || value === null || !valid) {
    throw new ConfigError(
      `REGISTRY_CONFIG "${path}" must look like {"plugins":[{"use":"<name or absolute path>","options":{}}]}`,
    );
  }
  return plugins as PluginSpec[];
}

/** A URL setting as it may be shown in an error: any `user:password@` replaced by `***@`. */
function withoutCredentials(raw: string): string {
  return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, "$1***@");
}

/** `REGISTRY_<FORMAT>_UPSTREAM` (+ `_TOKEN`) of each served format, with `REGISTRY_UPSTREAM_TTL`. */
function parseUpstreams(env: Record<string, string | undefined>, formats: string[]): Record<string, UpstreamSettings> {
  const ttlMs = parseDuration(nonEmpty(env.REGISTRY_UPSTREAM_TTL) ?? "5m", "REGISTRY_UPSTREAM_TTL");
  const upstreams: Record<string, UpstreamSettings> = {};
  for (const format of formats) {
    const setting = `REGISTRY_${format.toUpperCase()}_UPSTREAM`;
    const raw = nonEmpty(env[setting]);
    if (raw === undefined) continue;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new ConfigError(`${setting} must be an absolute http(s) URL (got "${withoutCredentials(raw)}")`);
    }
    if ((url.protocol !== "http:" && url.protocol !== "https:") || url.search || url.hash) {
      throw new ConfigError(
        `${setting} must be an http(s) URL without query or fragment (got "${withoutCredentials(raw)}")`,
      );
    }
    const token = nonEmpty(env[`${setting}_TOKEN`]);
    let authorization = token === undefined ? undefined : `Bearer ${token}`;
    if (url.username !== "" || url.password !== "") {
      if (token !== undefined) {
        throw new ConfigError(`${setting}: give credentials in the URL or in ${setting}_TOKEN, not both`);
      }
      const user = decodeURIComponent(url.username);
      const password = decodeURIComponent(url.password);
      authorization = `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(`${user}:${password}`)))}`;
      url.username = "";
      url.password = "";
    }
    upstreams[format] = { url: url.href.replace(/\/+$/, ""), authorization, ttlMs };
  }
  return upstreams;
}

function parseGoExclude(raw: string | undefined): string[] {
  try {
    return [...compileModulePatterns(raw ?? "").source];
  } catch (error) {
    if (error instanceof PatternError) throw new ConfigError(`REGISTRY_GO_EXCLUDE: ${error.message}`);
    throw error;
  }
}

function parseCache(env: Record<string, string | undefined>): CacheConfig {
  if (nonEmpty(env.REGISTRY_CACHE_UPSTREAM) !== undefined) {
    throw new ConfigError("REGISTRY_CACHE_UPSTREAM is not supported: the build cache pulls through from no upstream");
  }
  const maxBytes = parseByteSize(nonEmpty(env.REGISTRY_CACHE_MAX_BYTES) ?? "10GiB", "REGISTRY_CACHE_MAX_BYTES");
  const blobSetting = nonEmpty(env.REGISTRY_CACHE_MAX_BLOB_BYTES);
  const maxBlobBytes = parseByteSize(blobSetting ?? "2GiB", "REGISTRY_CACHE_MAX_BLOB_BYTES");
  if (blobSetting !== undefined && maxBlobBytes > maxBytes) {
    throw new ConfigError(
      `REGISTRY_CACHE_MAX_BLOB_BYTES must not be larger than REGISTRY_CACHE_MAX_BYTES (got "${blobSetting}")`,
    );
  }
  return { maxBytes, maxBlobBytes: Math.min(maxBlobBytes, maxBytes) };
}

/** `REGISTRY_SWIFT_PAGE_SIZE` and `REGISTRY_SWIFT_UPSTREAM_SCOPES`. */
function parseSwift(
  env: Record<string, string | undefined>,
): Omit<SwiftConfig, "trustedRoots" | "requireSigned"> {
  const rawPageSize = nonEmpty(env.REGISTRY_SWIFT_PAGE_SIZE) ?? "1000";
  if (!/^[1-9]\d{0,6}$/.test(rawPageSize)) {
    throw new ConfigError(`REGISTRY_SWIFT_PAGE_SIZE must be an integer from 1 to 9999999 (got "${rawPageSize}")`);
  }
  const rawScopes = nonEmpty(env.REGISTRY_SWIFT_UPSTREAM_SCOPES);
  if (rawScopes === undefined) return { pageSize: Number(rawPageSize) };
  const upstreamScopes = commaList(rawScopes.toLowerCase());
  const bad = upstreamScopes.find((s) => !isValidScope(s));
  if (bad !== undefined || upstreamScopes.length === 0) {
    throw new ConfigError(
      `REGISTRY_SWIFT_UPSTREAM_SCOPES must list Swift scopes, comma-separated (got "${bad ?? rawScopes}")`,
    );
  }
  return { pageSize: Number(rawPageSize), upstreamScopes };
}

/** `REGISTRY_SWIFT_TRUSTED_ROOTS` (every certificate in the directory's files) and `REGISTRY_SWIFT_REQUIRE_SIGNED`. */
async function parseSwiftSigning(
  env: Record<string, string | undefined>,
): Promise<Pick<SwiftConfig, "trustedRoots" | "requireSigned">> {
  const rawRequired = nonEmpty(env.REGISTRY_SWIFT_REQUIRE_SIGNED);
  const requireSigned = commaList((rawRequired ?? "").toLowerCase());
  const bad = requireSigned.find((s) => s !== "*" && !isValidScope(s));
  if (bad !== undefined || (rawRequired !== undefined && requireSigned.length === 0)) {
    throw new ConfigError(
      `REGISTRY_SWIFT_REQUIRE_SIGNED must be * or Swift scopes, comma-separated (got "${bad ?? rawRequired}")`,
    );
  }
  const dir = nonEmpty(env.REGISTRY_SWIFT_TRUSTED_ROOTS);
  if (dir === undefined) return { trustedRoots: [], requireSigned };
  const setting = "REGISTRY_SWIFT_TRUSTED_ROOTS";
  const trustedRoots: Uint8Array<ArrayBuffer>[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || entry.name.startsWith(".")) continue;
      const bytes = await Deno.readFile(`${dir}/${entry.name}`);
      const text = new TextDecoder().decode(bytes);
      const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
      for (const certificate of pems ?? [bytes]) {
        try {
          trustedRoots.push(new Uint8Array(new X509Certificate(certificate).raw));
        } catch {
          throw new ConfigError(`${setting}: "${entry.name}" is not a PEM or DER certificate`);
        }
      }
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`${setting} "${dir}" is not a readable directory: ${(error as Error).message}`);
  }
  if (trustedRoots.length === 0) throw new ConfigError(`${setting} "${dir}" holds no certificate`);
  return { trustedRoots, requireSigned };
}

/** `REGISTRY_ACCEL_REDIRECT`: an absolute path ending in `/`; local disk only (with S3 a file may not be on disk). */
function parseAccelRedirect(raw: string | undefined, s3: S3Config | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!/^\/([A-Za-z0-9._~-]+\/)+$/.test(raw)) {
    throw new ConfigError(`REGISTRY_ACCEL_REDIRECT must be a path such as /_registry_files/ (got "${raw}")`);
  }
  if (s3 !== undefined) {
    throw new ConfigError("REGISTRY_ACCEL_REDIRECT works with local disk storage only, not with REGISTRY_S3_BUCKET");
  }
  return raw;
}

function parseAccessLog(raw: string | undefined): number {
  if (raw === undefined || /^(on|true|all)$/i.test(raw)) return 1;
  if (/^(off|false|none)$/i.test(raw)) return 0;
  const share = Number(raw);
  if (!/^(0|1|0?\.\d+)$/.test(raw) || share < 0 || share > 1) {
    throw new ConfigError(`REGISTRY_ACCESS_LOG must be on, off or a share between 0 and 1 such as 0.01 (got "${raw}")`);
  }
  return share;
}

/** The items of a comma-separated setting, trimmed, empty ones left out. */
function commaList(raw: string): string[] {
  return raw.split(",").map((item) => item.trim()).filter((item) => item !== "");
}

function parseFormats(raw: string | undefined): string[] {
  const known = FORMATS.map((f) => f.id);
  if (raw === undefined) return known;
  const wanted = commaList(raw.toLowerCase());
  const unknown = wanted.filter((f) => !known.includes(f));
  if (wanted.length === 0 || unknown.length > 0) {
    throw new ConfigError(
      `REGISTRY_FORMATS must list formats among ${known.join(", ")} (got "${raw}")`,
    );
  }
  return known.filter((f) => wanted.includes(f));
}

function parseBoolean(raw: string | undefined, setting: string): boolean {
  if (raw === undefined) return false;
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  throw new ConfigError(`${setting} must be true or false (got "${raw}")`);
}

function parseS3(env: Record<string, string | undefined>): S3Config | undefined {
  const bucket = nonEmpty(env.REGISTRY_S3_BUCKET);
  if (bucket === undefined) return undefined;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new ConfigError(`REGISTRY_S3_BUCKET must be a valid bucket name (got "${bucket}")`);
  }
  const endpoint = nonEmpty(env.REGISTRY_S3_ENDPOINT);
  if (endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(endpoint)) {
    throw new ConfigError(`REGISTRY_S3_ENDPOINT must be an http(s) URL (got "${endpoint}")`);
  }
  const prefix = (nonEmpty(env.REGISTRY_S3_PREFIX) ?? "").replace(/^\/+|\/+$/g, "");
  if (prefix !== "" && !prefix.split("/").every((s) => /^[A-Za-z0-9_@+-][A-Za-z0-9._@+-]*$/.test(s))) {
    throw new ConfigError(
      `REGISTRY_S3_PREFIX may contain only letters, digits and ._@+- between slashes (got "${prefix}")`,
    );
  }
  const accessKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = nonEmpty(env.AWS_SECRET_ACCESS_KEY);
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new ConfigError("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together");
  }
  const sessionToken = nonEmpty(env.AWS_SESSION_TOKEN);
  return {
    bucket,
    endpoint,
    region: nonEmpty(env.REGISTRY_S3_REGION) ?? nonEmpty(env.AWS_REGION) ?? "us-east-1",
    prefix,
    forcePathStyle: parseBoolean(nonEmpty(env.REGISTRY_S3_FORCE_PATH_STYLE), "REGISTRY_S3_FORCE_PATH_STYLE"),
    timeoutMs: parseDuration(nonEmpty(env.REGISTRY_S3_TIMEOUT) ?? "30s", "REGISTRY_S3_TIMEOUT"),
    credentials: accessKeyId && secretAccessKey
      ? { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) }
      : undefined,
  };
}

function parseConnectionLimits(env: Record<string, string | undefined>): ConnectionLimits {
  const count = (name: string, fallback: string | undefined, min: number) => {
    const raw = nonEmpty(env[name]) ?? fallback;
    if (raw === undefined || raw === "auto") return undefined;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > 1_000_000) {
      throw new ConfigError(`${name} must be an integer from ${min} to 1000000 (got "${raw}")`);
    }
    return Number(raw);
  };
  return {
    max: count("REGISTRY_MAX_CONNECTIONS", undefined, 1),
    perIp: count("REGISTRY_MAX_CONNECTIONS_PER_IP", "256", 0)!,
    headerTimeoutMs: parseDuration(nonEmpty(env.REGISTRY_HEADER_TIMEOUT) ?? "30s", "REGISTRY_HEADER_TIMEOUT"),
    idleTimeoutMs: parseDuration(nonEmpty(env.REGISTRY_IDLE_TIMEOUT) ?? "60s", "REGISTRY_IDLE_TIMEOUT"),
  };
}

/**
 * The HTTPS files, when both are set; each must hold valid PEM (the pair is
 * checked again when the listener starts).
 */
async function parseTlsFiles(env: Record<string, string | undefined>): Promise<TlsFiles | undefined> {
  const certFile = nonEmpty(env.REGISTRY_TLS_CERT);
  const keyFile = nonEmpty(env.REGISTRY_TLS_KEY);
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    throw new ConfigError("REGISTRY_TLS_CERT and REGISTRY_TLS_KEY must be set together");
  }
  for (
    const [name, path, check] of [
      ["REGISTRY_TLS_CERT", certFile, (pem: string) => new X509Certificate(pem)],
      ["REGISTRY_TLS_KEY", keyFile, (pem: string) => createPrivateKey(pem)],
    ] as const
  ) {
    let pem: string;
    try {
      pem = await Deno.readTextFile(path);
    } catch (error) {
      throw new ConfigError(`${name} "${path}" cannot be read: ${(error as Error).message}`);
    }
    try {
      check(pem);
    } catch {
      throw new ConfigError(`${name} "${path}" is not a PEM ${name.endsWith("CERT") ? "certificate" : "private key"}`);
    }
  }
  const reloadIntervalMs = parseDuration(
    nonEmpty(env.REGISTRY_TLS_RELOAD_INTERVAL) ?? "1m",
    "REGISTRY_TLS_RELOAD_INTERVAL",
  );
  return { certFile: resolve(certFile), keyFile: resolve(keyFile), reloadIntervalMs };
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
