/**
 * The Swift Package Registry API (SE-0292) as a Hono sub-app, mounted under
 * `/swift`. Protocol details live here; the core speaks packages and releases.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { type Context, Hono } from "hono";
import { AUTH_CHALLENGE, type Authenticator } from "../../auth/auth.ts";
import { packageId, type PackageRef, packageRef } from "../../core/identity.ts";
import { swiftVersionCandidates } from "../../core/manifest.ts";
import type { PublishJobs } from "../../core/publish_jobs.ts";
import type { Registry, ReleaseView } from "../../core/registry.ts";
import type { ReleaseRecord } from "../../core/release.ts";
import { parseVersion } from "../../core/version.ts";
import {
  BadRequestError,
  MethodNotAllowedError,
  NotFoundError,
  RangeNotSatisfiableError,
  RegistryError,
  ServiceUnavailableError,
  UnauthorizedError,
} from "../../errors.ts";
import type { Logger } from "../../log.ts";
import type { AppEnv } from "../../http/middleware.ts";
import { problemResponse } from "../../http/problem.ts";
import { publicBaseUrl } from "../../http/public_url.ts";
import { ifNoneMatchHits, parseRange } from "../../http/range.ts";
import { alternateManifestLinks, releaseLinks, releaseListLinks, SwiftUrls } from "./links.ts";
import { checkAcceptHeader } from "./media_type.ts";
import { PluginFailureError } from "../../plugins/hooks.ts";
import { handlePublish, type PublishedRelease } from "./publish.ts";
import { jsonResponse, releaseBody, releaseListBody } from "./responses.ts";

/** What the Swift API needs from the host. */
export interface SwiftApiDeps {
  registry: Registry;
  auth: Authenticator;
  publishJobs: PublishJobs<PublishedRelease>;
  /** Directory for staging uploads. */
  scratchDir: string;
  /** Largest accepted source archive, in bytes. */
  maxArchiveBytes: number;
  /** The operational status (ingestion, jobs) served to admins at `/-/status`. */
  status?: () => Promise<unknown>;
  /** Absolute public base URL of the server (without `/swift`), or undefined to derive it per request. */
  publicUrl?: string;
  logger: Logger;
}

/** Path under which the API is mounted. */
export const SWIFT_BASE_PATH = "/swift";

/** Builds the Swift registry routes (to be mounted at {@link SWIFT_BASE_PATH}). */
export function createSwiftApi(deps: SwiftApiDeps): Hono<AppEnv> {
  const { registry, auth } = deps;
  const app = new Hono<AppEnv>({ strict: false });
  const urlsFor = (c: Context) => new SwiftUrls(`${publicBaseUrl(c)}${SWIFT_BASE_PATH}`);
  // Reads ignore credentials that do not authenticate: SwiftPM sends stored
  // credentials with every request, and a stale token must not block public reads.
  const readAccess = async (c: Context, ref?: PackageRef) => {
    // A provider that fails (e.g. an unreachable upstream) does not block reads either.
    const principal = await auth.authenticate(c.req.raw).catch((error) => {
      if (error instanceof UnauthorizedError || error instanceof PluginFailureError) return null;
      throw error;
    });
    await auth.authorize(principal, "read", ref);
  };

  app.use("*", async (c, next) => {
    checkAcceptHeader(c.req.header("accept"));
    await next();
  });

  // Availability (SwiftPM asks only when configured to) and the API root.
  app.get("/availability", () => new Response(null, { status: 200 }));
  app.get("/", () => new Response(null, { status: 200 }));

  // Login: SwiftPM POSTs to the registry URL's own path, or to /login.
  const login = async (c: Context) => {
    if (!auth.acceptsCredentials) {
      return problemResponse(501, "Not Implemented", "registry does not support authentication");
    }
    const principal = await auth.authenticate(c.req.raw);
    if (principal === null) throw new UnauthorizedError("credentials are required to log in", AUTH_CHALLENGE);
    return new Response(null, { status: 200 });
  };
  app.post("/", login);
  app.post("/login", login);

  app.get("/identifiers", async (c) => {
    await readAccess(c);
    const url = c.req.query("url");
    if (url === undefined || url.trim() === "") throw new BadRequestError('the "url" query parameter is required');
    const identifiers = await registry.lookupIdentifiers(url);
    if (identifiers.length === 0) throw new NotFoundError(`no package is associated with ${url}`);
    return c.json({ identifiers });
  });

  app.get("/-/status", async (c) => {
    await auth.authorize(await auth.authenticate(c.req.raw), "admin");
    return c.json(deps.status ? await deps.status() : { ingestion: { enabled: false } });
  });

  app.get("/-/publishes/:id", (c) => {
    const status = deps.publishJobs.get(c.req.param("id"));
    if (status === undefined) throw new NotFoundError("no such publish request (it may have expired)");
    if (status.state === "pending") {
      return c.json({ status: "processing" }, 202, { "Retry-After": "1" });
    }
    if (status.state === "succeeded") {
      const { scope, name, version } = status.result;
      return new Response(null, {
        status: 301,
        headers: { Location: `${urlsFor(c).base}/${scope}/${name}/${encodeURIComponent(version)}` },
      });
    }
    if (status.error instanceof RegistryError) throw status.error;
    throw new ServiceUnavailableError("the publish failed because of an internal error; try again");
  });

  app.get("/:scope/:name", async (c) => {
    const ref = packageRef(c.req.param("scope"), stripSuffix(c.req.param("name"), ".json"));
    await readAccess(c, ref);
    const pkg = await registry.requirePackage(ref);
    const urls = urlsFor(c);
    return jsonResponse(releaseListBody(urls, pkg), c.req.header("if-none-match"), {
      Link: releaseListLinks(urls, pkg),
    });
  });

  app.get("/:scope/:name/:version", async (c) => {
    const raw = c.req.param("version");
    const isArchive = raw.endsWith(".zip");
    const ref = packageRef(c.req.param("scope"), c.req.param("name"));
    const version = parseVersion(stripSuffix(stripSuffix(raw, ".zip"), ".json"));
    await readAccess(c, ref);
    const view = await registry.requireRelease(ref, version);
    if (isArchive) return await archiveResponse(c, registry, ref, view, deps.logger);
    const urls = urlsFor(c);
    return jsonResponse(releaseBody(urls, view.pkg, view.release), c.req.header("if-none-match"), {
      Link: releaseLinks(urls, view.pkg, version),
    });
  });

  app.put("/:scope/:name/:version", (c) => handlePublish(c, deps, urlsFor(c)));

  app.get("/:scope/:name/:version/Package.swift", async (c) => {
    const ref = packageRef(c.req.param("scope"), c.req.param("name"));
    const version = parseVersion(c.req.param("version"));
    await readAccess(c, ref);
    const { pkg, release } = await registry.requireRelease(ref, version);
    const urls = urlsFor(c);
    const requested = c.req.query("swift-version");
    let filename = "Package.swift";
    if (requested !== undefined) {
      const candidates = swiftVersionCandidates(requested);
      if (candidates === null) {
        throw new BadRequestError(`invalid swift-version "${requested}": expected e.g. 5.9 or 5.9.0`);
      }
      const found = candidates.find((name) => release.manifests.some((m) => m.filename === name));
      if (found === undefined) {
        return new Response(null, { status: 303, headers: { Location: urls.manifest(pkg, version) } });
      }
      filename = found;
    }
    const headers: Record<string, string> = {
      "Content-Type": "text/x-swift",
      "Content-Disposition": `attachment; filename="${filename}"`,
      "Cache-Control": "public, immutable",
      ETag: `"${release.checksum}-${filename}"`,
    };
    if (requested === undefined) {
      const links = alternateManifestLinks(urls, pkg, release);
      if (links !== null) headers.Link = links;
    }
    if (ifNoneMatchHits(c.req.header("if-none-match"), headers.ETag)) {
      return new Response(null, { status: 304, headers });
    }
    if (c.req.method === "HEAD") {
      // Known from the release record: HEAD reads nothing (and does not count as a cache access).
      const size = release.manifests.find((m) => m.filename === filename)!.size;
      return new Response(null, { headers: { ...headers, "Content-Length": String(size) } });
    }
    const content = await registry.readManifest(ref, release, filename);
    return new Response(content, { headers: { ...headers, "Content-Length": String(content.byteLength) } });
  });

  // Known resources, unsupported methods.
  const notAllowed = (allow: string) => () => {
    throw new MethodNotAllowedError(`method not allowed; use ${allow}`, allow);
  };
  app.all("/identifiers", notAllowed("GET, HEAD"));
  app.all("/availability", notAllowed("GET, HEAD"));
  app.all("/login", notAllowed("POST"));
  app.all("/:scope/:name", notAllowed("GET, HEAD"));
  app.all("/:scope/:name/:version", notAllowed("GET, HEAD, PUT"));
  app.all("/:scope/:name/:version/Package.swift", notAllowed("GET, HEAD"));
  return app;
}

function stripSuffix(value: string, suffix: string): string {
  return value.endsWith(suffix) ? value.slice(0, -suffix.length) : value;
}

async function archiveResponse(
  c: Context,
  registry: Registry,
  ref: PackageRef,
  { pkg, release }: ReleaseView,
  logger: Logger,
): Promise<Response> {
  const etag = `"${release.checksum}"`;
  const headers: Record<string, string> = {
    "Content-Type": "application/zip",
    "Content-Disposition": `attachment; filename="${pkg.name}-${release.version}.zip"`,
    "Accept-Ranges": "bytes",
    "Cache-Control": "public, immutable",
    ETag: etag,
    "Last-Modified": new Date(release.publishedAt).toUTCString(),
    Digest: `sha-256=${hexToBase64(release.checksum)}`,
    ...signatureHeaders(release),
  };
  if (ifNoneMatchHits(c.req.header("if-none-match"), etag)) return new Response(null, { status: 304, headers });

  const ifRange = c.req.header("if-range");
  const decision = ifRange !== undefined && ifRange.trim() !== etag
    ? { kind: "full" as const }
    : parseRange(c.req.header("range"), release.size);
  if (decision.kind === "unsatisfiable") throw new RangeNotSatisfiableError(release.size);
  const range = decision.kind === "partial" ? { start: decision.start, end: decision.end } : undefined;
  const length = range ? range.end - range.start + 1 : release.size;
  if (range) headers["Content-Range"] = `bytes ${range.start}-${range.end}/${release.size}`;
  headers["Content-Length"] = String(length);
  const status = range ? 206 : 200;
  if (c.req.method === "HEAD") return new Response(null, { status, headers });

  const object = await registry.openArchive(ref, release, range);
  if (object.size !== release.size) {
    await object.body.cancel();
    logger.log("error", "stored archive has the wrong size", {
      package: packageId(ref),
      version: release.version,
      expected: release.size,
      actual: object.size,
    });
    throw new ServiceUnavailableError("the stored source archive is damaged; the operator has been alerted");
  }
  return new Response(object.body, { status, headers });
}

function signatureHeaders(release: ReleaseRecord): Record<string, string> {
  if (!release.signing) return {};
  return {
    "X-Swift-Package-Signature-Format": release.signing.signatureFormat,
    "X-Swift-Package-Signature": release.signing.signatureBase64Encoded,
  };
}

function hexToBase64(hex: string): string {
  return Buffer.from(hex, "hex").toString("base64");
}
