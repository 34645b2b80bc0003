/**
 * The composed HTTP application: the hot path first (remembered answers to
 * hot reads, src/http/hot_responses.ts), then Hono with middleware in order
 * (request id, access log, metrics, Content-Version, limits), `/health`,
 * `/metrics`, the routes of every served format, and the one place where
 * errors become responses: under a format's paths in that format's error
 * shape, elsewhere as problem+json.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import type { Authenticator } from "../auth/auth.ts";
import type { Format, HttpServices } from "../formats/format.ts";
import type { Logger } from "../log.ts";
import { AccessLog, type AccessLogSample } from "./access_log.ts";
import type { Artifacts } from "../core/artifacts.ts";
import { ArtifactResponder } from "./artifact_response.ts";
import { HotResponses } from "./hot_responses.ts";
import type { OpenFilesCache } from "./open_files_cache.ts";
import { PreparedCache } from "./prepared.ts";
import type { Handler } from "./listen.ts";
import { type AppEnv, requestFrame, requestTimeout } from "./middleware.ts";
import { problemFromError } from "./problem.ts";
import { digestsEqual, presentedSecret, sha256Hex } from "../../plugins/credentials.ts";
import { NotFoundError, RegistryError, UnauthorizedError } from "../errors.ts";
import { PluginFailureError } from "../plugins/hooks.ts";
import type { Metrics } from "./metrics.ts";
import { RateLimiter } from "./rate_limit.ts";
import type { RegistrySnapshot } from "../util/prometheus.ts";
import { authorizeAction } from "../auth/access.ts";
import { authorityCheck, publicBaseUrl } from "./public_url.ts";
import { contentLengthLimit, type UploadLimit } from "./body_limit.ts";
import type { RegistryStatus } from "./status.ts";

/** The challenge of 401s outside any format's API. */
export const DEFAULT_AUTH_CHALLENGE = 'Bearer realm="registry"';

/** The largest body accepted outside every format's paths. */
const DEFAULT_UPLOAD_LIMIT: UploadLimit = { bytes: 1024 * 1024, setting: "no upload is expected here" };

/** Pages served beside the formats (the web pages, src/web/): their paths, routes and error shape. */
export interface Pages {
  readonly paths: readonly string[];
  readonly uploadLimit: UploadLimit;
  routes(): Hono<AppEnv>;
  errorResponse(error: RegistryError, path: string): Response;
}

/** Everything the app needs, passed in so several servers can run in one process. */
export interface AppDeps {
  formats: readonly Format[];
  /** The web pages, mounted after the formats (absent with REGISTRY_WEB=false). */
  pages?: Pages;
  auth: Authenticator;
  logger: Logger;
  metrics: Metrics;
  /** Longest a request may take before a 503. */
  requestTimeoutMs: number;
  /** Requests per second per client IP and per principal (0 = unlimited), and trusted proxies. */
  rateLimit: { perIp: number; perPrincipal: number; trustedProxies: string[] };
  /** Hex SHA-256 of the token `/metrics` requires, when set. */
  metricsTokenSha256?: string;
  status: () => Promise<RegistryStatus>;
  publicUrl?: string;
  version: string;
  /** The clock (rate limits). */
  now: () => number;
  /** Share of requests written to the access log (1 all, 0 none; 5xx always unless 0). */
  accessLogSample: AccessLogSample;
  /** Bytes of prepared responses kept, and again of those the hot path remembers (they share them). */
  hotCacheBytes: number;
  /** The stored artifacts of every format (for `HttpServices.serveArtifact`). */
  artifacts: Artifacts;
  /** `REGISTRY_ACCEL_REDIRECT`: artifacts are sent by nginx from this internal location. */
  accelRedirect?: string;
  /** Local artifact files held open for hot reads (the server closes them when it stops). */
  openFiles: OpenFilesCache;
  /** The index of this worker (src/http/workers.ts; 0 or absent: the first). */
  worker?: number;
  /** The metrics of every worker but this one, for `/metrics` (absent: this one alone). */
  otherWorkersMetrics?: () => Promise<RegistrySnapshot[]>;
}

/** The composed app: `fetch` answers hot reads from memory and routes the rest through Hono. */
export interface RegistryApp {
  fetch: Handler;
  /** The hot answer to a request head the fast lane read itself (src/http/fast_lane.ts), encoded for it. */
  answerWire: HotResponses["answerWire"];
  /** The routes alone, for a request whose hot answer was asked for already (by the fast lane). */
  routes: Handler;
}

/** Builds the app serving every route of the registry. */
export function createApp(deps: AppDeps): RegistryApp {
  const app = new Hono<AppEnv>({ strict: false });
  const surfaces: ReadonlyArray<Format | Pages> = deps.pages === undefined
    ? deps.formats
    : [...deps.formats, deps.pages];
  const log = new AccessLog(deps.logger, deps.accessLogSample, deps.worker ?? 0);
  const limiter = new RateLimiter({ ...deps.rateLimit, auth: deps.auth, clock: deps.now });
  const urlPolicy = { publicUrl: deps.publicUrl, trustedProxies: new Set(deps.rateLimit.trustedProxies) };
  const prepared = new PreparedCache(deps.hotCacheBytes);
  const hot = new HotResponses({
    reads: deps.auth.publicReads ? "public" : deps.auth.decidesFromCredentials ? "per-credential" : "off",
    authenticate: (request) => deps.auth.authenticate(request),
    maxBytes: deps.hotCacheBytes,
    metrics: deps.metrics,
    accessLog: log,
    rateLimiter: limiter,
    urlPolicy,
  });
  const formatOf = (path: string) =>
    surfaces.find((surface) => surface.paths.some((p) => path === p || path.startsWith(`${p}/`)));
  app.use(
    "*",
    requestFrame(log, (c, seconds) => deps.metrics.recordResponse(c, seconds)),
    authorityCheck(urlPolicy),
    contentLengthLimit((path) => formatOf(path)?.uploadLimit ?? DEFAULT_UPLOAD_LIMIT),
    limiter.middleware(),
    requestTimeout(deps.requestTimeoutMs),
  );
  const respond = (c: Context, error: RegistryError) =>
    formatOf(c.req.path)?.errorResponse(error, c.req.path) ?? problemFromError(error, DEFAULT_AUTH_CHALLENGE);
  app.onError((error, c) => {
    if (error instanceof PluginFailureError) deps.metrics.pluginErrors.inc({ plugin: error.plugin });
    if (error instanceof RegistryError) return respond(c, error);
    const requestId = c.get("requestId");
    deps.logger.log("error", "unhandled error", {
      id: requestId,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      stack: error instanceof Error ? error.stack : undefined,
    });
    return respond(c, new RegistryError(500, "Internal Server Error", `internal error (request id ${requestId})`));
  });
  app.notFound((c) => respond(c, new NotFoundError("no such resource")));

  app.get("/health", (c) => c.json({ status: "ok", version: deps.version }));
  app.get("/-/status", async (c) => {
    await authorizeAction(deps.auth, c.req.raw, "admin");
    return c.json(await deps.status());
  });
  app.get("/metrics", async (c) => {
    if (deps.metricsTokenSha256 !== undefined) {
      const presented = presentedSecret(c.req.raw);
      if (typeof presented !== "string" || !digestsEqual(sha256Hex(presented), deps.metricsTokenSha256)) {
        throw new UnauthorizedError(
          "the metrics need REGISTRY_METRICS_TOKEN as a bearer token",
          'Bearer realm="metrics"',
        );
      }
    }
    const others = await deps.otherWorkersMetrics?.() ?? [];
    return c.text(deps.metrics.text(others), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
  });

  const artifacts = new ArtifactResponder({
    artifacts: deps.artifacts,
    prepared,
    hot,
    accelRedirect: deps.accelRedirect,
    openFiles: deps.openFiles,
    logger: deps.logger,
  });
  const http: HttpServices = {
    auth: deps.auth,
    status: deps.status,
    publicBaseUrl,
    prepare: (document, resource, build) => prepared.get(document, resource, build),
    serve: (c, response, fresh, used) => hot.serve(c, response, fresh, used),
    serveArtifact: (c, artifact) => artifacts.respond(c, artifact),
  };
  for (const format of deps.formats) app.route("/", format.routes(http));
  if (deps.pages !== undefined) app.route("/", deps.pages.routes());
  return {
    answerWire: (request, peer) => hot.answerWire(request, peer),
    routes: (request, info) => app.fetch(request, info),
    fetch: (request, info) => {
      const answer = hot.answer(request, info);
      if (answer instanceof Promise) return answer.then((response) => response ?? app.fetch(request, info));
      return answer ?? app.fetch(request, info);
    },
  };
}
