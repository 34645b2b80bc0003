/**
 * Admin endpoints that withdraw releases: `POST|DELETE /-/yank/{scope}/{name}/{version}`
 * and `POST /-/takedown/{scope}/{name}/{version}`, each with a JSON `{"reason"}`.
 *
 * @module
 */
import { readBoundedText } from "../../http/body_limit.ts";
import type { Context, Hono } from "hono";
import { authorizeAction } from "../../auth/access.ts";
import { BadRequestError } from "../../errors.ts";
import type { AppEnv } from "../../http/middleware.ts";
import { packageId, type PackageRef, packageRef } from "./identity.ts";
import type { ReleaseRecord } from "./release.ts";
import type { SwiftApiDeps } from "./routes.ts";
import { parseVersion } from "./version.ts";

/** Largest body of a withdrawal request. */
const MAX_BODY_BYTES = 16 * 1024;

/** Adds the yank and takedown endpoints to `app`. */
export function addWithdrawalRoutes(app: Hono<AppEnv>, deps: SwiftApiDeps): void {
  const target = async (c: Context) => {
    const ref = packageRef(c.req.param("scope")!, c.req.param("name")!);
    const version = parseVersion(c.req.param("version")!);
    const principal = await authorizeAction(deps.auth, c.req.raw, "admin", ref);
    return { ref, version, by: principal.id };
  };
  app.post("/-/yank/:scope/:name/:version", async (c) => {
    const { ref, version, by } = await target(c);
    const reason = await readReason(c.req.raw);
    return c.json(withdrawalState(ref, await deps.moderation.yank(ref, version, { by, reason })));
  });
  app.delete("/-/yank/:scope/:name/:version", async (c) => {
    const { ref, version, by } = await target(c);
    return c.json(withdrawalState(ref, await deps.moderation.unyank(ref, version, by)));
  });
  app.post("/-/takedown/:scope/:name/:version", async (c) => {
    const { ref, version, by } = await target(c);
    const reason = await readReason(c.req.raw);
    return c.json(withdrawalState(ref, await deps.moderation.takedown(ref, version, { by, reason })));
  });
}

/** The `reason` of an admin request: a JSON body `{"reason": "..."}`. */
export async function readReason(request: Request): Promise<string> {
  const text = await readBoundedText(request, MAX_BODY_BYTES);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  const reason = (body as { reason?: unknown } | null)?.reason;
  if (typeof reason !== "string") throw new BadRequestError('the body must be JSON: {"reason": "..."}');
  return reason;
}

/** What the endpoints answer: the release's withdrawal state. */
function withdrawalState(ref: PackageRef, release: ReleaseRecord) {
  return {
    id: packageId(ref),
    version: release.version,
    ...(release.yanked ? { yanked: release.yanked } : {}),
    ...(release.takedown ? { takedown: release.takedown } : {}),
  };
}
