/**
 * Scopes that hold packages published here (Swift scopes, npm `@scopes`):
 * an upstream never fills a name in such a scope, so nobody can publish
 * `@mycorp/newthing` upstream and have it installed from here (dependency
 * confusion). A scope is marked by a small document the first time a package
 * of it is stored; the mark is never removed.
 *
 * @module
 */
import type { DocumentCache } from "../storage/document_cache.ts";
import type { ObjectStore } from "../storage/object_store.ts";
import { LruCache } from "../util/lru_cache.ts";

/** The document that marks a scope local (its presence is what counts). */
export interface LocalScope {
  scope: string;
}

/** Where the mark of `scope` in `format` is stored. */
export function localScopeKey(format: string, scope: string): string {
  return `${format}/scopes/${scope.toLowerCase()}.json`;
}

/** Marks `scope` of `format` as holding local packages (a no-op when it is marked). */
export async function markScopeLocal(documents: DocumentCache, format: string, scope: string): Promise<void> {
  const key = localScopeKey(format, scope);
  if (await documents.read<LocalScope>(key) !== null) return;
  await documents.update<LocalScope>(key, (current) => current === null ? { scope: scope.toLowerCase() } : undefined);
}

/** What {@link LocalScopes} reads. */
export interface LocalScopesOptions {
  documents: DocumentCache;
  store: ObjectStore;
  format: string;
  /**
   * The storage prefix of `scope`'s packages: packages stored before scopes
   * were marked are found there (once per scope), and the scope marked.
   */
  packagesPrefix(scope: string): string;
}

/** Answers whether a scope of one format holds local packages. */
export class LocalScopes {
  readonly #options: LocalScopesOptions;
  readonly #withoutLegacyPackages = new LruCache<string, true>(10_000);

  constructor(options: LocalScopesOptions) {
    this.#options = options;
  }

  /** True when `scope` has (or had) a package published here. */
  async has(scope: string): Promise<boolean> {
    const { documents, store, format } = this.#options;
    if (await documents.read<LocalScope>(localScopeKey(format, scope)) !== null) return true;
    if (this.#withoutLegacyPackages.get(scope.toLowerCase()) !== undefined) return false;
    for await (const _object of store.list(this.#options.packagesPrefix(scope))) {
      await markScopeLocal(documents, format, scope);
      return true;
    }
    this.#withoutLegacyPackages.set(scope.toLowerCase(), true);
    return false;
  }
}
