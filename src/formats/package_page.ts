/**
 * What a package page for people shows, in terms every format can fill: a
 * format's optional `page()` (src/formats/format.ts) returns a
 * {@link PackagePage}, and the web pages (src/web/) render it. Everything in
 * it is text from publishers or upstreams: the renderer escapes it, and
 * shows only http(s) links.
 *
 * @module
 */

/** One version as a package page lists it. */
export interface PageVersion {
  version: string;
  /** ISO 8601 time it was published, when known. */
  publishedAt?: string;
  /** A pre-release (`1.0.0-beta.1`, `2.0.0rc1`). */
  prerelease: boolean;
  /** Present when yanked: the reason ("" when none was given). */
  yanked?: string;
  /** Present when deprecated: the message ("" when none was given). */
  deprecated?: string;
}

/** A link shown on a package page (repository, homepage, license text...). */
export interface PageLink {
  label: string;
  url: string;
}

/** How one client installs the shown version: a line to copy. */
export interface InstallLine {
  /** Who runs it: `Package.swift`, `npm`, `pip`, `go`. */
  client: string;
  /** The exact text to paste. */
  line: string;
  /** A command to run once before, to point the client at this registry, when one is needed. */
  setup?: string;
  /** A short note under it, when needed. */
  note?: string;
}

/** A README (or long description) as its publisher wrote it. */
export interface PageReadme {
  text: string;
  /** `markdown` is rendered (no raw HTML, http(s) links only); `plain` is shown as preformatted text. */
  markup: "markdown" | "plain";
}

/** The signer of a version: its certificate's subject and fingerprint. */
export interface PageSigner {
  /** E.g. `Mona Lisa, Octo Org` (common name, organization). */
  name: string;
  /** Lowercase hex SHA-256 of the signer's certificate. */
  certificateSha256: string;
}

/** A package page: the package and one of its versions (the latest by default). */
export interface PackagePage {
  /** How clients write the package's name. */
  id: string;
  description?: string;
  /** Every version, newest first. */
  versions: PageVersion[];
  /** The version shown. */
  version: string;
  /** The shown version's README, when it has one. */
  readme?: PageReadme;
  /** SPDX expression or license name. */
  license?: string;
  links: PageLink[];
  authors?: string[];
  keywords?: string[];
  /** When the shown version was published (ISO 8601), when known. */
  publishedAt?: string;
  /** The checksum of the shown version's artifact. */
  checksum?: { algorithm: string; value: string };
  /** Who signed the shown version, as verified when it was published (signed releases only). */
  signer?: PageSigner;
  /** The shown version's install lines, one per client. */
  install: InstallLine[];
  /** `upstream` when the package is cached from an upstream registry. */
  origin: "local" | "upstream";
}

/** What a page is asked for. */
export interface PageRequest {
  /** The version to show; the latest (non-pre-release, not yanked) when absent. */
  version?: string;
  /** The absolute base URL clients reach this server at, for install lines (no trailing slash). */
  baseUrl: string;
}

/**
 * The version a page shows by default: the first of `versions` (newest first)
 * that is neither a pre-release nor yanked, else the first not yanked, else
 * the first.
 */
export function defaultVersion(versions: readonly PageVersion[]): string | undefined {
  return (versions.find((v) => !v.prerelease && v.yanked === undefined) ??
    versions.find((v) => v.yanked === undefined) ?? versions[0])?.version;
}
