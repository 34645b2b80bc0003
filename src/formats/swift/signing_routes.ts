/**
 * Admin endpoint of signer continuity: `GET /-/signer-change/{scope}/{name}`
 * shows who signs the package and the allowances given; `POST` with a JSON
 * `{"reason"}` lets its next release be signed by another entity (or not at all).
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { authorizeAction } from "../../auth/access.ts";
import type { AppEnv } from "../../http/middleware.ts";
import { packageRef } from "./identity.ts";
import type { SwiftApiDeps } from "./routes.ts";
import { readReason } from "./withdraw_routes.ts";

/** Adds the signer-change endpoint to `app`. */
export function addSigningRoutes(app: Hono<AppEnv>, deps: SwiftApiDeps): void {
  const target = async (c: Context) => {
    const ref = packageRef(c.req.param("scope")!, c.req.param("name")!);
    const principal = await authorizeAction(deps.auth, c.req.raw, "admin", ref);
    return { ref, by: principal.id };
  };
  app.get("/-/signer-change/:scope/:name", async (c) => {
    const { ref } = await target(c);
    return c.json(await deps.continuity.state(ref));
  });
  app.post("/-/signer-change/:scope/:name", async (c) => {
    const { ref, by } = await target(c);
    const reason = await readReason(c.req.raw);
    return c.json(await deps.continuity.allowChange(ref, by, reason));
  });
}
