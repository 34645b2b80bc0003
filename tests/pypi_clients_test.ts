/**
 * PyPI with the real clients: twine uploads, pip installs into scratch
 * virtual environments, a fake upstream index for pull-through.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { projectJson } from "./support/pypi.ts";
import {
  buildProject,
  makeVenv,
  pipInstall,
  pythonPrint,
  startFakeIndex,
  twineUpload,
  wheelMetadata,
  writeDists,
} from "./support/python.ts";
import { startTestS3 } from "./support/s3.ts";
import { ADMIN_TOKEN, startTestServer } from "./support/server.ts";

Deno.test("twine uploads a wheel and an sdist, and pip installs them with a dependency only the upstream has", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "pypi-clients-" });
  try {
    const dependency = await buildProject(dir, {
      name: "dep-only-upstream",
      version: "1.2.0",
      module: "dep_only_upstream",
      value: "7",
    });
    const app = await buildProject(dir, {
      name: "Bar-Demo.pkg",
      version: "1.0.0",
      module: "bar_demo",
      value: "42",
      dependencies: ["dep-only-upstream>=1"],
      requiresPython: ">=3.7",
    });
    await using index = await startFakeIndex({
      "dep-only-upstream": [{ ...dependency.wheel, metadata: await wheelMetadata(dir, dependency.wheel) }],
    });
    let now = Date.now();
    await using server = await startTestServer({ env: { REGISTRY_PYPI_UPSTREAM: index.url }, now: () => now });
    const paths = await writeDists(join(dir, "upload"), [app.wheel, app.sdist]);

    await t.step("twine uploads both files to the repository URL", async () => {
      const uploaded = await twineUpload(server.url, ADMIN_TOKEN, paths);
      assert.equal(uploaded.code, 0, uploaded.output);
      const page = await projectJson(server.url, "bar-demo-pkg");
      assert.deepEqual(page.files.map((f) => f.filename).sort(), [app.sdist.filename, app.wheel.filename].sort());
      assert.deepEqual(page.versions, ["1.0.0"]);
    });

    await t.step("a second upload of the same files is refused, and --skip-existing skips them", async () => {
      const again = await twineUpload(server.url, ADMIN_TOKEN, paths);
      assert.notEqual(again.code, 0);
      assert.match(again.output, /File already exists/);
      const skipped = await twineUpload(server.url, ADMIN_TOKEN, paths, ["--skip-existing"]);
      assert.equal(skipped.code, 0, skipped.output);
      assert.match(skipped.output, /Skipping .*because it appears to already exist/s);
    });

    await t.step("twine with a wrong token is refused with 401", async () => {
      const refused = await twineUpload(server.url, "not-the-token-0123456789", paths);
      assert.notEqual(refused.code, 0);
      assert.match(refused.output, /401 Unauthorized/);
    });

    const install = async (name: string) => {
      const python = await makeVenv(join(dir, name));
      const installed = await pipInstall(python, server.url, ["Bar-Demo.pkg"]);
      assert.equal(installed.code, 0, installed.output);
      assert.equal(
        await pythonPrint(python, "import bar_demo, dep_only_upstream; print(bar_demo.VALUE, dep_only_upstream.VALUE)"),
        "42 7",
      );
      return installed;
    };

    await t.step("pip installs the package and pulls its dependency through from the upstream", async () => {
      const installed = await install("venv-1");
      assert.match(installed.output, /Successfully installed Bar-Demo\.pkg-1\.0\.0 dep-only-upstream-1\.2\.0/);
      // pip read the metadata files (PEP 658) before choosing the wheels.
      const paths = server.logs.filter((l) => l.includes('"msg":"request"')).map((l) => JSON.parse(l).path);
      assert.ok(paths.includes(`/pypi/files/bar-demo-pkg/${app.wheel.filename}.metadata`), paths.join("\n"));
      assert.ok(paths.includes(`/pypi/files/dep-only-upstream/${dependency.wheel.filename}.metadata`));
      assert.ok(index.requests.includes(`/files/${dependency.wheel.filename}`));
    });

    await t.step(
      "with the upstream stopped and its pages out of date, pip still installs from what was cached",
      async () => {
        await index.stop();
        now += 60 * 60_000; // every cached upstream page is now due for revalidation, which fails
        await install("venv-2");
        assert.ok(server.logs.some((l) => l.includes("serving a stale copy")), "the page was served stale");
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Debian's pip 23.0 installs from the registry too", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pypi-debian-pip-" });
  try {
    const project = await buildProject(dir, { name: "plain_lib", version: "0.3", module: "plain_lib", value: "3" });
    await using server = await startTestServer();
    const uploaded = await twineUpload(server.url, ADMIN_TOKEN, await writeDists(dir, [project.wheel]));
    assert.equal(uploaded.code, 0, uploaded.output);
    const python = await makeVenv(join(dir, "venv"));
    const installed = await pipInstall(python, server.url, ["plain-lib==0.3"], { pipPython: "/usr/bin/python3" });
    assert.equal(installed.code, 0, installed.output);
    assert.equal(await pythonPrint(python, "import plain_lib; print(plain_lib.VALUE)"), "3");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("with two servers on one S3 bucket, a file uploaded on one is installable through the other within 2 s", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pypi-cluster-" });
  try {
    const project = await buildProject(dir, { name: "cluster-lib", version: "1.0", module: "cluster_lib", value: "5" });
    await using s3 = await startTestS3();
    let nowB = Date.now();
    await using a = await startTestServer({ env: s3.env });
    await using b = await startTestServer({ env: s3.env, now: () => nowB });
    const before = await fetch(`${b.url}/pypi/simple/cluster-lib/`);
    assert.equal(before.status, 404, "B has looked, and remembers the project does not exist");
    await before.body?.cancel();

    const uploaded = await twineUpload(a.url, ADMIN_TOKEN, await writeDists(dir, [project.wheel]));
    assert.equal(uploaded.code, 0, uploaded.output);
    nowB += 2_000; // the bound: B trusts what it holds in memory for at most 2 s
    const page = await projectJson(b.url, "cluster-lib");
    assert.deepEqual(page.files.map((f) => f.filename), [project.wheel.filename]);

    const python = await makeVenv(join(dir, "venv"));
    const installed = await pipInstall(python, b.url, ["cluster-lib"]);
    assert.equal(installed.code, 0, installed.output);
    assert.equal(await pythonPrint(python, "import cluster_lib; print(cluster_lib.VALUE)"), "5");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
