/**
 * The PyPI routes under `/pypi`: the simple repository API (`/simple/`), the
 * files it links to (`/files/<project>/<file>` and their `.metadata`),
 * uploads at the repository URL itself (`POST /pypi/`), and yanking.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import type { Authenticator } from "../../auth/auth.ts";
import { authorizeAction, authorizeRead, mayRead } from "../../auth/access.ts";
import type { Catalog } from "../../core/catalog.ts";
import type { PackageRef } from "../../core/package.ts";
import { BadRequestError, MethodNotAllowedError, NotFoundError } from "../../errors.ts";
import { readBoundedText } from "../../http/body_limit.ts";
import type { AppEnv } from "../../http/middleware.ts";
import type { HttpServices } from "../format.ts";
import { isValidName, normalizeName, versionIdentity } from "./names.ts";
import { negotiate } from "./negotiate.ts";
import { type IndexProject, type PageFile, type ProjectPage, renderIndex, renderProject } from "./pages.ts";
import { fileOf, projectRef, type PypiProject, sortVersions } from "./project.ts";
import type { UpstreamProjects } from "./proxy.ts";
import { contentTypeOf, fileInfo, filesInOrder, metadataInfo, type PypiRegistry } from "./registry.ts";
import { handleUpload } from "./upload.ts";
import type { UpstreamProject } from "./upstream_page.ts";
import { notAllowed } from "../../http/not_allowed.ts";

/** Path under which the PyPI routes are mounted. */
export const PYPI_BASE_PATH = "/pypi";

/** The challenge of the PyPI routes' 401s: pip and twine answer `Basic` with `__token__` and a token. */
export const PYPI_AUTH_CHALLENGE = 'Basic realm="pypi"';

/** What the PyPI routes need from the host. */
export interface PypiApiDeps {
  registry: PypiRegistry;
  /** The upstream's projects, when `REGISTRY_PYPI_UPSTREAM` is set. */
  upstream?: UpstreamProjects;
  catalog: Catalog;
  auth: Authenticator;
  scratchDir: string;
  maxFileBytes: number;
  /** The absolute base URL of the server (without `/pypi`) for a request. */
  publicBaseUrl(c: Context): string;
  prepare: HttpServices["prepare"];
  serve: HttpServices["serve"];
  serveArtifact: HttpServices["serveArtifact"];
}

/** Builds the PyPI routes (to be mounted at {@link PYPI_BASE_PATH}). */
export function createPypiApi(deps: PypiApiDeps): Hono<AppEnv> {
  const { registry, auth } = deps;
  const app = new Hono<AppEnv>({ strict: false });
  const base = (c: Context) => `${deps.publicBaseUrl(c)}${PYPI_BASE_PATH}`;
  /**
   * How long an answer from an upstream page may be given again: while the
   * page is within its TTL (REGISTRY_UPSTREAM_TTL) and the project still has
   * no local document (a first upload takes the name over at once).
   */
  const upstreamFresh = (ref: PackageRef, project: UpstreamProject) => {
    const noLocal = registry.stillCurrent(ref, null);
    return () => deps.upstream!.isFresh(ref, project) && noLocal();
  };

  // Uploads go to the repository URL itself: twine does not follow redirects.
  app.post("/", async (c) => {
    const uploaded = await handleUpload(c.req.raw, {
      registry,
      auth,
      scratchDir: deps.scratchDir,
      maxFileBytes: deps.maxFileBytes,
    });
    return c.text(`OK: uploaded ${uploaded.filename}\n`);
  });

  app.get("/simple", async (c) => {
    const principal = await authorizeRead(auth, c.req.raw);
    const type = negotiate(c.req.header("accept"), c.req.query("format"));
    const baseUrl = base(c);
    const { entries, fresh } = await deps.catalog.current("pypi");
    const index = (shown: typeof entries) =>
      renderIndex(
        shown.map(({ entry }): IndexProject => ({ name: entry.name, url: `${baseUrl}/simple/${entry.key}/` }))
          .sort((a, b) => a.url.localeCompare(b.url)),
        type,
      );
    if (!auth.publicReads) {
      // Each caller sees only the projects it may read (a plugin may hide some): built per request.
      const readable = [];
      for (const indexed of entries) {
        if (await mayRead(auth, principal, projectRef(indexed.entry.key))) readable.push(indexed);
      }
      return deps.serve(c, index(readable), () => false);
    }
    return deps.serve(c, await deps.prepare(entries, `index ${type} ${baseUrl}`, () => index(entries)), fresh);
  });

  app.get("/simple/:project", async (c) => {
    const raw = c.req.param("project");
    if (!isValidName(raw)) throw new NotFoundError(`no project is named "${raw.slice(0, 100)}"`);
    const normalized = normalizeName(raw);
    const url = new URL(c.req.url);
    if (raw !== normalized || !url.pathname.endsWith("/")) {
      // PEP 503: one URL per project, normalised, with a trailing slash.
      return c.redirect(`${base(c)}/simple/${normalized}/${url.search}`, 301);
    }
    const ref = projectRef(normalized);
    await authorizeRead(auth, c.req.raw, ref);
    const type = negotiate(c.req.header("accept"), c.req.query("format"));
    const baseUrl = base(c);
    const resource = `page ${type} ${baseUrl}`;
    const project = await registry.project(ref);
    if (project !== null) {
      const prepared = await deps.prepare(
        project,
        resource,
        () => renderProject(localPage(ref, project, baseUrl), type),
      );
      return deps.serve(c, prepared, registry.stillCurrent(ref, project));
    }
    const upstream = await deps.upstream?.project(ref);
    if (upstream === undefined || upstream === null) throw new NotFoundError(`project ${ref.id} not found`);
    const prepared = await deps.prepare(
      upstream,
      resource,
      () => renderProject(proxiedPage(ref, upstream, baseUrl), type),
    );
    return deps.serve(c, prepared, upstreamFresh(ref, upstream));
  });

  app.get("/files/:project/:filename", async (c) => {
    const raw = c.req.param("project");
    if (!isValidName(raw)) throw new NotFoundError(`no project is named "${raw.slice(0, 100)}"`);
    const ref = projectRef(normalizeName(raw));
    await authorizeRead(auth, c.req.raw, ref);
    const filename = c.req.param("filename");
    const wantsMetadata = filename.endsWith(".metadata");
    const distribution = wantsMetadata ? filename.slice(0, -".metadata".length) : filename;
    const headers = wantsMetadata ? METADATA_HEADERS : fileHeaders(distribution);
    const project = await registry.project(ref);
    if (project !== null) {
      const file = fileOf(project, distribution);
      if (file === undefined) throw new NotFoundError(`${ref.id} has no file ${distribution}`);
      if (wantsMetadata && file.metadata === undefined) throw new NotFoundError(`${distribution} has no metadata file`);
      return await deps.serveArtifact(c, {
        info: wantsMetadata ? metadataInfo(ref, file, file.metadata!) : fileInfo(ref, file),
        headers,
        document: project,
        resource: `file ${filename}`,
        fresh: registry.stillCurrent(ref, project),
      });
    }
    const upstream = deps.upstream === undefined ? null : await deps.upstream.project(ref);
    if (upstream === null) throw new NotFoundError(`project ${ref.id} not found`);
    const proxy = deps.upstream!;
    const stored = () =>
      wantsMetadata ? proxy.metadata(ref, upstream, distribution) : proxy.file(ref, upstream, distribution);
    const info = await stored();
    return await deps.serveArtifact(c, {
      info,
      headers,
      document: upstream,
      resource: `file ${filename}`,
      fresh: upstreamFresh(ref, upstream),
      recover: () => (proxy.forget(info.key), stored()),
    });
  });

  // Yanking (PEP 592) by an admin: the release stays installable when pinned exactly.
  const yank = (yanked: boolean) => async (c: Context) => {
    const ref = projectRef(c.req.param("project")!);
    await authorizeAction(auth, c.req.raw, "admin", ref);
    const reason = yanked ? await reasonOf(c) : null;
    const version = c.req.param("version")!;
    await registry.setYanked(ref, version, reason);
    return c.json({ project: ref.id, version, yanked: yanked ? reason : false });
  };
  app.post("/-/yank/:project/:version", yank(true));
  app.post("/-/unyank/:project/:version", yank(false));

  app.all("/", () => {
    throw new MethodNotAllowedError(
      "this is the upload URL (POST, as twine sends it); pip reads /pypi/simple/",
      "POST",
    );
  });
  app.all("/simple", notAllowed("GET, HEAD"));
  app.all("/simple/:project", notAllowed("GET, HEAD"));
  app.all("/files/:project/:filename", notAllowed("GET, HEAD"));
  app.all("/-/yank/:project/:version", notAllowed("POST"));
  app.all("/-/unyank/:project/:version", notAllowed("POST"));
  return app;
}

/** The page of a project uploaded here. */
function localPage(ref: PackageRef, project: PypiProject, base: string): ProjectPage {
  const files = filesInOrder(project).map((file): PageFile => ({
    filename: file.filename,
    url: `${base}/files/${ref.key}/${file.filename}`,
    sha256: file.sha256,
    size: file.size,
    uploadTime: file.uploadedAt,
    ...(file.requiresPython ? { requiresPython: file.requiresPython } : {}),
    yanked: project.releases[versionIdentity(file.version)]?.yanked?.reason ?? false,
    ...(file.metadata ? { coreMetadataSha256: file.metadata.sha256 } : {}),
  }));
  return { name: ref.key, versions: sortVersions(Object.values(project.releases).map((r) => r.version)), files };
}

/** The page of an upstream project, its files pointing at this server. */
function proxiedPage(ref: PackageRef, project: UpstreamProject, base: string): ProjectPage {
  return {
    name: ref.key,
    versions: project.versions,
    files: project.files.map((file) => ({ ...file, url: `${base}/files/${ref.key}/${file.filename}` })),
  };
}

/** The yank reason from `?reason=` or a JSON body `{"reason": "..."}` ("" when none). */
async function reasonOf(c: Context): Promise<string> {
  const query = c.req.query("reason");
  if (query !== undefined) return query.slice(0, 1000);
  const text = await readBoundedText(c.req.raw, 64 * 1024);
  if (text.trim() === "") return "";
  try {
    const reason = JSON.parse(text)?.reason;
    if (reason === undefined) return "";
    if (typeof reason !== "string") throw new Error();
    return reason.slice(0, 1000);
  } catch {
    throw new BadRequestError('the body must be JSON like {"reason": "..."}');
  }
}

/** Headers of a distribution file besides those of every artifact: its bytes never change. */
function fileHeaders(filename: string): Record<string, string> {
  return {
    "Content-Type": contentTypeOf(filename),
    "Content-Disposition": `attachment; filename="${filename}"`,
    "Cache-Control": "public, max-age=31536000, immutable",
  };
}

/** Headers of a core metadata file (PEP 658) besides those of every artifact. */
const METADATA_HEADERS = {
  "Content-Type": "text/plain; charset=utf-8",
  "Cache-Control": "public, max-age=31536000, immutable",
};
