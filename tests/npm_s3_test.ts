import assert from "node:assert/strict";
import { join } from "node:path";
import { startTestS3 } from "./support/s3.ts";
import { ADMIN_TOKEN, startTestServer } from "./support/server.ts";
import { npmClient, packageTarball, publishBody, writePackage } from "./support/npm.ts";

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

Deno.test("two nodes on one bucket: one npm version published on both at once has exactly one winner", async () => {
  await using s3 = await startTestS3();
  await using a = await startTestServer({ env: s3.env });
  await using b = await startTestServer({ env: s3.env });
  const put = async (base: string, content: string) => {
    const tarball = await packageTarball("@acme/raced", "1.0.0", [{ name: "package/raced.js", content }]);
    return await fetch(`${base}/npm/@acme%2fraced`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
      body: publishBody("@acme/raced", "1.0.0", tarball),
    });
  };
  const answers = await Promise.all([put(a.url, "module.exports = 'a';\n"), put(b.url, "module.exports = 'b';\n")]);
  const statuses = await Promise.all(answers.map(async (r) => (await r.body?.cancel(), r.status)));
  assert.deepEqual(statuses.sort(), [201, 403], "one wins; the other is refused as a republish");
  // Both nodes serve the winner's bytes.
  const [onA, onB] = await Promise.all([a, b].map(async (t) => {
    const packument = await (await fetch(`${t.url}/npm/@acme%2fraced`)).json();
    return packument.versions["1.0.0"].dist.integrity;
  }));
  assert.equal(onA, onB);
});
