/**
 * Go test helpers: module zips built the way the go command builds them, a
 * fake upstream GOPROXY on 127.0.0.1, publishing, and the real go command run
 * with cold caches in scratch directories, talking to the test server only.
 *
 * @module
 */
import { buildZip, type TestEntry } from "./archives.ts";
import { ADMIN_TOKEN } from "./server.ts";

/** Case-encodes a module path or version as the go command does in URLs. */
export function escapeCase(text: string): string {
  return text.replace(/[A-Z]/g, (ch) => `!${ch.toLowerCase()}`);
}

/**
 * A module zip: every file under `<module>@<version>/`, with a go.mod
 * declaring `module` unless `files` brings its own (or `goMod: false`).
 */
export function moduleZip(
  module: string,
  version: string,
  files: Record<string, string | Uint8Array> = {},
  options: { goMod?: boolean } = {},
): Promise<Uint8Array<ArrayBuffer>> {
  const all: Record<string, string | Uint8Array> = options.goMod === false || "go.mod" in files
    ? files
    : { "go.mod": `module ${module}\n\ngo 1.19\n`, ...files };
  const entries: TestEntry[] = Object.entries(all).map(([name, content]) => ({
    name: `${module}@${version}/${name}`,
    content,
  }));
  return buildZip(entries);
}

/** A Go library module whose package `pkg` has `func Hello() string { return greeting }`. */
export function libraryZip(module: string, version: string, greeting: string): Promise<Uint8Array<ArrayBuffer>> {
  const pkg = module.split("/").filter((e) => !/^v\d+$/.test(e)).at(-1)!.replace(/[^a-z0-9]/gi, "");
  return moduleZip(module, version, {
    [`${pkg}.go`]: `package ${pkg}\n\n// Hello greets.\nfunc Hello() string { return ${JSON.stringify(greeting)} }\n`,
  });
}

/** Publishes a module zip with `PUT /go/<module>/@v/<version>.zip`. */
export function publishModule(
  server: string,
  module: string,
  version: string,
  zip: Uint8Array<ArrayBuffer>,
  token: string | null = ADMIN_TOKEN,
): Promise<Response> {
  const headers: Record<string, string> = { "Content-Type": "application/zip" };
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  return fetch(`${server}/go/${escapeCase(module)}/@v/${escapeCase(version)}.zip`, {
    method: "PUT",
    headers,
    body: zip,
  });
}

/** One module version a fake upstream serves. */
export interface FakeModuleVersion {
  module: string;
  version: string;
  time: string;
  mod: string;
  zip: Uint8Array<ArrayBuffer>;
}

/** A fake upstream GOPROXY on 127.0.0.1. */
export interface FakeGoProxy extends AsyncDisposable {
  /** Its GOPROXY URL. */
  url: string;
  /** Paths requested, in order. */
  requests: string[];
  /** Replaces the bytes served for a version's zip (an upstream that changed a published version). */
  replaceZip(module: string, version: string, zip: Uint8Array<ArrayBuffer>): void;
  /** Adds a version. */
  add(version: FakeModuleVersion): void;
  /** Answers `path` (under the proxy) with this response from now on. */
  route(path: string, answer: () => Response): void;
  close(): Promise<void>;
}

/** Starts a fake upstream serving `versions`. */
export function startFakeGoProxy(versions: FakeModuleVersion[] = []): FakeGoProxy {
  const known = [...versions];
  const routes = new Map<string, () => Response>();
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname).replace(/^\/+/, "");
    requests.push(path);
    const routed = routes.get(path);
    if (routed !== undefined) return routed();
    for (const v of known) {
      const base = `${escapeCase(v.module)}/@v/`;
      if (path === `${base}list`) {
        const list = known.filter((o) => o.module === v.module).map((o) => `${o.version}\n`).join("");
        return new Response(list, { headers: { "Content-Type": "text/plain" } });
      }
      const file = `${base}${escapeCase(v.version)}`;
      if (path === `${file}.info`) return Response.json({ Version: v.version, Time: v.time });
      if (path === `${file}.mod`) return new Response(v.mod);
      if (path === `${file}.zip`) return new Response(v.zip, { headers: { "Content-Type": "application/zip" } });
    }
    return new Response(`not found: ${path}`, { status: 404 });
  });
  const close = () => server.shutdown();
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    add: (version) => known.push(version),
    replaceZip(module, version, zip) {
      known.find((v) => v.module === module && v.version === version)!.zip = zip;
    },
    route: (path, answer) => routes.set(path, answer),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A fake upstream version of a library module (see {@link libraryZip}). */
export async function fakeLibrary(module: string, version: string, greeting: string): Promise<FakeModuleVersion> {
  return {
    module,
    version,
    time: "2024-05-06T07:08:09Z",
    mod: `module ${module}\n\ngo 1.19\n`,
    zip: await libraryZip(module, version, greeting),
  };
}

/** The outcome of a go command. */
export interface GoRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Scratch directories for the go command: a cold module cache, build cache and GOPATH of its own. */
export interface GoWorkspace extends AsyncDisposable {
  dir: string;
  /** Writes a file under the workspace. */
  write(path: string, content: string): Promise<void>;
  /** Runs `go args...` in `cwd` (relative to the workspace) against GOPROXY `proxy`, with `env` added. */
  go(args: string[], options: { proxy: string; cwd?: string; env?: Record<string, string> }): Promise<GoRun>;
  /** Empties the module and build caches (a new cold client). */
  clearCaches(): Promise<void>;
}

/** Creates a workspace for the go command in a temporary directory. */
export async function goWorkspace(): Promise<GoWorkspace> {
  const dir = await Deno.makeTempDir({ prefix: "registry-go-" });
  const caches = () => ({
    GOPATH: `${dir}/.gopath`,
    GOMODCACHE: `${dir}/.gopath/pkg/mod`,
    GOCACHE: `${dir}/.gocache`,
  });
  const close = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  return {
    dir,
    async write(path, content) {
      const full = `${dir}/${path}`;
      await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
      await Deno.writeTextFile(full, content);
    },
    async go(args, options) {
      const output = await new Deno.Command("go", {
        args,
        cwd: `${dir}/${options.cwd ?? ""}`,
        clearEnv: true,
        env: {
          PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
          HOME: dir,
          ...caches(),
          GOENV: "off",
          GO111MODULE: "on",
          GOFLAGS: "-mod=mod -modcacherw",
          GOPROXY: options.proxy,
          GONOPROXY: "",
          GOPRIVATE: "",
          GOSUMDB: "off",
          GOTOOLCHAIN: "local",
          CGO_ENABLED: "0",
          ...options.env,
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
      return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
    },
    async clearCaches() {
      for (const path of Object.values(caches())) await Deno.remove(path, { recursive: true }).catch(() => {});
    },
    close,
    [Symbol.asyncDispose]: close,
  } as GoWorkspace & { close(): Promise<void> };
}

/** Fails with the go command's output unless it succeeded. */
export function assertGoOk(run: GoRun, what: string): void {
  if (run.code !== 0) throw new Error(`${what} failed (exit ${run.code}):\n${run.stderr}\n${run.stdout}`);
}
