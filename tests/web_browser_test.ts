/// <reference lib="dom" />
/// <reference lib="deno.ns" />
/**
 * The web pages in a real browser (Debian's Chromium, headless, driven by
 * playwright-core): what a person does and sees, and that hostile package
 * text runs nothing. The browser's own timers and pipes outlive each test's
 * page, so these tests turn Deno's op and resource sanitizers off; the
 * browser is closed in every test.
 */
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { packageZip } from "./support/archives.ts";
import { launchChromium } from "./support/chromium.ts";
import { eventually } from "./support/eventually.ts";
import { ADMIN_TOKEN, startTestServer } from "./support/server.ts";
import { seedPackages } from "./support/web.ts";

const browserTest = (name: string, fn: (browser: Browser) => Promise<void>) =>
  Deno.test({
    name,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const browser = await launchChromium();
      try {
        await fn(browser);
      } finally {
        await browser.close();
      }
    },
  });

/** Everything a page did that it should not have: dialogs, console errors, uncaught errors. */
function watch(page: Page): string[] {
  const events: string[] = [];
  page.on("dialog", async (dialog) => {
    events.push(`dialog: ${dialog.message()}`);
    await dialog.dismiss();
  });
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") events.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => events.push(`error: ${error.message}`));
  return events;
}

browserTest(
  "a person searches, opens a package and an older version, reads its README and copies the install line",
  async (browser) => {
    await using t = await startTestServer();
    await seedPackages(t);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: t.url });
    const page = await context.newPage();
    const events = watch(page);

    await page.goto(`${t.url}/`);
    assert.equal(await page.title(), "Packages · Registry");
    await page.fill('input[name="q"]', "linked list");
    await Promise.all([page.waitForURL("**/-/web/search?q=linked+list"), page.press('input[name="q"]', "Enter")]);
    await Promise.all([page.waitForURL("**/-/web/packages/swift/mona/linkedlist"), page.click("text=mona.LinkedList")]);
    assert.equal((await page.textContent("h1"))?.replace(/\s+/g, " ").trim(), "mona.LinkedList 1.1.0");
    assert.equal(await page.textContent(".readme strong"), "doubly linked list", "the README, rendered");
    assert.equal(await page.textContent(".readme pre code"), "var list = LinkedList<Int>()\nlist.append(1)\n");

    await Promise.all([page.waitForURL("**/linkedlist?version=1.0.0"), page.click('ul.versions a:text-is("1.0.0")')]);
    assert.equal((await page.textContent("h1"))?.replace(/\s+/g, " ").trim(), "mona.LinkedList 1.0.0");
    assert.match((await page.textContent(".readme"))!, /Old README\./);
    const line = '.package(id: "mona.LinkedList", from: "1.0.0")';
    assert.equal(await page.textContent("#install-0"), line);
    const copy = page.locator('button[data-copy="install-0"]');
    assert.ok(await copy.isVisible(), "the copy button shows once the script runs");
    // The button says "Copied" for a moment: record every label it shows rather than racing its timer.
    await page.evaluate(() => {
      const button = document.querySelector('button[data-copy="install-0"]')!;
      const labels: string[] = (globalThis as { labels?: string[] }).labels = [];
      new MutationObserver(() => labels.push(button.textContent ?? ""))
        .observe(button, { childList: true, characterData: true, subtree: true });
    });
    await copy.click();
    await page.waitForFunction(() => (globalThis as { labels?: string[] }).labels?.includes("Copied"));
    const copied = await eventually("the line on the clipboard", async () => {
      const text = await page.evaluate(() => navigator.clipboard.readText());
      return text === line && text;
    });
    assert.equal(copied, line);
    assert.equal(await page.textContent("#setup-0"), `swift package-registry set ${t.url}/swift`);

    // The pre-release is marked; the Go module has its own install line.
    assert.equal(await page.textContent('ul.versions li:has(a:text-is("2.0.0-beta.1")) .badge'), "pre-release");
    await page.goto(`${t.url}/-/web/search?q=greeter`);
    await Promise.all([page.waitForURL("**/packages/go/**"), page.click("text=example.com/greeter")]);
    assert.equal(await page.textContent("#install-0"), "go get example.com/greeter@v1.1.0");
    assert.equal(await page.textContent(".readme h1"), "greeter");
    assert.deepEqual(events, [], "nothing went wrong on the way");
    await context.close();
  },
);

browserTest(
  "the pages work by keyboard, with a visible focus, and without JavaScript except copying",
  async (browser) => {
    await using t = await startTestServer();
    await seedPackages(t);
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    await page.goto(`${t.url}/`);
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Skip to content");
    const outline = () => page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    assert.notEqual(await outline(), "none", "the focused link is outlined");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => (document.activeElement as HTMLInputElement).name), "q");
    assert.notEqual(await outline(), "none", "the focused search box is outlined");
    await page.keyboard.type("greeter");
    await Promise.all([page.waitForURL("**/search?q=greeter"), page.keyboard.press("Enter")]);
    assert.match((await page.textContent("ol.packages"))!, /example\.com\/greeter/);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `no sideways scrolling on a phone (page is ${width}px wide)`);
    await context.close();

    const noScript = await browser.newContext({ javaScriptEnabled: false });
    const plain = await noScript.newPage();
    await plain.goto(`${t.url}/-/web/search?q=linked`);
    await Promise.all([plain.waitForURL("**/packages/swift/mona/linkedlist"), plain.click("text=mona.LinkedList")]);
    assert.equal(await plain.textContent("#install-0"), '.package(id: "mona.LinkedList", from: "1.1.0")');
    assert.equal(await plain.locator('button[data-copy="install-0"]').isVisible(), false, "no dead copy button");
    await noScript.close();
  },
);

browserTest("hostile README, description and metadata show as text and run nothing", async (browser) => {
  await using t = await startTestServer();
  await seedPackages(t);
  const page = await browser.newPage();
  const events = watch(page);
  for (const path of ["/", "/-/web/search?q=safe", "/-/web/packages/swift/evil/package"]) {
    await page.goto(`${t.url}${path}`);
    await page.waitForLoadState("load");
    const found = await page.evaluate(() => ({
      pwned: (globalThis as { __pwned?: unknown }).__pwned,
      inlineScripts: document.querySelectorAll("script:not([src])").length,
      eventAttributes: [...document.querySelectorAll("*")].flatMap((e) =>
        [...e.attributes].filter((a) => a.name.startsWith("on")).map((a) => `${e.tagName} ${a.name}`)
      ),
      badUrls: [...document.querySelectorAll("[href], [src]")]
        .map((e) => e.getAttribute("href") ?? e.getAttribute("src") ?? "")
        .filter((url) => /^\s*(javascript|data|vbscript):/i.test(url)),
      frames: document.querySelectorAll("iframe, object, embed").length,
      svgs: document.querySelectorAll("main svg").length,
    }));
    assert.deepEqual(found, {
      pwned: undefined,
      inlineScripts: 0,
      eventAttributes: [],
      badUrls: [],
      frames: 0,
      svgs: 0,
    }, path);
  }
  const description = await page.textContent("main > p:not(.muted)");
  assert.match(description!, /Totally safe <script>window\.__pwned = "description"/, "the description, as text");
  const readme = (await page.textContent(".readme"))!;
  assert.match(readme, /<script>window\.__pwned = "readme"; alert\("readme"\)<\/script>/);
  assert.match(readme, /\[click me\]\(javascript:window\.__pwned='link'\)/);
  assert.match(readme, /<img src="x" onerror=/);
  assert.equal(await page.locator(".readme a").count(), 0, "no link survived");
  assert.match((await page.textContent("dl.facts"))!, /javascript:window\.__pwned='repository'/);
  assert.match((await page.textContent("dl.facts"))!, /<svg onload="window\.__pwned = 'author'">/);
  assert.deepEqual(events, [], "no dialog, console error or script error");
});

browserTest(
  "the operator page asks for a token, keeps it out of script reach, and shows why a mirror failed",
  async (browser) => {
    const root = await Deno.makeTempDir();
    try {
      await Deno.mkdir(`${root}/acme/Widgets`, { recursive: true });
      await Deno.writeFile(`${root}/acme/Widgets/1.0.0.zip`, await packageZip({ top: "Widgets" }));
      await Deno.writeTextFile(`${root}/acme/Widgets/1.1.0.zip`, "not a zip");
      await using t = await startTestServer({ env: { REGISTRY_FILESYSTEM_ROOT: root, REGISTRY_SYNC_INTERVAL: "1h" } });
      await t.server.scheduler.runNow("source-filesystem");
      const page = await browser.newPage();
      const events = watch(page);

      await page.goto(`${t.url}/`);
      await Promise.all([page.waitForURL("**/-/web/admin"), page.click("text=Operator")]);
      assert.equal(await page.textContent("h1"), "Sign in");
      assert.equal(await page.locator("text=Refused or skipped").count(), 0, "nothing shown before signing in");
      await page.fill("#token", "wrong-token-0123456789");
      await Promise.all([page.waitForURL("**/-/web/sign-in"), page.click("form.signin button")]);
      assert.match((await page.textContent("[role=alert]"))!, /not recognised/);

      await page.fill("#token", ADMIN_TOKEN);
      await Promise.all([page.waitForURL("**/-/web/admin"), page.click("form.signin button")]);
      assert.equal(await page.textContent("h1"), "Operator");
      assert.ok(!page.url().includes(ADMIN_TOKEN), "the token is not in the URL");
      const stored = await page.evaluate(() => ({
        cookie: document.cookie,
        local: JSON.stringify(localStorage),
        session: JSON.stringify(sessionStorage),
      }));
      assert.ok(!JSON.stringify(stored).includes(ADMIN_TOKEN), "the token is out of script reach");
      const row = page.locator("tr", { hasText: "acme/Widgets/1.1.0.zip" });
      assert.match((await row.textContent())!, /not a valid zip file/, "the failing mirror's reason");

      // Run now, then sign out: the operator page asks for a token again.
      await Promise.all([page.waitForURL("**/-/web/admin?ran=source-filesystem"), page.click("text=Run now")]);
      assert.match((await page.textContent("[role=status]"))!, /Asked source-filesystem to run now/);
      await Promise.all([page.waitForURL(`${t.url}/`), page.click("text=Sign out")]);
      await page.goto(`${t.url}/-/web/admin`);
      assert.equal(await page.textContent("h1"), "Sign in");
      assert.deepEqual(events.filter((e) => !e.includes("401")), [], "nothing went wrong");
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
);
