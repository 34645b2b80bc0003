/**
 * The real go command (Debian's go 1.19) against the Go module proxy, with
 * cold caches and no network but the test server and a fake upstream.
 */
import assert from "node:assert/strict";
import { DEFAULT_ARCHIVE_LIMITS } from "../src/core/zip_scan.ts";
import { goModH1, inspectModuleZip } from "../src/formats/go/module_zip.ts";
import { buildZip } from "./support/archives.ts";
import { fakeChecksumDatabase } from "./support/sumdb.ts";
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

Deno.test("go list, go mod download and go get @latest see the versions of a module with upper-case letters", async () => {
  await using server = await startTestServer();
  await using ws = await goWorkspace();
  const module = "example.com/Mona/Greeter";
  const sums = new Map<string, string>();
  // v1.1.0 also holds directory entries (the root's too), which go.sum's h1: hash counts as empty files,
  // and a file name that is not ASCII.
  const withDirectory = (version: string) =>
    buildZip([
      { name: `${module}@${version}/` },
      { name: `${module}@${version}/go.mod`, content: `module ${module}\n` },
      { name: `${module}@${version}/docs/café.md`, content: "# Café\n" },
      { name: `${module}@${version}/greeter.go`, content: 'package greeter\n\nfunc Hello() string { return "hi" }\n' },
      { name: `${module}@${version}/internal/` },
      { name: `${module}@${version}/internal/x.go`, content: "package internal\n" },
    ]);
  for (const version of ["v1.0.0", "v1.1.0", "v1.2.0-rc.1"]) {
    const zip = version === "v1.1.0" ? await withDirectory(version) : await libraryZip(module, version, version);
    const response = await publishModule(server.url, module, version, zip);
    const receipt = await response.text();
    assert.equal(response.status, 201, receipt);
    sums.set(version, receipt);
  }
  const proxy = `${server.url}/go`;
  await ws.write("app/go.mod", "module example.com/app\n\ngo 1.19\n");

  const listed = await ws.go(["list", "-m", "-versions", module], { proxy, cwd: "app" });
  assertGoOk(listed, "go list -m -versions");
  assert.equal(listed.stdout.trim(), `${module} v1.0.0 v1.1.0 v1.2.0-rc.1`);

  const downloaded = await ws.go(["mod", "download", "-json", `${module}@v1.1.0`], { proxy, cwd: "app" });
  assertGoOk(downloaded, "go mod download");
  const info = JSON.parse(downloaded.stdout);
  assert.equal(info.Version, "v1.1.0");
  assert.ok(sums.get("v1.1.0")!.includes(`${module} v1.1.0 ${info.Sum}\n`), `${info.Sum} in ${sums.get("v1.1.0")}`);
  assert.ok(sums.get("v1.1.0")!.includes(`${module} v1.1.0/go.mod ${info.GoModSum}\n`));

  assertGoOk(await ws.go(["get", `${module}@latest`], { proxy, cwd: "app" }), "go get @latest");
  assert.match(await Deno.readTextFile(`${ws.dir}/app/go.mod`), /example\.com\/Mona\/Greeter v1\.1\.0/);
});

Deno.test("the go command shows the proxy's text answer when a module or version is not there", async () => {
  await using server = await startTestServer();
  await using ws = await goWorkspace();
  const proxy = `${server.url}/go`;
  await ws.write("app/go.mod", "module example.com/app\n\ngo 1.19\n");
  const missing = await ws.go(["mod", "download", "example.com/nothing@v1.0.0"], { proxy, cwd: "app" });
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /404 Not Found/);
  assert.match(missing.stderr, /module example\.com\/nothing has no versions here/);

  const zip = await libraryZip("example.com/there", "v1.0.0", "hi");
  assert.equal((await publishModule(server.url, "example.com/there", "v1.0.0", zip)).status, 201);
  const unknown = await ws.go(["mod", "download", "example.com/there@v1.0.1"], { proxy, cwd: "app" });
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /example\.com\/there@v1\.0\.1: unknown version/);
});

Deno.test("GOSUMDB checks go through the proxy to the upstream's checksum database, and catch a wrong checksum", async () => {
  const module = "example.org/upstream/greet";
  const version = await fakeLibrary(module, "v1.2.0", "checked");
  await using upstream = startFakeGoProxy([version]);
  const scratch = await Deno.makeTempFile();
  await Deno.writeFile(scratch, version.zip);
  const { h1 } = await inspectModuleZip(scratch, {
    module,
    version: "v1.2.0",
    goMod: "optional",
    limits: DEFAULT_ARCHIVE_LIMITS,
  });
  await Deno.remove(scratch);
  const modH1 = goModH1(new TextEncoder().encode(version.mod));
  const honest = await fakeChecksumDatabase("sum.example.test", module, "v1.2.0", h1, modH1);
  const lying = await fakeChecksumDatabase("liar.example.test", module, "v1.2.0", `h1:${"A".repeat(43)}=`, modH1);
  for (const [name, db] of [["sum.example.test", honest], ["liar.example.test", lying]] as const) {
    for (const [path, body] of db.answers) upstream.route(`sumdb/${name}/${path}`, () => new Response(body));
  }
  await using server = await startTestServer({ env: { REGISTRY_GO_UPSTREAM: upstream.url } });
  await using ws = await goWorkspace();
  await ws.write("app/go.mod", "module example.com/app\n\ngo 1.19\n");
  const proxy = `${server.url}/go`;

  const checked = await ws.go(["mod", "download", "-json", `${module}@v1.2.0`], {
    proxy,
    cwd: "app",
    env: { GOSUMDB: honest.gosumdb },
  });
  assertGoOk(checked, "go mod download with GOSUMDB");
  assert.equal(JSON.parse(checked.stdout).Sum, h1);
  assert.ok(upstream.requests.includes(`sumdb/sum.example.test/lookup/${module}@v1.2.0`), upstream.requests.join("\n"));

  await ws.clearCaches();
  const caught = await ws.go(["mod", "download", `${module}@v1.2.0`], {
    proxy,
    cwd: "app",
    env: { GOSUMDB: lying.gosumdb },
  });
  assert.notEqual(caught.code, 0);
  assert.match(
    caught.stderr,
    /verifying module: checksum mismatch\s+downloaded: h1:\S+\s+liar\.example\.test: h1:A{43}=/,
  );
});
