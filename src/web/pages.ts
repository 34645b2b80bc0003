/**
 * The web pages for people, served by the registry itself at `/` and under
 * `/-/web/` (paths no format uses): the package list and search over the
 * catalog, a page per package and version (from the formats' `page()`), and
 * the operator page (admin scope) over the registry's status. Pages are
 * rendered on the server; the only script adds copy buttons.
 *
 * Reads follow the registry's read rules (REGISTRY_REQUIRE_AUTH_FOR_READ,
 * plugins' authorization): a visitor signs in with a token, kept in an
 * HttpOnly cookie (src/web/session.ts).
 *
 * @module
 */
import { bearerRequest } from "../../plugins/credentials.ts";
import { type Context, Hono } from "hono";
import type { Authenticator, Principal } from "../auth/auth.ts";
import { authorizeAction, authorizeRead, mayRead } from "../auth/access.ts";
import type { Catalog, IndexedEntry } from "../core/catalog.ts";
import { ForbiddenError, NotFoundError, UnauthorizedError } from "../errors.ts";
import type { Format } from "../formats/format.ts";
import type { AppEnv } from "../http/middleware.ts";
import { DEFAULT_AUTH_CHALLENGE, type Pages } from "../http/app.ts";
import { errorHeaders } from "../http/problem.ts";
import { publicBaseUrl } from "../http/public_url.ts";
import type { RegistryStatus } from "../http/status.ts";
import { ASSETS } from "./assets.ts";
import type { Html } from "./html.ts";
import { document, type Frame, pageHeaders, respondHtml, SECURITY_HEADERS } from "./layout.ts";
import { ReadmeRenderer } from "./markdown.ts";
import { operatorView } from "./operator_view.ts";
import { CatalogSearch } from "./search.ts";
import { credentialedRequest, csrfToken, endSession, readForm, sessionToken, startSession } from "./session.ts";
import { listView, messageView, packageView, PAGE_SIZE, signInView } from "./views.ts";

/** The paths the pages own: errors there are answered as HTML pages. */
export const WEB_PATHS = ["/", "/-/web"] as const;

/** Where a package key in a URL may come from: object-key segments. */
const PACKAGE_KEY = /^[A-Za-z0-9._@+-]+(?:\/[A-Za-z0-9._@+-]+)*$/;

/** What the pages need. */
export interface WebPagesDeps {
  formats: readonly Format[];
  catalog: Catalog;
  auth: Authenticator;
  status: () => Promise<RegistryStatus>;
  /** Asks the scheduler to run job `name` soon (in whichever worker runs it); `false` when there is no such job. */
  runJob: (name: string) => boolean | Promise<boolean>;
  version: string;
}

/** Builds the web pages. */
export function createWebPages(deps: WebPagesDeps): Pages {
  const { auth, catalog } = deps;
  const paged = deps.formats.filter((f) => f.page !== undefined);
  const pagedIds = paged.map((f) => f.id);
  const formatOf = (id: string | undefined) => paged.find((f) => f.id === id);
  const readmes = new ReadmeRenderer();
  const search = new CatalogSearch();

  const frame = (c: Context, title: string, query?: string): Frame => ({
    title,
    query,
    version: deps.version,
    ...(sessionToken(c) === undefined ? {} : { signedIn: { csrf: csrfToken(c) } }),
  });
  const signIn = (c: Context, status: 401 | 403 | 200, next: string, message?: string) =>
    respondHtml(
      c,
      status,
      document(frame(c, "Sign in"), signInView({ csrf: csrfToken(c), next, message, bad: status !== 200 })),
    );
  /** The reader, or a sign-in page when reading needs one. */
  const reader = async (c: Context, next: string): Promise<Principal | null | Response> => {
    try {
      return await authorizeRead(auth, credentialedRequest(c));
    } catch (error) {
      if (error instanceof UnauthorizedError) return signIn(c, 401, next, "Sign in to see the packages.");
      throw error;
    }
  };
  const readable = (principal: Principal | null) => ({ entry }: IndexedEntry) => {
    if (auth.publicReads) return Promise.resolve(true); // no ref to build for every entry listed
    const format = formatOf(entry.format);
    return format === undefined ? Promise.resolve(false) : mayRead(auth, principal, format.ref(entry));
  };
  /** The entries of list page `page` that `principal` may read, and whether there are more. */
  const window = async (entries: readonly IndexedEntry[], principal: Principal | null, page: number) => {
    const visible = readable(principal);
    const skip = (page - 1) * PAGE_SIZE;
    const shown: IndexedEntry[] = [];
    let seen = 0;
    for (const indexed of entries) {
      if (!await visible(indexed)) continue;
      if (seen++ < skip) continue;
      if (shown.length === PAGE_SIZE) return { shown, hasNext: true };
      shown.push(indexed);
    }
    return { shown, hasNext: false };
  };
  const listQuery = (c: Context) => {
    const format = c.req.query("format") || undefined;
    if (format !== undefined && formatOf(format) === undefined) {
      throw new NotFoundError(`no format "${format.slice(0, 40)}" has package pages here`);
    }
    const page = Number(c.req.query("page") ?? "1");
    return { format, page: Number.isInteger(page) && page >= 1 && page <= 100_000 ? page : 1 };
  };
  /**
   * How many of `entries` `principal` may read, per format: only those it may
   * read count, or the counts would tell what a plugin hides from it.
   */
  const countsOf = async (entries: readonly IndexedEntry[], principal: Principal | null) => {
    const visible = readable(principal);
    const counts = new Map(pagedIds.map((id) => [id, 0]));
    for (const indexed of entries) {
      if (counts.has(indexed.entry.format) && await visible(indexed)) {
        counts.set(indexed.entry.format, counts.get(indexed.entry.format)! + 1);
      }
    }
    return pagedIds.map((format) => ({ format, count: counts.get(format)! }));
  };

  const app = new Hono<AppEnv>();

  app.get("/", async (c) => {
    const principal = await reader(c, "/");
    if (principal instanceof Response) return principal;
    const { format, page } = listQuery(c);
    const { shown, hasNext } = await window(await catalog.entries(format ? [format] : pagedIds), principal, page);
    return respondHtml(
      c,
      200,
      document(
        frame(c, "Packages"),
        listView({
          heading: "Packages",
          counts: await countsOf(await catalog.entries(pagedIds), principal),
          format,
          entries: shown.map((i) => i.entry),
          page,
          hasNext,
          base: { path: "/" },
          empty: "No packages yet. Publish one, or let a mirror bring some in.",
        }),
      ),
    );
  });

  app.get("/-/web/search", async (c) => {
    const query = (c.req.query("q") ?? "").trim().slice(0, 200);
    const principal = await reader(c, `/-/web/search?q=${encodeURIComponent(query)}`);
    if (principal instanceof Response) return principal;
    const { format, page } = listQuery(c);
    const matches = search.search(await catalog.entries(pagedIds), query);
    const matchCounts = await countsOf(matches, principal);
    const { shown, hasNext } = await window(
      format ? matches.filter((m) => m.entry.format === format) : matches,
      principal,
      page,
    );
    return respondHtml(
      c,
      200,
      document(
        frame(c, query === "" ? "Search" : `Search: ${query}`, query),
        listView({
          heading: query === "" ? "All packages" : `Packages matching “${query}”`,
          counts: matchCounts,
          format,
          entries: shown.map((i) => i.entry),
          page,
          hasNext,
          base: { path: "/-/web/search", query },
          empty: "No package matches. Try fewer or shorter words.",
        }),
      ),
    );
  });

  app.get("/-/web/packages/:format/*", async (c) => {
    const format = formatOf(c.req.param("format"));
    const key = c.req.path.slice(`/-/web/packages/${c.req.param("format")}/`.length);
    if (format === undefined || !PACKAGE_KEY.test(key)) throw new NotFoundError("no such package");
    const entry = await catalog.get(format.id, key);
    if (entry === undefined) throw new NotFoundError(`no ${format.id} package has the key ${key}`);
    const ref = format.ref(entry);
    try {
      await authorizeRead(auth, credentialedRequest(c), ref);
    } catch (error) {
      if (error instanceof UnauthorizedError) return signIn(c, 401, c.req.path, "Sign in to see this package.");
      throw error;
    }
    const version = c.req.query("version")?.slice(0, 256) || undefined;
    const page = await format.page!(ref, { version, baseUrl: publicBaseUrl(c) });
    if (page === null) throw new NotFoundError(`${entry.id} has no versions here`);
    const readme: Html | undefined = page.readme === undefined ? undefined : readmes.render(page.readme);
    return respondHtml(
      c,
      200,
      document(frame(c, `${page.id} ${page.version}`), packageView(format.id, key, page, readme)),
    );
  });

  app.get("/-/web/assets/:file", (c) => {
    const asset = ASSETS.get(c.req.path);
    if (asset === undefined) throw new NotFoundError("no such file");
    return c.body(asset.body, 200, {
      ...SECURITY_HEADERS,
      "Content-Type": asset.contentType,
      "Cache-Control": "public, max-age=31536000, immutable",
    });
  });

  app.get("/-/web/sign-in", (c) => signIn(c, 200, safeNext(c.req.query("next"))));

  app.post("/-/web/sign-in", async (c) => {
    const form = await readForm(c);
    const next = safeNext(form.get("next") ?? undefined);
    const token = form.get("token")?.trim() ?? "";
    if (!auth.acceptsCredentials) {
      return signIn(c, 403, next, "Signing in is off: set REGISTRY_ADMIN_TOKEN or configure an auth plugin.");
    }
    const probe = /[;,]/.test(token) ? null : bearerRequest(c.req.url, token);
    if (probe === null) return signIn(c, 401, next, "That is not a token of this registry.");
    try {
      const principal = await auth.authenticate(probe);
      if (principal === null) throw new UnauthorizedError("no principal");
    } catch (error) {
      if (error instanceof UnauthorizedError) return signIn(c, 401, next, "That token was not recognised.");
      throw error;
    }
    startSession(c, token);
    return c.redirect(next, 303);
  });

  app.post("/-/web/sign-out", async (c) => {
    await readForm(c);
    endSession(c);
    return c.redirect("/", 303);
  });

  /** The operator, or the page to show instead (sign in, or not allowed). */
  const operator = async (c: Context): Promise<Response | undefined> => {
    if (sessionToken(c) === undefined && !c.req.raw.headers.has("authorization")) {
      return signIn(c, 401, "/-/web/admin", "The operator page needs a token with the admin scope.");
    }
    try {
      await authorizeAction(auth, credentialedRequest(c), "admin");
      return undefined;
    } catch (error) {
      if (error instanceof UnauthorizedError) {
        endSession(c);
        return signIn(c, 401, "/-/web/admin", "Your sign-in is no longer valid: sign in again.");
      }
      if (error instanceof ForbiddenError) {
        return respondHtml(
          c,
          403,
          document(frame(c, "Not allowed"), messageView("Not allowed", "The operator page needs the admin scope.")),
        );
      }
      throw error;
    }
  };

  app.get("/-/web/admin", async (c) => {
    const refused = await operator(c);
    if (refused !== undefined) return refused;
    const status = await deps.status();
    const ran = c.req.query("ran");
    const notice = ran !== undefined && status.jobs.some((job) => job.name === ran)
      ? `Asked ${ran} to run now.`
      : undefined;
    const page = respondHtml(c, 200, document(frame(c, "Operator"), operatorView(status, csrfToken(c), notice)));
    page.headers.set("Cache-Control", "no-store");
    return page;
  });

  app.post("/-/web/admin/run", async (c) => {
    const form = await readForm(c);
    const refused = await operator(c);
    if (refused !== undefined) return refused;
    const job = form.get("job") ?? "";
    if (!await deps.runJob(job)) throw new NotFoundError(`no job is named "${job.slice(0, 100)}"`);
    return c.redirect(`/-/web/admin?ran=${encodeURIComponent(job)}`, 303);
  });

  return {
    paths: WEB_PATHS,
    uploadLimit: { bytes: 64 * 1024, setting: "the pages' forms are small" },
    routes: () => app,
    errorResponse(error) {
      const title = error.status === 404 ? "Not found" : error.title;
      const body = document({ title, version: deps.version }, messageView(title, error.message));
      return new Response(body.value, {
        status: error.status,
        headers: { ...errorHeaders(error, DEFAULT_AUTH_CHALLENGE), ...pageHeaders() },
      });
    },
  };
}

/** Where to go after signing in: a path on this site, else the operator page. */
function safeNext(next: string | undefined): string {
  return next !== undefined && /^\/(?![/\\])[^\s]*$/.test(next) && next.length <= 2048 ? next : "/-/web/admin";
}
