/**
 * A real full disk: the data directory is a small tmpfs whose size the test
 * sets with `mount -o remount,size=...`, so the kernel itself answers ENOSPC
 * at the chosen point of a publish. Mounting needs root (or CAP_SYS_ADMIN):
 * where it is not allowed these tests are reported as ignored, and the unit
 * tests of DiskStore and staging (a fault-injecting writer) still cover the
 * mapping to 507.
 *
 * @module
 */
import assert from "node:assert/strict";
import { packageZip } from "./support/archives.ts";
import { scratchFiles, walk } from "./support/files.ts";
import { get, problem, publish, startTestServer } from "./support/server.ts";

const PAGE = 4096;

/** Runs a command; resolves to whether it succeeded. */
async function run(command: string, args: string[]): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(command, { args, stdout: "null", stderr: "null" }).output();
    return success;
  } catch {
    return false; // not installed, or not allowed to run
  }
}

/** Whether this machine lets the tests mount a tmpfs. */
async function canMountTmpfs(): Promise<boolean> {
  const dir = await Deno.makeTempDir();
  try {
    return await run("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir]) && await run("umount", [dir]);
  } finally {
    await Deno.remove(dir);
  }
}

/** A tmpfs mounted on a fresh directory, resizable; unmounted and removed on dispose. */
async function tmpfs(): Promise<
  { dir: string; resize(bytes: number): Promise<void>; used(): Promise<number> } & AsyncDisposable
> {
  const dir = await Deno.makeTempDir({ prefix: "registry-tmpfs-" });
  assert.ok(await run("mount", ["-t", "tmpfs", "-o", "size=64m", "tmpfs", dir]), "mount tmpfs");
  return {
    dir,
    async resize(bytes) {
      assert.ok(await run("mount", ["-o", `remount,size=${bytes}`, dir]), `resize the tmpfs to ${bytes} bytes`);
    },
    async used() {
      const { stdout } = await new Deno.Command("df", { args: ["-B1", "--output=used", dir] }).output();
      return Number(new TextDecoder().decode(stdout).trim().split("\n").pop());
    },
    async [Symbol.asyncDispose]() {
      await run("umount", [dir]);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const mountable = await canMountTmpfs();

Deno.test({
  name: "a full disk answers 507 with Retry-After at every step of a publish, keeps nothing, and recovers",
  ignore: !mountable,
  async fn() {
    await using disk = await tmpfs();
    // Swift alone: the build cache's sweep writes its usage document at a random moment after start,
    // which would take one of the pages this test counts.
    await using t = await startTestServer({ dataDir: disk.dir, env: { REGISTRY_FORMATS: "swift" } });
    const noise = new Uint8Array(512 * 1024); // incompressible, so the archive is as large
    for (let i = 0; i < noise.length; i += 65536) crypto.getRandomValues(noise.subarray(i, i + 65536));
    const archive = await packageZip({ extra: [{ name: "LinkedList/blob.bin", content: noise }] });
    const pages = Math.ceil(archive.byteLength / PAGE);
    const base = await disk.used();

    // Room for less than the upload; for the upload but not the stored copy; for both but nothing more;
    // for the manifest too, but not the scope's mark; for the mark too, but not the release list.
    const half = Math.floor(pages / 2) * PAGE;
    const steps: Array<[string, number, RegExp, string?]> = [
      ["staging the upload", base + half, /out of disk space \(staging the upload\)/],
      ["storing the archive", base + pages * PAGE + half, /out of disk space \(storing source-archive\.zip\)/],
      ["storing the manifest", base + 2 * pages * PAGE, /out of disk space \(storing Package\.swift\)/],
      ["marking the scope local", base + (2 * pages + 1) * PAGE, /out of disk space \(storing mona\.json\)/],
      ["committing the release", base + (2 * pages + 2) * PAGE, /out of disk space \(storing index\.json\)/],
      ["an asynchronous publish", base + pages * PAGE + half, /storing source-archive\.zip/, "respond-async"],
    ];
    for (const [step, size, detail, prefer] of steps) {
      await disk.resize(size);
      let response = await publish(t.swift, "mona/LinkedList/1.0.0", { archive }, { prefer });
      if (prefer) {
        assert.equal(response.status, 202, step);
        await response.body?.cancel();
        const status = response.headers.get("location")!;
        do {
          response = await get(status, { redirect: "manual" });
          if (response.status === 202) {
            await response.body?.cancel();
            await new Promise((r) => setTimeout(r, 20));
          }
        } while (response.status === 202);
      }
      assert.equal(response.status, 507, step);
      assert.ok(Number(response.headers.get("retry-after")) > 0, `${step}: Retry-After`);
      const { detail: said } = await problem(response);
      assert.match(said, detail, `${step}: ${said}`);

      const list = await get(`${t.swift}/mona/LinkedList`);
      assert.equal(list.status, 404, `${step}: nothing is listed`);
      await list.body?.cancel();
      const stored = await Array.fromAsync(walk(`${disk.dir}/objects`));
      assert.deepEqual(stored.filter((path) => path.includes("/swift/packages/")), [], `${step}: no object file`);
      assert.deepEqual(await scratchFiles(disk.dir), [], `${step}: no scratch file`);
    }

    // Space returns: the same publish goes through, with nothing in its way.
    await disk.resize(64 * 1024 * 1024);
    const response = await publish(t.swift, "mona/LinkedList/1.0.0", { archive });
    assert.equal(response.status, 201, await response.text());
    const bytes = new Uint8Array(await (await get(`${t.swift}/mona/LinkedList/1.0.0.zip`)).arrayBuffer());
    assert.deepEqual(bytes, archive);
    assert.deepEqual(await scratchFiles(disk.dir), []);
  },
});
