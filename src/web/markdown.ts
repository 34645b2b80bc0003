/**
 * README rendering: Markdown to HTML with markdown-it, raw HTML disabled (it
 * is shown as text), and links and images only to http(s), `mailto:` and
 * in-page anchors: `javascript:`, `data:`, relative and every other kind of
 * URL are refused (markdown-it then shows the link as text). External links
 * get `rel="nofollow noopener noreferrer"`. Rendered READMEs are kept in
 * memory, so a page view renders nothing twice.
 *
 * @module
 */
import MarkdownIt from "markdown-it";
import type { PageReadme } from "../formats/package_page.ts";
import { LruCache } from "../util/lru_cache.ts";
import { escapeHtml, Html } from "./html.ts";

/** URLs a README may link to or show an image from. */
const ALLOWED_URL = /^(?:https?:\/\/|mailto:|#)/i;

/**
 * The URL when it may be shown as a link (http or https only), else `undefined`.
 *
 * @example
 * safeLinkUrl("javascript:alert(1)"); // undefined
 */
export function safeLinkUrl(url: string): string | undefined {
  const trimmed = url.trim();
  if (!/^https?:\/\//i.test(trimmed) || !URL.canParse(trimmed)) return undefined;
  return new URL(trimmed).href;
}

function createRenderer(): InstanceType<typeof MarkdownIt> {
  const md = new MarkdownIt({ html: false, linkify: true, typographer: false });
  md.validateLink = (url: string) => ALLOWED_URL.test(url.trim());
  const renderToken = md.renderer.renderToken.bind(md.renderer);
  md.renderer.rules.link_open = (tokens, index, options) => {
    const token = tokens[index];
    if (!String(token.attrGet("href") ?? "").startsWith("#")) token.attrSet("rel", "nofollow noopener noreferrer");
    return renderToken(tokens, index, options);
  };
  return md;
}

/** Renders READMEs, remembering the last ones rendered. */
export class ReadmeRenderer {
  readonly #md = createRenderer();
  readonly #rendered: LruCache<string, Html>;

  constructor(memoryBytes = 16 * 1024 * 1024) {
    this.#rendered = new LruCache(memoryBytes, (h) => h.value.length * 2);
  }

  /** A README as HTML: Markdown rendered safely, plain text preformatted. */
  render(readme: PageReadme): Html {
    if (readme.markup === "plain") return new Html(`<pre class="readme-plain">${escapeHtml(readme.text)}</pre>`);
    let rendered = this.#rendered.get(readme.text);
    if (rendered === undefined) {
      rendered = new Html(this.#md.render(readme.text));
      this.#rendered.set(readme.text, rendered);
    }
    return rendered;
  }
}
