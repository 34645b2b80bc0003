/**
 * What a package format is to the host: a folder under `src/formats/` that
 * brings its protocol (routes), its validation and metadata shapes, its error
 * shape, and how ingestion sources publish into it. The host gives every
 * format the same services: storage, the publish pipeline, the auth chain,
 * plugins' transforms and hooks, metrics, limits and logs.
 *
 * Adding a format: a folder with a {@link FormatDefinition}, and one line in
 * `src/formats/index.ts`.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import type { IngestOutcome, IngestRelease, PackageName, VersionInfo } from "../../plugins/types.ts";
import type { Authenticator } from "../auth/auth.ts";
import type { Config } from "../config.ts";
import type { Artifacts } from "../core/artifacts.ts";
import type { Catalog, CatalogEntry } from "../core/catalog.ts";
import type { ArchiveReadmes } from "../core/readmes.ts";
import type { PackageRef } from "../core/package.ts";
import type { Upstream } from "../core/upstream.ts";
import type { Publisher } from "../core/publisher.ts";
import { RegistryError } from "../errors.ts";
import type { AppEnv } from "../http/middleware.ts";
import type { UploadLimit } from "../http/body_limit.ts";
import type { ArtifactToServe } from "../http/artifact_response.ts";
import type { Freshness, HotUse } from "../http/hot_responses.ts";
import type { PreparedResponse } from "../http/prepared.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../http/metrics.ts";
import type { DocumentCache } from "../storage/document_cache.ts";
import type { ObjectStore } from "../storage/object_store.ts";
import type { Scheduler } from "../scheduler/scheduler.ts";
import type { PackagePage, PageRequest } from "./package_page.ts";
import type { RegistryStatus } from "../http/status.ts";
import type { Peers } from "../util/peers.ts";

/** What the host gives every format, in a server and in commands alike. */
export interface FormatServices {
  config: Config;
  /** Package documents and the publish pipeline. */
  publisher: Publisher;
  /** Immutable blobs. */
  artifacts: Artifacts;
  /** Package summaries for listings and search (the publisher records local releases itself). */
  catalog: Catalog;
  /** READMEs inside stored zip archives, extracted once per archive (for {@link Format.page}). */
  readmes: ArchiveReadmes;
  /** Other JSON documents of the format (indexes), shared by every node within the 2-second bound. */
  documents: DocumentCache;
  /** The object store under everything (for listing). */
  store: ObjectStore;
  /**
   * A store on the same storage whose disk cache (with S3) is the format's own, bounded by `diskBytes`: what it
   * caches never evicts, nor is evicted by, other formats' cached copies. Without S3 it is {@link store}.
   */
  separateStore(name: string, diskBytes: number): Promise<ObjectStore>;
  /** Where uploads are staged. */
  scratchDir: string;
  logger: Logger;
  /** The server's metrics (a format registers its own counters on `metrics.registry`). */
  metrics: Metrics;
  /** The clock; tests control it. */
  now: () => number;
  /**
   * The pull-through upstream configured for `format` (`REGISTRY_<FORMAT>_UPSTREAM`), or `undefined`.
   * `maxArtifactBytes` bounds what is downloaded from it.
   */
  upstream(format: string, maxArtifactBytes: number): Upstream | undefined;
  /**
   * The other workers of this process (REGISTRY_WORKERS): state a format
   * keeps only in memory (e.g. asynchronous publishes) is asked for there.
   * Documents and artifacts need nothing: they are shared through storage.
   */
  peers: Peers;
}

/** What the HTTP side gives a format's routes. */
export interface HttpServices {
  auth: Authenticator;
  /** The absolute base URL clients reach this server at, without a trailing slash. */
  publicBaseUrl(c: Context): string;
  /** The operational status (sources, jobs, storage, upstreams), for admins. */
  status(): Promise<RegistryStatus>;
  /**
   * The prepared response (src/http/prepared.ts) `resource` of `document`,
   * built by `build` the first time and kept while memory allows: name in
   * `resource` everything else the response depends on (e.g. the base URL of
   * its links). Documents are replaced, never changed in place, so a new
   * document gets new responses.
   */
  prepare(
    document: object,
    resource: string,
    build: () => PreparedResponse | Promise<PreparedResponse>,
  ): Promise<PreparedResponse>;
  /**
   * Answers a GET or HEAD with a prepared response (src/http/prepared.ts:
   * body and headers computed once; 304, ranges and HEAD handled) and, when
   * reads are public, lets the hot path answer the next identical request
   * from memory, before any routing, while `fresh()` holds (e.g.
   * `publisher.stillCurrent(ref, document)`). Call it after the read was
   * authorized. The Swift format's reads show the pattern. `used`, when
   * given, is told of each request answered from memory (a use to count).
   */
  serve(c: Context, prepared: PreparedResponse, fresh: Freshness, used?: HotUse): Response;
  /**
   * Answers a GET or HEAD with a stored artifact (src/http/artifact_response.ts):
   * sent by nginx when REGISTRY_ACCEL_REDIRECT is set, else from memory when
   * small (a prepared response the hot path remembers while `fresh()` holds),
   * else streamed from storage; 304, ranges and HEAD in every case.
   */
  serveArtifact(c: Context, artifact: ArtifactToServe): Promise<Response>;
}

/** A format, ready to serve. */
export interface Format {
  readonly id: string;
  /** Path prefixes its routes live under (`/swift`): errors and unknown routes there take its shape. */
  readonly paths: readonly string[];
  /** The largest request body its paths accept (a bigger `Content-Length` is a 413 before anything is read). */
  readonly uploadLimit: UploadLimit;
  /** Its routes, at their full paths. */
  routes(http: HttpServices): Hono<AppEnv>;
  /**
   * An error as this format's clients expect it (problem+json for Swift,
   * `{"error"}` for npm, text for Go). A 401 carries the format's challenge.
   * `path` is the request's path (a format serving two APIs answers each in its shape).
   */
  errorResponse(error: RegistryError, path: string): Response;
  /**
   * A package named by a plugin, validated into a ref.
   *
   * @throws {BadRequestError} when the name is not valid in this format.
   */
  ref(pkg: PackageName): PackageRef;
  /** The versions of a package (for ingestion sources), or `null` when it has none. */
  versions(ref: PackageRef): Promise<Record<string, VersionInfo> | null>;
  /** Publishes a release handed over by an ingestion source, with the ingestion transforms. */
  ingest(ref: PackageRef, release: IngestRelease): Promise<IngestOutcome>;
  /**
   * The package's page for people (the web pages): its versions with their
   * flags, the README, license, links, checksum and install lines of
   * `request.version` (default: the latest), or `null` when the package has no
   * versions here. Called on page views: answer from memory, and do any I/O
   * (extracting a README from an archive) once per release, keeping the result.
   *
   * @throws {NotFoundError} when the package has no version `request.version`.
   */
  page?(ref: PackageRef, request: PageRequest): Promise<PackagePage | null>;
  /** Registers the format's recurring jobs (sweeps) with the server's scheduler. */
  schedule?(scheduler: Pick<Scheduler, "add" | "requestRun">): void;
  /**
   * The catalog entry of one of its stored package documents (as the
   * publisher stores it), or `null` when it has no version to show; used to
   * rebuild the catalog. Formats without package documents leave it out.
   */
  catalogEntry?(document: unknown): CatalogEntry | null;
  /** Waits for the format's background work (asynchronous publishes) at shutdown. */
  close?(): Promise<void>;
}

/** A format before it is built: its id and how to build it for one process. */
export interface FormatDefinition {
  readonly id: string;
  create(services: FormatServices): Format | Promise<Format>;
}

/**
 * The outcome of an ingestion that failed with `error`: a refusal when the
 * registry refused the release (a client error, which trying again will not
 * change); anything else (storage down) is thrown again.
 */
export function refusal(error: unknown): IngestOutcome {
  if (error instanceof RegistryError && error.status < 500) return { status: "refused", reason: error.message };
  throw error;
}
