/**
 * Screenshots of the web pages for a person to look at: the home, a package
 * and the operator page, at phone and desktop widths, in light and dark.
 * Starts a registry seeded with packages of several formats and a directory
 * mirror holding a broken release, and drives Debian's Chromium.
 *
 * Usage: `deno task screenshots [output directory]` (default `dist/screenshots`).
 *
 * @module
 */
import { ADMIN_TOKEN, startTestServer } from "../tests/support/server.ts";
import { launchChromium } from "../tests/support/chromium.ts";
import { seedPackages } from "../tests/support/web.ts";
import { packageZip } from "../tests/support/archives.ts";

const out = Deno.args[0] ?? "dist/screenshots";
await Deno.mkdir(out, { recursive: true });
const root = await Deno.makeTempDir({ prefix: "screenshots-mirror-" });
await Deno.mkdir(`${root}/acme/Widgets`, { recursive: true });
await Deno.writeFile(`${root}/acme/Widgets/1.0.0.zip`, await packageZip({ top: "Widgets" }));
await Deno.writeTextFile(`${root}/acme/Widgets/1.1.0.zip`, "not a zip");

await using server = await startTestServer({
  env: { REGISTRY_FILESYSTEM_ROOT: root, REGISTRY_SYNC_INTERVAL: "1h", REGISTRY_LOG_LEVEL: "warn" },
});
await seedPackages(server);
await server.server.scheduler.runNow("source-filesystem");

const browser = await launchChromium();
try {
  const viewports = [
    { name: "phone", width: 390, height: 844 },
    { name: "desktop", width: 1280, height: 900 },
  ];
  for (const viewport of viewports) {
    for (const colorScheme of ["light", "dark"] as const) {
      const context = await browser.newContext({ viewport, colorScheme });
      const page = await context.newPage();
      const shot = async (name: string) => {
        const path = `${out}/${name}-${viewport.name}-${colorScheme}.png`;
        await page.screenshot({ path, fullPage: true });
        console.log(path);
      };
      await page.goto(`${server.url}/`);
      await shot("home");
      await page.goto(`${server.url}/-/web/packages/swift/mona/linkedlist`);
      await shot("package");
      await page.goto(`${server.url}/-/web/search?q=greet`);
      await shot("search");
      await page.goto(`${server.url}/-/web/admin`);
      await page.fill("#token", ADMIN_TOKEN);
      await Promise.all([page.waitForURL("**/-/web/admin"), page.click("form.signin button")]);
      await shot("operator");
      await context.close();
    }
  }
} finally {
  await browser.close();
  await Deno.remove(root, { recursive: true });
}
