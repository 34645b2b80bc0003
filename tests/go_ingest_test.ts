/**
 * Ingestion sources publish Go modules through `ctx.registry`, validated like
 * an HTTP publish.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { startTestServer } from "./support/server.ts";
import { libraryZip, moduleZip } from "./support/go.ts";

/** A source plugin that publishes the module zips in its options and writes the outcomes to `options.out`. */
const SOURCE = `
export default ({ options, registry }) => ({
  name: "go-drop",
  sources: [{
    name: "go-drop",
    async sync() {
      const outcomes = [];
      for (const { module, version, zip } of options.releases) {
        const archive = new Response(Uint8Array.from(atob(zip), (c) => c.charCodeAt(0))).body;
        outcomes.push(await registry.publish({ package: { format: "go", name: module }, version, archive }));
      }
      await Deno.writeTextFile(options.out, JSON.stringify(outcomes));
    },
  }],
});
`;

Deno.test("an ingestion source publishes a Go module zip; a bad one is refused and an existing one reported", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
    await Deno.writeTextFile(`${dir}/source.js`, SOURCE);
    const good = await libraryZip("example.com/synced", "v1.0.0", "synced");
    const releases = [
      { module: "example.com/synced", version: "v1.0.0", zip: base64(good) },
      { module: "example.com/synced", version: "v1.0.0", zip: base64(good) },
      { module: "example.com/synced", version: "v1.1.0", zip: base64(await moduleZip("example.com/else", "v1.1.0")) },
    ];
    await Deno.writeTextFile(
      `${dir}/config.json`,
      JSON.stringify({ plugins: [{ use: `${dir}/source.js`, options: { releases, out: `${dir}/out.json` } }] }),
    );
    await using t = await startTestServer({ env: { REGISTRY_CONFIG: `${dir}/config.json` } });
    await t.server.scheduler.runNow("source-go-drop");
    const outcomes = JSON.parse(await Deno.readTextFile(`${dir}/out.json`));
    assert.equal(outcomes[0].status, "published");
    assert.match(outcomes[0].checksum, /^[0-9a-f]{64}$/);
    assert.deepEqual(outcomes[1], { status: "exists" });
    assert.equal(outcomes[2].status, "refused");
    assert.match(outcomes[2].reason, /path does not have prefix "example\.com\/synced@v1\.1\.0\/"/);
    assert.equal(await (await fetch(`${t.url}/go/example.com/synced/@v/list`)).text(), "v1.0.0\n");
    const zip = await fetch(`${t.url}/go/example.com/synced/@v/v1.0.0.zip`);
    assert.deepEqual(new Uint8Array(await zip.arrayBuffer()), good);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
