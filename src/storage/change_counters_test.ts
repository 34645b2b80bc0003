import assert from "node:assert/strict";
import { join } from "node:path";
import { ChangeCounters, ChangeCountingStore } from "./change_counters.ts";
import { DiskStore } from "./disk_store.ts";
import { DocumentCache } from "./document_cache.ts";

Deno.test("a document written through one worker is read at once through another that had it in memory", async () => {
  const dir = await Deno.makeTempDir();
  const shared = new ChangeCounters();
  // Two workers: stores of their own over one directory, and change counters over one shared buffer.
  const disks = [0, 1].map((i) => new DiskStore(join(dir, "objects"), join(dir, "tmp", `w${i}`)));
  try {
    for (const disk of disks) await disk.init();
    const [a, b] = disks.map((disk) =>
      new DocumentCache(new ChangeCountingStore(disk, new ChangeCounters(shared.buffer)), { maxAgeMs: Infinity })
    );
    await a.update<{ v: number }>("doc.json", () => ({ v: 1 }));
    const before = await b.read<{ v: number }>("doc.json");
    assert.deepEqual(before, { v: 1 });
    assert.equal(b.peek("doc.json"), before, "b trusts its memory while nothing changed");
    assert.equal(await b.read("doc.json"), before, "the same object while unchanged");

    await a.update<{ v: number }>("doc.json", (doc) => ({ v: doc!.v + 1 }));
    assert.equal(b.peek("doc.json"), undefined, "b knows its copy may be old");
    assert.deepEqual(await b.read("doc.json"), { v: 2 });
    assert.equal(b.isCurrent("doc.json", before), false);
  } finally {
    for (const disk of disks) await disk.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("change counters of different keys rarely share a slot, and a shared slot only costs a revalidation", () => {
  const counters = new ChangeCounters();
  const slots = new Set(Array.from({ length: 1000 }, (_, i) => counters.slot(`swift/packages/mona/p${i}/index.json`)));
  assert.ok(slots.size > 990, `${slots.size} slots for 1000 keys`);
  const slot = counters.slot("k");
  const before = counters.read(slot);
  counters.bump("k");
  assert.equal(counters.read(slot), before + 1);
});
