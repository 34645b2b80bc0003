import assert from "node:assert/strict";
import { packageZip } from "./support/archives.ts";
import { ADMIN_TOKEN, get, problem, publish, startTestServer, type TestServer } from "./support/server.ts";

/** The packages every search test runs against: identity, versions, metadata. */
const PACKAGES: Array<[string, string[], Record<string, unknown>]> = [
  ["mona/LinkedList", ["1.0.0", "1.1.1", "2.0.0-beta.1"], {
    description: "One thing links to another.",
    author: { name: "Mona Lisa Octocat" },
    licenseURL: "https://github.com/mona/LinkedList/blob/main/LICENSE",
  }],
  ["mona/RegEx", ["2.0.0"], { description: "Expressions on the reg.", author: { name: "Mona Lisa Octocat" } }],
  ["apple/swift-nio", ["2.60.0"], { description: "Event-driven networking framework.", author: { name: "Apple" } }],
  ["apple/swift-http-types", ["1.0.3"], { description: "HTTP type definitions.", author: { name: "Apple Inc." } }],
  ["vapor/vapor", ["4.92.0"], { description: "A server-side Swift HTTP framework.", author: { name: "Vapor" } }],
  ["example/networking-old", ["0.1.0"], { description: "Deprecated networking helpers." }],
  ["acme/Logger", ["3.2.0"], { description: "Internal logging framework; links to syslog.", author: { name: "ACME" } }],
];

async function startWithPackages(env: Record<string, string> = {}, now?: () => number): Promise<TestServer> {
  const t = await startTestServer({ env, now });
  for (const [path, versions, metadata] of PACKAGES) {
    for (const version of versions) {
      const response = await publish(t.swift, `${path}/${version}`, { archive: await packageZip(), metadata });
      assert.equal(response.status, 201, await response.text());
    }
  }
  return t;
}

/** A search as `swift package-registry search` sends it: q with spaces as %20, limit and offset always. */
function search(t: TestServer, q: string, options: { limit?: number; offset?: number; token?: string } = {}) {
  const query = `q=${encodeURIComponent(q)}&limit=${options.limit ?? 20}&offset=${options.offset ?? 0}`;
  const headers: Record<string, string> = {};
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  return get(`${t.swift}/search?${query}`, { headers });
}

interface SearchBody {
  results: Array<Record<string, string>>;
  total: number;
  offset: number;
  limit: number;
}

async function identities(response: Response): Promise<string[]> {
  assert.equal(response.status, 200, await response.clone().text());
  return ((await response.json()) as SearchBody).results.map((r) => r.identity);
}

/** Query → identities, in order: every operator and qualifier of SE-0536. */
const CONFORMANCE: Array<[string, string[]]> = [
  // Free text over scope, name and description; relevance first (a name beats a description), then identity.
  ["LinkedList", ["mona.LinkedList"]],
  ["linkedlist", ["mona.LinkedList"]],
  ["networking", ["example.networking-old", "apple.swift-nio"]],
  ["link", ["mona.LinkedList", "acme.Logger"]],
  ["mona", ["mona.LinkedList", "mona.RegEx"]],
  ['"links to another"', ["mona.LinkedList"]],
  ["nothing-matches-this", []],
  // Qualifiers.
  ["scope:apple", ["apple.swift-http-types", "apple.swift-nio"]],
  ["SCOPE:APPLE", ["apple.swift-http-types", "apple.swift-nio"]],
  ["scope:app", ["apple.swift-http-types", "apple.swift-nio"]],
  ["name:regex", ["mona.RegEx"]],
  ["name:swift", ["apple.swift-http-types", "apple.swift-nio"]],
  ['description:"HTTP framework"', ["vapor.vapor"]],
  ['author:"Mona Lisa Octocat"', ["mona.LinkedList", "mona.RegEx"]],
  ["author:apple", ["apple.swift-http-types", "apple.swift-nio"]],
  ["pkg:swift/mona/LinkedList", ["mona.LinkedList"]],
  ["pkg:swift/MONA/linkedlist", ["mona.LinkedList"]],
  ["pkg:swift/mona/LinkedList@1.1.1", ["mona.LinkedList"]],
  ["pkg:swift/mona/LinkedList@9.9.9", []],
  ["pkg:swift/mona/Linked", []],
  // AND (implicit and explicit), OR (binding tighter than AND), NOT and -.
  ["http framework", ["vapor.vapor"]],
  ["http AND framework", ["vapor.vapor"]],
  ["networking scope:apple OR scope:vapor", ["apple.swift-nio"]],
  ["scope:apple OR scope:vapor networking", ["apple.swift-nio"]],
  ["vapor OR regex", ["vapor.vapor", "mona.RegEx"]],
  ["networking NOT scope:example", ["apple.swift-nio"]],
  ["networking -scope:example", ["apple.swift-nio"]],
  ["mona -regex", ["mona.LinkedList"]],
  ['-"links to" scope:mona', ["mona.RegEx"]],
  ["NOT scope:mona NOT scope:apple framework", ["acme.Logger", "vapor.vapor"]],
  ["scope:acme OR NOT scope:acme pkg:swift/acme/Logger", ["acme.Logger"]],
];

Deno.test("search: the SE-0536 conformance table, as swift package-registry search asks", async () => {
  await using t = await startWithPackages();
  for (const [q, expected] of CONFORMANCE) {
    const response = await search(t, q);
    assert.equal(response.headers.get("content-version"), "1", q);
    assert.match(response.headers.get("content-type")!, /^application\/json(;|$)/, q);
    assert.deepEqual(await identities(response), expected, q);
  }
});

Deno.test("search: results carry identity, summary, newest stable version, author, license URL and this registry's URL", async () => {
  await using t = await startWithPackages();
  const response = await search(t, "pkg:swift/mona/LinkedList");
  assert.deepEqual(await response.json(), {
    results: [{
      identity: "mona.LinkedList",
      summary: "One thing links to another.",
      latestVersion: "1.1.1",
      author: "Mona Lisa Octocat",
      licenseURL: "https://github.com/mona/LinkedList/blob/main/LICENSE",
      url: `${t.swift}/mona/LinkedList`,
    }],
    total: 1,
    offset: 0,
    limit: 20,
  });
  const empty = await get(`${t.swift}/search`);
  assert.deepEqual(await empty.json(), { results: [], total: 0, offset: 0, limit: 20 }, "no q: no results");
  const blank = await search(t, "   ");
  assert.deepEqual((await blank.json()).results, []);
  const head = await get(`${t.swift}/search?q=mona`, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.body === null || (await head.arrayBuffer()).byteLength === 0, true);
});

Deno.test("search: + and %20 both mean a space, %2B a plus", async () => {
  await using t = await startWithPackages();
  for (const raw of ["author:%22Mona+Lisa%22", "author:%22Mona%20Lisa%22", "author:%22mona%20lisa%22+scope:mona"]) {
    assert.deepEqual(await identities(await get(`${t.swift}/search?q=${raw}`)), ["mona.LinkedList", "mona.RegEx"], raw);
  }
  assert.deepEqual(await identities(await get(`${t.swift}/search?q=networking+scope:apple+OR+scope:vapor`)), [
    "apple.swift-nio",
  ]);
  assert.deepEqual(await identities(await get(`${t.swift}/search?q=c%2B%2B`)), [], "a literal plus");
});

Deno.test("search: bad queries and parameters are 400 problems", async () => {
  await using t = await startWithPackages();
  const bad: Array<[string, RegExp]> = [
    ["license:mit", /unknown qualifier "license:"/],
    ["https://github.com/mona/LinkedList", /unknown qualifier "https:"/],
    ['"unterminated', /unterminated quote/],
    ["OR mona", /between two terms/],
    ["mona OR", /ends with an operator/],
    ["mona AND", /ends with an operator/],
    ["mona OR OR regex", /between two terms/],
    ["NOT", /ends with an operator/],
    ["scope:", /empty search term after "scope:"/],
    ['name:""', /empty search term/],
    ["pkg:npm/left-pad", /not a Swift package URL/],
    ["pkg:swift/mona", /not a Swift package URL/],
    ["pkg:swift/mona/LinkedList@latest", /not a Swift package URL/],
    ["x".repeat(513), /too long/],
    [Array.from({ length: 33 }, (_, i) => `t${i}`).join(" "), /too many search terms/],
  ];
  for (const [q, detail] of bad) {
    const response = await search(t, q);
    assert.equal(response.status, 400, q);
    assert.equal(response.headers.get("content-version"), "1");
    assert.match((await problem(response)).detail, detail, q);
  }
  for (const query of ["q=a&limit=0", "q=a&limit=101", "q=a&limit=ten", "q=a&offset=-1", "q=a&offset=1.5"]) {
    const response = await get(`${t.swift}/search?${query}`);
    assert.equal(response.status, 400, query);
    await problem(response);
  }
});

Deno.test("search: pages partition the results in one deterministic order, with first/prev/next/last links", async () => {
  await using t = await startWithPackages();
  const q = "scope:apple OR scope:mona OR scope:vapor OR scope:acme";
  const all = await identities(await search(t, q));
  assert.equal(all.length, 6);
  const paged: string[] = [];
  for (const offset of [0, 2, 4]) {
    const response = await search(t, q, { limit: 2, offset });
    const body: SearchBody = await response.clone().json();
    assert.equal(body.total, 6);
    assert.equal(body.offset, offset);
    assert.equal(body.limit, 2);
    paged.push(...await identities(response));
    const at = (start: number) => `${t.swift}/search?q=${encodeURIComponent(q)}&limit=2&offset=${start}`;
    const expected = [`<${at(0)}>; rel="first"`];
    if (offset > 0) expected.push(`<${at(offset - 2)}>; rel="prev"`);
    if (offset < 4) expected.push(`<${at(offset + 2)}>; rel="next"`);
    expected.push(`<${at(4)}>; rel="last"`);
    assert.equal(response.headers.get("link"), expected.join(", "), `offset ${offset}`);
  }
  assert.deepEqual(paged, all, "no gaps, no overlaps");
  const past = await search(t, q, { limit: 2, offset: 10 });
  assert.deepEqual(await past.json(), { results: [], total: 6, offset: 10, limit: 2 });
  const single = await search(t, "regex");
  assert.equal(single.headers.get("link"), null, "one page: no links");
  await single.body?.cancel();
});

Deno.test("search: only packages the caller may read are found or counted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "search-auth-" });
  const plugin = `${dir}/private-acme.ts`;
  await Deno.writeTextFile(
    plugin,
    `export default () => ({
      name: "private-acme",
      auth: {
        authenticate: () => "abstain",
        authorize: (principal, action, pkg) =>
          action === "read" && pkg?.scope?.toLowerCase() === "acme" && principal === null ? "deny" : "abstain",
      },
    });\n`,
  );
  try {
    await using t = await startWithPackages({ REGISTRY_PLUGINS: plugin });
    const anonymous = await search(t, "framework");
    const body: SearchBody = await anonymous.clone().json();
    assert.deepEqual(await identities(anonymous), ["apple.swift-nio", "vapor.vapor"]);
    assert.equal(body.total, 2);
    assert.deepEqual(await identities(await search(t, "framework", { token: ADMIN_TOKEN })), [
      "acme.Logger",
      "apple.swift-nio",
      "vapor.vapor",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  await using closed = await startTestServer({ env: { REGISTRY_REQUIRE_AUTH_FOR_READ: "true" } });
  const refused = await search(closed, "mona");
  assert.equal(refused.status, 401);
  assert.equal(refused.headers.get("www-authenticate"), 'Bearer realm="swift-registry"');
  await problem(refused);
});

Deno.test("search: the index follows publishes, yanks and takedowns at once", async () => {
  await using t = await startWithPackages();
  const latest = async () => ((await (await search(t, "pkg:swift/mona/RegEx")).json()) as SearchBody).results[0];
  assert.equal((await latest()).latestVersion, "2.0.0");
  const published = await publish(t.swift, "mona/RegEx/2.1.0", {
    archive: await packageZip(),
    metadata: { description: "Regular expressions, faster." },
  });
  assert.equal(published.status, 201);
  assert.deepEqual(await latest(), {
    identity: "mona.RegEx",
    summary: "Regular expressions, faster.",
    latestVersion: "2.1.0",
    url: `${t.swift}/mona/RegEx`,
  });
  const admin = { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" };
  const yank = await fetch(`${t.swift}/-/yank/mona/RegEx/2.1.0`, {
    method: "POST",
    headers: admin,
    body: JSON.stringify({ reason: "slow after all" }),
  });
  await yank.body?.cancel();
  assert.equal((await latest()).latestVersion, "2.0.0", "a yanked version is not the latest");
  for (const version of ["2.0.0", "2.1.0"]) {
    const takedown = await fetch(`${t.swift}/-/takedown/mona/RegEx/${version}`, {
      method: "POST",
      headers: admin,
      body: JSON.stringify({ reason: "legal" }),
    });
    await takedown.body?.cancel();
  }
  assert.deepEqual(await identities(await search(t, "regex")), [], "every release taken down: not found");
});

Deno.test("search: over the rate limit a client gets 429 with Retry-After", async () => {
  const clock = { now: Date.parse("2026-06-01T00:00:00Z") };
  await using t = await startTestServer({ env: { REGISTRY_RATE_LIMIT_IP: "1" }, now: () => clock.now });
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) {
    const response = await search(t, "mona");
    statuses.push(response.status);
    if (response.status === 429) {
      assert.equal(response.headers.get("retry-after"), "1");
      assert.equal(response.headers.get("content-version"), "1");
      await problem(response);
    } else await response.body?.cancel();
  }
  assert.deepEqual(statuses, [200, 200, 429]);
  clock.now += 1_000;
  const later = await search(t, "mona");
  assert.equal(later.status, 200);
  await later.body?.cancel();
});
