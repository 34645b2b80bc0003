/**
 * The Swift Package Registry API (SE-0292) as a Hono sub-app, mounted under
 * `/swift`. Protocol details live here; the core speaks packages and releases.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import type { Authenticator, Principal } from "../../auth/auth.ts";
import { authorizeAction, authorizeRead, mayRead } from "../../auth/access.ts";
import type { PublishJobs } from "../../core/publish_jobs.ts";
import {
  BadRequestError,
  NotFoundError,
  RegistryError,
  ServiceUnavailableError,
  UnauthorizedError,
} from "../../errors.ts";
import type { AppEnv } from "../../http/middleware.ts";
import { problemResponse } from "../../http/problem.ts";
import type { Logger } from "../../log.ts";
import type { HttpServices } from "../format.ts";
import { packageRef } from "./identity.ts";
import { SwiftUrls } from "./links.ts";
import { checkAcceptHeader } from "./media_type.ts";
import type { Moderation } from "./moderation.ts";
import type { SignerContinuity } from "./continuity.ts";
import { addSigningRoutes } from "./signing_routes.ts";
import { handlePublish, type PublishedRelease } from "./publish.ts";
import { addReadRoutes } from "./read_routes.ts";
import type { SwiftRegistry } from "./registry.ts";
import type { SwiftSearch } from "./search.ts";
import { addSearchRoute } from "./search_routes.ts";
import type { SwiftUpstream } from "./upstream.ts";
import { addWithdrawalRoutes } from "./withdraw_routes.ts";
import { notAllowed } from "../../http/not_allowed.ts";

/** What the Swift API needs from the host. */
export interface SwiftApiDeps {
  registry: SwiftRegistry;
  moderation: Moderation;
  continuity: SignerContinuity;
  search: SwiftSearch;
  /** Pull-through from `REGISTRY_SWIFT_UPSTREAM`, when configured. */
  upstream?: SwiftUpstream;
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
  /** Prepared responses kept per package document, and answering with them (see `HttpServices`). */
  prepare: HttpServices["prepare"];
  serve: HttpServices["serve"];
  serveArtifact: HttpServices["serveArtifact"];
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
    const principal = await authorizeRead(auth, c.req.raw);
    const url = c.req.query("url");
    if (url === undefined || url.trim() === "") throw new BadRequestError('the "url" query parameter is required');
    let identifiers = await registry.lookupIdentifiers(url);
    if (identifiers.length === 0 && deps.upstream !== undefined) identifiers = await deps.upstream.identifiers(url);
    // Only packages the caller may read: a plugin that hides a package hides its identifier too.
    identifiers = await readableIdentifiers(auth, principal, identifiers);
    if (identifiers.length === 0) throw new NotFoundError(`no package is associated with ${url}`);
    return c.json({ identifiers });
  });

  // Registry search (SE-0536), from the catalog in memory.
  addSearchRoute(app, deps, urlsFor);

  app.get("/-/status", async (c) => {
    await authorizeAction(auth, c.req.raw, "admin");
    return c.json(deps.status ? await deps.status() : { ingestion: { enabled: false } });
  });

  app.get("/-/publishes/:id", async (c) => {
    const status = await deps.publishJobs.lookup(c.req.param("id"));
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

  addWithdrawalRoutes(app, deps);
  addSigningRoutes(app, deps);
  addReadRoutes(app, deps, urlsFor);
  app.put("/:scope/:name/:version", (c) => handlePublish(c, deps, urlsFor(c)));

  // Known resources, unsupported methods.
  app.all("/identifiers", notAllowed("GET, HEAD"));
  app.all("/availability", notAllowed("GET, HEAD"));
  app.all("/search", notAllowed("GET, HEAD"));
  app.all("/login", notAllowed("POST"));
  app.all("/-/yank/:scope/:name/:version", notAllowed("POST, DELETE"));
  app.all("/-/takedown/:scope/:name/:version", notAllowed("POST"));
  app.all("/-/signer-change/:scope/:name", notAllowed("GET, HEAD, POST"));
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

/** The identifiers (`scope.name`) of `identifiers` that `principal` may read. */
async function readableIdentifiers(
  auth: Authenticator,
  principal: Principal | null,
  identifiers: string[],
): Promise<string[]> {
  const readable: string[] = [];
  for (const identifier of identifiers) {
    const dot = identifier.indexOf(".");
    if (await mayRead(auth, principal, packageRef(identifier.slice(0, dot), identifier.slice(dot + 1)))) {
      readable.push(identifier);
    }
  }
  return readable;
}
