/**
 * Example lifecycle hook: after each publish, POSTs the release as JSON to a
 * webhook. A failing webhook is logged by the host; the release stays.
 *
 * Options: `{ "url": "https://hooks.example.com/registry" }`.
 *
 * @module
 */
import type { PluginFactory } from "../types.ts";

const factory: PluginFactory<{ url: string }> = ({ options, fetch }) => {
  const url = new URL(options.url); // throws on a bad URL: the host reports it at start-up
  return {
    name: "publish-webhook",
    async afterPublish(release) {
      const response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ event: "release.published", ...release }),
      });
      await response.body?.cancel();
      if (!response.ok) throw new Error(`webhook answered ${response.status}`);
    },
  };
};

export default factory;
