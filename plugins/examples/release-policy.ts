/**
 * Example artifact transform: refuses pre-release versions when asked to, and
 * fills in a default license URL in the release metadata.
 *
 * Options: `{ "rejectPrereleases": true, "defaultLicenseURL": "https://example.com/LICENSE" }`.
 *
 * @module
 */
import type { PluginFactory } from "../types.ts";

interface Options {
  rejectPrereleases?: boolean;
  defaultLicenseURL?: string;
}

const factory: PluginFactory<Options> = ({ options, semver, logger }) => ({
  name: "release-policy",
  transforms: [{
    name: "release-policy",
    async transform({ version, archive, metadata, package: pkg }) {
      await archive.cancel(); // this transform does not look at the bytes
      if (options.rejectPrereleases && semver.valid(version) && /-/.test(version.split("+")[0])) {
        return { reject: `pre-release versions (${version}) are not accepted here` };
      }
      if (options.defaultLicenseURL && metadata.licenseURL === undefined) {
        logger.debug("adding the default license URL", { package: `${pkg.scope}.${pkg.name}`, version });
        return { metadata: { licenseURL: options.defaultLicenseURL } };
      }
      return {};
    },
  }],
});

export default factory;
