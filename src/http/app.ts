/**
 * The composed HTTP application: middleware in order (request id, access log,
 * Content-Version), `/health`, the Swift API under `/swift`, and problem+json
 * for every error and unknown route.
 *
 * @module
 */
import { Hono } from "hono";
import type { Authenticator } from "../auth/auth.ts";
import type { PublishJobs } from "../core/publish_jobs.ts";
import type { Registry } from "../core/registry.ts";
import type { PublishedRelease } from "../formats/swift/publish.ts";
import { createSwiftApi, SWIFT_BASE_PATH } from "../formats/swift/routes.ts";
import type { Logger } from "../log.ts";
import { accessLog, type AppEnv, contentVersion, headContentLength, requestId, requestTimeout } from "./middleware.ts";
import { errorResponse, problemResponse } from "./problem.ts";
import { digestsEqual, presentedSecret, sha256Hex } from "../../plugins/credentials.ts";
import { UnauthorizedError } from "../errors.ts";
import { PluginFailureError } from "../plugins/hooks.ts";
import type { Metrics } from "./metrics.ts";
import { rateLimit } from "./rate_limit.ts";
import { authorityCheck } from "./public_url.ts";
import { contentLengthLimit, MULTIPART_ENVELOPE_BYTES } from "./body_limit.ts";

/** Everything the app needs, passed in so several servers can run in one process. */
export interface AppDeps {
  registry: Registry;
  auth: Authenticator;
  publishJobs: PublishJobs<PublishedRelease>;
  logger: Logger;
  scratchDir: string;
  maxArchiveBytes: number;
  metrics: Metrics;
  /** Longest a request may take before a 503. */
  requestTimeoutMs: number;
  /** Requests per second per client IP and per principal (0 = unlimited), and trusted proxies. */
  rateLimit: { perIp: number; perPrincipal: number; trustedProxies: string[] };
  /** Hex SHA-256 of the token `/metrics` requires, when set. */
  metricsTokenSha256?: string;
  status?: () => Promise<unknown>;
  publicUrl?: string;
  version: string;
}

/** Builds the Hono app serving every route of the registry. */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>({ strict: false });
  app.use(
    "*",
    requestId(),
    accessLog(deps.logger),
    deps.metrics.middleware(),
    contentVersion(),
    headContentLength(),
    authorityCheck({ publicUrl: deps.publicUrl, trustedProxies: new Set(deps.rateLimit.trustedProxies) }),
    contentLengthLimit(deps.maxArchiveBytes + MULTIPART_ENVELOPE_BYTES),
    rateLimit({ ...deps.rateLimit, auth: deps.auth }),
    requestTimeout(deps.requestTimeoutMs),
  );
  app.onError((error, c) => {
    if (error instanceof PluginFailureError) deps.metrics.pluginErrors.inc({ plugin: error.plugin });
    return errorResponse(error, deps.logger, c.get("requestId"));
  });
  app.notFound(() => problemResponse(404, "Not Found", "no such resource"));

  app.get("/health", (c) => c.json({ status: "ok", version: deps.version }));
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
    return c.text(await deps.metrics.text(), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
  });
  app.route(SWIFT_BASE_PATH, createSwiftApi(deps));
  return app;
}
