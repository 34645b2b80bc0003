/**
 * The PyPI routes under `/pypi`: the simple repository API (`/simple/`), the
 * files it links to (`/files/<project>/<file>` and their `.metadata`),
 * uploads at the repository URL itself (`POST /pypi/`), and yanking.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import type { Authenticator } from "../../auth/auth.ts";
import { authorizeAction, authorizeRead } from "../../auth/access.ts";
import type { ArtifactInfo, Artifacts } from "../../core/artifacts.ts";
import type { Catalog } from "../../core/catalog.ts";
import type { PackageRef } from "../../core/package.ts";
import {
  BadRequestError,
  MethodNotAllowedError,
  NotFoundError,
  RangeNotSatisfiableError,
  RegistryError,
  ServiceUnavailableError,
} from "../../errors.ts";
import type { AppEnv } from "../../http/middleware.ts";
import { ifNoneMatchHits, parseRange } from "../../http/range.ts";
import type { ObjectBody } from "../../storage/object_store.ts";
import { isValidName, normalizeName, versionIdentity } from "./names.ts";
import { negotiate } from "./negotiate.ts";
import {
  type IndexProject,
  type PageFile,
  PageMemo,
  pageResponse,
  type PreparedPage,
  type ProjectPage,
  renderIndex,
  renderProject,
} from "./pages.ts";
import { fileOf, projectRef, type PypiProject, sortVersions } from "./project.ts";
import type { UpstreamProjects } from "./proxy.ts";
import { contentTypeOf, fileInfo, filesInOrder, type PypiRegistry } from "./registry.ts";
import { handleUpload } from "./upload.ts";
import type { UpstreamProject } from "./upstream_page.ts";

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
  artifacts: Artifacts;
  auth: Authenticator;
  scratchDir: string;
  maxFileBytes: number;
  /** The absolute base URL of the server (without `/pypi`) for a request. */
  publicBaseUrl(c: Context): string;
}

/** Builds the PyPI routes (to be mounted at {@link PYPI_BASE_PATH}). */
export function createPypiApi(deps: PypiApiDeps): Hono<AppEnv> {
  const { registry, auth } = deps;
  const app = new Hono<AppEnv>({ strict: false });
  const base = (c: Context) => `${deps.publicBaseUrl(c)}${PYPI_BASE_PATH}`;
  const localPages = new PageMemo<PypiProject>();
  const upstreamPages = new PageMemo<UpstreamProject>();
  const index = new IndexMemo();

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
    await authorizeRead(auth, c.req.raw);
    const type = negotiate(c.req.header("accept"), c.req.query("format"));
    const entries = await deps.catalog.entries(["pypi"]);
    const page = index.get(entries.map((e) => e.entry), base(c), type, (projects) =>
      renderIndex(
        projects.map((p): IndexProject => ({ name: p.name, url: `${base(c)}/simple/${p.key}/` }))
          .sort((a, b) => a.url.localeCompare(b.url)),
        type,
      ));
    return pageResponse(page, c.req.header("if-none-match"));
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
    const page = await projectPage(ref, base(c), type);
    return pageResponse(page, c.req.header("if-none-match"));
  });

  /** A project's page: local files when any were uploaded here, else the upstream's. */
  async function projectPage(ref: PackageRef, baseUrl: string, type: ReturnType<typeof negotiate>) {
    const project = await registry.project(ref);
    if (project !== null) {
      return localPages.get(project, baseUrl, type, () => renderProject(localPage(ref, project, baseUrl), type));
    }
    const upstream = await deps.upstream?.project(ref);
    if (upstream === undefined || upstream === null) throw new NotFoundError(`project ${ref.id} not found`);
    return upstreamPages.get(upstream, baseUrl, type, () => renderProject(proxiedPage(ref, upstream, baseUrl), type));
  }

  app.get("/files/:project/:filename", async (c) => {
    const raw = c.req.param("project");
    if (!isValidName(raw)) throw new NotFoundError(`no project is named "${raw.slice(0, 100)}"`);
    const ref = projectRef(normalizeName(raw));
    await authorizeRead(auth, c.req.raw, ref);
    const filename = c.req.param("filename");
    const wantsMetadata = filename.endsWith(".metadata");
    const distribution = wantsMetadata ? filename.slice(0, -".metadata".length) : filename;
    const project = await registry.project(ref);
    if (project !== null) {
      const file = fileOf(project, distribution);
      if (file === undefined) throw new NotFoundError(`${ref.id} has no file ${distribution}`);
      if (wantsMetadata) {
        if (file.metadata === undefined) throw new NotFoundError(`${distribution} has no metadata file`);
        return metadataResponse(c, `"${file.metadata.sha256}"`, () => registry.readMetadata(ref, file));
      }
      return await fileResponse(c, fileInfo(ref, file), distribution, (range) => registry.openFile(ref, file, range));
    }
    const upstream = deps.upstream === undefined ? null : await deps.upstream.project(ref);
    if (upstream === null) throw new NotFoundError(`project ${ref.id} not found`);
    if (wantsMetadata) {
      const metadata = await deps.upstream!.metadata(ref, upstream, distribution);
      return metadataResponse(c, metadata.etag, () => deps.artifacts.read(metadata.key));
    }
    const info = await deps.upstream!.file(ref, upstream, distribution);
    return await fileResponse(c, info, distribution, (range) => deps.artifacts.open(info, range));
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

  const notAllowed = (allow: string) => () => {
    throw new MethodNotAllowedError(`method not allowed; use ${allow}`, allow);
  };
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
  const text = await c.req.text();
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

/** A distribution file (or a range of it), streamed. */
async function fileResponse(
  c: Context,
  info: ArtifactInfo,
  filename: string,
  open: (range?: { start: number; end: number }) => Promise<ObjectBody>,
): Promise<Response> {
  const headers: Record<string, string> = {
    "Content-Type": contentTypeOf(filename),
    "Content-Disposition": `attachment; filename="${filename}"`,
    "Accept-Ranges": "bytes",
    "Cache-Control": "public, max-age=31536000, immutable",
    ETag: info.etag,
    "Last-Modified": info.lastModified.toUTCString(),
  };
  if (ifNoneMatchHits(c.req.header("if-none-match"), info.etag)) return new Response(null, { status: 304, headers });
  const ifRange = c.req.header("if-range");
  const decision = ifRange !== undefined && ifRange.trim() !== info.etag
    ? { kind: "full" as const }
    : parseRange(c.req.header("range"), info.size);
  if (decision.kind === "unsatisfiable") throw new RangeNotSatisfiableError(info.size);
  const range = decision.kind === "partial" ? { start: decision.start, end: decision.end } : undefined;
  if (range) headers["Content-Range"] = `bytes ${range.start}-${range.end}/${info.size}`;
  headers["Content-Length"] = String(range ? range.end - range.start + 1 : info.size);
  const status = range ? 206 : 200;
  if (c.req.method === "HEAD") return new Response(null, { status, headers });
  const object = await open(range);
  if (object.size !== info.size) {
    await object.body.cancel();
    throw new ServiceUnavailableError(`the stored ${filename} is damaged; the operator has been alerted`);
  }
  return new Response(object.body, { status, headers });
}

/** A core metadata file (PEP 658), from memory once read. */
async function metadataResponse(
  c: Context,
  etag: string,
  read: () => Promise<Uint8Array<ArrayBuffer>>,
): Promise<Response> {
  const headers = {
    "Content-Type": "text/plain; charset=utf-8",
    "Cache-Control": "public, max-age=31536000, immutable",
    ETag: etag,
  };
  if (ifNoneMatchHits(c.req.header("if-none-match"), etag)) return new Response(null, { status: 304, headers });
  const bytes = await read();
  return new Response(bytes, { headers: { ...headers, "Content-Length": String(bytes.byteLength) } });
}

/**
 * The rendered index page, kept until the catalog's entries change (entries
 * are stable objects while their document is unchanged).
 */
class IndexMemo {
  #entries: readonly unknown[] = [];
  #pages = new Map<string, PreparedPage>();

  get<E extends { name: string; key: string }>(
    entries: readonly E[],
    base: string,
    type: string,
    render: (entries: readonly E[]) => PreparedPage,
  ): PreparedPage {
    const same = entries.length === this.#entries.length && entries.every((e, i) => e === this.#entries[i]);
    if (!same) {
      this.#entries = entries;
      this.#pages = new Map();
    }
    const memoKey = `${type} ${base}`;
    let page = this.#pages.get(memoKey);
    if (page === undefined) {
      if (this.#pages.size > 8) this.#pages.clear(); // clients varying Host cannot grow memory
      page = render(entries);
      this.#pages.set(memoKey, page);
    }
    return page;
  }
}

/** A {@link RegistryError} as PyPI's clients expect it: plain text; a conflict is 400 (what twine recognises). */
export function pypiErrorResponse(error: RegistryError, headers: Record<string, string>): Response {
  const status = error.status === 409 ? 400 : error.status;
  return new Response(`${error.message}\n`, {
    status,
    headers: { ...headers, "Content-Type": "text/plain; charset=utf-8" },
  });
}
