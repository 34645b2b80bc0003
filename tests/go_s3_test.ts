/**
 * The Go module proxy on a shared S3 bucket: nodes see each other's publishes
 * within the 2-second bound of shared metadata.
 */
import assert from "node:assert/strict";
import { startTestS3 } from "./support/s3.ts";
import { startTestServer } from "./support/server.ts";
import { libraryZip, publishModule } from "./support/go.ts";

Deno.test("two servers on one bucket: a module version published on one is served by the other within 2 s", async () => {
  await using s3 = await startTestS3();
  let clockB = Date.now();
  await using a = await startTestServer({ env: s3.env });
  await using b = await startTestServer({ env: s3.env, now: () => clockB });
  const first = await publishModule(
    a.url,
    "example.com/lib",
    "v1.0.0",
    await libraryZip("example.com/lib", "v1.0.0", "1"),
  );
  assert.equal(first.status, 201, await first.text());
  assert.equal(await (await fetch(`${b.url}/go/example.com/lib/@v/list`)).text(), "v1.0.0\n");

  // B now holds the module's document in memory; A publishes another version.
  const zip = await libraryZip("example.com/lib", "v1.1.0", "2");
  const second = await publishModule(a.url, "example.com/lib", "v1.1.0", zip);
  assert.equal(second.status, 201, await second.text());
  clockB += 2_001; // past the bound of shared metadata: B must look again
  assert.equal(await (await fetch(`${b.url}/go/example.com/lib/@v/list`)).text(), "v1.0.0\nv1.1.0\n");
  const info = await (await fetch(`${b.url}/go/example.com/lib/@v/v1.1.0.info`)).json();
  assert.equal(info.Version, "v1.1.0");
  const download = await fetch(`${b.url}/go/example.com/lib/@v/v1.1.0.zip`);
  assert.deepEqual(new Uint8Array(await download.arrayBuffer()), zip);

  // The same version published on both at once, with different bytes: exactly one wins across the cluster.
  const [ra, rb] = await Promise.all([
    publishModule(a.url, "example.com/lib", "v1.2.0", await libraryZip("example.com/lib", "v1.2.0", "from a")),
    publishModule(b.url, "example.com/lib", "v1.2.0", await libraryZip("example.com/lib", "v1.2.0", "from b")),
  ]);
  await ra.body?.cancel();
  await rb.body?.cancel();
  assert.deepEqual([ra.status, rb.status].sort(), [201, 409]);
});
