/**
 * The Swift Package Registry API (SE-0292) as a Hono sub-app, mounted under
 * `/swift`. Protocol details live here; the core speaks packages and releases.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { type Context, Hono } from "hono";
import type { Authenticator } from "../../auth/auth.ts";
import { authorizeAction, authorizeRead } from "../../auth/access.ts";
import { packageId, type PackageRef, packageRef } from "./identity.ts";
import { swiftVersionCandidates } from "./manifest.ts";
import type { PublishJobs } from "../../core/publish_jobs.ts";
import type { ReleaseView, SwiftRegistry } from "./registry.ts";
import type { ReleaseRecord } from "./release.ts";
import { parseVersion, sortVersionsDescending } from "./version.ts";
import {
  BadRequestError,
  GoneError,
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
import { ifNoneMatchHits, parseRange } from "../../http/range.ts";
import { alternateManifestLinks, releaseLinks, SwiftUrls } from "./links.ts";
import type { Moderation } from "./moderation.ts";
import { localListing, releaseListPage } from "./release_list.ts";
import { checkAcceptHeader } from "./media_type.ts";
import { handlePublish, type PublishedRelease } from "./publish.ts";
import { jsonResponse, releaseBody } from "./responses.ts";

/** What the Swift API needs from the host. */
export interface SwiftApiDeps {
  registry: SwiftRegistry;
  moderation: Moderation;
  auth: Authenticator;
  /** Releases per page of a release list. */
  pageSize: number;
  publishJobs: PublishJobs<PublishedRelease>;
  /** Directory for staging uploads. */
  scratchDir: string;
  /** Largest accepted source archive, in bytes. */
  maxArchiveBytes: number;
  /** The operational status (ingestion, jobs) served to admins at `/-/status`. */
  status?: () => Promise<unknown>;
  /** The absolute base URL of the server (without `/swift`) for a request. */
  publicBaseUrl(c: Context): string;
  logger: Logger;
}

/** Path under which the API is mounted. */
export const SWIFT_BASE_PATH = "/swift";

/**
 * The `WWW-Authenticate` challenge of the Swift API: `Bearer` only. SwiftPM on
 * Linux (Foundation up to Swift 6.3.1) hangs forever on a 401 whose challenge
 * offers `Basic` when it has no credentials to answer with; Basic credentials
 * it sends pre-emptively are still accepted.
 */
export const SWIFT_AUTH_CHALLENGE = 'Bearer realm="swift-registry"';

/** Builds the Swift registry routes (to be mounted at {@link SWIFT_BASE_PATH}). */
export function createSwiftApi(deps: SwiftApiDeps): Hono<AppEnv> {
  const { registry, auth } = deps;
  const app = new Hono<AppEnv>({ strict: false });
  const urlsFor = (c: Context) => new SwiftUrls(`${deps.publicBaseUrl(c)}${SWIFT_BASE_PATH}`);
  const readAccess = (c: Context, ref?: PackageRef) => authorizeRead(auth, c.req.raw, ref);

  app.use("*", async (c, next) => {
    checkAcceptHeader(c.req.header("accept"));
    await next();
  });

  // Availability (SwiftPM asks only when configured to; SE-0536 adds the capabilities) and the API root.
  app.get("/availability", () => availabilityResponse());
  app.get("/", () => new Response(null, { status: 200 }));

  // Login: SwiftPM POSTs to the registry URL's own path, or to /login.
  const login = async (c: Context) => {
    if (!auth.acceptsCredentials) {
      return problemResponse(501, "Not Implemented", "registry does not support authentication");
    }
    const principal = await auth.authenticate(c.req.raw);
    if (principal === null) throw new UnauthorizedError("credentials are required to log in");
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
    await authorizeAction(auth, c.req.raw, "admin");
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

  // Withdrawing releases (admin): yank / unyank, and takedown, each with a reason.
  const withdrawal = async (c: Context) => {
    const ref = packageRef(c.req.param("scope")!, c.req.param("name")!);
    const version = parseVersion(c.req.param("version")!);
    const principal = await authorizeAction(auth, c.req.raw, "admin", ref);
    return { ref, version, by: principal.id };
  };
  app.post("/-/yank/:scope/:name/:version", async (c) => {
    const { ref, version, by } = await withdrawal(c);
    const reason = await readReason(c.req.raw);
    return c.json(withdrawnView(ref, await deps.moderation.yank(ref, version, { by, reason })));
  });
  app.delete("/-/yank/:scope/:name/:version", async (c) => {
    const { ref, version, by } = await withdrawal(c);
    return c.json(withdrawnView(ref, await deps.moderation.unyank(ref, version, by)));
  });
  app.post("/-/takedown/:scope/:name/:version", async (c) => {
    const { ref, version, by } = await withdrawal(c);
    const reason = await readReason(c.req.raw);
    return c.json(withdrawnView(ref, await deps.moderation.takedown(ref, version, { by, reason })));
  });

  app.get("/:scope/:name", async (c) => {
    const ref = packageRef(c.req.param("scope"), stripSuffix(c.req.param("name"), ".json"));
    const page = parsePage(c.req.query("page"));
    await readAccess(c, ref);
    const pkg = await registry.requirePackage(ref);
    const { prepared, link } = releaseListPage(urlsFor(c), localListing(pkg), page, deps.pageSize);
    return jsonResponse(prepared, c.req.header("if-none-match"), { Link: link });
  });

  app.get("/:scope/:name/:version", async (c) => {
    const raw = c.req.param("version");
    const isArchive = raw.endsWith(".zip");
    const ref = packageRef(c.req.param("scope"), c.req.param("name"));
    const version = parseVersion(stripSuffix(stripSuffix(raw, ".zip"), ".json"));
    await readAccess(c, ref);
    const view = await registry.requireRelease(ref, version);
    refuseTakenDown(view);
    if (isArchive) return await archiveResponse(c, registry, ref, view, deps.logger);
    return jsonResponse(releaseBody(view.pkg, view.release), c.req.header("if-none-match"), {
      Link: releaseLinks(urlsFor(c), view.pkg, sortVersionsDescending(Object.keys(view.pkg.releases)), version),
    });
  });

  app.put("/:scope/:name/:version", (c) => handlePublish(c, deps, urlsFor(c)));

  app.get("/:scope/:name/:version/Package.swift", async (c) => {
    const ref = packageRef(c.req.param("scope"), c.req.param("name"));
    const version = parseVersion(c.req.param("version"));
    await readAccess(c, ref);
    const view = await registry.requireRelease(ref, version);
    refuseTakenDown(view);
    const { pkg, release } = view;
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
      const links = alternateManifestLinks(urls, pkg, version, release.manifests);
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
  app.all("/-/yank/:scope/:name/:version", notAllowed("POST, DELETE"));
  app.all("/-/takedown/:scope/:name/:version", notAllowed("POST"));
  app.all("/:scope/:name", notAllowed("GET, HEAD"));
  app.all("/:scope/:name/:version", notAllowed("GET, HEAD, PUT"));
  app.all("/:scope/:name/:version/Package.swift", notAllowed("GET, HEAD"));
  return app;
}

/** `GET /availability`: available, with registry search (SE-0536). */
function availabilityResponse(): Response {
  return new Response(AVAILABILITY_BODY, {
    headers: { "Content-Type": "application/json", "Content-Length": String(AVAILABILITY_BODY.byteLength) },
  });
}

const AVAILABILITY_BODY = new TextEncoder().encode(JSON.stringify({ capabilities: { search: {} } }));

/** The `page` query parameter of a release list (from 1; default 1). */
function parsePage(raw: string | undefined): number {
  if (raw === undefined) return 1;
  if (!/^[1-9]\d{0,8}$/.test(raw)) throw new BadRequestError(`invalid page "${raw}": expected a number from 1`);
  return Number(raw);
}

/** @throws {GoneError} when the release was taken down. */
function refuseTakenDown({ pkg, release }: ReleaseView): void {
  if (release.takedown !== undefined) {
    throw new GoneError(
      `release ${release.version} of ${
        packageId(pkg)
      } was taken down on ${release.takedown.at}: ${release.takedown.reason}`,
    );
  }
}

/** The `reason` of a yank or takedown request: a JSON body `{"reason": "..."}`. */
async function readReason(request: Request): Promise<string> {
  const text = await new Response(request.body).text().catch(() => "");
  if (text.length > 16 * 1024) throw new BadRequestError("the request body is too large");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BadRequestError('the body must be JSON: {"reason": "..."}');
  }
  const reason = (body as { reason?: unknown } | null)?.reason;
  if (typeof reason !== "string") throw new BadRequestError('the body must be JSON: {"reason": "..."}');
  return reason;
}

/** What the yank and takedown endpoints answer: the release's state. */
function withdrawnView(ref: PackageRef, release: ReleaseRecord) {
  return {
    id: packageId(ref),
    version: release.version,
    ...(release.yanked ? { yanked: release.yanked } : {}),
    ...(release.takedown ? { takedown: release.takedown } : {}),
  };
}

function stripSuffix(value: string, suffix: string): string {
  return value.endsWith(suffix) ? value.slice(0, -suffix.length) : value;
}

async function archiveResponse(
  c: Context,
  registry: SwiftRegistry,
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
