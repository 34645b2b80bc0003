/**
 * What a GOPROXY request path asks for. The go command case-encodes module
 * paths and versions (`!` before each upper-case letter, sent as `%21`), so a
 * path is percent-decoded first, then split at `/@v/` or `/@latest`, then
 * case-decoded.
 *
 * @module
 */
import { unescapeCase } from "./module.ts";

/** A request under the proxy's base path. */
export type ProxyRequest =
  | { kind: "list"; module: string }
  | { kind: "latest"; module: string }
  | { kind: "info"; module: string; version: string }
  | { kind: "mod"; module: string; version: string }
  | { kind: "zip"; module: string; version: string }
  /** `sumdb/<name>/<rest>`: the checksum database, proxied. */
  | { kind: "sumdb"; name: string; rest: string };

/** A path that names nothing the proxy serves; the message says why. */
export class ProxyPathError extends Error {}

/**
 * Parses the part of a request path after `/go/` (still percent-encoded).
 *
 * @throws {ProxyPathError} when it is not a GOPROXY path.
 * @example
 * parseProxyPath("github.com/%21azure/sdk/@v/v1.0.0.zip");
 * // { kind: "zip", module: "github.com/Azure/sdk", version: "v1.0.0" }
 */
export function parseProxyPath(raw: string): ProxyRequest {
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    throw new ProxyPathError(`malformed percent-encoding in "${raw}"`);
  }
  if (path.startsWith("sumdb/")) {
    const [, name, ...rest] = path.split("/");
    if (!/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(name ?? "") || rest.length === 0 || !rest.every(safeSegment)) {
      throw new ProxyPathError(`malformed checksum database path "${path}"`);
    }
    return { kind: "sumdb", name, rest: rest.join("/") };
  }
  if (path.endsWith("/@latest")) return { kind: "latest", module: decodeModule(path.slice(0, -"/@latest".length)) };
  const at = path.indexOf("/@v/");
  if (at < 0) throw new ProxyPathError(`"${path}" is not a module proxy path (<module>/@v/<file> or <module>/@latest)`);
  const module = decodeModule(path.slice(0, at));
  const file = path.slice(at + "/@v/".length);
  if (file === "list") return { kind: "list", module };
  const match = /^(.+)\.(info|mod|zip)$/.exec(file);
  if (match === null) throw new ProxyPathError(`"${file}" is not list, <version>.info, <version>.mod or <version>.zip`);
  const version = unescapeCase(match[1]);
  if (version === null) throw new ProxyPathError(`malformed case-encoded version "${match[1]}"`);
  return { kind: match[2] as "info" | "mod" | "zip", module, version };
}

function decodeModule(escaped: string): string {
  const module = unescapeCase(escaped);
  if (module === null || module === "") {
    throw new ProxyPathError(`malformed case-encoded module path "${escaped}" (upper-case letters are sent as !x)`);
  }
  return module;
}

function safeSegment(segment: string): boolean {
  return /^[A-Za-z0-9!._~@+,-]+$/.test(segment) && !/^\.+$/.test(segment);
}
