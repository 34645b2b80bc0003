/**
 * Debian's Chromium (`apt-get install chromium`, which .ci/run does when it
 * is missing) driven by playwright-core, for the web page tests and the
 * screenshots script. playwright-core reads /proc at import, so whatever
 * imports this module runs with `--allow-all`.
 *
 * @module
 */
import { type Browser, chromium } from "playwright-core";

/** Where Debian installs Chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** Launches Debian's Chromium headless with the flags these machines need. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
