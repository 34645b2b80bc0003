import assert from "node:assert/strict";
import { silentLogger } from "../log.ts";
import { DiskStore } from "../storage/disk_store.ts";
import { LeaseManager } from "../storage/leases.ts";
import { Scheduler } from "./scheduler.ts";

async function store() {
  const dir = await Deno.makeTempDir();
  const disk = new DiskStore(`${dir}/objects`, `${dir}/tmp`);
  await disk.init();
  return {
    disk,
    async [Symbol.asyncDispose]() {
      await disk.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("Scheduler never runs a job over itself", async () => {
  await using s = await store();
  const scheduler = new Scheduler(new LeaseManager(s.disk, { owner: "a" }), silentLogger);
  let running = 0;
  let maxRunning = 0;
  scheduler.add({
    name: "slow",
    intervalMs: 60_000,
    async run() {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setTimeout(r, 50));
      running--;
    },
  });
  await Promise.all([scheduler.runNow("slow"), scheduler.runNow("slow"), scheduler.runNow("slow")]);
  assert.equal(maxRunning, 1);
  await scheduler.stop();
});

Deno.test("Scheduler runs a leased job on one node at a time and releases the lease after", async () => {
  await using s = await store();
  const nodes = ["a", "b"].map((owner) => new Scheduler(new LeaseManager(s.disk, { owner }), silentLogger));
  let runs = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  let started!: () => void;
  const running = new Promise<void>((r) => started = r);
  for (const node of nodes) {
    node.add({
      name: "sync",
      intervalMs: 60_000,
      leaseTtlMs: 5_000,
      async run() {
        runs++;
        started();
        await gate;
      },
    });
  }
  const first = nodes[0].runNow("sync");
  await running; // node a holds the lease
  await nodes[1].runNow("sync"); // the lease is held: skipped
  assert.ok(nodes[1].status()[0].lastSkipped);
  release();
  await first;
  await nodes[1].runNow("sync"); // released: runs now
  assert.equal(runs, 2);
  await Promise.all(nodes.map((n) => n.stop()));
});

Deno.test("Scheduler.stop aborts a running job and waits for it", async () => {
  await using s = await store();
  const scheduler = new Scheduler(new LeaseManager(s.disk, { owner: "a" }), silentLogger);
  let aborted = false;
  let started!: () => void;
  const running = new Promise<void>((resolve) => started = resolve);
  scheduler.add({
    name: "long",
    intervalMs: 60_000,
    leaseTtlMs: 5_000,
    run: (signal) =>
      new Promise<void>((resolve) => {
        started();
        signal.addEventListener("abort", () => {
          aborted = true;
          resolve();
        });
      }),
  });
  const run = scheduler.runNow("long");
  await running; // the job holds its lease and runs (however long that took to get to)
  await scheduler.stop();
  await run;
  assert.ok(aborted);
  const other = new LeaseManager(s.disk, { owner: "b" });
  assert.ok(await other.acquire("job-long", 1_000), "the lease was released");
});

Deno.test("Scheduler.runAt runs a job at a given time, and stop() cancels what is pending", async () => {
  await using s = await store();
  const scheduler = new Scheduler(new LeaseManager(s.disk, { owner: "a" }), silentLogger);
  let runs = 0;
  let ran!: () => void;
  const done = new Promise<void>((r) => ran = r);
  scheduler.add({
    name: "job",
    intervalMs: 3_600_000,
    firstRunAfterMs: 3_600_000,
    run: () => Promise.resolve(void runs++).then(ran),
  });
  const before = runs;
  scheduler.runAt("job", new Date(Date.now() + 50));
  // It runs at the time given; the hourly schedule would not run it for an hour.
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    done,
    new Promise((_, fail) => timer = setTimeout(() => fail(new Error("did not run")), 10_000)),
  ]);
  clearTimeout(timer);
  assert.equal(runs, before + 1);
  scheduler.runAt("job", new Date(Date.now() + 50));
  await scheduler.stop();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(runs, before + 1, "nothing runs after stop");
});
