/**
 * The web pages over raw HTTP: what they show, the headers every page sends,
 * escaping of hostile package text, sign-in, the operator page's access
 * rules and forms protected against cross-site requests. The browser tests
 * (web_browser_test.ts) check what a person sees and that nothing runs.
 */
import assert from "node:assert/strict";
import { packageZip } from "./support/archives.ts";
import { eventually } from "./support/eventually.ts";
import { ADMIN_TOKEN, problem, startTestServer } from "./support/server.ts";
import { publishGo, publishSwift, seedPackages } from "./support/web.ts";

interface Page {
  status: number;
  headers: Headers;
  text: string;
  /** `name=value` of every cookie the response set. */
  cookies: Record<string, string>;
  /** The raw Set-Cookie lines. */
  setCookies: string[];
}

async function open(url: string, init: RequestInit = {}): Promise<Page> {
  const response = await fetch(url, { redirect: "manual", ...init });
  const setCookies = response.headers.getSetCookie();
  const cookies = Object.fromEntries(setCookies.map((line) => line.split(";")[0].split("=")).map(([k, v]) => [k, v]));
  return { status: response.status, headers: response.headers, text: await response.text(), cookies, setCookies };
}

/** The value of the hidden `csrf` field of a page's forms. */
function csrfField(page: Page): string {
  const match = /name="csrf" value="([^"]+)"/.exec(page.text);
  assert.ok(match, "the page has a form with an anti-forgery field");
  return match[1];
}

/** Signs in through the form; returns the Cookie header of the signed-in browser. */
async function signIn(base: string, token: string): Promise<{ cookie: string; page: Page }> {
  const form = await open(`${base}/-/web/sign-in`);
  const csrf = form.cookies.registry_csrf;
  assert.ok(csrf, "the sign-in page sets the anti-forgery cookie");
  const page = await open(`${base}/-/web/sign-in`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: `registry_csrf=${csrf}` },
    body: new URLSearchParams({ csrf: csrfField(form), token, next: "/-/web/admin" }),
  });
  const session = page.cookies.registry_session;
  return { cookie: `registry_csrf=${csrf}${session ? `; registry_session=${session}` : ""}`, page };
}

function assertSecurityHeaders(page: Page, label: string): void {
  const csp = page.headers.get("content-security-policy") ?? "";
  assert.match(csp, /default-src 'none'/, label);
  assert.match(csp, /script-src 'self'(;|$)/, label);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, label);
  assert.match(csp, /frame-ancestors 'none'/, label);
  assert.equal(page.headers.get("x-content-type-options"), "nosniff", label);
  assert.equal(page.headers.get("referrer-policy"), "same-origin", label);
}

Deno.test("the home page lists every format's packages newest first with counts, and pages through them", async () => {
  let clock = Date.UTC(2026, 0, 1);
  await using t = await startTestServer({ now: () => clock });
  await publishSwift(t.swift, "mona", "LinkedList", "1.0.0");
  clock += 60_000;
  await publishSwift(t.swift, "evil", "Package", "1.0.0");
  clock += 60_000;
  await publishGo(t.url, "example.com/greeter", "v1.0.0");
  const home = await open(`${t.url}/`);
  assert.equal(home.status, 200);
  assert.match(home.headers.get("content-type")!, /^text\/html/);
  assertSecurityHeaders(home, "home");
  assert.match(home.text, /All formats \(3\)/);
  assert.match(home.text, /swift \(2\)/);
  assert.match(home.text, /go \(1\)/);
  const order = ["example.com/greeter", "evil.Package", "mona.LinkedList"].map((id) => home.text.indexOf(`>${id}<`));
  assert.ok(order.every((i) => i > 0), "every package is listed");
  assert.deepEqual([...order].sort((a, b) => a - b), order, "newest change first");

  const goOnly = await open(`${t.url}/?format=go`);
  assert.match(goOnly.text, /example\.com\/greeter/);
  assert.doesNotMatch(goOnly.text, /mona\.LinkedList/);
  assert.equal((await open(`${t.url}/?format=nope`)).status, 404);

  // 30 more packages: two pages.
  for (let i = 0; i < 30; i++) {
    clock += 1000;
    await publishSwift(t.swift, "many", `Pkg${i}`, "1.0.0");
  }
  const first = await open(`${t.url}/`);
  assert.equal([...first.text.matchAll(/class="name"/g)].length, 25);
  assert.match(first.text, /href="\/\?page=2" rel="next"/);
  const second = await open(`${t.url}/?page=2`);
  assert.equal([...second.text.matchAll(/class="name"/g)].length, 8);
  assert.match(second.text, /rel="prev"/);
  assert.doesNotMatch(second.text, /rel="next"/);
});

Deno.test("search finds packages by name, description and keyword words, name matches first", async () => {
  await using t = await startTestServer();
  await seedPackages(t);
  const byName = await open(`${t.url}/-/web/search?q=greeter`);
  assert.equal(byName.status, 200);
  assertSecurityHeaders(byName, "search");
  assert.match(byName.text, /example\.com\/greeter/);
  assert.doesNotMatch(byName.text, /mona\.LinkedList/);
  assert.match(byName.text, /All formats \(1\)/, "the counts are of the matches");
  assert.match(byName.text, /go \(1\)/);
  assert.match(byName.text, /swift \(0\)/);
  const mona = await open(`${t.url}/-/web/search?q=mona`);
  assert.match(mona.text, /mona\.LinkedList/);
  assert.match(mona.text, /@mona\/left-pad/);
  const monaSwift = await open(`${t.url}/-/web/search?q=mona&format=swift`);
  assert.match(monaSwift.text, /mona\.LinkedList/);
  assert.doesNotMatch(monaSwift.text, /@mona\/left-pad/);
  const byDescription = await open(`${t.url}/-/web/search?q=${encodeURIComponent("doubly LINKED")}`);
  assert.match(byDescription.text, /mona\.LinkedList/);
  assert.doesNotMatch(byDescription.text, /evil\.Package/);
  // Keywords: a PyPI project's (from its METADATA) and an npm package's.
  const byPypiKeyword = await open(`${t.url}/-/web/search?q=cli`);
  assert.match(byPypiKeyword.text, /tiny-tool/);
  assert.match(byPypiKeyword.text, /pypi \(1\)/);
  const none = await open(`${t.url}/-/web/search?q=zzzz-nothing`);
  assert.match(none.text, /No package matches/);
  // The query is shown back escaped.
  const hostile = await open(`${t.url}/-/web/search?q=${encodeURIComponent('"><script>alert(1)</script>')}`);
  assert.equal(hostile.status, 200);
  assert.doesNotMatch(hostile.text, /<script>alert/);
  assert.match(hostile.text, /&quot;&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
});

Deno.test("a package page shows versions newest first, the README, links, checksum and the install line", async () => {
  await using t = await startTestServer();
  await seedPackages(t);
  const page = await open(`${t.url}/-/web/packages/swift/mona/linkedlist`);
  assert.equal(page.status, 200);
  assertSecurityHeaders(page, "package");
  assert.match(page.text, /<h1>mona\.LinkedList <span class="muted">1\.1\.0<\/span><\/h1>/, "the latest release");
  assert.match(page.text, /<strong>doubly linked list<\/strong>/, "the README rendered");
  assert.match(
    page.text,
    /<code id="install-0">\.package\(id: &quot;mona\.LinkedList&quot;, from: &quot;1\.1\.0&quot;\)<\/code>/,
  );
  assert.match(page.text, new RegExp(`swift package-registry set ${t.url}/swift<`));
  assert.match(page.text, /sha256: [0-9a-f]{64}/);
  assert.match(page.text, /href="https:\/\/github\.com\/mona\/LinkedList"/);
  assert.match(page.text, /Mona Lisa, Mona Org/);
  const versions = ["2.0.0-beta.1", "1.1.0", "1.0.0"].map((v) => page.text.indexOf(`>${v}</a>`));
  assert.ok(versions.every((i, n) => i > 0 && (n === 0 || i > versions[n - 1])), "versions newest first");
  assert.match(page.text, />2\.0\.0-beta\.1<\/a>\s*<span class="badge">pre-release<\/span>/);

  // A yanked release is marked, with its reason; a taken-down one is gone.
  const withdraw = async (kind: string, version: string, reason: string) => {
    const response = await fetch(`${t.swift}/-/${kind}/mona/LinkedList/${version}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ reason }),
    });
    assert.equal(response.status, 200, await response.text());
  };
  await withdraw("yank", "1.1.0", "broke <b>everything</b>");
  await withdraw("takedown", "2.0.0-beta.1", "legal");
  const withdrawn = await open(`${t.url}/-/web/packages/swift/mona/linkedlist?version=1.1.0`);
  assert.match(withdrawn.text, /Version 1\.1\.0 was yanked: broke &lt;b&gt;everything&lt;\/b&gt;\./);
  assert.match(withdrawn.text, /<span class="badge bad" title="broke &lt;b&gt;everything&lt;\/b&gt;">yanked<\/span>/);
  assert.doesNotMatch(withdrawn.text, />2\.0\.0-beta\.1</, "a taken-down release is not listed");
  assert.equal((await open(`${t.url}/-/web/packages/swift/mona/linkedlist?version=2.0.0-beta.1`)).status, 410);
  const latest = await open(`${t.url}/-/web/packages/swift/mona/linkedlist`);
  assert.match(latest.text, /<h1>mona\.LinkedList <span class="muted">1\.0\.0<\/span><\/h1>/, "the latest not yanked");

  const old = await open(`${t.url}/-/web/packages/swift/mona/linkedlist?version=1.0.0`);
  assert.match(old.text, /Old README\./);
  assert.match(old.text, /from: &quot;1\.0\.0&quot;/);
  const missing = await open(`${t.url}/-/web/packages/swift/mona/linkedlist?version=9.9.9`);
  assert.equal(missing.status, 404);
  assertSecurityHeaders(missing, "404 page");
  assert.match(missing.headers.get("content-type")!, /^text\/html/);

  const go = await open(`${t.url}/-/web/packages/go/example.com/greeter/@`);
  assert.equal(go.status, 200);
  assert.match(go.text, /<code id="install-0">go get example\.com\/greeter@v1\.1\.0<\/code>/);
  assert.match(go.text, new RegExp(`export GOPROXY=${t.url}/go GONOSUMDB=example\\.com/greeter<`));
  assert.match(go.text, /<h1>greeter<\/h1>/, "the README from the module zip");
  assert.match(go.text, /go\.sum: h1:/);
  const goOld = await open(`${t.url}/-/web/packages/go/example.com/greeter/@?version=v1.0.0`);
  assert.match(goOld.text, /This version has no README/);

  const npm = await open(`${t.url}/-/web/packages/npm/@mona/left-pad`);
  assert.equal(npm.status, 200);
  assert.match(npm.text, /<code id="install-0">npm install @mona\/left-pad@1\.1\.0<\/code>/);
  assert.match(npm.text, new RegExp(`npm config set @mona:registry ${t.url}/npm/<`));
  assert.match(npm.text, /<code class="language-js">leftPad\('x', 3\)/, "the README npm keeps");
  assert.match(npm.text, /<dd>MIT<\/dd>/);
  assert.match(npm.text, /href="https:\/\/github\.com\/mona\/left-pad"/);
  assert.match(npm.text, /integrity: sha512-/);
  assert.match(npm.text, /Pads strings on the left/);
  assert.match(npm.text, /<dt>Published<\/dt>\s*<dd><time datetime="\d{4}-/, "the publish time");

  // A deprecated version is marked, with the reason, escaped (npm deprecate sends the packument back).
  const packument = await (await fetch(`${t.url}/npm/@mona%2fleft-pad?write=true`)).json();
  packument.versions["1.0.0"].deprecated = "use <b>1.1</b>";
  const deprecated = await fetch(`${t.url}/npm/@mona%2fleft-pad`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify(packument),
  });
  assert.equal(deprecated.status, 200, await deprecated.text());
  const oldNpm = await open(`${t.url}/-/web/packages/npm/@mona/left-pad?version=1.0.0`);
  assert.match(oldNpm.text, /Version 1\.0\.0 is deprecated: use &lt;b&gt;1\.1&lt;\/b&gt;/);
  assert.match(oldNpm.text, /<span class="badge warn" title="use &lt;b&gt;1\.1&lt;\/b&gt;">deprecated<\/span>/);

  const pypi = await open(`${t.url}/-/web/packages/pypi/tiny-tool`);
  assert.equal(pypi.status, 200);
  assert.match(
    pypi.text,
    new RegExp(`<code id="install-0">pip install --index-url ${t.url}/pypi/simple/ tiny_tool==1\\.0\\.0<`),
  );
  assert.match(pypi.text, /A <strong>tiny<\/strong> tool\./, "the long description from the wheel's METADATA");
  assert.match(pypi.text, /<dd>MIT<\/dd>/);
  assert.match(pypi.text, /<dd>Mona<\/dd>/);
  assert.match(pypi.text, /href="https:\/\/github\.com\/mona\/tiny-tool"/);
  assert.match(pypi.text, /sha256 of tiny_tool-1\.0\.0-py3-none-any\.whl: [0-9a-f]{64}/);
  assert.match(pypi.text, />0\.9\.0<\/a>/);

  for (const path of ["/-/web/packages/swift/nobody/nothing", "/-/web/packages/npmx/a", "/-/web/packages/swift/../x"]) {
    assert.equal((await open(`${t.url}${path}`)).status, 404, path);
  }
  // A page that did not change answers 304 to its ETag.
  const etag = (await open(`${t.url}/-/web/packages/swift/mona/linkedlist`)).headers.get("etag")!;
  const again = await fetch(`${t.url}/-/web/packages/swift/mona/linkedlist`, { headers: { "If-None-Match": etag } });
  assert.equal(again.status, 304);
  await again.body?.cancel();
});

Deno.test("hostile package text is escaped everywhere it is shown: no markup, no javascript: or data: links", async () => {
  await using t = await startTestServer();
  await seedPackages(t);
  for (const path of ["/", "/-/web/search?q=safe", "/-/web/packages/swift/evil/package"]) {
    const page = await open(`${t.url}${path}`);
    assert.equal(page.status, 200, path);
    const scripts = [...page.text.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    assert.equal(scripts.length, 1, `${path}: only the page's own script`);
    assert.match(scripts[0], /^<script src="\/-\/web\/assets\/copy\.[0-9a-f]{12}\.js" defer>$/);
    assert.doesNotMatch(page.text, /<[a-z][^>]*\son\w+=/i, `${path}: no element has an event attribute`);
    assert.doesNotMatch(page.text, /(href|src)="\s*(javascript|data|vbscript):/i, path);
    assert.doesNotMatch(page.text, /<iframe/i, path);
    assert.match(page.text, /Totally safe &lt;script&gt;window\.__pwned/, `${path}: the description shown as text`);
  }
  const page = await open(`${t.url}/-/web/packages/swift/evil/package`);
  assert.match(page.text, /&lt;script&gt;window\.__pwned = &quot;readme&quot;/, "raw HTML in the README is text");
  assert.match(page.text, /\[click me\]\(javascript:window\.__pwned='link'\)/, "a javascript: link is text");
  assert.match(page.text, /<dd>javascript:window\.__pwned=&#39;repository&#39;<\/dd>/, "metadata links too");
  assert.match(page.text, /&lt;svg onload=&quot;window\.__pwned = &#39;author&#39;&quot;&gt;/);
});

Deno.test("a README is read from the archive once and kept: it shows after a restart without the archive", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "registry-test-" });
  try {
    {
      await using t = await startTestServer({ dataDir });
      await publishSwift(t.swift, "mona", "Kept", "1.0.0", { readme: "# Kept\n\nRead once." });
      assert.match((await open(`${t.url}/-/web/packages/swift/mona/kept`)).text, /Read once\./);
    }
    const archives: string[] = [];
    for await (const entry of Deno.readDir(`${dataDir}/objects/swift/packages/mona/kept/releases/1.0.0`)) {
      archives.push(`${dataDir}/objects/swift/packages/mona/kept/releases/1.0.0/${entry.name}/source-archive.zip`);
    }
    assert.equal(archives.length, 1);
    await Deno.remove(archives[0]);
    await using t = await startTestServer({ dataDir });
    assert.match((await open(`${t.url}/-/web/packages/swift/mona/kept`)).text, /Read once\./);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("REGISTRY_WEB=false serves no pages: / is the plain 404 and the APIs still answer", async () => {
  await using t = await startTestServer({ env: { REGISTRY_WEB: "false" } });
  await publishGo(t.url, "example.com/off", "v1.0.0");
  for (const path of ["/", "/-/web/search?q=x", "/-/web/admin"]) {
    const response = await fetch(`${t.url}${path}`);
    assert.equal(response.status, 404, path);
    await problem(response);
  }
  const list = await fetch(`${t.url}/go/example.com/off/@v/list`);
  assert.equal(await list.text(), "v1.0.0\n");
});

Deno.test("the pages leave the formats' paths alone: unknown API paths keep their format's error shape", async () => {
  await using t = await startTestServer();
  const swift = await fetch(`${t.url}/swift/nobody/nothing`, {
    headers: { Accept: "application/vnd.swift.registry.v1+json" },
  });
  assert.equal(swift.status, 404);
  await problem(swift);
  const go = await fetch(`${t.url}/go/example.com/none/@v/list`);
  assert.equal(go.status, 404);
  assert.match(go.headers.get("content-type")!, /^text\/plain/);
  await go.body?.cancel();
  const elsewhere = await fetch(`${t.url}/not-a-page`);
  assert.equal(elsewhere.status, 404);
  await problem(elsewhere);
  const health = await fetch(`${t.url}/health`);
  assert.equal((await health.json()).status, "ok");
});

Deno.test("the operator page needs a token with the admin scope, signed in through the form", async () => {
  const config = await Deno.makeTempFile({ suffix: ".json" });
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        plugins: [{
          use: "static-token",
          options: { tokens: [{ name: "reader", token: "reader-token-0123456789", scopes: ["read"] }] },
        }],
      }),
    );
    await Deno.mkdir(`${root}/acme/Widgets`, { recursive: true });
    await Deno.writeFile(`${root}/acme/Widgets/1.0.0.zip`, await packageZip({ top: "Widgets" }));
    await Deno.writeTextFile(`${root}/acme/Widgets/1.1.0.zip`, "not a zip");
    await using t = await startTestServer({
      env: { REGISTRY_CONFIG: config, REGISTRY_FILESYSTEM_ROOT: root, REGISTRY_SYNC_INTERVAL: "1h" },
    });

    const anonymous = await open(`${t.url}/-/web/admin`);
    assert.equal(anonymous.status, 401);
    assertSecurityHeaders(anonymous, "sign-in page");
    assert.match(anonymous.text, /<form class="signin" method="post" action="\/-\/web\/sign-in">/);
    assert.doesNotMatch(anonymous.text, /Refused or skipped/);
    const bearerInUrl = await open(`${t.url}/-/web/admin?token=${ADMIN_TOKEN}`);
    assert.equal(bearerInUrl.status, 401, "a token in the URL is not a sign-in");

    const wrong = await signIn(t.url, "not-a-token-of-this-registry");
    assert.equal(wrong.page.status, 401);
    assert.match(wrong.page.text, /That token was not recognised/);
    assert.equal(wrong.page.cookies.registry_session, undefined);

    const reader = await signIn(t.url, "reader-token-0123456789");
    assert.equal(reader.page.status, 303);
    const refused = await open(`${t.url}/-/web/admin`, { headers: { Cookie: reader.cookie } });
    assert.equal(refused.status, 403);
    assert.match(refused.text, /needs the admin scope/);

    const admin = await signIn(t.url, ADMIN_TOKEN);
    assert.equal(admin.page.status, 303);
    assert.equal(admin.page.headers.get("location"), "/-/web/admin");
    const session = admin.page.setCookies.find((line) => line.startsWith("registry_session="))!;
    assert.match(session, /; HttpOnly/i);
    assert.match(session, /; SameSite=Strict/i);
    assert.match(session, /; Path=\//);

    await t.server.scheduler.runNow("source-filesystem");
    const operator = await open(`${t.url}/-/web/admin`, { headers: { Cookie: admin.cookie } });
    assert.equal(operator.status, 200);
    assertSecurityHeaders(operator, "operator page");
    assert.equal(operator.headers.get("cache-control"), "no-store");
    assert.match(operator.text, /<code>acme\/Widgets\/1\.1\.0\.zip<\/code>/);
    assert.match(operator.text, /not a valid zip file/, "the failing mirror's reason");
    assert.match(operator.text, /<td>filesystem<\/td>/);
    assert.match(
      operator.text,
      />acme\.Widgets<\/a><\/td>\s*<td>1\.0\.0<\/td>\s*<td>a source</,
      "the mirror's publish",
    );

    // Run now: a form with the anti-forgery token; the job runs.
    const before = t.server.scheduler.status().find((j) => j.name === "source-filesystem")!.lastStart;
    const ran = await open(`${t.url}/-/web/admin/run`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: admin.cookie },
      body: new URLSearchParams({ csrf: csrfField(operator), job: "source-filesystem" }),
    });
    assert.equal(ran.status, 303);
    assert.equal(ran.headers.get("location"), "/-/web/admin?ran=source-filesystem");
    await eventually("the job ran again", () => {
      const job = t.server.scheduler.status().find((j) => j.name === "source-filesystem")!;
      return !job.running && job.lastStart !== before;
    });

    // The JSON status has the same facts.
    const status = await (await fetch(`${t.url}/-/status`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } }))
      .json();
    assert.match(status.filesystem.failed["acme/Widgets/1.1.0.zip"], /not a valid zip file/);
    assert.equal(status.storage.backend, "disk");
    assert.ok(status.jobs.find((j: { name: string }) => j.name === "source-filesystem").nextRun);

    // Signing out drops the session cookie.
    const out = await open(`${t.url}/-/web/sign-out`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: admin.cookie },
      body: new URLSearchParams({ csrf: csrfField(operator) }),
    });
    assert.equal(out.status, 303);
    assert.match(out.setCookies.find((l) => l.startsWith("registry_session="))!, /Max-Age=0/);
  } finally {
    await Deno.remove(config);
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("forms refuse requests another site could send: missing or wrong anti-forgery token, foreign origin", async () => {
  await using t = await startTestServer();
  const admin = await signIn(t.url, ADMIN_TOKEN);
  const operator = await open(`${t.url}/-/web/admin`, { headers: { Cookie: admin.cookie } });
  const csrf = csrfField(operator);
  const post = (path: string, form: Record<string, string>, headers: Record<string, string>) =>
    open(`${t.url}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(form),
    });
  const attempts: Array<[string, Page]> = [
    ["no token", await post("/-/web/admin/run", { job: "cache-sweep" }, { Cookie: admin.cookie })],
    [
      "wrong token",
      await post("/-/web/admin/run", { job: "cache-sweep", csrf: "x".repeat(43) }, { Cookie: admin.cookie }),
    ],
    [
      "foreign origin",
      await post("/-/web/admin/run", { job: "cache-sweep", csrf }, {
        Cookie: admin.cookie,
        Origin: "https://evil.example",
      }),
    ],
    [
      "cross-site fetch",
      await post("/-/web/admin/run", { job: "cache-sweep", csrf }, {
        Cookie: admin.cookie,
        "Sec-Fetch-Site": "cross-site",
      }),
    ],
    ["sign-in without the cookie", await post("/-/web/sign-in", { csrf, token: ADMIN_TOKEN }, {})],
    ["sign-out without the token", await post("/-/web/sign-out", {}, { Cookie: admin.cookie })],
  ];
  for (const [label, page] of attempts) {
    assert.equal(page.status, 403, label);
    assert.match(page.text, /another site|expired/, label);
    assert.equal(page.cookies.registry_session, undefined, label);
  }
  const sameSite = await post("/-/web/admin/run", { job: "cache-sweep", csrf }, {
    Cookie: admin.cookie,
    Origin: t.url,
    "Sec-Fetch-Site": "same-origin",
  });
  assert.equal(sameSite.status, 303);
});

Deno.test("with REGISTRY_REQUIRE_AUTH_FOR_READ the pages ask visitors to sign in first", async () => {
  await using t = await startTestServer({ env: { REGISTRY_REQUIRE_AUTH_FOR_READ: "true" } });
  await publishSwift(t.swift, "mona", "Private", "1.0.0", { metadata: { description: "secret stuff" } });
  for (const path of ["/", "/-/web/search?q=secret", "/-/web/packages/swift/mona/private"]) {
    const page = await open(`${t.url}${path}`);
    assert.equal(page.status, 401, path);
    assert.match(page.text, /Sign in/, path);
    assert.doesNotMatch(page.text, /secret stuff|mona\.Private/, path);
  }
  const { cookie } = await signIn(t.url, ADMIN_TOKEN);
  const home = await open(`${t.url}/`, { headers: { Cookie: cookie } });
  assert.equal(home.status, 200);
  assert.match(home.text, /mona\.Private/);
  assert.match(home.text, /action="\/-\/web\/sign-out"/, "a signed-in visitor can sign out from any page");
});

Deno.test("assets are served with their hash in the name, cached for a year, with the pages' headers", async () => {
  await using t = await startTestServer();
  const home = await open(`${t.url}/`);
  for (const [, path] of home.text.matchAll(/(?:href|src)="(\/-\/web\/assets\/[^"]+)"/g)) {
    const asset = await open(`${t.url}${path}`);
    assert.equal(asset.status, 200, path);
    assert.match(asset.headers.get("cache-control")!, /immutable/);
    assert.equal(asset.headers.get("x-content-type-options"), "nosniff");
    const type = path.endsWith(".css")
      ? /^text\/css/
      : path.endsWith(".svg")
      ? /^image\/svg\+xml/
      : /^text\/javascript/;
    assert.match(asset.headers.get("content-type")!, type);
  }
  assert.equal((await open(`${t.url}/-/web/assets/style.000000000000.css`)).status, 404);
});

Deno.test("packages cached from upstreams are listed, searched and shown as such, with install lines of this server", async () => {
  await using central = await startTestServer();
  await seedPackages(central);
  await using edge = await startTestServer({
    env: {
      REGISTRY_SWIFT_UPSTREAM: central.swift,
      REGISTRY_NPM_UPSTREAM: `${central.url}/npm`,
      REGISTRY_GO_UPSTREAM: `${central.url}/go`,
      REGISTRY_PYPI_UPSTREAM: `${central.url}/pypi/simple`,
      REGISTRY_GO_EXCLUDE: "",
    },
  });
  // Clients ask the edge for them: that is what fills its catalog.
  const fetched = [
    await fetch(`${edge.swift}/mona/LinkedList`, { headers: { Accept: "application/vnd.swift.registry.v1+json" } }),
    await fetch(`${edge.swift}/mona/LinkedList/1.1.0.zip`, {
      headers: { Accept: "application/vnd.swift.registry.v1+zip" },
    }),
    await fetch(`${edge.url}/npm/@mona%2fleft-pad`),
    await fetch(`${edge.url}/go/example.com/greeter/@v/list`),
    await fetch(`${edge.url}/go/example.com/greeter/@v/v1.1.0.info`),
    await fetch(`${edge.url}/go/example.com/greeter/@v/v1.1.0.zip`),
    await fetch(`${edge.url}/pypi/simple/tiny-tool/`),
  ];
  for (const response of fetched) {
    assert.equal(response.status, 200, response.url);
    await response.body?.cancel();
  }
  const home = await eventually("the edge lists what it cached", async () => {
    const page = await open(`${edge.url}/`);
    return ["mona.LinkedList", "left-pad", "greeter", "tiny"].every((name) => page.text.includes(name)) && page;
  });
  assert.equal([...home.text.matchAll(/cached from upstream/g)].length, 4);

  const swift = await open(`${edge.url}/-/web/packages/swift/mona/linkedlist`);
  assert.equal(swift.status, 200);
  assert.match(swift.text, /cached from upstream/);
  assert.match(swift.text, /from: &quot;1\.1\.0&quot;/);
  assert.match(swift.text, new RegExp(`swift package-registry set ${edge.url}/swift<`));
  assert.match(swift.text, /<strong>doubly linked list<\/strong>/, "the README of the archive the edge fetched");
  assert.match(swift.text, />2\.0\.0-beta\.1<\/a>/);
  const notFetched = await open(`${edge.url}/-/web/packages/swift/mona/linkedlist?version=1.0.0`);
  assert.match(notFetched.text, /This version has no README/, "a page view never downloads an archive");

  const npm = await open(`${edge.url}/-/web/packages/npm/@mona/left-pad`);
  assert.equal(npm.status, 200);
  assert.match(npm.text, /cached from upstream/);
  assert.match(npm.text, /npm install @mona\/left-pad@1\.1\.0/);
  assert.match(npm.text, /Pads strings on the left/);

  const go = await open(`${edge.url}/-/web/packages/go/example.com/greeter/@`);
  assert.equal(go.status, 200);
  assert.match(go.text, /cached from upstream/);
  assert.match(go.text, /go get example\.com\/greeter@v1\.1\.0/);
  assert.match(go.text, new RegExp(`export GOPROXY=${edge.url}/go<`));
  assert.match(go.text, /<h1>greeter<\/h1>/);

  const pypi = await open(`${edge.url}/-/web/packages/pypi/tiny-tool`);
  assert.equal(pypi.status, 200);
  assert.match(pypi.text, /cached from upstream/);
  assert.match(pypi.text, new RegExp(`pip install --index-url ${edge.url}/pypi/simple/ tiny-tool==1\\.0\\.0<`));
  assert.match(pypi.text, />0\.9\.0<\/a>/);

  const search = await open(`${edge.url}/-/web/search?q=mona`);
  assert.match(search.text, /mona\.LinkedList/);
  assert.match(search.text, /cached from upstream/);

  const status = await (await fetch(`${edge.url}/-/status`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } }))
    .json();
  const formats = status.upstreams.map((u: { format: string; lastSuccessAt?: string }) => u.lastSuccessAt && u.format);
  assert.deepEqual(formats.sort(), ["go", "npm", "pypi", "swift"]);

  // The operator page shows the same: each upstream answering, the storage and the rate limits.
  const admin = await signIn(edge.url, ADMIN_TOKEN);
  const operator = await open(`${edge.url}/-/web/admin`, { headers: { Cookie: admin.cookie } });
  assert.equal(operator.status, 200);
  for (const [format, url] of [["swift", central.swift], ["npm", `${central.url}/npm`]]) {
    assert.match(
      operator.text,
      new RegExp(`<td>${format}</td>\\s*<td>${url}</td>\\s*<td><span class="badge ok">answering</span>`),
      format,
    );
  }
  assert.equal([...operator.text.matchAll(/badge ok">answering/g)].length, 4);
  assert.match(operator.text, /<dt>Source of truth<\/dt><dd>local disk<\/dd>/);
  assert.match(operator.text, /<dt>Upstream copies<\/dt>\s*<dd>\d+ files, [\d.]+ \w+ of 10\.0 GiB \(0 evicted\)<\/dd>/);
  assert.match(operator.text, /<dt>Per client IP<\/dt>\s*<dd>off<\/dd>/);
});

Deno.test("the pages' forms refuse oversized, chunked or malformed bodies with a 4xx, and odd tokens or cookies never 500", async () => {
  await using t = await startTestServer();
  const form = await open(`${t.url}/-/web/sign-in`);
  const csrf = form.cookies.registry_csrf;
  const headers = { "Content-Type": "application/x-www-form-urlencoded", Cookie: `registry_csrf=${csrf}` };

  // A chunked body (no Content-Length) is cut off as it arrives: 413, not read whole into memory.
  const chunk = new TextEncoder().encode("a".repeat(64 * 1024));
  let sent = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (++sent > 64) controller.close(); // 4 MiB at most, if the server kept reading
      else controller.enqueue(chunk);
    },
  });
  const chunked = await open(`${t.url}/-/web/sign-in`, { method: "POST", headers, body: endless });
  assert.equal(chunked.status, 413);
  assert.ok(sent < 64, `the server stopped reading after ${sent} chunks`);

  const multipart = await open(`${t.url}/-/web/sign-in`, {
    method: "POST",
    headers: { "Content-Type": "multipart/form-data; boundary=zz", Cookie: `registry_csrf=${csrf}` },
    body: "junk",
  });
  assert.equal(multipart.status, 415);

  // A token with a control character cannot be a header value: a 401, and never in the log.
  const secret = `${ADMIN_TOKEN}\u0000x`;
  const odd = await open(`${t.url}/-/web/sign-in`, {
    method: "POST",
    headers,
    body: new URLSearchParams({ csrf: csrfField(form), token: secret }),
  });
  assert.equal(odd.status, 401);
  assert.ok(!t.logs.some((line) => line.includes(ADMIN_TOKEN)), "the token is not logged");

  for (const path of ["/", "/-/web/admin"]) {
    const forged = await open(`${t.url}${path}`, { headers: { Cookie: "registry_session=abc%0Adef" } });
    assert.ok(forged.status === 200 || forged.status === 401, `${path}: ${forged.status}`);
  }
  assert.ok(!t.logs.some((line) => line.includes("unhandled error")), "no 500 on the way");
});
