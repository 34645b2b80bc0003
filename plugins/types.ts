/**
 * The plugin contract: everything a plugin module may use from the host,
 * as types only. A plugin imports it with `import type` (erased at run time),
 * so a plugin file needs no value imports from the host:
 *
 * ```ts
 * import type { PluginFactory } from "./types.ts";
 *
 * const factory: PluginFactory<{ greeting: string }> = (ctx) => ({
 *   name: "hello",
 *   afterPublish(release) {
 *     ctx.logger.info(`${ctx.options.greeting}: ${release.id} ${release.version}`);
 *   },
 * });
 * export default factory;
 * ```
 *
 * @module
 */

/** What a request may do. */
export type Action = "read" | "publish" | "admin";

/** An authenticated caller. `id` is shown in logs; never put a secret in it. */
export interface Principal {
  id: string;
  /** Which provider authenticated the caller. */
  provider?: string;
  /** Actions this caller was granted by its provider, when the provider decides per token. */
  scopes?: Action[];
  /**
   * Package scopes it may publish to (Swift's `mona` of `mona.LinkedList`, npm's `mona` of `@mona/pkg`); absent
   * means any. A caller limited to scopes may not publish packages that have no scope.
   */
  packageScopes?: string[];
}

/** A package as auth providers, transforms, hooks and sources see it. */
export interface PackageName {
  /** Its format: `"swift"`, `"npm"`, `"pypi"`, `"go"` or `"cache"`. */
  format: string;
  /** Swift's scope, or an npm scope without `@`; absent where the package has none. */
  scope?: string;
  /** The name within the scope (npm: without the scope; Go: the module path). */
  name: string;
}

/** The outcome of `authenticate`. */
export type AuthenticateResult =
  /** The credentials are this provider's and valid. */
  | { principal: Principal }
  /** Not this provider's business (no credentials, or not its kind): ask the next provider. */
  | "abstain"
  /** The credentials are this provider's and invalid: stop with 401. */
  | { reject: string };

/** The outcome of `authorize`. */
export type AuthorizeDecision = "allow" | "deny" | "abstain";

/** An authentication and authorization provider; providers form a chain in configured order. */
export interface AuthProvider {
  /**
   * Whether this provider restricts reads or must see them. `false` promises that `authorize` never denies a
   * read and that the provider has no need to observe reads (it authenticates publishers, or decides only
   * publish and admin). When every provider says `false` and `REGISTRY_REQUIRE_AUTH_FOR_READ` is off, reads skip
   * the auth chain altogether, and hot reads are answered from precomputed responses. Default `true`: every read
   * is authenticated and authorized through this provider.
   */
  restrictsReads?: boolean;
  /**
   * `true` when this provider's answers depend on nothing but the credentials a request presents and the
   * package asked for: not on the time, the client's address or anything outside. Then, when every provider
   * says so, a read answered once for some credentials may be answered again from memory for the same
   * credentials (after authenticating them again), as hot reads are for everyone when reads are public.
   * Default `false`.
   */
  decidesFromCredentials?: boolean;
  /** Decides who sent the request. */
  authenticate(request: Request): AuthenticateResult | Promise<AuthenticateResult>;
  /** Decides whether `principal` (or an anonymous caller, `null`) may perform `action`. */
  authorize?(
    principal: Principal | null,
    action: Action,
    pkg: PackageName | undefined,
  ): AuthorizeDecision | Promise<AuthorizeDecision>;
}

/** An artifact on its way into the registry, before it is stored. */
export interface TransformInput {
  /** The format of the package (`package.format`): it says what the archive is. */
  format: string;
  /** Package and version being published or ingested. */
  package: PackageName;
  version: string;
  /**
   * The artifact's bytes; read it at most once. Swift: a source archive (zip); npm: a package tarball (.tgz);
   * PyPI: a wheel or sdist; Go: a module zip; cache: a blob.
   */
  archive: ReadableStream<Uint8Array>;
  /** The artifact's file name, where the format has one (PyPI, npm). */
  filename?: string;
  /** Size of the archive in bytes. */
  size: number;
  /** Release metadata so far. */
  metadata: Record<string, unknown>;
}

/** What a transform decides. Omitted fields keep what came in. */
export interface TransformResult {
  /** A replacement artifact of the same kind (it is validated again like the original). */
  archive?: ReadableStream<Uint8Array>;
  /** Fields merged into the release metadata. */
  metadata?: Record<string, unknown>;
  /** Refuse the release with this reason (HTTP 422, or `status` when given, e.g. 413). */
  reject?: string;
  status?: 413 | 422;
}

/** An artifact transform: runs once per release, before the first store, never on read. */
export interface ArchiveTransform {
  name: string;
  transform(input: TransformInput): TransformResult | Promise<TransformResult>;
}

/** A release that was just published or ingested. */
export interface PublishedRelease {
  format: string;
  package: PackageName;
  /** How the format's clients name the package: `scope.name` (Swift), `@scope/name` (npm), the project name, ... */
  id: string;
  version: string;
  /** Lowercase hex SHA-256 of the artifact. */
  checksum: string;
  metadata: Record<string, unknown>;
}

/**
 * An ingestion source: where packages come from (GitHub, a directory, another
 * system). The scheduler calls `sync` every `REGISTRY_SYNC_INTERVAL`, on one
 * node of the cluster at a time; it publishes through `ctx.registry`.
 */
export interface SourcePlugin {
  name: string;
  /** One pass; stop early when `signal` aborts (shutdown). Throwing marks the pass failed. */
  sync(signal: AbortSignal): Promise<void>;
}

/** A release an ingestion source hands to the registry. */
export interface IngestRelease {
  package: PackageName;
  version: string;
  /** The artifact, as the format's clients publish it (see {@link TransformInput.archive}). */
  archive: ReadableStream<Uint8Array>;
  /** The artifact's file name, where the format needs one (PyPI: the wheel or sdist name). */
  filename?: string;
  /** Release metadata (Swift: SE-0292 metadata such as `repositoryURLs`, `description`, `licenseURL`). */
  metadata?: Record<string, unknown>;
}

/** What became of an {@link IngestRelease}. */
export type IngestOutcome =
  /** Stored and visible to clients. */
  | { status: "published"; checksum: string }
  /** The version was there already (published meanwhile, perhaps by another node): nothing changed. */
  | { status: "exists" }
  /** Refused by validation or a transform; trying again with the same bytes gives the same answer. */
  | { status: "refused"; reason: string };

/** One version of a package, as sources see it. */
export interface VersionInfo {
  publishedAt: string;
  metadata: Record<string, unknown>;
}

/**
 * The registry as an ingestion source uses it (`ctx.registry`). Publishing
 * here is a publish like any other: the same validation, transforms,
 * immutability, and exactly-once commit across a cluster. Storage problems
 * are thrown (retry later); refusals are returned.
 */
export interface RegistryApi {
  /** The formats this registry serves (`REGISTRY_FORMATS`). */
  readonly formats: readonly string[];
  /** The versions of a package, or `null` when it has none. */
  versions(pkg: PackageName): Promise<Record<string, VersionInfo> | null>;
  /** Publishes a release of any served format. */
  publish(release: IngestRelease): Promise<IngestOutcome>;
  /** Records that this source will not ingest `version`, and why (operators see it in the status). */
  skip(pkg: PackageName, version: string, reason: string): Promise<void>;
  /** The versions of `pkg` this source recorded as skipped, with their reasons. */
  skipped(pkg: PackageName): Promise<Record<string, string>>;
}

/** A plugin: a name and any of the capabilities. */
export interface Plugin {
  name: string;
  auth?: AuthProvider;
  transforms?: ArchiveTransform[];
  sources?: SourcePlugin[];
  /** Called after a release is committed; failures are logged, the release stays. */
  afterPublish?(release: PublishedRelease): void | Promise<void>;
}

/** A logger scoped to one plugin. */
export interface PluginLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** A key-value area of the registry's storage reserved to one plugin (keys are `[A-Za-z0-9._@+-/]`). */
export interface PluginStorage {
  /** The JSON document at `key`, or `null`. */
  read<T>(key: string): Promise<T | null>;
  /**
   * Updates the JSON document at `key` with compare-and-swap: `mutate` gets the
   * current value (or `null`) and returns the new one (or `undefined` to keep it).
   * It may run more than once.
   */
  update<T>(key: string, mutate: (current: T | null) => T | undefined): Promise<T>;
  /** Keys of the documents under `prefix`. */
  list(prefix: string): Promise<string[]>;
}

/** Semantic-version helpers (the `semver` package). */
export interface SemverApi {
  valid(version: string): string | null;
  compare(a: string, b: string): number;
  satisfies(version: string, range: string): boolean;
}

/** What the host gives a plugin factory. */
export interface PluginContext<Options = Record<string, unknown>> {
  /** The plugin's own options block from the configuration. */
  options: Options;
  logger: PluginLogger;
  /** The `fetch` to use for outbound HTTP (tests may replace it). */
  fetch: typeof fetch;
  /** Storage reserved to this plugin. */
  storage: PluginStorage;
  semver: SemverApi;
  /** The current time in ms since the epoch. Use it instead of `Date.now()`, so tests can control time. */
  now(): number;
  /** Publishing into the registry, for ingestion sources. */
  registry: RegistryApi;
}

/** The default export of a plugin module. */
export type PluginFactory<Options = Record<string, unknown>> = (
  ctx: PluginContext<Options>,
) => Plugin | Promise<Plugin>;
