/**
 * `ctx.registry`: the registry as ingestion sources (plugins and the built-in
 * mirrors) use it. Calls go to the format the package names, so a source
 * publishes into any served format exactly as a client would over HTTP.
 *
 * @module
 */
import type { IngestOutcome, IngestRelease, PackageName, RegistryApi, VersionInfo } from "../../plugins/types.ts";
import { keySegment } from "../core/package.ts";
import { RegistryError } from "../errors.ts";
import type { DocumentCache } from "../storage/document_cache.ts";
import type { ObjectStore } from "../storage/object_store.ts";
import { type Format, refusal } from "./format.ts";

/** The versions a source skipped for one package, with reasons. */
interface SkippedDocument {
  versions: Record<string, string>;
}

/** A package name from a source that no served format accepts. */
export class UnknownFormatError extends RegistryError {
  constructor(format: string, served: readonly string[]) {
    super(400, "Bad Request", `format "${format}" is not served here (REGISTRY_FORMATS: ${served.join(", ")})`);
  }
}

/**
 * Hands out one {@link RegistryApi} per source. Sources are created before
 * the formats are built (formats need the plugins' transforms), so the
 * formats are bound afterwards; sources only call in on the scheduler.
 */
export class SourceRegistry {
  readonly #documents: DocumentCache;
  readonly #store: ObjectStore;
  #formats: ReadonlyMap<string, Format> = new Map();

  constructor(documents: DocumentCache, store: ObjectStore) {
    this.#documents = documents;
    this.#store = store;
  }

  /**
   * Everything source `name` recorded as skipped: versions and reasons by
   * package (`<format>:<package key>`), for the operators' status.
   */
  async skippedBy(name: string): Promise<Record<string, Record<string, string>>> {
    const prefix = `sources/${keySegment(name)}/skipped/`;
    const skipped: Record<string, Record<string, string>> = {};
    for await (const object of this.#store.list(prefix)) {
      const [format, ...key] = object.key.slice(prefix.length).replace(/\.json$/, "").split("/");
      const document = await this.#documents.read<SkippedDocument>(object.key);
      if (document !== null) skipped[`${format}:${key.join("/")}`] = document.versions;
    }
    return skipped;
  }

  /** Makes the built formats available to every source. */
  bind(formats: readonly Format[]): void {
    this.#formats = new Map(formats.map((f) => [f.id, f]));
  }

  /** The API of source `name` (its skipped versions are its own). */
  for(name: string): RegistryApi {
    const format = (pkg: PackageName): Format => {
      const found = this.#formats.get(pkg?.format);
      if (found === undefined) throw new UnknownFormatError(String(pkg?.format), [...this.#formats.keys()]);
      return found;
    };
    const skippedKey = (pkg: PackageName) => {
      const ref = format(pkg).ref(pkg);
      return `sources/${keySegment(name)}/skipped/${ref.format}/${ref.key}.json`;
    };
    const served = () => [...this.#formats.keys()];
    return {
      get formats() {
        return served();
      },
      versions: (pkg): Promise<Record<string, VersionInfo> | null> => format(pkg).versions(format(pkg).ref(pkg)),
      publish: async (release: IngestRelease): Promise<IngestOutcome> => {
        const target = format(release.package);
        let ref;
        try {
          ref = target.ref(release.package);
        } catch (error) {
          await release.archive.cancel();
          return refusal(error);
        }
        return await target.ingest(ref, release);
      },
      skip: async (pkg, version, reason) => {
        await this.#documents.update<SkippedDocument>(skippedKey(pkg), (current) => {
          if (current?.versions[version] === reason) return undefined;
          return { versions: { ...current?.versions, [version]: reason } };
        });
      },
      skipped: async (pkg) => (await this.#documents.read<SkippedDocument>(skippedKey(pkg)))?.versions ?? {},
    };
  }
}
