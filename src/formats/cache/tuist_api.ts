/**
 * Tuist's cache API at `/api/cache`, where Tuist's client expects its cache
 * service (the shapes of Tuist's own cache service and its OpenAPI document):
 *
 * - `GET`/`HEAD /api/cache/cas/:id` → the object's bytes, or 404;
 *   `POST /api/cache/cas/:id` with the bytes → 204 (also when it exists: objects are immutable).
 * - `PUT /api/cache/keyvalue` with `{"cas_id": "...", "entries": [{"value": "..."}]}` → 204
 *   (replaces the entries of that id); `GET /api/cache/keyvalue/:cas_id` → `{"entries": [...]}`, or 404.
 *
 * - `GET /api/cache/endpoints` → `{"endpoints": ["<this server>"]}` (where older clients look for the cache).
 *
 * Every request names its project with the `account_handle` and
 * `project_handle` query parameters; each project has its own area of
 * storage, so one project never sees another's entries. Ids are opaque
 * strings, not digests. Errors are `{"message": "..."}`.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { authorizeAction, authorizeRead } from "../../auth/access.ts";
import type { PackageRef } from "../../core/package.ts";
import { BadRequestError, PayloadTooLargeError } from "../../errors.ts";
import { readBounded } from "../../util/bytes.ts";
import type { AppEnv } from "../../http/middleware.ts";
import { PreparedResponse } from "../../http/prepared.ts";
import type { HttpServices } from "../format.ts";
import type { BlobCache, EntryOptions } from "./blobs.ts";
import { entryResponse } from "./responses.ts";
import { tuistKey, type TuistProject, tuistProject } from "./keys.ts";
import { notAllowed } from "../../http/not_allowed.ts";

/** Path the API is mounted under. */
export const TUIST_BASE_PATH = "/api/cache";

/** The challenge of a 401 under `/api/cache`: Tuist sends bearer tokens. */
export const TUIST_AUTH_CHALLENGE = 'Bearer realm="build-cache"';

/** Largest key-value document accepted. */
const MAX_KEY_VALUE_BYTES = 1024 * 1024;

const CAS_OPTIONS: EntryOptions = { namespace: "tuist", mutable: false, contentType: "application/octet-stream" };
const KEY_VALUE_OPTIONS: EntryOptions = { namespace: "tuist", mutable: true, contentType: "application/json" };
/** The document the endpoints answer is prepared from: it never changes (its answers differ by base URL only). */
const ENDPOINTS = {};
const always = () => true;

/** The package auth plugins are shown for a Tuist project: the account is its scope. */
export function tuistProjectRef(project: TuistProject): PackageRef {
  return {
    format: "cache",
    scope: project.account,
    name: project.project,
    key: `tuist/${project.account}/${project.project}`,
    id: `${project.account}/${project.project}`,
  };
}

/** Builds Tuist's cache routes (at their full paths under {@link TUIST_BASE_PATH}). */
export function createTuistApi(deps: { blobs: BlobCache; http: HttpServices }): Hono<AppEnv> {
  const { blobs, http } = deps;
  const { auth } = http;
  const app = new Hono<AppEnv>({ strict: false });
  const projectOf = (c: Context) => tuistProject(c.req.query("account_handle"), c.req.query("project_handle"));

  // Tuist clients without TUIST_CACHE_ENDPOINT ask their server where the cache is: here.
  app.get("/endpoints", async (c) => {
    await authorizeRead(auth, c.req.raw);
    const base = http.publicBaseUrl(c);
    const prepared = await http.prepare(ENDPOINTS, base, () => PreparedResponse.json({ endpoints: [base] }));
    return http.serve(c, prepared, always);
  });

  app.get("/cas/:id", async (c) => {
    const project = projectOf(c);
    const key = tuistKey(project, "cas", c.req.param("id"));
    await authorizeRead(auth, c.req.raw, tuistProjectRef(project));
    return await entryResponse(c, http, blobs, key, CAS_OPTIONS, `artifact ${c.req.param("id")} is not in the cache`);
  });

  app.post("/cas/:id", async (c) => {
    const project = projectOf(c);
    const key = tuistKey(project, "cas", c.req.param("id"));
    await authorizeAction(auth, c.req.raw, "publish", tuistProjectRef(project));
    await blobs.write(key, c.req.raw.body, CAS_OPTIONS);
    return new Response(null, { status: 204 });
  });

  app.get("/keyvalue/:cas_id", async (c) => {
    const project = projectOf(c);
    const key = tuistKey(project, "kv", c.req.param("cas_id"));
    await authorizeRead(auth, c.req.raw, tuistProjectRef(project));
    return await entryResponse(
      c,
      http,
      blobs,
      key,
      KEY_VALUE_OPTIONS,
      `no entries found for CAS ID ${c.req.param("cas_id")}`,
    );
  });

  app.put("/keyvalue", async (c) => {
    const project = projectOf(c);
    await authorizeAction(auth, c.req.raw, "publish", tuistProjectRef(project));
    const { casId, document } = parseKeyValue(
      await readBounded(
        c.req.raw.body,
        MAX_KEY_VALUE_BYTES,
        () => new PayloadTooLargeError(`a key-value document may have at most ${MAX_KEY_VALUE_BYTES} bytes`),
      ),
    );
    await blobs.write(tuistKey(project, "kv", casId), new Response(document).body, KEY_VALUE_OPTIONS);
    return new Response(null, { status: 204 });
  });

  app.all("/cas/:id", notAllowed("GET, HEAD, POST"));
  app.all("/keyvalue/:cas_id", notAllowed("GET, HEAD"));
  app.all("/keyvalue", notAllowed("PUT"));
  app.all("/endpoints", notAllowed("GET, HEAD"));
  return new Hono<AppEnv>().route(TUIST_BASE_PATH, app);
}

/**
 * The id and the stored form (`{"entries":[{"value":...}]}`, what GET answers)
 * of a key-value upload.
 *
 * @throws {BadRequestError} when it is not `{"cas_id": string, "entries": [{"value": string}, ...]}`.
 */
export function parseKeyValue(bytes: Uint8Array): { casId: string; document: Uint8Array<ArrayBuffer> } {
  let body: { cas_id?: unknown; entries?: unknown };
  try {
    body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new BadRequestError("the body must be JSON");
  }
  const entries = body?.entries;
  if (typeof body?.cas_id !== "string" || body.cas_id === "") {
    throw new BadRequestError('"cas_id" must be a non-empty string');
  }
  if (
    !Array.isArray(entries) || entries.length === 0 ||
    !entries.every((e) => typeof e === "object" && e !== null && typeof e.value === "string")
  ) {
    throw new BadRequestError('"entries" must be a non-empty list of {"value": string}');
  }
  const document = { entries: entries.map((e: { value: string }) => ({ value: e.value })) };
  return { casId: body.cas_id, document: new TextEncoder().encode(JSON.stringify(document)) };
}
