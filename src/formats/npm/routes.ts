/**
 * The npm registry API as npm 11 uses it, mounted under `/npm`: packuments
 * (full and abbreviated), tarballs, publish, metadata updates (deprecate),
 * dist-tags, unpublish (admins), whoami, the legacy login and search.
 *
 * @module
 */
import { bearerRequest } from "../../../plugins/credentials.ts";
import { type Context, Hono } from "hono";
import { authorizeAction, authorizeRead, mayRead, requireWritable } from "../../auth/access.ts";
import type { Authenticator } from "../../auth/auth.ts";
import type { Catalog, IndexedEntry } from "../../core/catalog.ts";
import type { PackageRef } from "../../core/package.ts";
import {
  BadRequestError,
  ConflictError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  UnauthorizedError,
} from "../../errors.ts";
import type { AppEnv } from "../../http/middleware.ts";
import { PreparedResponse } from "../../http/prepared.ts";
import type { Logger } from "../../log.ts";
import type { HttpServices } from "../format.ts";
import { npmRef } from "./names.ts";
import { asObject, localPackument, NpmUrls, packumentKind, packumentResponse, versionDocument } from "./packument.ts";
import { parseDistTagsPath, parsePackagePath } from "./paths.ts";
import { publishInput } from "./publish.ts";
import { type PublishBody, readPublishBody } from "./publish_body.ts";
import { type NpmRegistry, tarballInfo } from "./registry.ts";
import type { NpmUpstream, UpstreamPackument } from "./upstream.ts";
import { resolveVersion } from "./document.ts";
import { readBounded } from "../../util/bytes.ts";

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
/** Headers of answers that change when the package does (clients revalidate them with their ETag). */
const NO_CACHE = { "Cache-Control": "no-cache" };
/** Headers of tarballs besides those of every artifact: their bytes never change. */
const TARBALL_HEADERS = {
  "Content-Type": "application/octet-stream",
  "Cache-Control": "public, max-age=31536000, immutable",
};

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
  prepare: HttpServices["prepare"];
  serve: HttpServices["serve"];
  serveArtifact: HttpServices["serveArtifact"];
  logger: Logger;
}

/** Builds the npm routes (to be mounted at {@link NPM_BASE_PATH}). */
export function createNpmApi(deps: NpmApiDeps): Hono<AppEnv> {
  const { registry, upstream, auth } = deps;
  const app = new Hono<AppEnv>({ strict: false });
  const urlsFor = (c: Context) => new NpmUrls(`${deps.publicBaseUrl(c)}${NPM_BASE_PATH}`);
  const readAccess = (c: Context, ref?: PackageRef) => authorizeRead(auth, c.req.raw, ref);
  /**
   * How long an answer from an upstream packument may be given again: while
   * the packument is within its TTL and the name still has no local document
   * (a first local publish takes the name over at once).
   */
  const upstreamFresh = (ref: PackageRef, packument: UpstreamPackument) => {
    const noLocal = registry.stillCurrent(ref, null);
    return () => upstream!.isFresh(packument) && noLocal();
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
    const readable = (id: string) => mayRead(auth, principal, npmRef(id));
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
      if (doc !== null) {
        registry.requireVersions(ref, doc);
        const prepared = await deps.prepare(doc, "dist-tags", () => PreparedResponse.json(doc.distTags, NO_CACHE));
        return deps.serve(c, prepared, registry.stillCurrent(ref, doc));
      }
      if (upstream === undefined) throw new NotFoundError(`package ${ref.id} not found`);
      const packument = await upstream.packument(ref);
      const prepared = await deps.prepare(
        packument,
        "dist-tags",
        () => PreparedResponse.json(upstream.distTags(packument), NO_CACHE),
      );
      return deps.serve(c, prepared, upstreamFresh(ref, packument));
    }
    if (tag === undefined) throw new MethodNotAllowedError("use /dist-tags/<tag> to change a tag", "GET, HEAD");
    requireWritable(auth);
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
    if (doc !== null) {
      const fresh = registry.stillCurrent(ref, doc);
      if (path.kind === "tarball") {
        const version = registry.versionOfTarball(doc, path.file);
        if (version === undefined) throw new NotFoundError(`${ref.id} has no tarball ${path.file}`);
        return await deps.serveArtifact(c, {
          info: tarballInfo(ref, version, doc.versions[version]),
          headers: TARBALL_HEADERS,
          document: doc,
          resource: `tarball ${version}`,
          fresh,
        });
      }
      registry.requireVersions(ref, doc);
      const urls = urlsFor(c);
      if (path.kind === "packument") {
        const kind = packumentKind(c.req.header("accept"));
        const prepared = await deps.prepare(
          doc,
          `packument ${kind} ${urls.base}`,
          () => packumentResponse(localPackument(doc, urls, kind), kind),
        );
        return deps.serve(c, prepared, fresh);
      }
      const record = resolveVersion(doc, path.version);
      if (record === undefined) throw new NotFoundError(`${ref.id} has no version or dist-tag "${path.version}"`);
      const version = record.manifest.version as string;
      const prepared = await deps.prepare(
        doc,
        `version ${version} ${urls.base}`,
        () => PreparedResponse.json(versionDocument(doc.name, version, record, urls), NO_CACHE),
      );
      return deps.serve(c, prepared, fresh);
    }
    if (upstream === undefined) throw new NotFoundError(`package ${ref.id} not found`);
    const packument = await upstream.packument(ref);
    const fresh = upstreamFresh(ref, packument);
    if (path.kind === "tarball") {
      const info = await upstream.tarball(ref, packument, path.file);
      return await deps.serveArtifact(c, {
        info,
        headers: TARBALL_HEADERS,
        document: packument,
        resource: `tarball ${path.file}`,
        fresh,
        recover: () => (upstream.forget(info.key), upstream.tarball(ref, packument, path.file)),
      });
    }
    const urls = urlsFor(c);
    if (path.kind === "packument") {
      const kind = packumentKind(c.req.header("accept"));
      const prepared = await deps.prepare(
        packument,
        `packument ${kind} ${urls.base}`,
        () => packumentResponse(upstream.packumentOf(packument, ref, urls, kind), kind),
      );
      return deps.serve(c, prepared, fresh);
    }
    const version = upstream.resolve(packument, ref, path.version);
    if (version === undefined) throw new NotFoundError(`${ref.id} has no version or dist-tag "${path.version}"`);
    const prepared = await deps.prepare(
      packument,
      `version ${version} ${urls.base}`,
      () => PreparedResponse.json(upstream.versionDocument(packument, ref, urls, version), NO_CACHE),
    );
    return deps.serve(c, prepared, fresh);
  });

  app.put("/*", async (c) => {
    const path = parsePackagePath(subPath(c));
    if (path.kind !== "packument" && path.kind !== "revision") {
      throw new MethodNotAllowedError("method not allowed here", "GET, HEAD");
    }
    requireWritable(auth);
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
    requireWritable(auth);
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
  const bytes = await readBounded(
    request.body,
    MAX_SMALL_BODY_BYTES,
    () => new PayloadTooLargeError(`the body is over ${MAX_SMALL_BODY_BYTES} bytes`),
  );
  const text = new TextDecoder().decode(bytes);
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequestError("the body is not valid JSON");
  }
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
