/** REGISTRY_FORMATS: only the formats it names are served; the others' paths are not there at all. */
import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../src/config.ts";
import { get, startTestServer } from "./support/server.ts";

Deno.test("with REGISTRY_FORMATS=swift,npm only Swift and npm answer; the other formats' paths are 404", async () => {
  await using t = await startTestServer({ env: { REGISTRY_FORMATS: "swift,npm" } });
  const served = [`${t.url}/swift/availability`, `${t.url}/npm/-/ping`];
  for (const url of served) {
    const response = await get(url);
    assert.equal(response.status, 200, url);
    await response.body?.cancel();
  }
  const gone = ["/go/example.com/lib/@v/list", "/pypi/simple/", "/cache/ac/" + "a".repeat(64), "/api/cache/cas/x"];
  for (const path of gone) {
    const response = await get(`${t.url}${path}`);
    assert.equal(response.status, 404, path);
    await response.body?.cancel();
  }
});

Deno.test("REGISTRY_FORMATS naming an unknown format is a configuration error naming the setting", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    for (const value of ["swift,rubygems", ","]) {
      await assert.rejects(
        loadConfig({ dataDir }, { REGISTRY_FORMATS: value }),
        (error: unknown) => error instanceof ConfigError && /REGISTRY_FORMATS/.test(error.message),
        JSON.stringify(value),
      );
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
