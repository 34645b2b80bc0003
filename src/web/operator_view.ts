/**
 * The operator page: the registry's status (src/http/status.ts) for people
 * with the admin scope. Sources with their last and next run, failures and
 * skipped versions with reasons; the GitHub mirror and its rate limit;
 * storage, S3 and the disk caches against their budgets; upstream health per
 * format; the latest publishes. Reasons and names come from sources and
 * upstreams: the templates escape them.
 *
 * @module
 */
import type { JobStatus } from "../scheduler/scheduler.ts";
import type { RegistryStatus } from "../http/status.ts";
import { type Html, html } from "./html.ts";
import { packagePath } from "./views.ts";
import { timeElement } from "./layout.ts";

/** `bytes` for people: `1.5 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

const time = timeElement;

function jobState(job: JobStatus | undefined): Html {
  if (job === undefined) return html`<span class="muted">not scheduled</span>`;
  if (job.running) return html`<span class="badge ok">running</span>`;
  if (job.lastError !== undefined) return html`<span class="badge bad">failed</span>`;
  return html`<span class="badge">idle</span>`;
}

function runButton(job: string, csrf: string): Html {
  return html`
    <form class="inline" method="post" action="/-/web/admin/run">
      <input type="hidden" name="csrf" value="${csrf}">
      <input type="hidden" name="job" value="${job}">
      <button class="quiet" type="submit">Run now</button>
    </form>
  `;
}

function table(head: string[], rows: Html[], empty: string): Html {
  if (rows.length === 0) return html`<p class="muted">${empty}</p>`;
  return html`
    <div class="scroll">
      <table class="data">
        <thead>
          <tr>${head.map((h) => html`<th scope="col">${h}</th>`)}</tr>
        </thead>
        <tbody>${rows}</tbody>
      </table>
    </div>
  `;
}

/** The operator page for `status`; `notice` reports what a form just did. */
export function operatorView(status: RegistryStatus, csrf: string, notice?: string): Html {
  const skipped = status.sources.flatMap((source) =>
    Object.entries(source.skipped).flatMap(([pkg, versions]) =>
      Object.entries(versions).map(([version, reason]) => ({ source: source.name, pkg, version, reason }))
    )
  );
  const failed = status.filesystem.enabled ? Object.entries(status.filesystem.failed) : [];
  const github = status.ingestion;
  const problems = (source: string) => {
    const count = skipped.filter((s) => s.source === source).length + (source === "filesystem" ? failed.length : 0);
    return count === 0
      ? "none"
      : html`<span class="badge warn">${count} ${count === 1 ? "release" : "releases"}</span>`;
  };
  return html`
    <h1>Operator</h1>
    ${notice === undefined ? "" : html`<p class="notice" role="status">${notice}</p>`}
    <p class="muted">Version ${status.version} · formats: ${status.formats.join(", ")}</p>

    <h2 id="sources">Sources</h2>
    ${table(
      ["Source", "State", "Refused or skipped", "Last run", "Next run", "Last error", ""],
      status.sources.map((source) =>
        html`
          <tr>
            <td>${source.name}</td>
            <td>${jobState(source.job)}</td>
            <td>${problems(source.name)}</td>
            <td>${time(source.job?.lastStart)}</td>
            <td>${time(source.job?.nextRun)}</td>
            <td>${source.job?.lastError ?? "—"}</td>
            <td>${source.job === undefined ? "" : runButton(source.job.name, csrf)}</td>
          </tr>
        `
      ),
      "No source is configured (REGISTRY_FILESYSTEM_ROOT, REGISTRY_GITHUB_TOKEN, source plugins).",
    )}
    ${status.filesystem.enabled
      ? html`<h3>Directory ${status.filesystem.root}: refused releases</h3>
${
        table(
          ["Path", "Reason"],
          failed.map(([path, reason]) =>
            html`
              <tr>
                <td><code>${path}</code></td>
                <td>${reason}</td>
              </tr>
            `
          ),
          "None: every release under the directory was accepted.",
        )
      }`
      : ""}
    <h3>Skipped versions</h3>
    ${table(
      ["Source", "Package", "Version", "Reason"],
      skipped.map((s) =>
        html`
          <tr>
            <td>${s.source}</td>
            <td>${s.pkg}</td>
            <td>${s.version}</td>
            <td>${s.reason}</td>
          </tr>
        `
      ),
      "No source skipped a version.",
    )}

    <h2 id="github">GitHub mirror</h2>
    ${!github.enabled ? html`<p class="muted">Off: ${github.reason}.</p>` : html`
      <dl class="facts">
        <dt>Rate limit</dt>
        <dd>${github.rateLimitedUntil === undefined
          ? "not limited"
          : html`<span class="badge warn">limited</span> until ${time(github.rateLimitedUntil)}`}</dd>
        <dt>Last pass</dt>
        <dd>${github.lastPass === null
          ? "none yet"
          : html`${
            time(github.lastPass.finishedAt)
          }: ${github.lastPass.packages} packages, ${github.lastPass.newVersions} new versions, ${github.lastPass.failed} failed, ${github.lastPass.skipped} skipped, ${github.lastPass.apiRequests} API requests`}</dd>
      </dl>
      ${table(
        ["Repository", "Last success", "Last error", "Retrying"],
        github.repositories.map((repo) =>
          html`
            <tr>
              <td>${repo.repository}</td>
              <td>${time(repo.lastSuccess)}</td>
              <td>${repo.lastError ?? "—"}</td>
              <td>${Object.entries(repo.failures ?? {}).map(([version, f]) =>
                html`<div>${version}: ${f.reason} (attempt ${f.count}, next ${time(f.retryAfter)})</div>`
              )}</td>
            </tr>
          `
        ),
        "No repository synced yet.",
      )}
    `}

    <h2 id="jobs">Jobs on this node</h2>
    ${table(
      ["Job", "State", "Last start", "Last finish", "Next run", "Last error"],
      status.jobs.map((job) =>
        html`
          <tr>
            <td>${job.name}</td>
            <td>${jobState(job)}</td>
            <td>${time(job.lastStart)}</td>
            <td>${time(job.lastFinish)}</td>
            <td>${time(job.nextRun)}</td>
            <td>${job.lastError ?? "—"}</td>
          </tr>
        `
      ),
      "No jobs.",
    )}

    <h2 id="storage">Storage</h2>
    <dl class="facts">
    <dt>Source of truth</dt><dd>${status.storage.backend === "s3" ? "S3" : "local disk"}</dd>
    ${status.storage.s3 === undefined ? "" : html`
      <dt>Bucket</dt>
      <dd>${status.storage.s3.bucket}${status.storage.s3.prefix === ""
        ? ""
        : `/${status.storage.s3.prefix}`}${status.storage.s3.endpoint === undefined
        ? ""
        : ` at ${status.storage.s3.endpoint}`}</dd>
      <dt>S3</dt>
      <dd>${status.storage.s3.reachable
        ? html`<span class="badge ok">reachable</span>`
        : html`<span class="badge bad">unreachable</span> ${status.storage.s3.error}`}</dd>
    `}
    ${status.storage.upstreamCopies === undefined ? "" : html`
      <dt>Upstream copies</dt>
      <dd>${status.storage.upstreamCopies.copies} files, ${formatBytes(
        status.storage.upstreamCopies.usedBytes,
      )} of ${formatBytes(status.storage.upstreamCopies.maxBytes)} (${status.storage.upstreamCopies
        .evictions} evicted)</dd>
    `}
    </dl>
    ${status.storage.diskCaches.length === 0 ? "" : table(
      ["Disk cache", "Used", "Budget", "Hits", "Misses", "Evictions", "Disk errors"],
      status.storage.diskCaches.map((cache) =>
        html`
          <tr>
            <td>${cache.name}</td>
            <td>${formatBytes(cache.usedBytes)} (${Math.round(
              cache.usedBytes / Math.max(1, cache.maxBytes) * 100,
            )}%)</td>
            <td>${formatBytes(cache.maxBytes)}</td>
            <td>${cache.hits}</td>
            <td>${cache.misses}</td>
            <td>${cache.evictions}</td>
            <td>${cache.diskErrors}</td>
          </tr>
        `
      ),
      "",
    )}

    <h2 id="upstreams">Upstreams</h2>
    ${table(
      ["Format", "Upstream", "Health", "Last answer", "Last failure", "Stale copies served"],
      status.upstreams.map((u) => {
        const failing = u.lastFailure !== undefined &&
          (u.lastSuccessAt === undefined || u.lastFailure.at > u.lastSuccessAt);
        return html`
          <tr>
            <td>${u.format}</td>
            <td>${u.url}</td>
            <td>${u.lastSuccessAt === undefined && u.lastFailure === undefined
              ? html`<span class="badge">not asked yet</span>`
              : failing
              ? html`<span class="badge bad">failing</span>`
              : html`<span class="badge ok">answering</span>`}</td>
            <td>${time(u.lastSuccessAt)}</td>
            <td>${u.lastFailure === undefined ? "—" : html`${time(u.lastFailure.at)}: ${u.lastFailure.error}`}</td>
            <td>${u.staleServed}</td>
          </tr>
        `;
      }),
      "No format pulls through from an upstream (REGISTRY_<FORMAT>_UPSTREAM).",
    )}

    <h2 id="rate-limits">Rate limits</h2>
    <dl class="facts">
      <dt>Per client IP</dt>
      <dd>${status.rateLimits.perIp === 0 ? "off" : `${status.rateLimits.perIp} requests/s`}</dd>
      <dt>Per caller</dt>
      <dd>${status.rateLimits.perPrincipal === 0 ? "off" : `${status.rateLimits.perPrincipal} requests/s`}</dd>
      <dt>GitHub</dt>
      <dd>${!github.enabled
        ? "mirror off"
        : github.rateLimitedUntil === undefined
        ? "not limited"
        : html`limited until ${time(github.rateLimitedUntil)}`}</dd>
    </dl>

    <h2 id="publishes">Recent publishes on this node</h2>
    ${table(
      ["When", "Format", "Package", "Version", "By"],
      status.recentPublishes.map((p) =>
        html`
          <tr>
            <td>${time(p.at)}</td>
            <td>${p.format}</td>
            <td><a href="${packagePath(p.format, p.key, p.version)}">${p.id}</a></td>
            <td>${p.version}</td>
            <td>${p.via === "ingest" ? "a source" : "a client"}</td>
          </tr>
        `
      ),
      "Nothing was published on this node since it started.",
    )}
  `;
}
