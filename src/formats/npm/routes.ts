/**
 * The npm registry API as npm 11 uses it, mounted under `/npm`: packuments
 * (full and abbreviated), tarballs, publish, metadata updates (deprecate),
 * dist-tags, unpublish (admins), whoami, the legacy login and search.
 *
 * @module
 */
import { bearerRequest } from "../../../plugins/credentials.ts";
import { type Context, Hono } from "hono";
import { authorizeAction, authorizeRead } from "../../auth/access.ts";
import type { Authenticator } from "../../auth/auth.ts";
import type { Catalog, IndexedEntry } from "../../core/catalog.ts";
import type { PackageRef } from "../../core/package.ts";
import {
  BadRequestError,
  ConflictError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  UnauthorizedError,
} from "../../errors.ts";
import type { AppEnv } from "../../http/middleware.ts";
import { ifNoneMatchHits } from "../../http/range.ts";
import type { Logger } from "../../log.ts";
import type { ObjectBody } from "../../storage/object_store.ts";
import { npmRef } from "./names.ts";
import { asObject, localPackument, NpmUrls, packumentKind, preparedResponse, versionDocument } from "./packument.ts";
import { parseDistTagsPath, parsePackagePath } from "./paths.ts";
import { publishInput } from "./publish.ts";
import { type PublishBody, readPublishBody } from "./publish_body.ts";
import { type NpmRegistry } from "./registry.ts";
import type { NpmUpstream } from "./upstream.ts";
import { resolveVersion } from "./document.ts";

/** Path under which the API is mounted. */
export const NPM_BASE_PATH = "/npm";

/**
 * The `WWW-Authenticate` challenge of the npm API. npm reads the scheme: with
 * `Bearer` it tells the user the token seems invalid and to run `npm login`.
 */
export const NPM_AUTH_CHALLENGE = 'Bearer realm="npm"';

/** Largest publish document without its tarball (packuments with long readmes stay far below). */
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;
const MAX_SMALL_BODY_BYTES = 64 * 1024;

/** What the npm API needs from the host. */
export interface NpmApiDeps {
  registry: NpmRegistry;
  /** Pull-through from `REGISTRY_NPM_UPSTREAM`, when configured. */
  upstream?: NpmUpstream;
  auth: Authenticator;
  catalog: Catalog;
  scratchDir: string;
  maxArchiveBytes: number;
  /** The absolute base URL of the server (without `/npm`) for a request. */
  publicBaseUrl(c: Context): string;
  logger: Logger;
}

/** Builds the npm routes (to be mounted at {@link NPM_BASE_PATH}). */
export function createNpmApi(deps: NpmApiDeps): Hono<AppEnv> {
  const { registry, upstream, auth } = deps;
  const app = new Hono<AppEnv>({ strict: false });
  const urlsFor = (c: Context) => new NpmUrls(`${deps.publicBaseUrl(c)}${NPM_BASE_PATH}`);
  const readAccess = (c: Context, ref?: PackageRef) => authorizeRead(auth, c.req.raw, ref);
  const requireWrites = () => {
    if (!auth.acceptsCredentials) {
      throw new MethodNotAllowedError(
        "publishing isn't supported: the registry operator has not configured REGISTRY_ADMIN_TOKEN or an auth plugin",
        "GET, HEAD",
      );
    }
  };
  /** The path below `/npm`, still percent-encoded. */
  const subPath = (c: Context, prefix = "") => new URL(c.req.url).pathname.slice(NPM_BASE_PATH.length + prefix.length);

  app.get("/-/ping", (c) => c.json({}));

  app.get("/-/whoami", async (c) => {
    const principal = await auth.authenticate(c.req.raw);
    if (principal === null) throw new UnauthorizedError("not logged in: run npm login");
    return c.json({ username: principal.id });
  });

  // npm tries its web login first; a 404 makes it fall back to the legacy login below.
  app.post("/-/v1/login", () => {
    throw new NotFoundError("web login is not supported here; npm falls back to user name and password");
  });

  // The legacy login: the password is a token of this registry, and the answer hands it back as npm's token.
  app.put("/-/user/:user", async (c) => {
    const body = await readSmallJson(c.req.raw);
    const password = (body as { password?: unknown } | null)?.password;
    if (typeof password !== "string" || password === "") {
      throw new BadRequestError("the login needs a password (a token of this registry)");
    }
    const probe = bearerRequest(c.req.url, password);
    if (probe === null) throw new UnauthorizedError("the password is not a valid token of this registry");
    const principal = await auth.authenticate(probe).catch((error) => {
      if (error instanceof UnauthorizedError) return null;
      throw error;
    });
    if (principal === null) throw new UnauthorizedError("the password is not a valid token of this registry");
    return c.json({ ok: true, id: `org.couchdb.user:${principal.id}`, token: password }, 201);
  });

  app.get("/-/v1/search", async (c) => {
    const principal = await readAccess(c);
    // Only packages the caller may read are found (authorization plugins may hide some).
    const readable = (id: string) => auth.authorize(principal, "read", npmRef(id)).then(() => true, () => false);
    const { text = "", size, from } = c.req.query();
    return c.json(await search(deps.catalog, readable, text, size, from));
  });

  app.on(["GET", "HEAD", "PUT", "DELETE"], "/-/package/*", async (c) => {
    const { name, tag } = parseDistTagsPath(subPath(c, "/-/package"));
    const ref = npmRef(name);
    if (c.req.method === "GET" || c.req.method === "HEAD") {
      if (tag !== undefined) throw new MethodNotAllowedError("a dist-tag is changed with PUT or DELETE", "PUT, DELETE");
      await readAccess(c, ref);
      const doc = await registry.read(ref);
      if (doc !== null) return c.json((await registry.require(ref)).distTags);
      if (upstream !== undefined) return c.json(await upstream.distTags(ref));
      throw new NotFoundError(`package ${ref.id} not found`);
    }
    if (tag === undefined) throw new MethodNotAllowedError("use /dist-tags/<tag> to change a tag", "GET, HEAD");
    requireWrites();
    await authorizeAction(auth, c.req.raw, "publish", ref);
    if (c.req.method === "DELETE") return c.json({ ok: true, "dist-tags": await registry.removeTag(ref, tag) });
    const version = await readSmallJson(c.req.raw);
    if (typeof version !== "string") throw new BadRequestError("the body must be the version as a JSON string");
    return c.json({ ok: true, "dist-tags": await registry.setTag(ref, tag, version) }, 201);
  });

  app.on(["GET", "HEAD"], "/*", async (c) => {
    const path = parsePackagePath(subPath(c));
    if (path.kind === "revision" || path.kind === "tarball-revision") {
      throw new MethodNotAllowedError("revisions are written with PUT or DELETE", "PUT, DELETE");
    }
    const ref = npmRef(path.name);
    await readAccess(c, ref);
    const doc = await registry.read(ref);
    if (path.kind === "tarball") {
      if (doc !== null) {
        const version = registry.versionOfTarball(doc, path.file);
        if (version === undefined) throw new NotFoundError(`${ref.id} has no tarball ${path.file}`);
        const record = doc.versions[version];
        return await tarballResponse(c, await registry.openTarball(ref, version, record), record.tarball.size);
      }
      if (upstream !== undefined) return await tarballResponse(c, await upstream.openTarball(ref, path.file));
      throw new NotFoundError(`package ${ref.id} not found`);
    }
    const urls = urlsFor(c);
    if (doc !== null) {
      const current = await registry.require(ref);
      if (path.kind === "packument") {
        return preparedResponse(localPackument(current, urls, packumentKind(c.req.header("accept"))), c.req.raw);
      }
      const record = resolveVersion(current, path.version);
      if (record === undefined) throw new NotFoundError(`${ref.id} has no version or dist-tag "${path.version}"`);
      return c.json(versionDocument(current.name, record.manifest.version as string, record, urls));
    }
    if (upstream === undefined) throw new NotFoundError(`package ${ref.id} not found`);
    if (path.kind === "packument") {
      return preparedResponse(await upstream.packument(ref, urls, packumentKind(c.req.header("accept"))), c.req.raw);
    }
    const version = await upstream.version(ref, urls, path.version);
    if (version === undefined) throw new NotFoundError(`${ref.id} has no version or dist-tag "${path.version}"`);
    return c.json(version);
  });

  app.put("/*", async (c) => {
    const path = parsePackagePath(subPath(c));
    if (path.kind !== "packument" && path.kind !== "revision") {
      throw new MethodNotAllowedError("method not allowed here", "GET, HEAD");
    }
    requireWrites();
    const ref = npmRef(path.name);
    await authorizeAction(auth, c.req.raw, path.kind === "revision" ? "admin" : "publish", ref);
    const body = await readBody(c, deps);
    try {
      if (path.kind === "revision") {
        if (body.attachment !== undefined) throw new BadRequestError("a revision update carries no tarball");
        await registry.updateMetadata(ref, body.document, { removals: true, rev: path.rev });
        return c.json({ ok: true, id: ref.id });
      }
      if (body.attachment === undefined) {
        if (Object.keys(asObject(body.document._attachments)).length > 0) {
          throw new BadRequestError("the attachment has no data (a base64 string)");
        }
        await registry.updateMetadata(ref, body.document);
        return c.json({ ok: true, id: ref.id });
      }
      const input = publishInput(ref, { ...body, attachment: body.attachment });
      const doc = await registry.publish(input);
      return c.json({ ok: true, id: ref.id, rev: doc.rev }, 201);
    } finally {
      await body.attachment?.file.dispose();
    }
  });

  app.delete("/*", async (c) => {
    const path = parsePackagePath(subPath(c));
    if (path.kind !== "revision" && path.kind !== "tarball-revision") {
      throw new MethodNotAllowedError("removals name a revision: /-rev/<rev>", "GET, HEAD, PUT");
    }
    requireWrites();
    const ref = npmRef(path.name);
    await authorizeAction(auth, c.req.raw, "admin", ref);
    if (path.kind === "revision") {
      await registry.removeAll(ref, path.rev);
      return c.json({ ok: true, id: ref.id });
    }
    // The tarball of a version is deleted when its version is removed; this only confirms it.
    const doc = await registry.read(ref);
    if (doc === null) throw new NotFoundError(`package ${ref.id} not found`);
    if (registry.versionOfTarball(doc, path.file) !== undefined) {
      throw new ConflictError(`${path.file} belongs to a version of ${ref.id}; unpublish the version first`);
    }
    return c.json({ ok: true, id: ref.id });
  });

  return app;
}

async function readBody(c: Context, deps: NpmApiDeps): Promise<PublishBody> {
  if (c.req.raw.body === null) throw new BadRequestError("the request has no body");
  return await readPublishBody(c.req.raw.body, {
    scratchDir: deps.scratchDir,
    maxAttachmentBytes: deps.maxArchiveBytes,
    maxDocumentBytes: MAX_DOCUMENT_BYTES,
  });
}

/** A small JSON body (a login, a dist-tag's version). */
async function readSmallJson(request: Request): Promise<unknown> {
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let size = 0;
  for await (const chunk of request.body ?? []) {
    size += chunk.byteLength;
    if (size > MAX_SMALL_BODY_BYTES) throw new PayloadTooLargeError(`the body is over ${MAX_SMALL_BODY_BYTES} bytes`);
    chunks.push(chunk.slice());
  }
  const text = new TextDecoder().decode(await new Blob(chunks).arrayBuffer());
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequestError("the body is not valid JSON");
  }
}

/** A tarball, streamed: immutable, with its ETag; 304 on a matching `If-None-Match`. */
async function tarballResponse(c: Context, object: ObjectBody, expectedSize?: number): Promise<Response> {
  if (expectedSize !== undefined && object.size !== expectedSize) {
    await object.body.cancel();
    throw new ServiceUnavailableError("the stored tarball is damaged; the operator has been alerted");
  }
  const headers = {
    "Content-Type": "application/octet-stream",
    "Cache-Control": "public, max-age=31536000, immutable",
    ETag: object.etag,
    "Last-Modified": object.lastModified.toUTCString(),
  };
  const notModified = ifNoneMatchHits(c.req.header("if-none-match"), object.etag);
  if (notModified || c.req.method === "HEAD") {
    await object.body.cancel();
    if (notModified) return new Response(null, { status: 304, headers });
    return new Response(null, { headers: { ...headers, "Content-Length": String(object.size) } });
  }
  return new Response(object.body, { headers: { ...headers, "Content-Length": String(object.size) } });
}

/**
 * `GET /-/v1/search`: packages of the catalog whose text holds every word of
 * `text` and that `readable` allows, newest change first.
 */
async function search(
  catalog: Catalog,
  readable: (id: string) => Promise<boolean>,
  text: string,
  sizeParam?: string,
  fromParam?: string,
) {
  const size = Math.min(250, Math.max(1, Number.parseInt(sizeParam ?? "20", 10) || 20));
  const from = Math.max(0, Number.parseInt(fromParam ?? "0", 10) || 0);
  const words = text.toLowerCase().split(/\s+/).filter((w) => w !== "");
  const matches: IndexedEntry[] = [];
  for (const entry of await catalog.entries(["npm"])) {
    if (words.every((w) => entry.text.includes(w)) && await readable(entry.entry.id)) matches.push(entry);
  }
  return {
    objects: matches.slice(from, from + size).map(({ entry }) => ({
      package: {
        name: entry.id,
        scope: entry.scope ?? "unscoped",
        version: entry.latestVersion,
        ...(entry.description === undefined ? {} : { description: entry.description }),
        keywords: entry.keywords ?? [],
        date: entry.updatedAt,
        links: {},
        publisher: { username: entry.origin === "upstream" ? "(upstream)" : (entry.authors?.[0] ?? "") },
        maintainers: (entry.authors ?? []).map((username) => ({ username })),
      },
      // Packages cached from the upstream registry are marked; local ones are this registry's own.
      flags: entry.origin === "upstream" ? { upstream: true } : {},
      score: { final: 1, detail: { quality: 1, popularity: 1, maintenance: 1 } },
      searchScore: 1,
    })),
    total: matches.length,
    time: new Date().toUTCString(),
  };
}
