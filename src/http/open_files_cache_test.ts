import assert from "node:assert/strict";
import { join } from "node:path";
import { OpenFilesCache } from "./open_files_cache.ts";

function read(cache: OpenFilesCache, path: string, size: number): string | undefined {
  const file = cache.acquire(path, size);
  if (file === undefined) return undefined;
  const bytes = new Uint8Array(size);
  const got = file.readAt(bytes, 0);
  file.release();
  return new TextDecoder().decode(bytes.subarray(0, got));
}

Deno.test("held files are read again without opening, opened anew once their time is up, and bounded", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let now = 0;
    const cache = new OpenFilesCache({ max: 2, validMs: 1000, clock: () => now });
    const a = join(dir, "a");
    await Deno.writeTextFile(a, "first");
    assert.equal(read(cache, a, 5), "first");
    // Replaced by a rename (as the stores write): the held file still reads what it held, for its second.
    await Deno.writeTextFile(join(dir, "a.new"), "again");
    await Deno.rename(join(dir, "a.new"), a);
    assert.equal(read(cache, a, 5), "first");
    now = 1001;
    assert.equal(read(cache, a, 5), "again");
    // Gone, or not the size its record says: not lent.
    assert.equal(cache.acquire(join(dir, "missing"), 1), undefined);
    assert.equal(cache.acquire(a, 6), undefined);
    // At most `max` are held: the least recently used is closed first.
    for (const name of ["b", "c"]) {
      await Deno.writeTextFile(join(dir, name), name);
      assert.equal(read(cache, join(dir, name), 1), name);
    }
    assert.equal(cache.size, 2);
    read(cache, join(dir, "b"), 1);
    await Deno.writeTextFile(join(dir, "d"), "d");
    assert.equal(read(cache, join(dir, "d"), 1), "d");
    assert.equal(cache.size, 2);
    // b, read since c, is still held (it reads what it held); c was closed and is opened anew.
    for (const name of ["b", "c"]) {
      await Deno.writeTextFile(join(dir, `${name}.new`), name.toUpperCase());
      await Deno.rename(join(dir, `${name}.new`), join(dir, name));
    }
    assert.equal(read(cache, join(dir, "b"), 1), "b");
    assert.equal(read(cache, join(dir, "c"), 1), "C");
    cache.clear();
    assert.equal(cache.size, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a file lent out is closed only when given back; a stale one is opened anew at once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cache = new OpenFilesCache({ max: 1 });
    const [a, b] = [join(dir, "a"), join(dir, "b")];
    await Deno.writeTextFile(a, "aaaa");
    await Deno.writeTextFile(b, "bbbb");
    const lent = cache.acquire(a, 4)!;
    assert.equal(read(cache, b, 4), "bbbb"); // a is retired from the cache, still open for its user
    const bytes = new Uint8Array(4);
    assert.equal(lent.readAt(bytes, 2), 2);
    assert.equal(new TextDecoder().decode(bytes.subarray(0, 2)), "aa");
    lent.release();
    assert.throws(() => lent.readAt(bytes, 0), "closed once given back");
    // Cut short in place: a reader that finds it short gives it back as stale, and the next one sees the change.
    await Deno.truncate(b, 2);
    const short = cache.acquire(b, 4)!;
    assert.equal(short.sizeNow(), 2);
    short.release(true);
    assert.equal(cache.acquire(b, 4), undefined);
    cache.clear();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
