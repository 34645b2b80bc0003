import assert from "node:assert/strict";
import { parseUpstreamPage } from "./upstream_page.ts";
import { pypiUpstreamPage } from "./web_page.ts";

const HASH = "a".repeat(64);

Deno.test("an upstream project whose name has a dash shows its sdist's version with its upload time, yank and checksum", () => {
  const body = JSON.stringify({
    meta: { "api-version": "1.1" },
    name: "python-dateutil",
    files: [{
      filename: "python-dateutil-2.8.2.tar.gz",
      url: "https://files.example/python-dateutil-2.8.2.tar.gz",
      hashes: { sha256: HASH },
      "upload-time": "2021-07-08T10:00:00Z",
      yanked: "use 2.9",
    }],
  });
  const project = parseUpstreamPage(
    "python-dateutil",
    "https://up.example/simple/python-dateutil/",
    new TextEncoder().encode(body),
    "application/vnd.pypi.simple.v1+json",
  );
  const page = pypiUpstreamPage(project, { baseUrl: "http://registry.example" })!;
  assert.deepEqual(page.versions, [
    { version: "2.8.2", publishedAt: "2021-07-08T10:00:00Z", prerelease: false, yanked: "use 2.9" },
  ]);
  assert.deepEqual(page.checksum, { algorithm: "sha256 of python-dateutil-2.8.2.tar.gz", value: HASH });
});
