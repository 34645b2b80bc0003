/**
 * Mirroring from GitHub (or a compatible API): for each repository, list its
 * tags (conditional requests, so an unchanged repository costs one 304),
 * normalise them to versions, and ingest every version not stored yet: check
 * the manifest at the tag, and publish the zipball through `ctx.registry`,
 * the contract every ingestion source uses (the ingestion transforms, the
 * Swift format's validation, exactly one commit across a cluster), with the
 * repository URLs its repository document gives. Versions without a
 * `Package.swift`, and archives the registry refuses, are recorded as skipped
 * (`registry.skip`) and never retried. A rate limit stops the pass and
 * records when to resume. Its state lives in its own plugin storage.
 *
 * @module
 */
import { Octokit } from "@octokit/rest";
import type { IngestOutcome, PackageName, PluginStorage, RegistryApi, VersionInfo } from "../../plugins/types.ts";
import { normalizeRepositoryUrl } from "../formats/swift/repository_url.ts";
import type { Logger } from "../log.ts";
import { hostRepositoryUrls, packageForRepository, repositoryUrls } from "./github_identity.ts";
import { versionsOfTags } from "./tags.ts";

/** What a pass over some repositories did. */
export interface SyncSummary {
  packages: number;
  newVersions: number;
  skipped: number;
  failed: number;
  apiRequests: number;
  /** Set when a rate limit stopped the pass: when GitHub allows requests again. */
  rateLimitedUntil?: string;
}

/** Per-repository state kept in storage (survives restarts, shared by nodes). */
export interface RepositoryState {
  /** ETag of each page of tags at the last complete sync. */
  tagPageEtags?: string[];
  /** Versions that failed for a reason that may pass (network, server): when to try again. */
  failures?: Record<string, { count: number; retryAfter: string; reason: string }>;
  lastSuccess?: string;
  lastError?: string;
}

/** State of the whole source. */
export interface SourceState {
  rateLimitedUntil?: string;
}

/** Options of a {@link GitHubSource}. */
export interface GitHubSourceOptions {
  token: string;
  /** API base URL (GitHub Enterprise or a compatible server). */
  apiUrl: string;
  /** The registry, as every ingestion source sees it. */
  registry: RegistryApi;
  /** The source's own state. */
  storage: PluginStorage;
  logger: Logger;
  /** Repositories synced at once. */
  concurrency: number;
  /** Deadline of each API request, in ms (zipball downloads get 20 times as long). */
  requestTimeoutMs: number;
  /** First wait before a failed version is tried again; it doubles with each failure, up to a day. */
  retryAfterMs: number;
  fetch?: typeof fetch;
  clock?: () => Date;
}

/** What a pass needs to know about a repository beyond its tags. */
interface RepositoryInfo {
  description?: string;
  /** The URLs the repository is known by, recorded with each release for `/identifiers`. */
  urls: string[];
}

/** Called as each repository finishes, for progress displays. */
export type ProgressListener = (done: number, total: number, repository: string) => void;

/** A rate limit stopped the work; `until` is when to resume. */
export class RateLimitedError extends Error {
  readonly until: Date;
  constructor(until: Date) {
    super(`rate limited until ${until.toISOString()}`);
    this.until = until;
  }
}

const STATE_KEY = "state.json";
const LAST_PASS_KEY = "last-pass.json";

/** The outcome of the last pass, with when it ran. */
export interface LastPass extends SyncSummary {
  startedAt: string;
  finishedAt: string;
}
const repositoryKey = (owner: string, repo: string) => `repos/${owner.toLowerCase()}/${repo.toLowerCase()}.json`;

/** The `github` ingestion source. */
export class GitHubSource {
  readonly #octokit: Octokit;
  readonly #options: GitHubSourceOptions;
  readonly #host: string;
  #requests = 0;

  constructor(options: GitHubSourceOptions) {
    this.#options = options;
    this.#octokit = new Octokit({
      auth: options.token,
      baseUrl: options.apiUrl.replace(/\/+$/, ""),
      userAgent: "swift-registry",
      request: { fetch: options.fetch ?? fetch, retries: 0 },
      // Octokit's own request log would write to the console; this source logs what matters itself.
      log: { debug() {}, info() {}, warn() {}, error() {} },
    });
    this.#octokit.hook.before("request", (request) => {
      this.#requests++;
      request.request = { signal: AbortSignal.timeout(options.requestTimeoutMs), ...request.request };
    });
    const api = new URL(options.apiUrl);
    this.#host = api.hostname === "api.github.com" ? "github.com" : api.host;
  }

  /** Expands `owner/repo` and `owner/*` patterns into repositories. */
  async resolve(patterns: string[]): Promise<Array<{ owner: string; repo: string }>> {
    const repositories = new Map<string, { owner: string; repo: string }>();
    for (const pattern of patterns) {
      const [owner, repo] = pattern.split("/");
      if (repo !== "*") {
        repositories.set(`${owner}/${repo}`.toLowerCase(), { owner, repo });
        continue;
      }
      const listed = await this.#call(() =>
        this.#octokit.paginate("GET /users/{username}/repos", { username: owner, per_page: 100 })
      );
      for (const r of listed) {
        repositories.set(`${r.owner.login}/${r.name}`.toLowerCase(), { owner: r.owner.login, repo: r.name });
      }
    }
    return [...repositories.values()];
  }

  /**
   * The repositories of a package list file (`owner/repo/path`, a JSON array
   * of repository URLs as the Swift Package Index publishes it), read through
   * the API; only those matching `patterns` when any are given.
   */
  async fromPackageList(list: string, patterns: string[]): Promise<Array<{ owner: string; repo: string }>> {
    const [owner, repo, ...path] = list.split("/");
    const response = await this.#call(() =>
      this.#octokit.request("GET /repos/{owner}/{repo}/contents/{path}", {
        owner,
        repo,
        path: path.join("/"),
        mediaType: { format: "raw" },
      })
    );
    const text = typeof response.data === "string" ? response.data : new TextDecoder().decode(response.data as never);
    const urls = JSON.parse(text) as unknown;
    if (!Array.isArray(urls)) throw new Error(`${list} is not a JSON array of repository URLs`);
    const wanted = patterns.map((p) => p.toLowerCase());
    const matches = (o: string, r: string) =>
      wanted.length === 0 || wanted.includes(`${o}/${r}`.toLowerCase()) || wanted.includes(`${o}/*`.toLowerCase());
    const repositories: Array<{ owner: string; repo: string }> = [];
    for (const url of urls) {
      const match = /^https?:\/\/([^/]+)\/([^/]+)\/([^/]+?)(?:\.git)?\/?$/i.exec(String(url));
      // Only repositories of the forge this source reads; another host's owner/name may be someone else.
      if (match && match[1].toLowerCase() === this.#host.toLowerCase() && matches(match[2], match[3])) {
        repositories.push({ owner: match[2], repo: match[3] });
      }
    }
    return repositories;
  }

  /** The recorded state of every repository synced so far (with its skipped versions), and of the last pass. */
  async status(): Promise<{
    lastPass: LastPass | null;
    repositories: Array<RepositoryState & { repository: string; skipped: Record<string, string> }>;
  }> {
    const { storage, registry } = this.#options;
    const repositories = [];
    for (const key of await storage.list("repos/")) {
      const state = await storage.read<RepositoryState>(key);
      const [owner, repo] = key.slice("repos/".length).replace(/\.json$/, "").split("/");
      const pkg = packageForRepository(owner, repo);
      const skipped = pkg === null ? {} : await registry.skipped(pkg);
      if (state) repositories.push({ repository: `${owner}/${repo}`, ...state, skipped });
    }
    return { lastPass: await storage.read<LastPass>(LAST_PASS_KEY), repositories };
  }

  /** Records the outcome of a pass (for the status endpoint of every node). */
  async recordPass(summary: SyncSummary, startedAt: Date): Promise<void> {
    await this.#options.storage.update<LastPass>(LAST_PASS_KEY, () => ({
      ...summary,
      startedAt: startedAt.toISOString(),
      finishedAt: this.#now().toISOString(),
    }));
  }

  /** API requests made so far by this source. */
  get requestCount(): number {
    return this.#requests;
  }

  /** When a recorded rate limit ends, if it has not ended yet. */
  async rateLimitedUntil(): Promise<string | undefined> {
    const state = await this.#options.storage.read<SourceState>(STATE_KEY);
    const until = state?.rateLimitedUntil;
    return until !== undefined && Date.parse(until) > this.#now().getTime() ? until : undefined;
  }

  /** Records (or, with `undefined`, clears) a rate limit, so every node waits for it. */
  async recordRateLimit(until: Date | undefined): Promise<void> {
    await this.#options.storage.update<SourceState>(STATE_KEY, () => ({ rateLimitedUntil: until?.toISOString() }));
    if (until) this.#options.logger.log("warn", "sync stopped by a rate limit", { until: until.toISOString() });
  }

  /** One pass over `repositories`, at most `concurrency` at a time. */
  async sync(
    repositories: Array<{ owner: string; repo: string }>,
    onProgress?: ProgressListener,
    signal?: AbortSignal,
  ): Promise<SyncSummary> {
    const summary: SyncSummary = { packages: 0, newVersions: 0, skipped: 0, failed: 0, apiRequests: 0 };
    const startRequests = this.#requests;
    let next = 0;
    let done = 0;
    let limited: Date | undefined;
    const worker = async () => {
      while (limited === undefined && next < repositories.length && !signal?.aborted) {
        const { owner, repo } = repositories[next++];
        try {
          await this.#syncRepository(owner, repo, summary, signal);
        } catch (error) {
          if (error instanceof RateLimitedError) {
            limited = error.until;
            break;
          }
          summary.failed++;
          const message = error instanceof Error ? error.message : String(error);
          this.#options.logger.log("error", "sync of a repository failed", {
            repository: `${owner}/${repo}`,
            error: message,
          });
          await this.#updateRepository(owner, repo, (s) => ({ ...s, lastError: message }));
        }
        summary.packages++;
        onProgress?.(++done, repositories.length, `${owner}/${repo}`);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.#options.concurrency) }, worker));
    if (limited !== undefined) summary.rateLimitedUntil = limited.toISOString();
    await this.recordRateLimit(limited);
    summary.apiRequests = this.#requests - startRequests;
    return summary;
  }

  async #syncRepository(owner: string, repo: string, summary: SyncSummary, signal?: AbortSignal): Promise<void> {
    const { registry, storage } = this.#options;
    const pkg = packageForRepository(owner, repo);
    if (pkg === null) throw new Error(`no valid package identity for ${owner}/${repo}`);
    const state = await storage.read<RepositoryState>(repositoryKey(owner, repo));
    const tags = await this.#tags(owner, repo, state?.tagPageEtags);
    if (tags === "unchanged") return;

    const stored = await registry.versions(pkg) ?? {};
    const skipped = await registry.skipped(pkg);
    const failures = { ...state?.failures };
    const now = this.#now().getTime();
    const skip = async (version: string, reason: string) => {
      await registry.skip(pkg, version, reason);
      delete failures[version];
      summary.skipped++;
    };
    let repository: RepositoryInfo | undefined;
    for (const [version, tag] of versionsOfTags(tags.list)) {
      if (signal?.aborted) return; // stopped: nothing is recorded, the next pass picks up from here
      if (stored[version] !== undefined || skipped[version] !== undefined) continue;
      if (failures[version] && Date.parse(failures[version].retryAfter) > now) continue; // backing off
      if (repository === undefined) {
        // Fetched once per repository per pass, and only when a version is to be ingested.
        repository = await this.#repository(owner, repo);
        this.#assertMirrorOnly(pkg, stored, owner, repo, repository.urls);
      }
      try {
        const outcome = await this.#ingestVersion(owner, repo, pkg, version, tag, repository);
        if (outcome.status === "published") {
          delete failures[version];
          summary.newVersions++;
        } else if (outcome.status === "refused") {
          // No manifest, or the archive or its metadata is refused: that will not change for this tag.
          await skip(version, outcome.reason);
        } else delete failures[version]; // another node ingested it meanwhile
      } catch (error) {
        if (error instanceof RateLimitedError) throw error;
        const reason = error instanceof Error ? error.message : String(error);
        const count = (failures[version]?.count ?? 0) + 1;
        const backoffMs = Math.min(24 * 3_600_000, this.#options.retryAfterMs * 2 ** (count - 1));
        failures[version] = { count, reason, retryAfter: new Date(now + backoffMs).toISOString() };
        summary.failed++;
        this.#options.logger.log("error", "ingesting a version failed", {
          repository: `${owner}/${repo}`,
          version,
          error: reason,
        });
      }
    }
    // Keep the tag list's ETags only when nothing is left to retry, so failures are tried again.
    const settled = Object.keys(failures).length === 0;
    await this.#updateRepository(owner, repo, (s) => ({
      ...s,
      failures,
      ...(settled ? { tagPageEtags: tags.etags, lastSuccess: this.#now().toISOString(), lastError: undefined } : {}),
    }));
  }

  /**
   * The repository's description and the URLs it is known by, from its
   * document (see {@link repositoryUrls}); URLs built from the API's host
   * name when the document names none.
   */
  async #repository(owner: string, repo: string): Promise<RepositoryInfo> {
    const { data } = await this.#call(() => this.#octokit.request("GET /repos/{owner}/{repo}", { owner, repo }));
    const urls = repositoryUrls(data);
    return {
      description: data.description ?? undefined,
      urls: urls.length > 0 ? urls : hostRepositoryUrls(this.#host, owner, repo),
    };
  }

  /**
   * Throws unless every stored version declares one of the repository's URLs
   * (in any spelling; URLs built from the API's host name, as earlier
   * versions recorded them, count too), so two sources never mix in a package.
   */
  #assertMirrorOnly(
    pkg: PackageName,
    stored: Record<string, VersionInfo>,
    owner: string,
    repo: string,
    urls: string[],
  ): void {
    const own = new Set([...urls, ...hostRepositoryUrls(this.#host, owner, repo)].map(normalizeRepositoryUrl));
    own.delete(null);
    const foreign = Object.values(stored).find(({ metadata }) => {
      const declared = metadata.repositoryURLs;
      return !(Array.isArray(declared) && declared.some((url) => own.has(normalizeRepositoryUrl(String(url)))));
    });
    if (foreign !== undefined) {
      throw new Error(
        `package ${pkg.scope}.${pkg.name} already holds releases from another source; not mirroring ${owner}/${repo} into it`,
      );
    }
  }

  async #ingestVersion(
    owner: string,
    repo: string,
    pkg: PackageName,
    version: string,
    tag: { name: string; commitSha: string },
    repository: RepositoryInfo,
  ): Promise<IngestOutcome> {
    const root = await this.#call(() =>
      this.#octokit.request("GET /repos/{owner}/{repo}/contents/{path}", { owner, repo, path: "", ref: tag.commitSha })
    );
    const files = (Array.isArray(root.data) ? root.data : []) as Array<
      { name: string; type: string; html_url?: string | null }
    >;
    if (!files.some((f) => f.name === "Package.swift" && f.type === "file")) {
      return { status: "refused", reason: `no Package.swift at the root of tag ${tag.name}` };
    }
    const license = files.find((f) => f.type === "file" && /^(licen[cs]e|copying)(\.[a-z]+)?$/i.test(f.name));
    const readme = files.find((f) => f.type === "file" && /^readme(\.[a-z]+)?$/i.test(f.name));
    const commit = await this.#call(() =>
      this.#octokit.request("GET /repos/{owner}/{repo}/commits/{ref}", { owner, repo, ref: tag.commitSha })
    );
    const committedAt = commit.data.commit.committer?.date ?? commit.data.commit.author?.date;

    const zipball = await this.#call(() =>
      this.#octokit.request("GET /repos/{owner}/{repo}/zipball/{ref}", {
        owner,
        repo,
        ref: tag.commitSha,
        // A zipball may take a while: it gets a longer deadline than other calls.
        request: { parseSuccessResponseBody: false, signal: AbortSignal.timeout(this.#options.requestTimeoutMs * 20) },
      })
    );
    const metadata: Record<string, unknown> = {
      repositoryURLs: repository.urls,
      ...(repository.description ? { description: repository.description } : {}),
      ...(license?.html_url ? { licenseURL: license.html_url } : {}),
      ...(readme?.html_url ? { readmeURL: readme.html_url } : {}),
      ...(committedAt
        ? { originalPublicationTime: new Date(committedAt).toISOString().replace(/\.\d{3}Z$/, "Z") }
        : {}),
    };
    const outcome = await this.#options.registry.publish({
      package: pkg,
      version,
      archive: zipball.data as unknown as ReadableStream<Uint8Array>,
      metadata,
    });
    if (outcome.status === "published") {
      this.#options.logger.log("info", "version ingested", { repository: `${owner}/${repo}`, version, tag: tag.name });
    }
    if (outcome.status === "refused") return { status: "refused", reason: `refused: ${outcome.reason}` };
    return outcome;
  }

  /**
   * All tags (every page), or `"unchanged"` when every page still has the
   * ETag it had at the last complete sync (one 304 per page).
   */
  async #tags(
    owner: string,
    repo: string,
    etags: string[] | undefined,
  ): Promise<{ list: Array<{ name: string; commitSha: string }>; etags: string[] } | "unchanged"> {
    const page = (number: number, etag?: string) =>
      this.#call(() =>
        this.#octokit.request("GET /repos/{owner}/{repo}/tags", {
          owner,
          repo,
          per_page: 100,
          page: number,
          headers: etag ? { "if-none-match": etag } : {},
        })
      );
    if (etags !== undefined && etags.length > 0) {
      let unchanged = true;
      for (let i = 0; i < etags.length && unchanged; i++) {
        try {
          await page(i + 1, etags[i]);
          unchanged = false;
        } catch (error) {
          if ((error as { status?: number }).status !== 304) throw error;
        }
      }
      if (unchanged) return "unchanged";
    }
    const list: Array<{ name: string; commitSha: string }> = [];
    const pageEtags: string[] = [];
    for (let number = 1;; number++) {
      const response = await page(number);
      pageEtags.push(response.headers.etag ?? "");
      for (const tag of response.data) list.push({ name: tag.name, commitSha: tag.commit.sha });
      if (!/rel="next"/.test(response.headers.link ?? "")) break;
    }
    return { list, etags: pageEtags };
  }

  /** Runs an API call, turning rate-limit answers into {@link RateLimitedError}. */
  async #call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      const status = (error as { status?: number }).status;
      const headers = ((error as { response?: { headers?: Record<string, string> } }).response?.headers) ?? {};
      const limited = status === 429 ||
        (status === 403 && (headers["x-ratelimit-remaining"] === "0" || headers["retry-after"] !== undefined));
      if (!limited) throw error;
      const now = this.#now().getTime();
      const retryAfter = headers["retry-after"];
      const until = retryAfter !== undefined
        ? (/^\d+$/.test(retryAfter) ? now + Number(retryAfter) * 1000 : Date.parse(retryAfter) || now + 60_000)
        : headers["x-ratelimit-reset"] !== undefined
        ? Number(headers["x-ratelimit-reset"]) * 1000
        : now + 60_000;
      throw new RateLimitedError(new Date(Math.max(until, now + 1000)));
    }
  }

  async #updateRepository(owner: string, repo: string, change: (state: RepositoryState) => RepositoryState) {
    await this.#options.storage.update<RepositoryState>(repositoryKey(owner, repo), (current) => change(current ?? {}));
  }

  #now(): Date {
    return this.#options.clock?.() ?? new Date();
  }
}
