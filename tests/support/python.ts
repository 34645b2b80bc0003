/**
 * The real Python clients for tests: distributions built by setuptools
 * (Debian's `/usr/bin/python3`, which has setuptools and wheel), scratch
 * virtual environments, pip and twine run as processes, and a fake upstream
 * simple index on 127.0.0.1.
 *
 * @module
 */
import { join } from "node:path";
import { sha256Hex } from "./server.ts";
import type { Dist } from "./pypi.ts";

/** The interpreter that builds fixtures (it has setuptools and wheel). */
const BUILD_PYTHON = "/usr/bin/python3";

/** What a process printed, and how it ended. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, for assertion messages. */
  output: string;
}

/** Runs a command; never throws for a non-zero exit. */
export async function run(cmd: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  const output = await new Deno.Command(cmd, {
    args,
    cwd: options.cwd,
    env: {
      // No user configuration, keyring or version check may change what the clients do.
      PIP_CONFIG_FILE: "/dev/null",
      PIP_DISABLE_PIP_VERSION_CHECK: "1",
      PIP_NO_INPUT: "1",
      PYTHON_KEYRING_BACKEND: "keyring.backends.null.Keyring",
      NO_COLOR: "1",
      ...options.env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  const [stdout, stderr] = [decode(output.stdout), decode(output.stderr)];
  return { code: output.code, stdout, stderr, output: `${stdout}\n${stderr}` } satisfies Run;
}

/** A project for setuptools to build. */
export interface PythonProject {
  name: string;
  version: string;
  /** The importable module, holding `VALUE = <value>`. */
  module: string;
  value: string;
  dependencies?: string[];
  requiresPython?: string;
}

/** Builds a wheel and an sdist of `project` with setuptools; returns them read from `dist/`. */
export async function buildProject(dir: string, project: PythonProject): Promise<{ wheel: Dist; sdist: Dist }> {
  const root = join(dir, `${project.name}-${project.version}-src`);
  await Deno.mkdir(join(root, "src", project.module), { recursive: true });
  await Deno.writeTextFile(join(root, "src", project.module, "__init__.py"), `VALUE = ${project.value}\n`);
  await Deno.writeTextFile(
    join(root, "setup.py"),
    [
      "from setuptools import setup",
      "setup(",
      `    name=${JSON.stringify(project.name)},`,
      `    version=${JSON.stringify(project.version)},`,
      `    packages=[${JSON.stringify(project.module)}],`,
      `    package_dir={"": "src"},`,
      `    install_requires=${JSON.stringify(project.dependencies ?? [])},`,
      project.requiresPython ? `    python_requires=${JSON.stringify(project.requiresPython)},` : "",
      `    description="Test project <${project.name}>",`,
      ")",
      "",
    ].join("\n"),
  );
  const built = await run(BUILD_PYTHON, ["setup.py", "-q", "sdist", "bdist_wheel"], { cwd: root });
  if (built.code !== 0) throw new Error(`building ${project.name} failed:\n${built.output}`);
  const files: Dist[] = [];
  for await (const entry of Deno.readDir(join(root, "dist"))) {
    files.push({ filename: entry.name, bytes: await Deno.readFile(join(root, "dist", entry.name)) });
  }
  const wheel = files.find((f) => f.filename.endsWith(".whl"));
  const sdist = files.find((f) => f.filename.endsWith(".tar.gz"));
  if (!wheel || !sdist) throw new Error(`setuptools built ${files.map((f) => f.filename).join(", ")}`);
  return { wheel, sdist };
}

/** Writes distributions to `dir` (for twine); returns their paths. */
export async function writeDists(dir: string, dists: Dist[]): Promise<string[]> {
  await Deno.mkdir(dir, { recursive: true });
  const paths = [];
  for (const dist of dists) {
    const path = join(dir, dist.filename);
    await Deno.writeFile(path, dist.bytes);
    paths.push(path);
  }
  return paths;
}

/** `twine upload` to the registry's PyPI repository URL with `__token__` and `token`. */
export function twineUpload(server: string, token: string, paths: string[], extra: string[] = []): Promise<Run> {
  return run("twine", [
    "upload",
    "--non-interactive",
    "--disable-progress-bar",
    "--verbose",
    "--repository-url",
    `${server}/pypi/`,
    "-u",
    "__token__",
    "-p",
    token,
    ...extra,
    ...paths,
  ]);
}

/** A scratch virtual environment (without pip: pip runs from outside with `--python`). */
export async function makeVenv(dir: string): Promise<string> {
  const made = await run("python3", ["-m", "venv", "--without-pip", dir]);
  if (made.code !== 0) throw new Error(`python3 -m venv failed:\n${made.output}`);
  return join(dir, "bin", "python");
}

/**
 * `pip install` into the venv whose interpreter is `python`, from the
 * registry's simple index only; `pipPython` is the interpreter whose pip runs
 * (default `python3`; `/usr/bin/python3` for Debian's pip 23.0).
 */
export function pipInstall(
  python: string,
  server: string,
  requirements: string[],
  options: { pipPython?: string; extra?: string[] } = {},
): Promise<Run> {
  return run(options.pipPython ?? "python3", [
    "-m",
    "pip",
    "--python",
    python,
    "install",
    "--no-cache-dir",
    "--index-url",
    `${server}/pypi/simple/`,
    ...(options.extra ?? []),
    ...requirements,
  ]);
}

/** Runs Python code in the venv; returns what it printed. */
export async function pythonPrint(python: string, code: string): Promise<string> {
  const ran = await run(python, ["-c", code]);
  if (ran.code !== 0) throw new Error(`python failed:\n${ran.output}`);
  return ran.stdout.trim();
}

/** A fake upstream simple index serving some distributions, stoppable and restartable on its port. */
export interface FakeIndex extends AsyncDisposable {
  /** `http://127.0.0.1:PORT/simple` */
  url: string;
  /** Request paths seen. */
  requests: string[];
  stop(): Promise<void>;
  start(): void;
}

/**
 * Serves `projects` (normalised name → distributions) as a simple index:
 * PEP 691 JSON (or HTML with `html: true`) pages with SHA-256 hashes and
 * core metadata for wheels, files under `/files/`.
 */
export async function startFakeIndex(
  projects: Record<string, Array<Dist & { metadata?: Uint8Array }>>,
  options: { html?: boolean; lie?: boolean } = {},
): Promise<FakeIndex> {
  const requests: string[] = [];
  const files = new Map<string, Uint8Array>();
  const pages = new Map<string, { body: string; type: string }>();
  for (const [name, dists] of Object.entries(projects)) {
    const entries = [];
    for (const dist of dists) {
      files.set(dist.filename, dist.bytes);
      if (dist.metadata) files.set(`${dist.filename}.metadata`, dist.metadata);
      entries.push({
        filename: dist.filename,
        // A lying upstream: hashes that do not match its files.
        sha256: options.lie ? "0".repeat(64) : await sha256Hex(dist.bytes),
        metadata: dist.metadata ? await sha256Hex(dist.metadata as Uint8Array<ArrayBuffer>) : undefined,
        size: dist.bytes.byteLength,
      });
    }
    pages.set(
      name,
      options.html
        ? {
          type: "text/html",
          body: entries.map((e) =>
            `<a href="../../files/${e.filename}#sha256=${e.sha256}"${
              e.metadata ? ` data-dist-info-metadata="sha256=${e.metadata}"` : ""
            }>${e.filename}</a>`
          ).join("\n"),
        }
        : {
          type: "application/vnd.pypi.simple.v1+json",
          body: JSON.stringify({
            meta: { "api-version": "1.1" },
            name,
            files: entries.map((e) => ({
              filename: e.filename,
              url: `../../files/${e.filename}`,
              hashes: { sha256: e.sha256 },
              size: e.size,
              ...(e.metadata ? { "core-metadata": { sha256: e.metadata } } : {}),
            })),
          }),
        },
    );
  }
  const handler = (request: Request): Response => {
    const path = new URL(request.url).pathname;
    requests.push(path);
    const page = /^\/simple\/([^/]+)\/$/.exec(path);
    if (page) {
      const found = pages.get(page[1]);
      return found
        ? new Response(found.body, { headers: { "Content-Type": found.type } })
        : new Response(null, { status: 404 });
    }
    const file = /^\/files\/([^/]+)$/.exec(path);
    const bytes = file ? files.get(file[1]) : undefined;
    return bytes ? new Response(bytes as Uint8Array<ArrayBuffer>) : new Response(null, { status: 404 });
  };
  let server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  const port = server.addr.port;
  let running = true;
  const stop = async () => {
    if (!running) return;
    running = false;
    await server.shutdown();
  };
  return {
    url: `http://127.0.0.1:${port}/simple`,
    requests,
    stop,
    start() {
      server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, handler);
      running = true;
    },
    [Symbol.asyncDispose]: stop,
  };
}

/** The `METADATA` of a wheel, read with Python's zipfile (for the fake index's PEP 658 files). */
export async function wheelMetadata(dir: string, dist: Dist): Promise<Uint8Array> {
  const [path] = await writeDists(dir, [dist]);
  const code = "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\n" +
    "name = next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))\nsys.stdout.buffer.write(z.read(name))";
  const ran = await new Deno.Command(BUILD_PYTHON, { args: ["-c", code, path], stdout: "piped" }).output();
  return ran.stdout;
}
