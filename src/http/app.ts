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
import { accessLog, type AppEnv, contentVersion, headContentLength, requestId } from "./middleware.ts";
import { errorResponse, problemResponse } from "./problem.ts";

/** Everything the app needs, passed in so several servers can run in one process. */
export interface AppDeps {
  registry: Registry;
  auth: Authenticator;
  publishJobs: PublishJobs<PublishedRelease>;
  logger: Logger;
  scratchDir: string;
  maxArchiveBytes: number;
  status?: () => Promise<unknown>;
  publicUrl?: string;
  version: string;
}

/** Builds the Hono app serving every route of the registry. */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>({ strict: false });
  app.use("*", requestId(), accessLog(deps.logger), contentVersion(), headContentLength());
  app.onError((error, c) => errorResponse(error, deps.logger, c.get("requestId")));
  app.notFound(() => problemResponse(404, "Not Found", "no such resource"));

  app.get("/health", (c) => c.json({ status: "ok", version: deps.version }));
  app.route(SWIFT_BASE_PATH, createSwiftApi(deps));
  return app;
}
