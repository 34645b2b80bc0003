import assert from "node:assert/strict";
import { packageZip } from "./support/archives.ts";
import { ROOT } from "./support/cli.ts";
import { eventually } from "./support/eventually.ts";
import { moduleZip, publishModule } from "./support/go.ts";
import { packageTarball, publishBody } from "./support/npm.ts";
import { coreMetadata, upload, wheel } from "./support/pypi.ts";
import { ADMIN_TOKEN, get, publish, sha256Hex, startTestServer } from "./support/server.ts";

/** The nginx configuration README.md documents, pointed at `registry`, `dataDir` and a listening port. */
async function documentedConfig(registry: string, dataDir: string, port: number): Promise<string> {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const block = /```nginx\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block, "README.md shows an nginx configuration");
  const config = block
    .replace("server 127.0.0.1:8080;", `server ${registry};`)
    .replace("listen 80;", `listen 127.0.0.1:${port};`)
    .replace("/var/lib/swift-registry/objects/", `${dataDir}/objects/`);
  assert.notEqual(config, block);
  return config;
}

/** Starts Debian's nginx (scripts/test_clients.sh installs it) with `httpConfig` inside `http {}`, in a directory of its own. */
async function startNginx(httpConfig: string): Promise<AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "registry-nginx-" });
  await Deno.writeTextFile(
    `${dir}/nginx.conf`,
    `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp;
  uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;
${httpConfig}
}
`,
  );
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("nginx", {
      args: ["-c", `${dir}/nginx.conf`, "-p", dir],
      stdout: "null",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    throw new Error(
      `nginx cannot be run (scripts/test_clients.sh installs Debian's nginx-light): ${(error as Error).message}`,
    );
  }
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const errors = (async () => {
    let text = "";
    for (;;) {
      const { value, done } = await stderr.read();
      if (done) return text;
      text += value;
    }
  })();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* exited */ }
    await child.status;
    await errors;
    await Deno.remove(dir, { recursive: true });
  };
  return { [Symbol.asyncDispose]: stop };
}

/** A TCP port that was free a moment ago. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test("behind the README's nginx with REGISTRY_ACCEL_REDIRECT, nginx sends archives with the registry's headers, ranges, HEAD and 304", async () => {
  await using t = await startTestServer({
    env: { REGISTRY_ACCEL_REDIRECT: "/_registry_files/", REGISTRY_TRUSTED_PROXIES: "127.0.0.1" },
  });
  // nginx's workers may run as another user: they must be able to read the objects directory.
  await Deno.chmod(t.dataDir, 0o755);
  const blob = crypto.getRandomValues(new Uint8Array(64 * 1024));
  const archive = await packageZip({ extra: [{ name: "LinkedList/blob.bin", content: blob }] });
  assert.equal((await publish(t.swift, "mona/LinkedList/1.0.0", { archive })).status, 201);
  const checksum = await sha256Hex(archive);

  // The registry itself answers with headers and the file to send.
  const direct = await get(`${t.swift}/mona/LinkedList/1.0.0.zip`);
  assert.equal(direct.status, 200);
  assert.equal((await direct.arrayBuffer()).byteLength, 0);
  assert.match(direct.headers.get("x-accel-redirect")!, new RegExp(`^/_registry_files/swift/packages/.*/${checksum}/`));

  const port = freePort();
  await using _nginx = await startNginx(await documentedConfig(new URL(t.url).host, t.dataDir, port));
  const url = `http://127.0.0.1:${port}/swift/mona/LinkedList/1.0.0.zip`;
  const full = await eventually("nginx answers", () => get(url).catch(() => undefined));
  assert.equal(full.status, 200);
  assert.deepEqual(new Uint8Array(await full.arrayBuffer()), archive);
  assert.equal(full.headers.get("content-type"), "application/zip");
  assert.equal(full.headers.get("content-length"), String(archive.length));
  assert.equal(full.headers.get("etag"), `"${checksum}"`);
  assert.equal(full.headers.get("content-disposition"), 'attachment; filename="LinkedList-1.0.0.zip"');
  assert.match(full.headers.get("digest")!, /^sha-256=/);
  assert.equal(full.headers.get("content-version"), "1");
  assert.equal(full.headers.get("x-accel-redirect"), null, "nginx does not pass the redirect on");

  const range = await get(url, { headers: { Range: "bytes=10-19" } });
  assert.equal(range.status, 206);
  assert.equal(range.headers.get("content-range"), `bytes 10-19/${archive.length}`);
  assert.deepEqual(new Uint8Array(await range.arrayBuffer()), archive.subarray(10, 20));

  const head = await get(url, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("content-length"), String(archive.length));
  await head.body?.cancel();

  const cached = await get(url, { headers: { "If-None-Match": `"${checksum}"` } });
  assert.equal(cached.status, 304);
  await cached.body?.cancel();

  // Everything else passes through nginx to the registry.
  const list = await get(`http://127.0.0.1:${port}/swift/mona/LinkedList`);
  assert.equal(list.status, 200);
  assert.deepEqual(Object.keys((await list.json()).releases), ["1.0.0"]);
  const missing = await get(`http://127.0.0.1:${port}/swift/mona/LinkedList/9.9.9.zip`);
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
  const internal = await get(`http://127.0.0.1:${port}/_registry_files/swift/`);
  assert.equal(internal.status, 404, "the files are not reachable without the registry");
  await internal.body?.cancel();
});

Deno.test("behind the README's nginx with REGISTRY_ACCEL_REDIRECT, nginx sends npm tarballs and PyPI files and metadata too", async () => {
  await using t = await startTestServer({
    env: { REGISTRY_ACCEL_REDIRECT: "/_registry_files/", REGISTRY_TRUSTED_PROXIES: "127.0.0.1" },
  });
  await Deno.chmod(t.dataDir, 0o755);
  const blob = { name: "package/blob.bin", content: crypto.getRandomValues(new Uint8Array(64 * 1024)) };
  const tarball = await packageTarball("offloaded", "1.0.0", [blob]);
  const npmPublish = await fetch(`${t.url}/npm/offloaded`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
    body: publishBody("offloaded", "1.0.0", tarball),
  });
  assert.equal(npmPublish.status, 201, await npmPublish.text());
  const metadata = coreMetadata("offloaded", "1.0");
  const whl = await wheel("offloaded", "1.0", { metadata, entries: [{ ...blob, name: "offloaded/blob.bin" }] });
  const pypiUpload = await upload(t.url, whl);
  assert.equal(pypiUpload.status, 200, await pypiUpload.text());

  const port = freePort();
  await using _nginx = await startNginx(await documentedConfig(new URL(t.url).host, t.dataDir, port));
  const files: [string, Uint8Array, string][] = [
    ["/npm/offloaded/-/offloaded-1.0.0.tgz", tarball, "application/octet-stream"],
    [`/pypi/files/offloaded/${whl.filename}`, whl.bytes, "application/zip"],
    [`/pypi/files/offloaded/${whl.filename}.metadata`, new TextEncoder().encode(metadata), "text/plain; charset=utf-8"],
  ];
  for (const [path, bytes, type] of files) {
    const direct = await get(`${t.url}${path}`);
    assert.equal((await direct.arrayBuffer()).byteLength, 0, path);
    assert.match(direct.headers.get("x-accel-redirect")!, /^\/_registry_files\//, path);

    const url = `http://127.0.0.1:${port}${path}`;
    const full = await eventually("nginx answers", () => get(url).catch(() => undefined));
    assert.equal(full.status, 200, path);
    assert.deepEqual(new Uint8Array(await full.arrayBuffer()), bytes, path);
    assert.equal(full.headers.get("content-type"), type, path);
    assert.equal(full.headers.get("etag"), `"${await sha256Hex(bytes as Uint8Array<ArrayBuffer>)}"`, path);
    assert.match(full.headers.get("cache-control")!, /immutable/, path);
    assert.equal(full.headers.get("x-accel-redirect"), null, path);
    const range = await get(url, { headers: { Range: "bytes=10-19" } });
    assert.equal(range.status, 206, path);
    assert.deepEqual(new Uint8Array(await range.arrayBuffer()), bytes.subarray(10, 20), path);
    const cached = await get(url, { headers: { "If-None-Match": full.headers.get("etag")! } });
    assert.equal(cached.status, 304, path);
    await cached.body?.cancel();
  }
});

Deno.test("behind the README's nginx with REGISTRY_ACCEL_REDIRECT, nginx sends Go module zips with ranges, HEAD and 304", async () => {
  await using t = await startTestServer({
    env: { REGISTRY_ACCEL_REDIRECT: "/_registry_files/", REGISTRY_TRUSTED_PROXIES: "127.0.0.1" },
  });
  await Deno.chmod(t.dataDir, 0o755);
  const module = "example.com/mona/lib";
  const zip = await moduleZip(module, "v1.0.0", { "blob.go": `package lib\n// ${"x".repeat(64 * 1024)}\n` });
  assert.equal((await publishModule(t.url, module, "v1.0.0", zip)).status, 201);
  const checksum = await sha256Hex(zip);
  const direct = await get(`${t.url}/go/${module}/@v/v1.0.0.zip`);
  assert.equal((await direct.arrayBuffer()).byteLength, 0);
  assert.match(direct.headers.get("x-accel-redirect")!, new RegExp(`^/_registry_files/go/packages/.*/${checksum}/`));

  const port = freePort();
  await using _nginx = await startNginx(await documentedConfig(new URL(t.url).host, t.dataDir, port));
  const url = `http://127.0.0.1:${port}/go/${module}/@v/v1.0.0.zip`;
  const full = await eventually("nginx answers", () => get(url).catch(() => undefined));
  assert.equal(full.status, 200);
  assert.deepEqual(new Uint8Array(await full.arrayBuffer()), zip);
  assert.equal(full.headers.get("content-type"), "application/zip");
  assert.equal(full.headers.get("etag"), `"${checksum}"`);
  assert.equal(full.headers.get("cache-control"), "public, max-age=31536000, immutable");
  assert.equal(full.headers.get("x-accel-redirect"), null);

  const range = await get(url, { headers: { Range: "bytes=10-19" } });
  assert.equal(range.status, 206);
  assert.deepEqual(new Uint8Array(await range.arrayBuffer()), zip.subarray(10, 20));
  const head = await get(url, { method: "HEAD" });
  assert.equal(head.headers.get("content-length"), String(zip.length));
  await head.body?.cancel();
  const cached = await get(url, { headers: { "If-None-Match": `"${checksum}"` } });
  assert.equal(cached.status, 304);
  await cached.body?.cancel();
  // The proxy's other answers come from the registry through nginx.
  assert.equal(await (await get(`http://127.0.0.1:${port}/go/${module}/@v/list`)).text(), "v1.0.0\n");
});
