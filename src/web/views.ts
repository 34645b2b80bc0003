/**
 * The pages' contents (the frame is src/web/layout.ts): package lists (home
 * and search), a package page, the sign-in form and error messages. Every
 * value from a package is escaped by the templates; links from metadata are
 * shown only when they are http(s).
 *
 * @module
 */
import type { CatalogEntry } from "../core/catalog.ts";
import type { PackagePage } from "../formats/package_page.ts";
import { escapeHtml, type Html, html, trustedHtml } from "./html.ts";
import { shortDate, timeElement } from "./layout.ts";
import { safeLinkUrl } from "./markdown.ts";

/** The path of a package's page (`version` selects one). */
export function packagePath(format: string, key: string, version?: string): string {
  const path = `/-/web/packages/${format}/${key}`;
  return version === undefined ? path : `${path}?version=${encodeURIComponent(version)}`;
}

/** How many packages a list page shows. */
export const PAGE_SIZE = 25;

/** A page of a package list. */
export interface ListView {
  heading: string;
  /** Packages per format (local and upstream together), for the format filter. */
  counts: Array<{ format: string; count: number }>;
  /** The format filter in effect. */
  format?: string;
  entries: CatalogEntry[];
  /** 1-based page number. */
  page: number;
  hasNext: boolean;
  /** The list's own path and query, without `page` and `format`. */
  base: { path: string; query?: string };
  /** Shown when the list is empty. */
  empty: string;
}

function listHref(view: ListView, changes: { page?: number; format?: string | null }): string {
  const params = new URLSearchParams();
  if (view.base.query !== undefined) params.set("q", view.base.query);
  const format = changes.format === null ? undefined : changes.format ?? view.format;
  if (format !== undefined) params.set("format", format);
  const page = changes.page ?? 1;
  if (page > 1) params.set("page", String(page));
  const query = params.toString();
  return query === "" ? view.base.path : `${view.base.path}?${query}`;
}

/** A list of packages with the format filter and paging (home and search). */
export function listView(view: ListView): Html {
  const total = view.counts.reduce((sum, c) => sum + c.count, 0);
  const current = (selected: boolean) =>
    selected
      ? html`
        aria-current="page"
      `
      : "";
  return html`<h1>${view.heading}</h1>
<ul class="counts" aria-label="Formats">
<li><a href="${listHref(view, { format: null })}"${current(view.format === undefined)}>All formats (${total})</a></li>
${
    view.counts.map(({ format, count }) =>
      html`<li><a href="${listHref(view, { format })}"${current(view.format === format)}>${format} (${count})</a></li>`
    )
  }
</ul>
${
    view.entries.length === 0
      ? html`<p class="muted">${view.empty}</p>`
      : html`<ol class="packages">${view.entries.map(packageItem)}</ol>`
  }
${
    view.page > 1 || view.hasNext
      ? html`
        <nav class="pages" aria-label="Pages">
          <span>${view.page > 1
            ? html`<a href="${listHref(view, { page: view.page - 1 })}" rel="prev">← Previous</a>`
            : ""}</span>
          <span class="muted">Page ${view.page}</span>
          <span>${view.hasNext
            ? html`<a href="${listHref(view, { page: view.page + 1 })}" rel="next">Next →</a>`
            : ""}</span>
        </nav>
      `
      : ""
  }`;
}

function packageItem(entry: CatalogEntry): Html {
  return html`<li>
<a class="name" href="${packagePath(entry.format, entry.key)}">${entry.id}</a>
<span class="badge">${entry.format}</span>
${entry.origin === "upstream" ? html`<span class="badge warn">cached from upstream</span>` : ""}
<span class="muted">${entry.latestVersion}</span>
${entry.signer === undefined ? "" : html`<span class="badge">signed by ${entry.signer}</span>`}
${entry.description === undefined ? "" : html`<p>${truncate(entry.description, 280)}</p>`}
<p class="muted">Updated ${shortDate(entry.updatedAt)} · ${entry.versions} ${
    entry.versions === 1 ? "version" : "versions"
  }${entry.keywords?.length ? ` · ${entry.keywords.slice(0, 8).join(", ")}` : ""}</p>
</li>`;
}

/** A line to copy and its copy button (built outside any formatted template: the text is copied as it is). */
function copyLine(id: string, line: string): Html {
  return trustedHtml(
    `<div class="line"><code id="${escapeHtml(id)}">${escapeHtml(line)}</code>` +
      `<button type="button" data-copy="${escapeHtml(id)}" hidden>Copy</button></div>`,
  );
}

function truncate(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}

/** A package page: README, install lines, facts, versions. */
export function packageView(format: string, key: string, page: PackagePage, readme: Html | undefined): Html {
  const shown = page.versions.find((v) => v.version === page.version);
  const links = page.links.map((link) => ({ ...link, href: safeLinkUrl(link.url) }));
  return html`
    <p class="muted"><span class="badge">${format}</span> ${page.origin === "upstream"
      ? html`<span class="badge warn">cached from upstream</span>`
      : ""}</p>
    <h1>${page.id} <span class="muted">${page.version}</span></h1>
    ${page.description === undefined ? "" : html`<p>${page.description}</p>`}
    ${shown?.yanked === undefined
      ? ""
      : html`<p class="notice bad" role="note">Version ${page.version} was yanked${
        shown.yanked === "" ? "" : html`: ${shown.yanked}`
      }. Clients no longer resolve it.</p>`}
    ${shown?.deprecated === undefined
      ? ""
      : html`<p class="notice" role="note">Version ${page.version} is deprecated${
        shown.deprecated === "" ? "" : html`: ${shown.deprecated}`
      }.</p>`}
    <div class="layout">
      <section aria-labelledby="readme-heading">
    <h2 id="readme-heading" class="label">README</h2>
    ${readme === undefined
      ? html`<p class="muted">This version has no README.</p>`
      : html`<div class="readme">${readme}</div>`}
      </section>
      <aside>
        <section aria-labelledby="install-heading">
    <h2 id="install-heading">Install</h2>
    ${page.install.map((line, i) =>
      html`<div class="install">
<p class="client">${line.client}</p>
${copyLine(`install-${i}`, line.line)}
${
        line.setup === undefined
          ? ""
          : html`<p class="note">Once, to use this registry:</p>${copyLine(`setup-${i}`, line.setup)}`
      }
${line.note === undefined ? "" : html`<p class="note">${line.note}</p>`}
</div>`
    )}
        </section>
        <section aria-labelledby="facts-heading">
          <h2 id="facts-heading">Version ${page.version}</h2>
          <dl class="facts">
    ${page.publishedAt === undefined ? "" : html`
      <dt>Published</dt>
      <dd>${timeElement(page.publishedAt)}</dd>
    `}
    ${page.license === undefined ? "" : html`
      <dt>License</dt>
      <dd>${page.license}</dd>
    `}
    ${page.authors?.length
      ? html`
        <dt>Authors</dt>
        <dd>${page.authors.join(", ")}</dd>
      `
      : ""}
    ${page.keywords?.length
      ? html`
        <dt>Keywords</dt>
        <dd>${page.keywords.join(", ")}</dd>
      `
      : ""}
    ${page.signer === undefined ? "" : html`
      <dt>Signed by</dt>
      <dd>${page.signer.name} <code class="checksum">sha256: ${page.signer.certificateSha256}</code></dd>
    `}
    ${page.checksum === undefined ? "" : html`
      <dt>Checksum</dt>
      <dd><code class="checksum">${page.checksum.algorithm}: ${page.checksum.value}</code></dd>
    `}
    ${links.map((link) =>
      html`
        <dt>${link.label}</dt>
        <dd>${link.href === undefined
          ? link.url
          : html`<a href="${link.href}" rel="nofollow noopener noreferrer">${link.url}</a>`}</dd>
      `
    )}
          </dl>
        </section>
        <section aria-labelledby="versions-heading">
          <h2 id="versions-heading">Versions (${page.versions.length})</h2>
          <ul class="versions">
    ${page.versions.map((v) =>
      html`<li><a href="${packagePath(format, key, v.version)}"${
        v.version === page.version
          ? html`
            aria-current="page"
          `
          : ""
      }>${v.version}</a>${
        v.prerelease
          ? html`
            <span class="badge">pre-release</span>
          `
          : ""
      }${
        v.yanked === undefined ? "" : html`
          <span class="badge bad" title="${v.yanked}">yanked</span>
        `
      }${
        v.deprecated === undefined ? "" : html`
          <span class="badge warn" title="${v.deprecated}">deprecated</span>
        `
      }
<span class="muted">${shortDate(v.publishedAt)}</span></li>`
    )}
          </ul>
        </section>
      </aside>
    </div>
  `;
}

/** The sign-in form, with a message when a sign-in failed or is needed. */
export function signInView(options: { csrf: string; next: string; message?: string; bad?: boolean }): Html {
  return html`
    <h1>Sign in</h1>
    ${options.message === undefined
      ? ""
      : html`<p class="notice${options.bad ? " bad" : ""}" role="alert">${options.message}</p>`}
    <p>Sign in with a token of this registry. It is kept in a cookie only this site can read, for eight hours or until you sign out.</p>
    <form class="signin" method="post" action="/-/web/sign-in">
      <input type="hidden" name="csrf" value="${options.csrf}">
      <input type="hidden" name="next" value="${options.next}">
      <label for="token">Token</label>
      <input id="token" type="password" name="token" autocomplete="current-password" required>
      <div><button type="submit">Sign in</button></div>
    </form>
  `;
}

/** A short message page (errors). */
export function messageView(title: string, message: string): Html {
  return html`<h1>${title}</h1>
<p>${message}</p>
<p><a href="/">Back to the packages</a></p>`;
}
