/**
 * On-demand benchmark (not a test): API requests and wall time of a GitHub
 * sync pass over many repositories, first (everything new) and second
 * (nothing changed: one conditional request per repository, all 304).
 * Runs against the fake GitHub API of the tests, on 127.0.0.1.
 *
 * Usage: deno task bench:sync [--repos 1000]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config.ts";
import { openRegistry } from "../src/core/open_registry.ts";
import { createIngestion } from "../src/ingest/ingestion.ts";
import { silentLogger } from "../src/log.ts";
import { type FakeRepository, manifest, startFakeGitHub } from "../tests/support/fake_github.ts";

const { values } = parseArgs({ args: Deno.args, options: { repos: { type: "string", default: "1000" } } });
const count = Number(values.repos);
const repositories: FakeRepository[] = Array.from({ length: count }, (_, i) => ({
  owner: "bench",
  repo: `package-${i}`,
  tags: [{ name: "1.0.0", files: { "Package.swift": manifest(), "Sources/P/P.swift": `public let n = ${i}\n` } }],
}));
await using github = startFakeGitHub(repositories);
const dataDir = await Deno.makeTempDir({ prefix: "registry-bench-sync-" });
const config = await loadConfig({ dataDir }, {
  REGISTRY_GITHUB_TOKEN: "bench",
  REGISTRY_GITHUB_API_URL: github.url,
  REGISTRY_SYNC_PACKAGES: "bench/*",
  REGISTRY_SYNC_CONCURRENCY: "8",
});
const open = await openRegistry(config, silentLogger, { scratchName: "bench" });
const ingestion = createIngestion(config.github!, open, silentLogger);
for (const label of ["first pass (all new)", "second pass (unchanged)"]) {
  const started = performance.now();
  const summary = await ingestion.pass();
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${label.padEnd(24)} ${summary.packages} repositories, ${summary.newVersions} new versions, ` +
      `${summary.apiRequests} API requests, ${seconds.toFixed(2)} s`,
  );
}
await open.close();
await Deno.remove(dataDir, { recursive: true });
