/**
 * The real go command (Debian's go 1.19) against the Go module proxy, with
 * cold caches and no network but the test server and a fake upstream.
 */
import assert from "node:assert/strict";
import { startTestServer } from "./support/server.ts";
import { assertGoOk, fakeLibrary, goWorkspace, libraryZip, publishModule, startFakeGoProxy } from "./support/go.ts";

const CONSUMER_MAIN = `package main

import (
	"fmt"

	"example.com/lib"
	"example.org/upstream/greet"
)

func main() { fmt.Println(lib.Hello(), "/", greet.Hello()) }
`;

Deno.test("go build uses a module published here and one pulled through, and builds again with the upstream stopped", async () => {
  const upstream = startFakeGoProxy([await fakeLibrary("example.org/upstream/greet", "v1.2.0", "hello from upstream")]);
  await using server = await startTestServer({ env: { REGISTRY_GO_UPSTREAM: upstream.url } });
  await using ws = await goWorkspace();
  const published = await publishModule(
    server.url,
    "example.com/lib",
    "v1.0.0",
    await libraryZip("example.com/lib", "v1.0.0", "hello from here"),
  );
  const receipt = await published.text();
  assert.equal(published.status, 201, receipt);
  const zipSum = /^example\.com\/lib v1\.0\.0 (h1:\S+)$/m.exec(receipt)?.[1];
  assert.ok(zipSum, receipt);

  await ws.write(
    "app/go.mod",
    "module example.com/app\n\ngo 1.19\n\nrequire (\n\texample.com/lib v1.0.0\n\texample.org/upstream/greet v1.2.0\n)\n",
  );
  await ws.write("app/main.go", CONSUMER_MAIN);
  const proxy = `${server.url}/go`;
  assertGoOk(await ws.go(["build", "-o", "app", "."], { proxy, cwd: "app" }), "go build");
  const output = new TextDecoder().decode((await new Deno.Command(`${ws.dir}/app/app`).output()).stdout);
  assert.equal(output, "hello from here / hello from upstream\n");
  const goSum = await Deno.readTextFile(`${ws.dir}/app/go.sum`);
  assert.match(goSum, new RegExp(`^example\\.com/lib v1\\.0\\.0 ${zipSum.replace(/[+/]/g, "\\$&")}$`, "m"));
  assert.ok(upstream.requests.some((p) => p.endsWith("greet/@v/v1.2.0.zip")), upstream.requests.join("\n"));

  // A cold client, the upstream gone: the pinned copy is served, and matches go.sum.
  await upstream.close();
  await ws.clearCaches();
  await Deno.remove(`${ws.dir}/app/app`);
  assertGoOk(await ws.go(["build", "-o", "app", "."], { proxy, cwd: "app" }), "go build without the upstream");
  assert.equal(await Deno.readTextFile(`${ws.dir}/app/go.sum`), goSum);
});
