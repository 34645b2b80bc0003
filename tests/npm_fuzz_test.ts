import assert from "node:assert/strict";
import { ADMIN_TOKEN, startTestServer } from "./support/server.ts";
import { packageTarball, publishBody } from "./support/npm.ts";
import { seededRandom } from "./support/seeded_random.ts";

Deno.test("random requests under /npm never get a 5xx, always get npm's error shape, and write nothing outside", async () => {
  const parent = await Deno.makeTempDir();
  await using t = await startTestServer({ dataDir: `${parent}/data` });
  const tarball = await packageTarball("@acme/fuzz", "1.0.0");
  const valid = publishBody("@acme/fuzz", "1.0.0", tarball);
  const published = await fetch(`${t.url}/npm/@acme%2ffuzz`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
    body: valid,
  });
  assert.equal(published.status, 201, await published.text());

  const seed = Number(Deno.env.get("FUZZ_SEED") ?? Date.now() % 100000);
  const next = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  const names = ["@acme%2ffuzz", "@acme/fuzz", "@acme%2Ffuzz", "fuzz", "a..b", "@", "@acme", "%00", "😀", "A"];
  const rest = ["", "-", "-rev", "1.0.0", "latest", "fuzz-1.0.0.tgz", "-/fuzz-1.0.0.tgz", "-rev/1-x", "%E0%A4%A", ".."];
  const specials = [
    "-/whoami",
    "-/ping",
    "-/v1/search?text=fuzz&size=-1&from=x",
    "-/v1/login",
    "-/user/org.couchdb.user:x",
    "-/package/@acme%2ffuzz/dist-tags",
    "-/package/@acme%2ffuzz/dist-tags/beta",
    "-/package/fuzz/dist-tags/latest",
    "-/package",
    "-/npm/v1/security/advisories/bulk",
  ];
  const bodies = [
    () => valid,
    () => valid.slice(0, Math.floor(next() * valid.length)),
    () => valid.replace("1.0.0", pick(["1.0.1", "x", ""])),
    () => '"1.0.0"',
    () => JSON.stringify({ password: pick([ADMIN_TOKEN, "x", 5]) }),
    () => JSON.stringify({ versions: { "1.0.0": { deprecated: pick(["x", "", 5]) } } }),
    () => String.fromCharCode(...crypto.getRandomValues(new Uint8Array(200))),
  ];
  const methods = ["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH"];
  for (let i = 0; i < 600; i++) {
    const path = next() < 0.3 ? pick(specials) : `${pick(names)}${next() < 0.5 ? "" : `/${pick(rest)}`}`;
    const method = pick(methods);
    const headers = new Headers({ "Content-Type": "application/json" });
    if (next() < 0.6) headers.set("Authorization", pick([`Bearer ${ADMIN_TOKEN}`, "Bearer wrong", "Basic !!!"]));
    if (next() < 0.3) headers.set("Accept", pick(["application/vnd.npm.install-v1+json", "*/*", "text/html"]));
    if (next() < 0.2) headers.set("If-None-Match", pick(["*", '"x"', ""]));
    const body = method === "PUT" || method === "POST" ? pick(bodies)() : undefined;
    const url = `${t.url}/npm/${path}`;
    let response: Response;
    try {
      response = await fetch(url, { method, headers, body });
    } catch (error) {
      throw new Error(`seed ${seed}: ${method} ${url} failed at the transport level: ${error}`);
    }
    const text = await response.text();
    assert.ok(response.status < 500, `seed ${seed}: ${method} ${url} -> ${response.status} ${text}`);
    if (response.status >= 400 && method !== "HEAD") {
      assert.equal(typeof JSON.parse(text).error, "string", `seed ${seed}: ${method} ${url} -> ${text}`);
    }
  }
  const errors = t.logs.filter((line) => JSON.parse(line).level === "error");
  assert.deepEqual(errors, [], `seed ${seed}`);
  const beside = (await Array.fromAsync(Deno.readDir(parent))).map((e) => e.name).sort();
  assert.deepEqual(beside, ["data"], `seed ${seed}: nothing appeared beside the data directory`);
  await t.close();
  await Deno.remove(parent, { recursive: true });
});
