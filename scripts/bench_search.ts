/**
 * On-demand benchmark (not a test): registry search (SE-0536) over a catalog
 * of many packages, through HTTP as `swift package-registry search` asks,
 * against a server on 127.0.0.1 (with an admin token, so its auth chain has a
 * provider to ask for every match). Prints p50 and p99 per query, for the
 * whole round trip and for the search itself in this process (matching,
 * ordering and the read check of an auth chain without providers).
 *
 * The catalog is written straight into storage (publishing 10,000 packages
 * would only measure publishing).
 *
 * Usage: deno task bench:search [--packages 10000] [--runs 500]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { loadConfig } from "../src/config.ts";
import type { CatalogEntry } from "../src/core/catalog.ts";
import { Catalog } from "../src/core/catalog.ts";
import { startServer } from "../src/http/server.ts";
import { parseSearchQuery, SwiftSearch } from "../src/formats/swift/search.ts";
import { silentLogger } from "../src/log.ts";
import { DiskStore } from "../src/storage/disk_store.ts";
import { DocumentCache } from "../src/storage/document_cache.ts";
import { createAuthChain } from "../src/auth/chain.ts";
import { seededRandom } from "../tests/support/seeded_random.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { packages: { type: "string", default: "10000" }, runs: { type: "string", default: "500" } },
});
const count = Number(values.packages);
const runs = Number(values.runs);

const next = seededRandom(536);
const WORDS = (
  "swift async json yaml http server client network networking log logger crypto image markdown parser " +
  "test mock ui kit core data sql orm cache queue stream socket grpc proto web view chart graph date time " +
  "color font audio video map geo auth token oauth jwt keychain file zip archive compress metrics trace"
).split(" ");
const SCOPES = Array.from({ length: 400 }, (_, i) => `${WORDS[i % WORDS.length]}${Math.floor(i / WORDS.length)}`);
const word = () => WORDS[Math.floor(next() * WORDS.length)];
const entries: Record<string, CatalogEntry> = {};
for (let i = 0; i < count; i++) {
  const scope = i < 3 ? "apple" : SCOPES[Math.floor(next() * SCOPES.length)];
  const name = i === 0 ? "swift-nio" : `${word()}-${word()}-${i}`;
  const key = `${scope}/${name}`.toLowerCase();
  entries[key] = {
    format: "swift",
    key,
    id: `${scope}.${name}`,
    scope,
    name,
    description: `A ${word()} ${word()} library for ${word()} and ${word()}${next() < 0.05 ? " (deprecated)" : ""}.`,
    authors: [`${word()} ${word()}`],
    latestVersion: `${1 + Math.floor(next() * 5)}.${Math.floor(next() * 20)}.0`,
    versions: 1 + Math.floor(next() * 30),
    updatedAt: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
    origin: "local",
  };
}

const dataDir = await Deno.makeTempDir({ prefix: "registry-bench-search-" });
{
  const store = new DiskStore(join(dataDir, "objects"), join(dataDir, "tmp", "objects"));
  await store.init();
  await new DocumentCache(store, { maxAgeMs: 0 }).update("catalog/swift.json", () => ({ entries }));
}

const QUERIES = [
  "networking",
  "scope:apple",
  "pkg:swift/apple/swift-nio",
  'author:"json parser"',
  "json OR yaml -deprecated",
  "name:log description:server",
  "a",
];

function percentiles(samples: number[]): string {
  samples.sort((a, b) => a - b);
  const at = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))];
  return `p50 ${at(0.5).toFixed(2)} ms  p99 ${at(0.99).toFixed(2)} ms`;
}

// The search itself, as the route runs it, with an auth chain without providers (public reads).
const documents = new DocumentCache(new DiskStore(join(dataDir, "objects"), join(dataDir, "tmp", "objects")), {
  maxAgeMs: Infinity,
});
const catalog = new Catalog({ documents, formats: ["swift"], logger: silentLogger });
const searchIndex = new SwiftSearch({ catalog, versionsOf: () => Promise.resolve(null) });
const auth = createAuthChain([], { requireAuthForRead: false });
const canRead = (entry: CatalogEntry) =>
  auth.authorize(null, "read", { format: "swift", scope: entry.scope!, name: entry.name, key: entry.key, id: entry.id })
    .then(() => true, () => false);

const config = await loadConfig({ dataDir, port: "0" }, { REGISTRY_ADMIN_TOKEN: "bench-admin-token-0123456789" });
const server = await startServer(config, silentLogger);
console.log(`${count} packages, ${runs} runs per query (after 20 warm-up runs)`);
for (const q of QUERIES) {
  const url = `${server.url}/swift/search?q=${encodeURIComponent(q)}&limit=20&offset=0`;
  const headers = { Accept: "application/vnd.swift.registry.v1+json" };
  let total = 0;
  const http: number[] = [];
  const inProcess: number[] = [];
  const query = parseSearchQuery(q);
  for (let i = 0; i < runs + 20; i++) {
    let started = performance.now();
    const response = await fetch(url, { headers });
    total = (await response.json()).total;
    if (i >= 20) http.push(performance.now() - started);
    started = performance.now();
    await searchIndex.search(query, canRead, 0, 20);
    if (i >= 20) inProcess.push(performance.now() - started);
  }
  console.log(
    `${q.padEnd(28)} ${String(total).padStart(5)} matches  HTTP ${percentiles(http)}  search ${percentiles(inProcess)}`,
  );
}
await server.shutdown();
await Deno.remove(dataDir, { recursive: true });
