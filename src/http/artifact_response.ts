/**
 * Answering a GET or HEAD for a stored artifact (an archive, a tarball, a
 * wheel, a blob), the same way for every format, in one of three ways:
 *
 * - offloaded: with `REGISTRY_ACCEL_REDIRECT` set (local disk storage, nginx
 *   in front), an empty answer whose `X-Accel-Redirect` names the file; nginx
 *   sends it itself with sendfile, ranges included (README: "Serving
 *   artifacts through nginx");
 * - from memory: an artifact small enough for `REGISTRY_MEMORY_CACHE_BYTES`
 *   becomes a prepared response (src/http/prepared.ts), bytes and headers
 *   built once;
 * - streamed: a larger one is streamed from storage (from disk, Deno's own
 *   file stream, copied to the socket without JavaScript), one range of it
 *   with 206; when the store keeps it in a local file, the hot path opens that
 *   file for the next identical request (src/http/prepared_file.ts).
 *
 * The first two are remembered by the hot path when the format says how long
 * they hold (`fresh`). `If-None-Match` (304), `If-Range`, HEAD and 416 work in
 * every case.
 *
 * @module
 */
import type { Context } from "hono";
import { type ArtifactInfo, type Artifacts, MissingArtifactError } from "../core/artifacts.ts";
import { RangeNotSatisfiableError, ServiceUnavailableError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Freshness, HotResponses } from "./hot_responses.ts";
import { type PreparedCache, PreparedResponse } from "./prepared.ts";
import type { OpenFilesCache } from "./open_files_cache.ts";
import { PreparedFileResponse } from "./prepared_file.ts";
import { ifNoneMatchHits, parseRange } from "./range.ts";

/** An artifact a format answers a request with. */
export interface ArtifactToServe {
  /** Where it is stored, its size, ETag and modification time. */
  info: ArtifactInfo;
  /**
   * Its headers besides `ETag`, `Last-Modified`, `Accept-Ranges` and the
   * length (added here): `Content-Type`, `Content-Disposition`,
   * `Cache-Control`, `Digest`, signatures.
   */
  headers: Record<string, string>;
  /** The document it belongs to (a package's), and the name of the answer among that document's (its version). */
  document: object;
  resource: string;
  /** How long an answer may be remembered by the hot path (absent: it is not). */
  fresh?: Freshness;
  /**
   * For a copy of an upstream's bytes, which a node without S3 may have
   * evicted: stores it again (fetched from the upstream and checked as the
   * first time) and returns what is stored. Called once when storage no
   * longer has the artifact; without it, that is a 503.
   */
  recover?: () => Promise<ArtifactInfo>;
}

/** What {@link ArtifactResponder} needs. */
export interface ArtifactResponderOptions {
  artifacts: Artifacts;
  prepared: PreparedCache;
  hot: HotResponses;
  /** `REGISTRY_ACCEL_REDIRECT`: nginx's internal location of the objects directory, when artifacts are offloaded. */
  accelRedirect?: string;
  /** Local files held open for the fast lane's answers from them. */
  openFiles: OpenFilesCache;
  logger: Logger;
}

/** Answers requests for stored artifacts (see the module doc). */
export class ArtifactResponder {
  readonly #options: ArtifactResponderOptions;

  constructor(options: ArtifactResponderOptions) {
    this.#options = options;
  }

  /**
   * The answer to the GET or HEAD of `c` with `artifact`.
   *
   * @throws {RangeNotSatisfiableError} for a range past the end.
   * @throws {ServiceUnavailableError} when the stored bytes are missing or damaged.
   */
  async respond(c: Context, artifact: ArtifactToServe): Promise<Response> {
    try {
      return await this.#respond(c, artifact);
    } catch (error) {
      if (!(error instanceof MissingArtifactError) || artifact.recover === undefined) throw error;
      this.#options.logger.log("info", "fetching an evicted upstream copy again", { key: artifact.info.key });
      return await this.#respond(c, { ...artifact, info: await artifact.recover() });
    }
  }

  async #respond(c: Context, artifact: ArtifactToServe): Promise<Response> {
    const { artifacts, prepared, hot, accelRedirect } = this.#options;
    const { info, document, resource } = artifact;
    let fresh = artifact.fresh;
    const headers = {
      ...artifact.headers,
      ETag: info.etag,
      "Last-Modified": info.lastModified.toUTCString(),
    };
    let response: PreparedResponse | undefined;
    if (accelRedirect !== undefined) {
      // nginx sends the bytes (and answers ranges); an If-None-Match that matches is answered here. A copy that
      // can be evicted is looked for on each request (a stat), so nginx is never sent to a file that is gone.
      if (artifact.recover !== undefined) {
        if (!await artifacts.exists(info)) throw new MissingArtifactError(info.key);
        artifacts.touched(info); // nginx reads it: the store counts it as read, for its eviction order
        fresh = undefined;
      }
      response = await prepared.get(
        document,
        `${resource} offloaded`,
        () => new PreparedResponse("", { ...headers, "X-Accel-Redirect": `${accelRedirect}${info.key}` }),
      );
    } else if (artifacts.keepsInMemory(info.size)) {
      response = await prepared.get(document, resource, async () => {
        const bytes = await artifacts.bytes(info);
        if (bytes.byteLength !== info.size) throw this.#damaged(info, bytes.byteLength);
        return new PreparedResponse(bytes, { ...headers, "Accept-Ranges": "bytes" });
      });
    }
    if (response !== undefined) {
      return fresh === undefined ? response.respond(c.req.raw) : hot.serve(c, response, fresh);
    }
    const streamed = { ...headers, "Accept-Ranges": "bytes" };
    const answer = await this.#stream(c, info, streamed);
    // The next identical read opens the local file on the hot path (the store hears of it, for its eviction order).
    const file = artifacts.localFile(info);
    if (fresh !== undefined && file !== undefined && answer.status === 200) {
      const fromFile = new PreparedFileResponse(file, info.size, streamed, this.#options.openFiles);
      hot.remember(c, fromFile, fresh, () => artifacts.touched(info));
    }
    return answer;
  }

  /** A large artifact streamed from storage, or a range of it. */
  async #stream(c: Context, info: ArtifactInfo, headers: Record<string, string>): Promise<Response> {
    const { size, etag } = info;
    if (ifNoneMatchHits(c.req.header("if-none-match"), etag)) return new Response(null, { status: 304, headers });
    const ifRange = c.req.header("if-range");
    const decision = ifRange !== undefined && ifRange.trim() !== etag
      ? { kind: "full" as const }
      : parseRange(c.req.header("range"), size);
    if (decision.kind === "unsatisfiable") throw new RangeNotSatisfiableError(size);
    const range = decision.kind === "partial" ? { start: decision.start, end: decision.end } : undefined;
    const answer: Record<string, string> = {
      ...headers,
      "Content-Length": String(range ? range.end - range.start + 1 : size),
    };
    if (range) answer["Content-Range"] = `bytes ${range.start}-${range.end}/${size}`;
    const status = range ? 206 : 200;
    if (c.req.method === "HEAD") return new Response(null, { status, headers: answer });
    const object = await this.#options.artifacts.open(info, range);
    if (object.size !== size) {
      await object.body.cancel();
      throw this.#damaged(info, object.size);
    }
    return new Response(object.body, { status, headers: answer });
  }

  #damaged(info: ArtifactInfo, actual: number): ServiceUnavailableError {
    this.#options.logger.log("error", "stored artifact has the wrong size", {
      key: info.key,
      expected: info.size,
      actual,
    });
    return new ServiceUnavailableError("the stored artifact is damaged; the operator has been alerted");
  }
}
