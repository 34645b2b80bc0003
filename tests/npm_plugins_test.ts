import assert from "node:assert/strict";
import { join } from "node:path";
import { eventually } from "./support/eventually.ts";
import { ADMIN_TOKEN, startTestServer } from "./support/server.ts";
import { npmClient, packageTarball, publishBody, writePackage } from "./support/npm.ts";

/**
 * A plugin that records what its transform and afterPublish hook see (as JSON
 * lines in `options.log`), stamps the metadata, refuses 6.6.6, and has a
 * source that ingests the tarball at `options.tarball` as `ingested@1.2.0`.
 */
const PLUGIN = `
export default ({ options, registry }) => {
  const record = (kind, value) => Deno.writeTextFile(options.log, JSON.stringify({ kind, ...value }) + "\\n", { append: true });
  return {
    name: "npm-watcher",
    transforms: [{
      name: "npm-watcher",
      async transform({ format, package: pkg, version, archive, size, filename, metadata }) {
        const bytes = new Uint8Array(await new Response(archive).arrayBuffer());
        await record("transform", { format, package: pkg, version, size, read: bytes.length, filename, name: metadata.name });
        if (version === "6.6.6") return { reject: "the number of the beast" };
        return { metadata: { reviewedBy: "npm-watcher" } };
      },
    }],
    async afterPublish(release) {
      await record("afterPublish", release);
    },
    sources: [{
      name: "npm-tarballs",
      async sync() {
        const outcome = await registry.publish({
          package: { format: "npm", name: "ingested" },
          version: "1.2.0",
          archive: (await Deno.open(options.tarball)).readable,
        });
        await record("ingest", outcome);
      },
    }],
  };
};
`;

Deno.test("transforms and afterPublish hooks see npm releases with format npm; sources ingest npm tarballs", async () => {
  const dir = await Deno.makeTempDir();
  const log = join(dir, "log.jsonl");
  const tarball = join(dir, "ingested.tgz");
  await Deno.writeFile(tarball, await packageTarball("ingested", "1.2.0", [], { description: "from a source" }));
  await Deno.writeTextFile(join(dir, "watcher.js"), PLUGIN);
  await Deno.writeTextFile(
    join(dir, "config.json"),
    JSON.stringify({ plugins: [{ use: join(dir, "watcher.js"), options: { log, tarball } }] }),
  );
  const lines = async () =>
    (await Deno.readTextFile(log).catch(() => "")).split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
  try {
    await using t = await startTestServer({ env: { REGISTRY_CONFIG: join(dir, "config.json") } });
    await using npm = await npmClient(`${t.url}/npm/`, ADMIN_TOKEN);
    await npm.ok(["publish"], await writePackage(join(dir, "pkg"), { name: "@acme/watched", version: "1.0.0" }));
    // The source may run on its own meanwhile (the scheduler starts it): look for this publish's records.
    const watched = (l: { package?: { name?: string }; id?: string }) =>
      l.package?.name === "watched" || l.id === "@acme/watched";
    const seen = await eventually("the afterPublish hook ran", async () => {
      const all = (await lines()).filter(watched);
      return all.some((l) => l.kind === "afterPublish") ? all : undefined;
    });
    const transform = seen.find((l) => l.kind === "transform");
    assert.deepEqual(transform.package, { format: "npm", scope: "acme", name: "watched" });
    assert.equal(transform.format, "npm");
    assert.equal(transform.version, "1.0.0");
    assert.equal(transform.filename, "watched-1.0.0.tgz");
    assert.equal(transform.read, transform.size);
    assert.equal(transform.name, "@acme/watched");
    const after = seen.find((l) => l.kind === "afterPublish");
    assert.equal(after.format, "npm");
    assert.equal(after.id, "@acme/watched");
    assert.equal(after.version, "1.0.0");
    assert.match(after.checksum, /^[0-9a-f]{64}$/);
    assert.equal(after.metadata.reviewedBy, "npm-watcher");
    const packument = await (await fetch(`${t.url}/npm/@acme%2fwatched`)).json();
    assert.equal(packument.versions["1.0.0"].reviewedBy, "npm-watcher", "transform metadata reaches the version");

    const refused = await fetch(`${t.url}/npm/beast`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
      body: publishBody("beast", "6.6.6", await packageTarball("beast", "6.6.6")),
    });
    assert.equal(refused.status, 422);
    assert.match((await refused.json()).error, /npm-watcher: the number of the beast/);

    await t.server.scheduler.runNow("source-npm-tarballs");
    const ingests = async () => (await lines()).filter((l) => l.kind === "ingest").map((l) => l.status);
    await eventually("the source ran", async () => (await ingests()).length > 0);
    const ingested = await (await fetch(`${t.url}/npm/ingested`)).json();
    assert.equal(ingested["dist-tags"].latest, "1.2.0");
    assert.equal(ingested.versions["1.2.0"].description, "from a source");
    assert.equal(ingested.versions["1.2.0"].reviewedBy, "npm-watcher");
    const app = await writePackage(join(dir, "app"), { name: "app", version: "0.0.0", private: true });
    await npm.ok(["install", "ingested"], app);
    assert.equal(
      await Deno.readTextFile(join(app, "node_modules/ingested/index.js")),
      'module.exports = "ingested@1.2.0";\n',
    );
    // However often the source runs, the version is published once; later passes find it there.
    await t.server.scheduler.runNow("source-npm-tarballs");
    const outcomes = await eventually("a second pass ran", async () => {
      const all = await ingests();
      return all.length > 1 ? all : undefined;
    });
    assert.deepEqual(outcomes.filter((o) => o !== "exists"), ["published"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("auth plugins see npm packages with format npm and the npm scope as the package scope", async () => {
  const dir = await Deno.makeTempDir();
  const log = join(dir, "seen.jsonl");
  await Deno.writeTextFile(
    join(dir, "watch.ts"),
    `export default ({ options }) => ({ name: "watch", auth: {
      authenticate: () => "abstain",
      async authorize(principal, action, pkg) {
        if (pkg !== undefined) {
          await Deno.writeTextFile(options.log, JSON.stringify({ action, ...pkg }) + "\\n", { append: true });
        }
        return pkg?.format === "npm" && pkg.name === "hidden" && action === "read" ? "deny" : "abstain";
      },
    } });\n`,
  );
  try {
    await using t = await startTestServer({
      env: { REGISTRY_CONFIG: await configWith(dir, { use: join(dir, "watch.ts"), options: { log } }) },
    });
    const tarball = await packageTarball("@acme/widget", "1.0.0");
    const published = await fetch(`${t.url}/npm/@acme%2fwidget`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
      body: publishBody("@acme/widget", "1.0.0", tarball),
    });
    assert.equal(published.status, 201, await published.text());
    const widget = await fetch(`${t.url}/npm/@acme%2fwidget`);
    assert.equal(widget.status, 200);
    await widget.body?.cancel();
    const hidden = await fetch(`${t.url}/npm/hidden`);
    assert.equal(hidden.status, 401, "the plugin's deny for format npm applies (to an anonymous reader: 401)");
    assert.equal(typeof (await hidden.json()).error, "string");
    const seen = (await Deno.readTextFile(log)).trim().split("\n").map((line) => JSON.parse(line));
    assert.ok(
      seen.some((s) => s.action === "read" && s.format === "npm" && s.scope === "acme" && s.name === "widget"),
      JSON.stringify(seen),
    );
    assert.ok(seen.some((s) => s.action === "read" && s.format === "npm" && s.name === "hidden"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A REGISTRY_CONFIG file in `dir` listing `plugin`. */
async function configWith(dir: string, plugin: Record<string, unknown>): Promise<string> {
  const path = join(dir, "config.json");
  await Deno.writeTextFile(path, JSON.stringify({ plugins: [plugin] }));
  return path;
}
