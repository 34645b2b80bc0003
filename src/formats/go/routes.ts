/**
 * The GOPROXY protocol as a Hono sub-app mounted under `/go`: version lists,
 * `.info`, `.mod`, `.zip` and `@latest` of modules published here or pulled
 * through from the upstream, the checksum database proxied to the upstream,
 * and publishing with `PUT <module>/@v/<version>.zip`.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { authorizeAction, authorizeRead, requireWritable } from "../../auth/access.ts";
import type { Authenticator } from "../../auth/auth.ts";
import { MissingArtifactError } from "../../core/artifacts.ts";
import type { PackageRef } from "../../core/package.ts";
import { stageStream } from "../../core/staging.ts";
import type { Upstream } from "../../core/upstream.ts";
import {
  BadRequestError,
  ForbiddenError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  RegistryError,
  UnprocessableError,
} from "../../errors.ts";
import type { AppEnv } from "../../http/middleware.ts";
import type { HttpServices } from "../format.ts";
import { escapeCase, isCanonicalVersion, ModuleRuleError, unescapeCase } from "./module.ts";
import { zipLimitSetting } from "./module_zip.ts";
import type { ModulePatterns } from "./patterns.ts";
import { parseProxyPath, ProxyPathError, type ProxyRequest } from "./proxy_path.ts";
import type { PullThrough } from "./pull_through.ts";
import {
  checkVersion,
  ensureAbsent,
  type GoRegistry,
  hasLocalVersions,
  type ModuleDocument,
  moduleRef,
  type PartOrigin,
  type StoredFile,
  wholeSecondTime,
} from "./registry.ts";
import {
  IMMUTABLE,
  infoResponse,
  listResponse,
  localLatestResponse,
  localListResponse,
  modResponse,
} from "./responses.ts";

/** Path under which the proxy is mounted. */
export const GO_BASE_PATH = "/go";

/** The challenge of the proxy's 401s (the go command sends `.netrc` credentials as Basic). */
export const GO_AUTH_CHALLENGE = 'Basic realm="go", charset="UTF-8"';

/** What the proxy routes need from the host. */
export interface GoApiDeps {
  registry: GoRegistry;
  /** Pull-through, when `REGISTRY_GO_UPSTREAM` is set. */
  pullThrough?: PullThrough;
  /** The upstream itself (for the checksum database), when set. */
  upstream?: Upstream;
  exclude: ModulePatterns;
  auth: Authenticator;
  scratchDir: string;
  /** Largest module zip a publish may upload. */
  maxZipBytes: number;
  publicBaseUrl(c: Context): string;
  /** Prepared responses and answering with them (see `HttpServices`). */
  prepare: HttpServices["prepare"];
  serve: HttpServices["serve"];
  serveArtifact: HttpServices["serveArtifact"];
  /** The clock (upstream answers are remembered until they are due to be asked again). */
  now: () => number;
}

/** Builds the proxy's routes (to be mounted at {@link GO_BASE_PATH}). */
export function createGoApi(deps: GoApiDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>({ strict: false });
  app.get("/*", (c) => {
    const request = parse(c, (why) => new NotFoundError(`not found: ${why}`));
    if (request.kind === "sumdb") return checksumDatabase(c, deps, request);
    return read(c, deps, request);
  });
  app.put("/*", (c) => publish(c, deps));
  app.all("/*", () => {
    throw new MethodNotAllowedError("method not allowed; use GET, HEAD, or PUT to publish", "GET, HEAD, PUT");
  });
  return app;
}

/** The request's path after `/go/`, parsed. */
function parse(c: Context, refuse: (why: string) => RegistryError): ProxyRequest {
  const path = new URL(c.req.url).pathname;
  const rest = path.slice(GO_BASE_PATH.length + 1);
  try {
    return parseProxyPath(rest);
  } catch (error) {
    if (error instanceof ProxyPathError) throw refuse(error.message);
    throw error;
  }
}

/** The ref of `module`, or the error `refuse` makes of the rule it breaks. */
export function refOf(module: string, refuse: (why: string) => RegistryError): PackageRef {
  try {
    return moduleRef(module);
  } catch (error) {
    if (error instanceof ModuleRuleError) throw refuse(error.message);
    throw error;
  }
}

type ModuleRequest = Exclude<ProxyRequest, { kind: "sumdb" }>;

async function read(c: Context, deps: GoApiDeps, request: ModuleRequest): Promise<Response> {
  const ref = refOf(request.module, (why) => new NotFoundError(`not found: ${why}`));
  await authorizeRead(deps.auth, c.req.raw, ref);
  if ("version" in request && !isCanonicalVersion(request.version)) {
    throw new NotFoundError(
      `not found: ${ref.name}@${request.version}: this proxy serves canonical versions only (such as v1.2.3)`,
    );
  }
  const document = await deps.registry.read(ref);
  if (hasLocalVersions(document)) return await readLocal(c, deps, ref, document, request);
  if (deps.pullThrough?.covers(ref.name)) return await readThrough(c, deps, deps.pullThrough, ref, document, request);
  const excluded = deps.pullThrough !== undefined ? " (it is excluded from the upstream by REGISTRY_GO_EXCLUDE)" : "";
  throw new NotFoundError(`not found: module ${ref.name} has no versions here${excluded}`);
}

/** A module with versions of its own: those only, answers prepared once per module document. */
async function readLocal(
  c: Context,
  deps: GoApiDeps,
  ref: PackageRef,
  document: ModuleDocument,
  request: ModuleRequest,
): Promise<Response> {
  const fresh = deps.registry.stillCurrent(ref, document);
  if (request.kind === "list" || request.kind === "latest") {
    const build = request.kind === "list" ? localListResponse : localLatestResponse;
    return deps.serve(c, await deps.prepare(document, request.kind, () => build(document)), fresh);
  }
  const record = document.versions[request.version];
  if (record === undefined) throw new NotFoundError(`not found: ${ref.name}@${request.version}: unknown version`);
  if (request.kind === "info") {
    const { version, time } = record;
    return deps.serve(c, await deps.prepare(document, `info ${version}`, () => infoResponse(version, time)), fresh);
  }
  const file = record[request.kind];
  return await fileResponse(c, deps, ref, document, record.version, request.kind, file, record.time, "local");
}

/**
 * A module pulled through from the upstream: the list and `@latest` as the
 * upstream has them (remembered until it is asked again, REGISTRY_UPSTREAM_TTL),
 * versions pinned when first served and answered from the module's document after.
 */
async function readThrough(
  c: Context,
  deps: GoApiDeps,
  pull: PullThrough,
  ref: PackageRef,
  document: ModuleDocument | null,
  request: ModuleRequest,
): Promise<Response> {
  const unknown = () => new NotFoundError(`not found: module ${ref.name} has no versions here or upstream`);
  if (request.kind === "list") {
    const listed = await pull.list(ref, document);
    if (listed === null) throw unknown();
    const pinned = deps.registry.stillCurrent(ref, document); // a version pinned since joins the list
    return deps.serve(c, listResponse(listed.value), () => deps.now() < listed.freshUntil && pinned());
  }
  if (request.kind === "latest") {
    const latest = await pull.latest(ref);
    if (latest === null) throw unknown();
    const { Version, Time } = latest.value;
    return deps.serve(c, infoResponse(Version, Time, true), () => deps.now() < latest.freshUntil);
  }
  const { version } = request;
  if (request.kind === "info") await pull.info(ref, version, document);
  else await pull.part(ref, version, request.kind, document);
  const current = (await deps.registry.read(ref))!; // pins are never removed: it holds this one now
  const pinned = current.upstream![version];
  if (request.kind === "info") {
    const prepared = await deps.prepare(current, `info ${version}`, () => infoResponse(version, pinned.time!));
    return deps.serve(c, prepared, deps.registry.stillCurrent(ref, current));
  }
  const time = pinned.time ?? wholeSecondTime(0);
  return await fileResponse(c, deps, ref, current, version, request.kind, pinned[request.kind]!, time, "upstream");
}

/** A stored `.mod` (prepared from memory) or `.zip` (an artifact: from memory when small, else streamed or sent by nginx). */
async function fileResponse(
  c: Context,
  deps: GoApiDeps,
  ref: PackageRef,
  document: ModuleDocument,
  version: string,
  part: "mod" | "zip",
  file: StoredFile,
  time: string,
  origin: PartOrigin,
): Promise<Response> {
  const info = deps.registry.fileInfo(ref, version, part, file, time, origin);
  const fresh = deps.registry.stillCurrent(ref, document);
  // A copy of the upstream's evicted from this node's disk is fetched again, and kept only if it is the pinned one.
  const pull = deps.pullThrough;
  const restore = origin === "upstream" && pull !== undefined
    ? () => pull.restore(ref, version, part, file)
    : undefined;
  if (part === "zip") {
    return await deps.serveArtifact(c, {
      info,
      headers: { "Content-Type": "application/zip", "Cache-Control": IMMUTABLE },
      document,
      resource: `zip ${version}`,
      fresh,
      ...(restore === undefined ? {} : { recover: () => restore().then(() => info) }),
    });
  }
  const readMod = () => deps.registry.readMod(ref, version, file, origin);
  const prepared = await deps.prepare(document, `mod ${version}`, async () => {
    const bytes = await readMod().catch(async (error) => {
      if (!(error instanceof MissingArtifactError) || restore === undefined) throw error;
      await restore();
      return await readMod();
    });
    return modResponse(bytes, info);
  });
  return deps.serve(c, prepared, fresh);
}

/**
 * `sumdb/<name>/...`: passed through to the upstream (so GOSUMDB works
 * through the proxy), or 404 without one, which sends the go command to the
 * checksum database directly. Lookups of excluded modules are refused: their
 * names must not reach a public checksum database.
 */
async function checksumDatabase(
  c: Context,
  deps: GoApiDeps,
  request: Extract<ProxyRequest, { kind: "sumdb" }>,
): Promise<Response> {
  await authorizeRead(deps.auth, c.req.raw);
  const upstream = deps.upstream;
  if (upstream === undefined) {
    throw new NotFoundError("not found: this proxy does not proxy checksum databases (no upstream is configured)");
  }
  if (request.rest.startsWith("lookup/")) {
    const module = unescapeCase(request.rest.slice("lookup/".length).split("@")[0]);
    if (module !== null && deps.exclude.matches(module)) {
      throw new ForbiddenError(
        `${module} is private here (REGISTRY_GO_EXCLUDE): it is not looked up in a public checksum database; ` +
          `add it to GONOSUMDB (or GOPRIVATE, with GONOPROXY=none)`,
      );
    }
  }
  const document = await upstream.document(`sumdb/${request.name}/${request.rest}`, "*/*");
  if (document === null) throw new NotFoundError(`not found: ${request.name}/${request.rest}`);
  return new Response(document.body, {
    headers: {
      "Content-Type": document.contentType,
      "Content-Length": String(document.body.byteLength),
      "Cache-Control": "no-cache",
    },
  });
}

/** `PUT <module>/@v/<version>.zip`: publishes a module version from its zip. */
async function publish(c: Context, deps: GoApiDeps): Promise<Response> {
  const { auth, registry } = deps;
  requireWritable(auth);
  const request = parse(c, (why) => new BadRequestError(why));
  if (request.kind !== "zip") {
    throw new MethodNotAllowedError("publish a module version with PUT /go/<module>/@v/<version>.zip", "GET, HEAD");
  }
  const ref = refOf(request.module, (why) => new BadRequestError(why));
  const { version } = request;
  checkVersion(ref, version);
  await authorizeAction(auth, c.req.raw, "publish", ref);
  ensureAbsent(await registry.read(ref), ref, version); // before the upload is read
  // A larger Content-Length was answered 413 already (the format's uploadLimit); this bounds chunked bodies.
  const limit = deps.maxZipBytes;
  const tooLarge = () =>
    new PayloadTooLargeError(`the module zip is over the ${limit}-byte limit (${zipLimitSetting(limit)})`);
  if (c.req.raw.body === null) throw new UnprocessableError("the request has no body: send the module zip");
  const zip = await stageStream(deps.scratchDir, c.req.raw.body, limit).catch((error) => {
    throw error instanceof PayloadTooLargeError ? tooLarge() : error;
  });
  let stored: ModuleDocument;
  try {
    if (zip.size === 0) throw new UnprocessableError("the module zip is empty");
    const prepared = await registry.prepare({ ref, version, zip });
    stored = await prepared.commit();
  } finally {
    await zip.dispose();
  }
  const record = stored.versions[version];
  const location = `${deps.publicBaseUrl(c)}${GO_BASE_PATH}/${escapeCase(ref.name)}/@v/${escapeCase(version)}.info`;
  const goSum = `${ref.name} ${version} ${record.zip.h1}\n${ref.name} ${version}/go.mod ${record.mod.h1}\n`;
  return new Response(`published ${ref.name}@${version}\n\ngo.sum lines:\n${goSum}`, {
    status: 201,
    headers: { "Content-Type": "text/plain; charset=utf-8", Location: location },
  });
}
