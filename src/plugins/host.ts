/**
 * The plugin host: resolves plugin specs (built-in names or absolute paths the
 * operator listed), loads each module, calls its factory with a context, and
 * checks the shape of what it returns. Any failure stops start-up with a
 * message naming the plugin.
 *
 * Built-ins are imported statically, so a compiled binary always contains
 * them; external plugins are imported from the real file system at start-up
 * (only from the paths the operator listed).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import semver from "semver";
import maxSize from "../../plugins/max-size.ts";
import normalizeArchive from "../../plugins/normalize-archive.ts";
import staticToken from "../../plugins/static-token.ts";
import tokenStore from "../../plugins/token-store.ts";
import upstream from "../../plugins/upstream.ts";
import type {
  ArchiveTransform,
  Plugin,
  PluginContext,
  PluginFactory,
  PluginLogger,
  PluginStorage,
  PublishedRelease,
  RegistryApi,
  SourcePlugin,
} from "../../plugins/types.ts";
import type { NamedAuthProvider } from "../auth/chain.ts";
import type { Logger } from "../log.ts";
import { DocumentCache } from "../storage/document_cache.ts";
import { assertValidKey, type ObjectStore } from "../storage/object_store.ts";
import { callHook, HOOK_TIMEOUT_MS } from "./hooks.ts";
import type { PluginSpec } from "./spec.ts";

export type { PluginSpec };

/** Built-in plugins by name. */
export const BUILTIN_PLUGINS: Readonly<Record<string, PluginFactory<never>>> = {
  "static-token": staticToken,
  "token-store": tokenStore,
  upstream,
  "normalize-archive": normalizeArchive,
  "max-size": maxSize,
};

/** A plugin that was loaded, with where it came from. */
export interface LoadedPlugin {
  plugin: Plugin;
  /** `builtin:<name>` or the absolute path of the module. */
  source: string;
  /** SHA-256 of an external module's file. */
  sha256?: string;
}

/** A transform with the name of its plugin. */
export interface NamedTransform {
  plugin: string;
  transform: ArchiveTransform;
}

/** Everything the plugins contribute, ready for the registry. */
export interface PluginSet {
  loaded: LoadedPlugin[];
  authProviders: NamedAuthProvider[];
  transforms: NamedTransform[];
  sources: SourcePlugin[];
  /** Runs every `afterPublish` hook; failures are logged, never thrown. */
  afterPublish(release: PublishedRelease): Promise<void>;
}

/** A plugin failed to load or has the wrong shape. The message names it. */
export class PluginLoadError extends Error {
  constructor(use: string, problem: string) {
    super(`plugin "${use}": ${problem}`);
    this.name = "PluginLoadError";
  }
}

/** What the host lends plugins. */
export interface PluginHostDeps {
  store: ObjectStore;
  logger: Logger;
  fetch?: typeof fetch;
  /** How long plugin storage reads may trust memory (see DocumentCache). */
  metadataMaxAgeMs: number;
  /** Told about every plugin hook that failed outside a request (for metrics). */
  onHookError?: (plugin: string) => void;
  /** The clock plugins see (default `Date.now`). */
  now?: () => number;
  /** `ctx.registry` of the plugin with this name (for ingestion sources). */
  registry: (pluginName: string) => RegistryApi;
}

/** Loads every spec in order. @throws {PluginLoadError} naming the first plugin that fails. */
export async function loadPlugins(specs: PluginSpec[], deps: PluginHostDeps): Promise<PluginSet> {
  // Plugin documents may also be written by other processes on one disk (the
  // `token` commands), so they are revalidated even without S3.
  const documents = new DocumentCache(deps.store, { maxAgeMs: Math.min(deps.metadataMaxAgeMs, 2_000) });
  const loaded: LoadedPlugin[] = [];
  for (const spec of specs) {
    const { factory, source, sha256 } = await resolvePlugin(spec.use);
    const context = pluginContext(spec, deps, documents);
    let plugin: unknown;
    try {
      plugin = await callHook(spec.use, () => factory(context as never), HOOK_TIMEOUT_MS);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new PluginLoadError(spec.use, `its factory failed: ${message.replace(/^plugin "[^"]*" failed: /, "")}`);
    }
    checkShape(spec.use, plugin);
    loaded.push({ plugin, source, sha256 });
    deps.logger.log("info", "plugin loaded", {
      plugin: plugin.name,
      source,
      ...(sha256 ? { sha256 } : {}),
      capabilities: capabilities(plugin),
    });
  }
  return pluginSet(loaded, deps.logger, deps.onHookError);
}

/** The capabilities a plugin provides, for logs and `plugin check`. */
export function capabilities(plugin: Plugin): string[] {
  return [
    plugin.auth ? "auth" : "",
    plugin.transforms?.length ? `transforms(${plugin.transforms.map((t) => t.name).join(",")})` : "",
    plugin.sources?.length ? `sources(${plugin.sources.map((s) => s.name).join(",")})` : "",
    plugin.afterPublish ? "afterPublish" : "",
  ].filter((c) => c !== "");
}

/** Finds a plugin module: a built-in by name, or the default export of a module at an absolute path. */
export async function resolvePlugin(
  use: string,
): Promise<{ factory: PluginFactory<never>; source: string; sha256?: string }> {
  const builtin = BUILTIN_PLUGINS[use];
  if (builtin !== undefined) return { factory: builtin, source: `builtin:${use}` };
  if (!isAbsolute(use)) {
    throw new PluginLoadError(
      use,
      `not a built-in plugin (${Object.keys(BUILTIN_PLUGINS).join(", ")}) nor an absolute path to a module`,
    );
  }
  let path: string;
  let sha256: string;
  try {
    path = await Deno.realPath(use);
    sha256 = createHash("sha256").update(await Deno.readFile(path)).digest("hex");
  } catch (error) {
    throw new PluginLoadError(use, `cannot read the module: ${(error as Error).message}`);
  }
  let module: { default?: unknown };
  try {
    // A URL built from the path itself, so "#" or "?" in a name cannot point elsewhere.
    module = await callHook(use, () => import(pathToFileURL(path).href), HOOK_TIMEOUT_MS);
  } catch (error) {
    const message = (error as Error).message.replace(/^plugin "[^"]*" failed: /, "");
    throw new PluginLoadError(use, `cannot load the module: ${message}`);
  }
  if (typeof module.default !== "function") {
    throw new PluginLoadError(use, "the module's default export must be a factory function (ctx) => plugin");
  }
  return { factory: module.default as PluginFactory<never>, source: path, sha256 };
}

function pluginContext(spec: PluginSpec, deps: PluginHostDeps, documents: DocumentCache): PluginContext {
  const name = spec.use.startsWith("/") ? spec.use.split("/").pop()!.replace(/\.[jt]s$/, "") : spec.use;
  const scoped = (level: "debug" | "info" | "warn" | "error") => (msg: string, fields: Record<string, unknown> = {}) =>
    deps.logger.log(level, msg, { ...fields, plugin: name });
  const logger: PluginLogger = {
    debug: scoped("debug"),
    info: scoped("info"),
    warn: scoped("warn"),
    error: scoped("error"),
  };
  return {
    options: spec.options ?? {},
    logger,
    fetch: deps.fetch ?? fetch,
    storage: pluginStorage(deps.store, documents, name),
    semver: {
      valid: (v) => semver.valid(v),
      compare: (a, b) => semver.compare(a, b),
      satisfies: (v, r) => semver.satisfies(v, r),
    },
    now: deps.now ?? Date.now,
    registry: deps.registry(name),
  };
}

/** The private JSON documents of plugin `name` (under `plugins/<name>/` of the registry's storage). */
export function pluginStorage(store: ObjectStore, documents: DocumentCache, name: string): PluginStorage {
  const prefix = `plugins/${name.replace(/[^A-Za-z0-9._@+-]/g, "_")}/`;
  const keyOf = (key: string) => {
    const full = prefix + key;
    assertValidKey(full);
    return full;
  };
  return {
    read: (key) => documents.read(keyOf(key)),
    update: (key, mutate) => documents.update(keyOf(key), mutate),
    async list(sub) {
      const keys: string[] = [];
      for await (const object of store.list(prefix + sub)) keys.push(object.key.slice(prefix.length));
      return keys.sort();
    },
  };
}

function checkShape(use: string, value: unknown): asserts value is Plugin {
  const fail = (problem: string): never => {
    throw new PluginLoadError(use, `malformed plugin: ${problem}`);
  };
  if (typeof value !== "object" || value === null) fail("the factory must return an object");
  const plugin = value as Record<string, unknown>;
  if (typeof plugin.name !== "string" || plugin.name === "") fail('it needs a non-empty "name"');
  if (plugin.auth !== undefined) {
    const auth = plugin.auth as Record<string, unknown>;
    if (typeof auth?.authenticate !== "function") fail("auth.authenticate must be a function");
    if (auth.authorize !== undefined && typeof auth.authorize !== "function") fail("auth.authorize must be a function");
    if (auth.restrictsReads !== undefined && typeof auth.restrictsReads !== "boolean") {
      fail("auth.restrictsReads must be true or false");
    }
    if (auth.decidesFromCredentials !== undefined && typeof auth.decidesFromCredentials !== "boolean") {
      fail("auth.decidesFromCredentials must be true or false");
    }
  }
  if (plugin.transforms !== undefined) {
    if (!Array.isArray(plugin.transforms)) fail("transforms must be an array");
    for (const t of plugin.transforms as Record<string, unknown>[]) {
      if (typeof t?.name !== "string" || typeof t.transform !== "function") {
        fail("each transform needs a name and a transform function");
      }
    }
  }
  if (plugin.sources !== undefined) {
    if (!Array.isArray(plugin.sources)) fail("sources must be an array");
    for (const s of plugin.sources as Record<string, unknown>[]) {
      if (typeof s?.name !== "string" || typeof s.sync !== "function") {
        fail("each source needs a name and a sync function");
      }
    }
  }
  if (plugin.afterPublish !== undefined && typeof plugin.afterPublish !== "function") {
    fail("afterPublish must be a function");
  }
  const known = new Set(["name", "auth", "transforms", "sources", "afterPublish"]);
  const unknown = Object.keys(plugin).filter((k) => !known.has(k));
  if (unknown.length > 0) fail(`unknown field(s) ${unknown.join(", ")}`);
}

function pluginSet(loaded: LoadedPlugin[], logger: Logger, onHookError?: (plugin: string) => void): PluginSet {
  return {
    loaded,
    authProviders: loaded.filter((l) => l.plugin.auth).map((l) => ({
      plugin: l.plugin.name,
      provider: l.plugin.auth!,
    })),
    transforms: loaded.flatMap((l) =>
      (l.plugin.transforms ?? []).map((transform) => ({ plugin: l.plugin.name, transform }))
    ),
    sources: loaded.flatMap((l) => l.plugin.sources ?? []),
    async afterPublish(release) {
      for (const { plugin } of loaded) {
        if (!plugin.afterPublish) continue;
        try {
          await callHook(plugin.name, () => plugin.afterPublish!(release));
        } catch (error) {
          logger.log("error", "afterPublish hook failed", { plugin: plugin.name, error: (error as Error).message });
          onHookError?.(plugin.name);
        }
      }
    },
  };
}
