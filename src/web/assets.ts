/**
 * The pages' only static files, a style sheet, a small script and an icon, kept as
 * string constants so `deno compile` embeds them (no build step, no CDN).
 * They are served under names carrying their hash, cached for a year.
 *
 * @module
 */
import { createHash } from "node:crypto";

const STYLE = `
:root {
  color-scheme: light dark;
  --bg: #ffffff; --fg: #1f2328; --muted: #59636e; --border: #d1d9e0; --panel: #f6f8fa;
  --accent: #0b5cad; --accent-fg: #ffffff; --focus: #0969da; --warn-bg: #fff8c5; --warn-fg: #6b4c00;
  --bad-bg: #ffebe9; --bad-fg: #a40e26; --ok-fg: #1a7f37; --code-bg: #eff2f5;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  line-height: 1.5;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --border: #3d444d; --panel: #151b23;
    --accent: #4493f8; --accent-fg: #0d1117; --focus: #4493f8; --warn-bg: #3b2e00; --warn-fg: #f2cc60;
    --bad-bg: #4a0d16; --bad-fg: #ff9492; --ok-fg: #3fb950; --code-bg: #1f2630;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--fg); }
a { color: var(--accent); text-underline-offset: 2px; }
a:hover { text-decoration-thickness: 2px; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; border-radius: 3px; }
.skip { position: absolute; left: -9999px; top: 0; }
.skip:focus { left: 1rem; top: 1rem; background: var(--bg); padding: .5rem 1rem; z-index: 10; }
header.site { border-bottom: 1px solid var(--border); background: var(--panel); }
header.site .bar { max-width: 72rem; margin: 0 auto; padding: .75rem 1rem; display: flex; flex-wrap: wrap;
  gap: .75rem 1.25rem; align-items: center; }
header.site .brand { font-weight: 700; font-size: 1.1rem; color: var(--fg); text-decoration: none; }
header.site nav { display: flex; gap: 1rem; align-items: center; margin-left: auto; order: 2; }
form.search { display: flex; gap: .5rem; flex: 1 1 18rem; max-width: 36rem; order: 1; }
@media (max-width: 40rem) { form.search { order: 3; flex-basis: 100%; max-width: none; } }
input[type=search], input[type=password], input[type=text] { flex: 1; min-width: 0; font: inherit; color: inherit;
  background: var(--bg); border: 1px solid var(--border); border-radius: 6px; padding: .45rem .65rem; }
button, .button { font: inherit; cursor: pointer; border-radius: 6px; padding: .45rem .9rem;
  border: 1px solid var(--accent); background: var(--accent); color: var(--accent-fg); }
button.quiet { background: transparent; color: var(--accent); }
form.inline { display: inline; margin: 0; }
main { max-width: 72rem; margin: 0 auto; padding: 1.25rem 1rem 3rem; }
h1 { font-size: 1.6rem; margin: .25rem 0 .5rem; overflow-wrap: anywhere; }
h2 { font-size: 1.2rem; margin: 1.75rem 0 .6rem; }
.muted { color: var(--muted); }
.counts { display: flex; flex-wrap: wrap; gap: .5rem; padding: 0; margin: .5rem 0 1.25rem; list-style: none; }
.counts a, .counts span { display: inline-block; padding: .2rem .7rem; border: 1px solid var(--border);
  border-radius: 999px; text-decoration: none; color: var(--fg); }
.counts a[aria-current] { border-color: var(--accent); background: var(--panel); font-weight: 600; }
ol.packages { list-style: none; padding: 0; margin: 0; }
ol.packages li { padding: .8rem 0; border-bottom: 1px solid var(--border); }
ol.packages .name { font-weight: 600; font-size: 1.05rem; overflow-wrap: anywhere; }
ol.packages p { margin: .25rem 0 0; overflow-wrap: anywhere; }
.badge { display: inline-block; font-size: .75rem; font-weight: 600; padding: .05rem .5rem; border-radius: 999px;
  border: 1px solid var(--border); color: var(--muted); vertical-align: middle; white-space: nowrap; }
.badge.warn { background: var(--warn-bg); color: var(--warn-fg); border-color: transparent; }
.badge.bad { background: var(--bad-bg); color: var(--bad-fg); border-color: transparent; }
.badge.ok { color: var(--ok-fg); }
nav.pages { display: flex; justify-content: space-between; margin-top: 1.25rem; }
.layout { display: grid; grid-template-columns: minmax(0, 1fr) 22rem; gap: 2rem; }
@media (max-width: 52rem) { .layout { grid-template-columns: minmax(0, 1fr); } aside { order: -1; } }
aside section { border: 1px solid var(--border); border-radius: 8px; padding: .75rem 1rem; margin-bottom: 1rem;
  background: var(--panel); }
aside h2 { font-size: 1rem; margin: 0 0 .5rem; }
dl.facts { margin: 0; display: grid; grid-template-columns: auto minmax(0, 1fr); gap: .25rem .75rem; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.install { margin-bottom: .75rem; }
.install .line { display: flex; gap: .5rem; align-items: stretch; }
.install .client { margin: 0 0 .25rem; font-weight: 600; font-size: .9rem; }
.install code { flex: 1; min-width: 0; display: block; padding: .45rem .6rem; border-radius: 6px;
  background: var(--code-bg); white-space: pre-wrap; overflow-wrap: anywhere; font-size: .85rem; }
.install .note { font-size: .8rem; color: var(--muted); margin: .3rem 0 0; overflow-wrap: anywhere; }
code.checksum { font-size: .8rem; word-break: break-all; }
h2.label { font-size: .8rem; text-transform: uppercase; letter-spacing: .06em; color: var(--muted);
  margin: 0 0 .75rem; padding-bottom: .4rem; border-bottom: 1px solid var(--border); }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
ul.versions { list-style: none; padding: 0; margin: 0; max-height: 24rem; overflow-y: auto; }
ul.versions li { padding: .2rem 0; display: flex; flex-wrap: wrap; gap: .4rem; align-items: baseline; }
ul.versions a[aria-current] { font-weight: 700; }
.readme { overflow-wrap: anywhere; }
.readme img { max-width: 100%; }
.readme pre, pre.readme-plain { background: var(--code-bg); padding: .75rem; border-radius: 6px; overflow-x: auto; }
pre.readme-plain { white-space: pre-wrap; }
.readme code { background: var(--code-bg); padding: .1rem .3rem; border-radius: 4px; font-size: .9em; }
.readme pre code { background: none; padding: 0; }
.readme table { border-collapse: collapse; display: block; overflow-x: auto; }
.readme th, .readme td { border: 1px solid var(--border); padding: .3rem .6rem; }
.readme blockquote { margin: 0; padding-left: 1rem; border-left: 4px solid var(--border); color: var(--muted); }
table.data { border-collapse: collapse; width: 100%; min-width: 44rem; font-size: .92rem; }
table.data th, table.data td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid var(--border);
  vertical-align: top; overflow-wrap: break-word; }
table.data time, table.data .badge, table.data button { white-space: nowrap; }
.scroll { overflow-x: auto; }
.notice { padding: .75rem 1rem; border-radius: 8px; background: var(--warn-bg); color: var(--warn-fg); }
.notice.bad { background: var(--bad-bg); color: var(--bad-fg); }
form.signin { display: grid; gap: .6rem; max-width: 26rem; }
form.signin label { font-weight: 600; }
footer.site { max-width: 72rem; margin: 0 auto; padding: 1rem; color: var(--muted); font-size: .85rem; }
`;

const SCRIPT = `"use strict";
for (const button of document.querySelectorAll("button[data-copy]")) {
  const label = button.textContent;
  button.hidden = false;
  button.addEventListener("click", async () => {
    const source = document.getElementById(button.dataset.copy);
    const text = source ? source.textContent.trim() : "";
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const range = document.createRange();
      range.selectNodeContents(source);
      const selection = getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      document.execCommand("copy");
    }
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  });
}
`;

const ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">` +
  `<rect width="32" height="32" rx="7" fill="#0b5cad"/>` +
  `<path d="M9 10h14v4H9zm0 8h14v4H9z" fill="#fff"/></svg>`;

/** A static file with its hashed path. */
export interface Asset {
  path: string;
  contentType: string;
  body: string;
}

function asset(name: string, extension: string, contentType: string, body: string): Asset {
  const hash = createHash("sha256").update(body).digest("hex").slice(0, 12);
  return { path: `/-/web/assets/${name}.${hash}.${extension}`, contentType, body };
}

/** The style sheet of every page. */
export const STYLESHEET: Asset = asset("style", "css", "text/css; charset=utf-8", STYLE);
/** The copy buttons' script (the pages work without it, except copying). */
export const SCRIPT_ASSET: Asset = asset("copy", "js", "text/javascript; charset=utf-8", SCRIPT);
/** The pages' icon. */
export const ICON_ASSET: Asset = asset("icon", "svg", "image/svg+xml", ICON);
/** Every asset, by path. */
export const ASSETS: ReadonlyMap<string, Asset> = new Map(
  [STYLESHEET, SCRIPT_ASSET, ICON_ASSET].map((a) => [a.path, a]),
);
