import assert from "node:assert/strict";
import { join } from "node:path";
import { startTestS3 } from "./support/s3.ts";
import { ADMIN_TOKEN, startTestServer } from "./support/server.ts";
import { npmClient, writePackage } from "./support/npm.ts";

Deno.test("two nodes on one bucket: an npm publish on one is installable through the other within 2 s", async () => {
  await using s3 = await startTestS3();
  await using a = await startTestServer({ env: s3.env });
  // B's clock only moves when the test moves it: the bound is checked on B's time.
  let clockB = Date.now();
  await using b = await startTestServer({ env: s3.env, now: () => clockB });
  await using onA = await npmClient(`${a.url}/npm/`, ADMIN_TOKEN);
  await using onB = await npmClient(`${b.url}/npm/`);
  const pkg = (version: string) =>
    writePackage(join(onA.dir, version), { name: "@acme/clustered", version }, {
      "index.js": `module.exports = ${JSON.stringify(version)};\n`,
    });
  await onA.ok(["publish"], await pkg("1.0.0"));
  // B reads it once, so its copy of the document is cached when 1.1.0 comes.
  assert.equal((await (await fetch(`${b.url}/npm/@acme%2fclustered`)).json())["dist-tags"].latest, "1.0.0");
  await onA.ok(["publish"], await pkg("1.1.0"));
  clockB += 2_000; // the stated bound
  const packument = await (await fetch(`${b.url}/npm/@acme%2fclustered`)).json();
  assert.equal(packument["dist-tags"].latest, "1.1.0", "B lists 1.1.0 once 2 s have passed there");
  const app = await writePackage(join(onB.dir, "app"), { name: "app", version: "0.0.0", private: true });
  await onB.ok(["install", "@acme/clustered"], app);
  assert.equal(
    await Deno.readTextFile(join(app, "node_modules/@acme/clustered/index.js")),
    'module.exports = "1.1.0";\n',
  );
  const lock = JSON.parse(await Deno.readTextFile(join(app, "package-lock.json")));
  assert.equal(
    lock.packages["node_modules/@acme/clustered"].resolved,
    `${b.url}/npm/@acme/clustered/-/clustered-1.1.0.tgz`,
  );
});
