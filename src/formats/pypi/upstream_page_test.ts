import assert from "node:assert/strict";
import { parseUpstreamPage } from "./upstream_page.ts";

const HASH = "a".repeat(64);
const META = "b".repeat(64);
const encode = (text: string) => new TextEncoder().encode(text);

Deno.test("a PEP 503 HTML page gives its wheels and sdists, with relative links resolved and attributes decoded", () => {
  const html = `<!DOCTYPE html><html><body>
    <a href="../../files/dep_lib-1.0-py3-none-any.whl#sha256=${HASH}" data-requires-python="&gt;=3.8"
       data-dist-info-metadata="sha256=${META}">dep_lib-1.0-py3-none-any.whl</a><br/>
    <a href='https://cdn.example/dep-lib-1.1.tar.gz#sha256=${HASH.toUpperCase()}' data-yanked="broken &amp; bad">x</a>
    <a href="dep_lib-0.9.egg#sha256=${HASH}">an egg</a>
    <a href="dep_lib-0.8.tar.gz#md5=${"c".repeat(32)}">no sha256</a>
    <a href="other-1.0.tar.gz#sha256=${HASH}">another project</a>
  </body></html>`;
  const page = parseUpstreamPage("dep-lib", "https://up.example/simple/dep-lib/", encode(html), "text/html");
  assert.deepEqual(page.versions, ["1.0", "1.1"]);
  assert.deepEqual(page.files, [
    {
      filename: "dep_lib-1.0-py3-none-any.whl",
      url: "https://up.example/files/dep_lib-1.0-py3-none-any.whl",
      sha256: HASH,
      requiresPython: ">=3.8",
      yanked: false,
      coreMetadataSha256: META,
    },
    {
      filename: "dep-lib-1.1.tar.gz",
      url: "https://cdn.example/dep-lib-1.1.tar.gz",
      sha256: HASH,
      yanked: "broken & bad",
    },
  ]);
});

Deno.test("a PEP 691 JSON page gives sizes, upload times, yanking and core metadata hashes", () => {
  const json = {
    meta: { "api-version": "1.1" },
    name: "dep-lib",
    files: [
      {
        filename: "dep_lib-1.0-py3-none-any.whl",
        url: "/files/dep_lib-1.0-py3-none-any.whl#sha256=ignored",
        hashes: { sha256: HASH },
        "core-metadata": { sha256: META },
        yanked: true,
        size: 1234,
        "upload-time": "2026-01-02T03:04:05.000000Z",
      },
      { filename: "dep-lib-1.0.tar.gz", url: "x.tar.gz", hashes: { md5: "c".repeat(32) } },
    ],
  };
  const page = parseUpstreamPage(
    "dep-lib",
    "http://up.example/simple/dep-lib/",
    encode(JSON.stringify(json)),
    "application/vnd.pypi.simple.v1+json",
  );
  assert.deepEqual(page.files, [{
    filename: "dep_lib-1.0-py3-none-any.whl",
    url: "http://up.example/files/dep_lib-1.0-py3-none-any.whl",
    sha256: HASH,
    size: 1234,
    uploadTime: "2026-01-02T03:04:05.000000Z",
    yanked: "",
    coreMetadataSha256: META,
  }]);
});
