/**
 * Packages an authorization plugin hides from a caller stay hidden
 * everywhere: not only their own pages, but lookups and counts that would
 * tell they exist.
 */
import assert from "node:assert/strict";
import { packageZip } from "./support/archives.ts";
import { coreMetadata, upload, wheel } from "./support/pypi.ts";
import { ADMIN_TOKEN, get, publish, startTestServer } from "./support/server.ts";

/** A plugin that lets only authenticated callers read packages whose name contains "secret". */
const HIDE_SECRET = `export default () => ({ name: "hide-secret", auth: {
  restrictsReads: true,
  authenticate: () => "abstain",
  authorize(principal, action, pkg) {
    if (action !== "read" || pkg === undefined || principal !== null) return "abstain";
    return \`\${pkg.scope ?? ""}/\${pkg.name}\`.toLowerCase().includes("secret") ? "deny" : "abstain";
  },
} });
`;

Deno.test("a hidden package is in no identifier lookup, page count or search count an anonymous caller sees", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/hide-secret.ts`, HIDE_SECRET);
  try {
    await using t = await startTestServer({ env: { REGISTRY_PLUGINS: `${dir}/hide-secret.ts` } });
    for (const [path, url] of [["secret/Secret/1.0.0", "corp/secret-thing"], ["mona/Public/1.0.0", "corp/public"]]) {
      const response = await publish(t.swift, path, {
        archive: await packageZip({ top: path.split("/")[1] }),
        metadata: { repositoryURLs: [`https://github.com/${url}`], description: "a package" },
      });
      assert.equal(response.status, 201);
      await response.body?.cancel();
    }
    const hidden = await get(`${t.swift}/identifiers?url=https://github.com/corp/secret-thing`);
    assert.equal(hidden.status, 404, "an anonymous caller cannot learn the hidden package's identifier");
    await hidden.body?.cancel();
    const admin = await get(`${t.swift}/identifiers?url=https://github.com/corp/secret-thing`, {
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.deepEqual(await admin.json(), { identifiers: ["secret.Secret"] });
    const visible = await get(`${t.swift}/identifiers?url=https://github.com/corp/public`);
    assert.deepEqual(await visible.json(), { identifiers: ["mona.Public"] });

    // The pages count only what the caller may read: a count would give hidden names away letter by letter.
    const home = await (await fetch(`${t.url}/`)).text();
    assert.doesNotMatch(home, /Secret/);
    assert.match(home, />swift \(1\)</, "the home page counts one Swift package");
    for (const query of ["secret", "secre", "s"]) {
      const page = await (await fetch(`${t.url}/-/web/search?q=${query}`)).text();
      assert.doesNotMatch(page, /secret\.Secret/, query);
      assert.doesNotMatch(page, />swift \(2\)</, `"${query}" counts the hidden package`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a hidden PyPI project is not in the root index an anonymous caller reads, in HTML or JSON", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/hide-secret.ts`, HIDE_SECRET);
  try {
    await using t = await startTestServer({ env: { REGISTRY_PLUGINS: `${dir}/hide-secret.ts` } });
    for (const name of ["secret-lib", "public-lib"]) {
      const response = await upload(t.url, await wheel(name, "1.0", { metadata: coreMetadata(name, "1.0") }));
      assert.equal(response.status, 200, await response.text());
    }
    const json = { Accept: "application/vnd.pypi.simple.v1+json" };
    const names = async (headers: Record<string, string>) =>
      ((await (await get(`${t.url}/pypi/simple/`, { headers })).json()).projects as { name: string }[])
        .map((p) => p.name.replace(/[-_.]+/g, "-")).sort();
    assert.deepEqual(await names(json), ["public-lib"]);
    const html = await (await get(`${t.url}/pypi/simple/`, { headers: { Accept: "text/html" } })).text();
    assert.doesNotMatch(html, /secret/);
    assert.match(html, /public[-_]lib/);
    assert.deepEqual(await names({ ...json, Authorization: `Bearer ${ADMIN_TOKEN}` }), ["public-lib", "secret-lib"]);
    // And the anonymous answer is not the admin's, remembered.
    assert.deepEqual(await names(json), ["public-lib"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
