/**
 * HTML built from templates that escape every value: `html\`<p>${text}</p>\``
 * escapes `text` unless it is already {@link Html} (another template's
 * output, or markup this code base made itself with {@link trustedHtml}).
 * Text from publishers and upstreams is therefore escaped wherever it lands,
 * in element content and in quoted attribute values alike.
 *
 * @module
 */

/** Markup that is safe to emit as it is. */
export class Html {
  constructor(readonly value: string) {}

  toString(): string {
    return this.value;
  }
}

/** A value a template accepts: text (escaped), markup, nothing, or a list of them. */
export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/**
 * `text` with `& < > " '` escaped: safe in element content and in quoted attribute values.
 *
 * @example
 * escapeHtml('<a href="x">'); // "&lt;a href=&quot;x&quot;&gt;"
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]);
}

/** Markup written by this code base (never text from outside): emitted unescaped. */
export function trustedHtml(markup: string): Html {
  return new Html(markup);
}

/** Renders one template value: markup as it is, text escaped, `null`/`undefined`/`false` as nothing. */
function render(value: HtmlValue): string {
  if (value instanceof Html) return value.value;
  if (value === null || value === undefined || value === false) return "";
  if (Array.isArray(value)) return value.map(render).join("");
  return escapeHtml(String(value));
}

/**
 * A template whose values are escaped (see the module doc).
 *
 * @example
 * html`<p title="${title}">${body}</p>`;
 */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new Html(out);
}
