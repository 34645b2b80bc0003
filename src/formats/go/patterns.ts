/**
 * Module path patterns with the go command's GOPRIVATE/GONOPROXY syntax
 * (`module.MatchPrefixPatterns`): comma-separated globs (`*`, `?`, `[a-z]`,
 * `[^x]`, `\` escapes, as in Go's `path.Match`), each matching every module
 * whose leading path elements it matches: `*.corp.example.com` matches
 * `git.corp.example.com/team/lib`, `example.com/private` matches
 * `example.com/private/tools/v2`.
 *
 * @module
 */

/** A pattern list, compiled. */
export interface ModulePatterns {
  /** The patterns as given. */
  readonly source: readonly string[];
  /** True when a pattern matches `path` or a leading part of it. */
  matches(path: string): boolean;
}

/** A malformed glob. */
export class PatternError extends Error {}

/**
 * Compiles a comma-separated pattern list.
 *
 * @throws {PatternError} naming the malformed glob.
 */
export function compileModulePatterns(list: string): ModulePatterns {
  const globs = list.split(",").map((glob) => glob.trim().replace(/\/+$/, "")).filter((glob) => glob !== "");
  const compiled = globs.map((glob) => ({ elements: glob.split("/").length, regexp: globRegExp(glob) }));
  return {
    source: globs,
    matches(path: string): boolean {
      const elements = path.split("/");
      return compiled.some(({ elements: count, regexp }) =>
        elements.length >= count && regexp.test(elements.slice(0, count).join("/"))
      );
    },
  };
}

/** Go's `path.Match` glob as a regular expression over one whole string. */
function globRegExp(glob: string): RegExp {
  const bad = () => new PatternError(`malformed pattern "${glob}"`);
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === "*") out += "[^/]*";
    else if (ch === "?") out += "[^/]";
    else if (ch === "\\") {
      if (++i >= glob.length) throw bad();
      out += escapeRegExp(glob[i]);
    } else if (ch === "[") {
      let j = i + 1;
      const negated = glob[j] === "^";
      if (negated) j++;
      let ranges = "";
      const literal = () => {
        if (glob[j] === "\\") j++;
        if (j >= glob.length) throw bad();
        return glob[j++];
      };
      while (j < glob.length && glob[j] !== "]") {
        const lo = literal();
        if (glob[j] === "-" && glob[j + 1] !== "]") {
          j++;
          const hi = literal();
          if (hi < lo) throw bad();
          ranges += `${escapeClass(lo)}-${escapeClass(hi)}`;
        } else {
          ranges += escapeClass(lo);
        }
      }
      if (j >= glob.length || ranges === "") throw bad();
      out += negated ? `[^/${ranges}]` : `[${ranges}]`;
      i = j;
    } else {
      out += escapeRegExp(ch);
    }
  }
  return new RegExp(`^${out}$`);
}

function escapeRegExp(ch: string): string {
  return ch.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

function escapeClass(ch: string): string {
  return ch.replace(/[\]\\^-]/g, "\\$&");
}
