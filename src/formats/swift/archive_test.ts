import assert from "node:assert/strict";
import { buildZip } from "../../../tests/support/archives.ts";
import { UnprocessableError } from "../../errors.ts";
import { inspectSourceArchive } from "./archive.ts";

async function inspect(zip: Uint8Array) {
  const path = await Deno.makeTempFile();
  await Deno.writeFile(path, zip);
  try {
    return await inspectSourceArchive(path);
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("inspectSourceArchive refuses a manifest whose declared size lies, without inflating it all", async () => {
  const manifest = "// swift-tools-version:5.9\n" + " ".repeat(3 * 1024 * 1024);
  const zip = await buildZip([{ name: "pkg/Package.swift", content: manifest }]);
  const view = new DataView(zip.buffer);
  for (let i = zip.length - 22; i >= 0; i--) {
    if (view.getUint32(i, true) === 0x02014b50) { // central directory header: uncompressed size at +24
      view.setUint32(i + 24, 30, true);
      break;
    }
  }
  await assert.rejects(inspect(zip), UnprocessableError);
});

Deno.test("inspectSourceArchive refuses a manifest over the 1 MiB limit", async () => {
  const noise = crypto.getRandomValues(new Uint8Array(65536));
  const text = btoa(String.fromCharCode(...noise)); // incompressible enough to pass the ratio check
  const manifest = "// swift-tools-version:5.9\n" + text.repeat(Math.ceil((1024 * 1024) / text.length) + 1);
  const zip = await buildZip([{ name: "pkg/Package.swift", content: manifest }]);
  await assert.rejects(
    inspect(zip),
    (error: unknown) => error instanceof UnprocessableError && /over the 1048576-byte limit/.test(error.message),
  );
});

Deno.test("inspectSourceArchive extracts manifests and their tools versions", async () => {
  const zip = await buildZip([
    { name: "pkg/Package.swift", content: "// swift-tools-version:5.9\n" },
    { name: "pkg/Package@swift-5.8.swift", content: "// swift-tools-version: 5.8\n" },
  ]);
  const result = await inspect(zip);
  assert.equal(result.topDirectory, "pkg");
  assert.deepEqual(result.manifests.map((m) => [m.filename, m.swiftVersion, m.toolsVersion]), [
    ["Package.swift", null, "5.9"],
    ["Package@swift-5.8.swift", "5.8", "5.8"],
  ]);
});

Deno.test("inspectSourceArchive reads a manifest through a symlink to a file listed before it", async () => {
  const zip = await buildZip([
    { name: "pkg/Manifests/main.swift", content: "// swift-tools-version:5.10\n" },
    { name: "pkg/Package.swift", content: "Manifests/main.swift", symlink: true },
    { name: "pkg/Package@swift-6.swift", content: "Package.swift", symlink: true },
  ]);
  const result = await inspect(zip);
  assert.deepEqual(result.manifests.map((m) => [m.filename, m.toolsVersion]), [
    ["Package.swift", "5.10"],
    ["Package@swift-6.swift", "5.10"],
  ]);
});

Deno.test("inspectSourceArchive refuses a manifest symlink to a directory", async () => {
  const zip = await buildZip([
    { name: "pkg/Sources/" },
    { name: "pkg/Package.swift", content: "Sources", symlink: true },
  ]);
  await assert.rejects(
    inspect(zip),
    (error: unknown) =>
      error instanceof UnprocessableError && /"pkg\/Package\.swift" does not point to a file/.test(error.message),
  );
});
