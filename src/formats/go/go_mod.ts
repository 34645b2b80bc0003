/**
 * The one thing the proxy reads from a go.mod file: the module path its
 * `module` directive declares (the go command refuses a module whose go.mod
 * declares another path than the one it was required as).
 *
 * @module
 */

/**
 * The path in `text`'s `module` directive (`module example.com/m`, quoted,
 * or in a `module ( ... )` block), or `null` when it has none.
 *
 * @example
 * declaredModulePath('module "example.com/m" // the module\n\ngo 1.19\n'); // "example.com/m"
 */
export function declaredModulePath(text: string): string | null {
  const lines = text.split(/\r?\n/).map(stripComment).map((line) => line.trim());
  for (let i = 0; i < lines.length; i++) {
    const match = /^module(?:\s+(.*))?$/.exec(lines[i]);
    if (match === null) continue;
    let rest = match[1]?.trim() ?? "";
    if (rest === "(") {
      rest = lines.slice(i + 1).find((line) => line !== "") ?? "";
      if (rest === ")") return null;
    }
    return unquote(rest);
  }
  return null;
}

/** A line without its `//` comment (outside quotes). */
function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote !== null) {
      if (ch === "\\" && quote === '"') i++;
      else if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "`") {
      quote = ch;
    } else if (ch === "/" && line[i + 1] === "/") {
      return line.slice(0, i);
    }
  }
  return line;
}

function unquote(token: string): string | null {
  if (token.startsWith("`")) return token.length > 1 && token.endsWith("`") ? token.slice(1, -1) : null;
  if (token.startsWith('"')) {
    try {
      const value = JSON.parse(token);
      return typeof value === "string" ? value : null;
    } catch {
      return null;
    }
  }
  return /^\S+$/.test(token) ? token : null;
}
