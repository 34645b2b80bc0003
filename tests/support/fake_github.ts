/**
 * A fake GitHub REST API for ingestion tests (a small Hono app on 127.0.0.1):
 * repositories, paginated tags with ETags, root contents, raw files, commits,
 * zipballs built on the fly with GitHub's `owner-repo-sha/` top directory,
 * user repository lists, rate-limit answers and injected failures.
 *
 * Like github.com (web pages on one host, the API on another), repository
 * documents name the repository on hosts other than the API's: `html_url` and
 * `clone_url` on `webHost`, `ssh_url` on `sshHost`.
 *
 * @module
 */
import { Hono } from "hono";
import { buildZip, type TestEntry } from "./archives.ts";

/** A tag of a fake repository and the tree at it. */
export interface FakeTag {
  name: string;
  /** Files at the tag (path -> content); `symlinks` maps path -> target. */
  files: Record<string, string>;
  symlinks?: Record<string, string>;
  date?: string;
}

/** A fake repository. */
export interface FakeRepository {
  owner: string;
  repo: string;
  description?: string;
  tags: FakeTag[];
  /** `false`: the repository document has no `html_url`, `clone_url` or `ssh_url` (a minimal compatible server). */
  urls?: boolean;
}

/** Where the fake's repositories live, as their documents say. */
export interface FakeGitHubOptions {
  /** Host of `html_url` and `clone_url` (default `forge.example.test`). */
  webHost?: string;
  /** Host of `ssh_url` (default: `webHost`). */
  sshHost?: string;
}

/** A running fake GitHub. */
export interface FakeGitHub extends AsyncDisposable {
  /** API base URL (`http://127.0.0.1:PORT`). */
  url: string;
  /** Host of the repositories' web pages and https clone URLs. */
  webHost: string;
  /** Host of the repositories' ssh URLs. */
  sshHost: string;
  repositories: Map<string, FakeRepository>;
  /** Requests seen, as `"METHOD path status"`. */
  requests: string[];
  count(pattern: RegExp): number;
  /** The next `count` API requests answer 403 with `x-ratelimit-remaining: 0`, resetting at `resetAt`. */
  rateLimit(count: number, resetAt: Date): void;
  /** Zipball requests for tag `tag` answer 500 `count` times. */
  failZipball(tag: string, count: number): void;
  /** Every zipball answer waits this long first (to stop a pass midway). */
  zipballDelayMs: number;
  /** Raw files served by the contents API with `Accept: application/vnd.github.raw` (`owner/repo/path` -> text). */
  rawFiles: Map<string, string>;
  close(): Promise<void>;
}

const sha = (text: string) => {
  let h = 0x811c9dc5;
  for (const c of text) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return h.toString(16).padStart(8, "0").repeat(5);
};

/** Starts the fake API with `repositories`. */
export function startFakeGitHub(repositories: FakeRepository[], options: FakeGitHubOptions = {}): FakeGitHub {
  const webHost = options.webHost ?? "forge.example.test";
  const sshHost = options.sshHost ?? webHost;
  const repos = new Map(repositories.map((r) => [`${r.owner}/${r.repo}`.toLowerCase(), r]));
  const requests: string[] = [];
  const rawFiles = new Map<string, string>();
  let limited = 0;
  let resetAt = new Date();
  const zipballFailures = new Map<string, number>();
  const app = new Hono();

  app.use("*", async (c, next) => {
    if (limited > 0) {
      limited--;
      requests.push(`${c.req.method} ${c.req.path} 403`);
      return c.json({ message: "API rate limit exceeded" }, 403, {
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": String(Math.ceil(resetAt.getTime() / 1000)),
      });
    }
    await next();
    requests.push(`${c.req.method} ${c.req.path} ${c.res.status}`);
  });

  const find = (owner: string, repo: string) => repos.get(`${owner}/${repo}`.toLowerCase());
  const tagOf = (r: FakeRepository, ref: string) =>
    r.tags.find((t) => t.name === ref || sha(`${r.repo}@${t.name}`) === ref);

  app.get("/users/:owner/repos", (c) => {
    const owner = c.req.param("owner").toLowerCase();
    return c.json(
      [...repos.values()].filter((r) => r.owner.toLowerCase() === owner).map((r) => ({
        name: r.repo,
        owner: { login: r.owner },
      })),
    );
  });

  app.get("/repos/:owner/:repo", (c) => {
    const r = find(c.req.param("owner"), c.req.param("repo"));
    if (!r) return c.json({ message: "Not Found" }, 404);
    return c.json({
      name: r.repo,
      owner: { login: r.owner },
      description: r.description ?? null,
      ...(r.urls === false ? {} : {
        html_url: `https://${webHost}/${r.owner}/${r.repo}`,
        clone_url: `https://${webHost}/${r.owner}/${r.repo}.git`,
        ssh_url: `git@${sshHost}:${r.owner}/${r.repo}.git`,
      }),
    });
  });

  app.get("/repos/:owner/:repo/tags", (c) => {
    const r = find(c.req.param("owner"), c.req.param("repo"));
    if (!r) return c.json({ message: "Not Found" }, 404);
    const perPage = Number(c.req.query("per_page") ?? 30);
    const page = Number(c.req.query("page") ?? 1);
    const all = r.tags.map((t) => ({ name: t.name, commit: { sha: sha(`${r.repo}@${t.name}`) } }));
    const slice = all.slice((page - 1) * perPage, page * perPage);
    // Like GitHub, each page has its own ETag, derived from that page's content.
    const etag = `"${sha(JSON.stringify(slice) + (page * perPage < all.length))}"`;
    if (c.req.header("if-none-match") === etag) return c.body(null, 304, { ETag: etag });
    const headers: Record<string, string> = { ETag: etag };
    if (page * perPage < all.length) {
      headers.Link = `<${new URL(c.req.url).origin}${c.req.path}?per_page=${perPage}&page=${page + 1}>; rel="next"`;
    }
    return c.json(slice, 200, headers);
  });

  const contents = (c: import("hono").Context) => {
    const owner = c.req.param("owner")!;
    const repo = c.req.param("repo")!;
    const path = c.req.param("path") ?? "";
    if (path !== "") {
      const raw = rawFiles.get(`${owner}/${repo}/${path}`);
      if (raw === undefined) return c.json({ message: "Not Found" }, 404);
      return c.body(raw, 200, { "Content-Type": "application/vnd.github.raw" });
    }
    const r = find(owner, repo);
    const tag = r && tagOf(r, c.req.query("ref") ?? "");
    if (!r || !tag) return c.json({ message: "No commit found for the ref" }, 404);
    const names = new Set(
      [...Object.keys(tag.files), ...Object.keys(tag.symlinks ?? {})].map((p) => p.split("/")[0]),
    );
    return c.json([...names].map((name) => ({
      name,
      path: name,
      type: Object.keys(tag.files).some((p) => p.startsWith(`${name}/`)) ? "dir" : "file",
      html_url: `https://${webHost}/${r.owner}/${r.repo}/blob/${tag.name}/${name}`,
    })));
  };
  app.get("/repos/:owner/:repo/contents", contents);
  app.get("/repos/:owner/:repo/contents/", contents);
  app.get("/repos/:owner/:repo/contents/:path{.+}", contents);

  app.get("/repos/:owner/:repo/commits/:ref", (c) => {
    const r = find(c.req.param("owner"), c.req.param("repo"));
    const tag = r && tagOf(r, c.req.param("ref"));
    if (!r || !tag) return c.json({ message: "Not Found" }, 404);
    const date = tag.date ?? "2025-01-02T03:04:05Z";
    return c.json({ sha: sha(`${r.repo}@${tag.name}`), commit: { committer: { date }, author: { date } } });
  });

  app.get("/repos/:owner/:repo/zipball/:ref{.+}", async (c) => {
    const r = find(c.req.param("owner"), c.req.param("repo"));
    const tag = r && tagOf(r, c.req.param("ref"));
    if (!r || !tag) return c.json({ message: "Not Found" }, 404);
    if (fake.zipballDelayMs > 0) await new Promise((r) => setTimeout(r, fake.zipballDelayMs));
    const failures = zipballFailures.get(tag.name) ?? 0;
    if (failures > 0) {
      zipballFailures.set(tag.name, failures - 1);
      return c.json({ message: "Server Error" }, 500);
    }
    const top = `${r.owner}-${r.repo}-${sha(`${r.repo}@${tag.name}`).slice(0, 7)}`;
    const entries: TestEntry[] = [{ name: `${top}/` }];
    for (const [path, content] of Object.entries(tag.files)) entries.push({ name: `${top}/${path}`, content });
    for (const [path, target] of Object.entries(tag.symlinks ?? {})) {
      entries.push({ name: `${top}/${path}`, content: target, symlink: true });
    }
    return c.body(await buildZip(entries), 200, { "Content-Type": "application/zip" });
  });

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const close = () => server.shutdown();
  const fake: FakeGitHub = {
    zipballDelayMs: 0,
    url: `http://127.0.0.1:${server.addr.port}`,
    webHost,
    sshHost,
    repositories: repos,
    requests,
    rawFiles,
    count: (pattern) => requests.filter((r) => pattern.test(r)).length,
    rateLimit(count, reset) {
      limited = count;
      resetAt = reset;
    },
    failZipball(tag, count) {
      zipballFailures.set(tag, count);
    },
    close,
    [Symbol.asyncDispose]: close,
  };
  return fake;
}

/** A manifest declaring `toolsVersion`. */
export function manifest(toolsVersion = "5.9"): string {
  return `// swift-tools-version:${toolsVersion}\nimport PackageDescription\n\nlet package = Package(name: "P")\n`;
}
