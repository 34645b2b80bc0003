/**
 * Helpers for npm tests: the real npm client run against a test registry with
 * its own scratch config and cache, package folders, tarballs built in the
 * test (also hostile ones), and publish bodies exactly as npm sends them.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { packTar, type TarEntry } from "modern-tar";

/** The outcome of one npm command. */
export interface NpmRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The npm client with a scratch user config and cache, pointed at `registry` (`http://host:port/npm/`). */
export interface NpmClient extends AsyncDisposable {
  /** The scratch directory (its `.npmrc`, `cache/`, and room for projects). */
  dir: string;
  npmrc: string;
  /** Runs `npm <args>` in `cwd` (default: the scratch directory). */
  run(args: string[], cwd?: string): Promise<NpmRun>;
  /** Runs npm and fails with its output unless it exits 0. */
  ok(args: string[], cwd?: string): Promise<NpmRun>;
  /** Writes `//host:port/npm/:_authToken=<token>` (or removes it with `null`). */
  setToken(token: string | null): Promise<void>;
}

/** A scratch npm set-up for `registry` (`http://127.0.0.1:PORT/npm/`), optionally logged in with `token`. */
export async function npmClient(registry: string, token?: string): Promise<NpmClient> {
  const dir = await Deno.makeTempDir({ prefix: "npm-test-" });
  const npmrc = join(dir, ".npmrc");
  const authKey = registry.replace(/^https?:/, "");
  const write = (t: string | null | undefined) =>
    Deno.writeTextFile(
      npmrc,
      [
        `registry=${registry}`,
        "update-notifier=false",
        "audit=false",
        "fund=false",
        "loglevel=warn",
        ...(t ? [`${authKey}:_authToken=${t}`] : []),
        "",
      ].join("\n"),
    );
  await write(token);
  const run = async (args: string[], cwd = dir): Promise<NpmRun> => {
    const output = await new Deno.Command("npm", {
      args: ["--userconfig", npmrc, "--cache", join(dir, "cache"), ...args],
      cwd,
      env: { NO_COLOR: "1", npm_config_progress: "false", HOME: dir },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
  };
  const close = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  return {
    dir,
    npmrc,
    run,
    async ok(args, cwd) {
      const result = await run(args, cwd);
      if (result.code !== 0) {
        throw new Error(`npm ${args.join(" ")} exited ${result.code}\n${result.stdout}\n${result.stderr}`);
      }
      return result;
    },
    setToken: (t) => write(t),
    [Symbol.asyncDispose]: close,
  };
}

/** Runs `node <args>` in `dir` and returns what it prints (trimmed); fails with its stderr unless it exits 0. */
export async function runNode(dir: string, args: string[]): Promise<string> {
  const output = await new Deno.Command("node", { args, cwd: dir, stdout: "piped", stderr: "piped" }).output();
  if (output.code !== 0) throw new Error(`node ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`);
  return new TextDecoder().decode(output.stdout).trim();
}

/** Writes a package folder: `package.json` from `manifest`, and `files` (path → content). */
export async function writePackage(
  dir: string,
  manifest: Record<string, unknown>,
  files: Record<string, string> = {},
): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, "package.json"), JSON.stringify(manifest, null, 2));
  for (const [path, content] of Object.entries(files)) {
    await Deno.mkdir(join(dir, path, ".."), { recursive: true });
    await Deno.writeTextFile(join(dir, path), content);
  }
  return dir;
}

/** One entry of a test tarball: a file (content), a directory (no content) or a link. */
export interface TarballEntry {
  name: string;
  content?: string | Uint8Array;
  type?: "file" | "directory" | "symlink" | "link" | "character-device" | "fifo";
  linkname?: string;
}

/** A gzip'd tar of `entries`, as written (hostile names included). */
export async function buildTarball(entries: TarballEntry[]): Promise<Uint8Array<ArrayBuffer>> {
  const tarEntries: TarEntry[] = entries.map((entry) => {
    const body = typeof entry.content === "string" ? new TextEncoder().encode(entry.content) : entry.content;
    const type = entry.type ?? (entry.content === undefined ? "directory" : "file");
    return {
      header: {
        name: entry.name,
        size: type === "file" ? body?.byteLength ?? 0 : 0,
        type,
        mode: type === "directory" ? 0o755 : 0o644,
        mtime: new Date(Date.UTC(1985, 9, 26)),
        ...(entry.linkname === undefined ? {} : { linkname: entry.linkname }),
      },
      ...(type === "file" ? { body } : {}),
    };
  });
  return await gzip(await packTar(tarEntries));
}

/** A well-formed package tarball: `package/package.json` for `name@version`, plus `index.js` and `extra` entries. */
export function packageTarball(
  name: string,
  version: string,
  extra: TarballEntry[] = [],
  manifest: Record<string, unknown> = {},
): Promise<Uint8Array<ArrayBuffer>> {
  return buildTarball([
    { name: "package/package.json", content: JSON.stringify({ name, version, main: "index.js", ...manifest }) },
    { name: "package/index.js", content: `module.exports = ${JSON.stringify(`${name}@${version}`)};\n` },
    ...extra,
  ]);
}

/** Gzips bytes. */
export async function gzip(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** `sha512-<base64>` and the hex SHA-1 of bytes, as npm computes them. */
export function npmDigests(bytes: Uint8Array): { integrity: string; shasum: string } {
  return {
    integrity: `sha512-${createHash("sha512").update(bytes).digest("base64")}`,
    shasum: createHash("sha1").update(bytes).digest("hex"),
  };
}

/**
 * The JSON body `npm publish` sends for `name@version` with `tarball`;
 * `change` edits it before it is serialised (to make it wrong on purpose).
 */
export function publishBody(
  name: string,
  version: string,
  tarball: Uint8Array,
  options: { registry?: string; tag?: string; manifest?: Record<string, unknown> } = {},
  change: (body: Record<string, unknown>) => void = () => {},
): string {
  const filename = `${name}-${version}.tgz`;
  const manifest = {
    name,
    version,
    main: "index.js",
    ...options.manifest,
    _id: `${name}@${version}`,
    _nodeVersion: "20.0.0",
    _npmVersion: "11.0.0",
    dist: { ...npmDigests(tarball), tarball: `${options.registry ?? "http://localhost/npm/"}${name}/-/${filename}` },
  };
  const body: Record<string, unknown> = {
    _id: name,
    name,
    "dist-tags": { [options.tag ?? "latest"]: version },
    versions: { [version]: manifest },
    access: null,
    _attachments: {
      [filename]: {
        content_type: "application/octet-stream",
        data: Buffer.from(tarball).toString("base64"),
        length: tarball.byteLength,
      },
    },
  };
  change(body);
  return JSON.stringify(body);
}

/** The URL path of a package: `@scope%2fname` for scoped ones, as npm writes it. */
export function escaped(name: string): string {
  return name.startsWith("@") ? name.replace("/", "%2f") : name;
}
