import assert from "node:assert/strict";
import { packageZip } from "./support/archives.ts";
import { eventually } from "./support/eventually.ts";
import { libraryZip, publishModule } from "./support/go.ts";
import { packageTarball, publishBody } from "./support/npm.ts";
import { ADMIN_TOKEN, get, publish, startTestServer } from "./support/server.ts";

Deno.test("packages stored before the catalog existed are found by search once the server has rebuilt it", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "catalog-test-" });
  try {
    {
      await using t = await startTestServer({ dataDir });
      const swift = await publish(t.swift, "mona/LinkedList/1.0.0", {
        archive: await packageZip(),
        metadata: { description: "A linked list" },
      });
      assert.equal(swift.status, 201);
      await swift.body?.cancel();
      const npm = await fetch(`${t.url}/npm/left-pad`, {
        method: "PUT",
        headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
        body: publishBody("left-pad", "1.0.0", await packageTarball("left-pad", "1.0.0"), {
          manifest: { description: "pads strings" },
        }),
      });
      assert.equal(npm.status, 201, await npm.text());
      const go = await publishModule(
        t.url,
        "example.com/greet",
        "v1.0.0",
        await libraryZip("example.com/greet", "v1.0.0", "hi"),
      );
      assert.equal(go.status, 201, await go.text());
    }
    // As a registry from before the catalog: no catalog documents at all.
    await Deno.remove(`${dataDir}/objects/catalog`, { recursive: true });

    await using t = await startTestServer({ dataDir });
    const swiftHits = await eventually("the Swift package found again", async () => {
      const response = await get(`${t.swift}/search?q=linked&limit=10&offset=0`);
      const body = await response.json();
      return body.results?.length > 0 ? body.results : undefined;
    });
    assert.deepEqual(swiftHits.map((r: { identity: string }) => r.identity), ["mona.LinkedList"]);
    // Formats are rebuilt one after the other: the Swift entries can be back before npm's.
    await eventually("the whole catalog rebuilt", () => t.logs.some((l) => l.includes("catalog rebuilt")));
    const npm = await (await fetch(`${t.url}/npm/-/v1/search?text=pads`)).json();
    assert.deepEqual(npm.objects.map((o: { package: { name: string } }) => o.package.name), ["left-pad"]);
    const status = await (await get(`${t.url}/-/status`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } }))
      .json();
    assert.ok(status.jobs.some((j: { name: string; lastSuccess?: string }) => j.name === "catalog-rebuild"));
    assert.ok(t.logs.some((l) => l.includes("catalog rebuilt") && l.includes('"go":1')), "the Go module is back too");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
