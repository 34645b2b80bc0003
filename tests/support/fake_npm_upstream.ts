/**
 * A stand-in for an upstream npm registry on 127.0.0.1: real packuments and
 * tarballs built in the test, request counts per path, and a switch to make
 * it fail like a registry that is down.
 *
 * @module
 */
import { npmDigests, packageTarball } from "./npm.ts";

/** A package version the fake registry serves. */
export interface FakeVersion {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  /** Serve these bytes instead of the tarball the packument describes (a corrupted upstream). */
  corruptTarball?: boolean;
}

/** A running fake upstream. */
export interface FakeNpmUpstream extends AsyncDisposable {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** How many requests each path got. */
  count(path: string): number;
  /** Makes every request fail with 503 (`true`) or work again (`false`). */
  failing(on: boolean): void;
  close(): Promise<void>;
}

/** Starts a fake npm registry serving `versions`. */
export async function startFakeNpmUpstream(versions: FakeVersion[]): Promise<FakeNpmUpstream> {
  const tarballs = new Map<string, Uint8Array<ArrayBuffer>>();
  const packuments = new Map<string, Record<string, unknown>>();
  const counts = new Map<string, number>();
  let failing = false;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname);
    counts.set(path, (counts.get(path) ?? 0) + 1);
    if (failing) return new Response("down for maintenance", { status: 503 });
    const tarball = tarballs.get(path);
    if (tarball !== undefined) {
      return new Response(tarball, { headers: { "Content-Type": "application/octet-stream" } });
    }
    const packument = packuments.get(path.slice(1));
    if (packument === undefined) return Response.json({ error: "Not found" }, { status: 404 });
    return Response.json(packument, { headers: { ETag: `"${JSON.stringify(packument).length}"` } });
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  for (const v of versions) {
    const bytes = await packageTarball(v.name, v.version, [], { dependencies: v.dependencies ?? {} });
    const basename = v.name.split("/").at(-1);
    const path = `/${v.name}/-/${basename}-${v.version}.tgz`;
    tarballs.set(
      path,
      v.corruptTarball ? await packageTarball(v.name, v.version, [{ name: "package/x", content: "!" }]) : bytes,
    );
    const packument = packuments.get(v.name) ??
      { _id: v.name, name: v.name, "dist-tags": {}, versions: {}, time: { modified: "2026-01-01T00:00:00.000Z" } };
    (packument.versions as Record<string, unknown>)[v.version] = {
      name: v.name,
      version: v.version,
      main: "index.js",
      dependencies: v.dependencies ?? {},
      dist: { ...npmDigests(bytes), tarball: `${url}${path}` },
    };
    (packument["dist-tags"] as Record<string, string>).latest = v.version;
    packuments.set(v.name, packument);
  }
  const close = () => server.shutdown();
  return {
    url,
    count: (path) => counts.get(path) ?? 0,
    failing: (on) => void (failing = on),
    close,
    [Symbol.asyncDispose]: close,
  };
}
