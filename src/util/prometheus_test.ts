import assert from "node:assert/strict";
import { MetricRegistry } from "./prometheus.ts";

Deno.test("counters format one line per label set, with escaped label values", () => {
  const registry = new MetricRegistry();
  const requests = registry.counter("http_requests_total", "HTTP requests\nby route", ["route", "status"]);
  requests.inc({ route: "/a", status: "200" });
  requests.inc({ route: "/a", status: "200" }, 2);
  requests.inc({ route: 'say "hi"\\', status: "404" });
  assert.equal(
    registry.text(),
    [
      "# HELP http_requests_total HTTP requests\\nby route",
      "# TYPE http_requests_total counter",
      'http_requests_total{route="/a",status="200"} 3',
      'http_requests_total{route="say \\"hi\\"\\\\",status="404"} 1',
      "",
    ].join("\n"),
  );
});

Deno.test("histograms are cumulative per bucket, with +Inf, sum and count", () => {
  const registry = new MetricRegistry();
  const latency = registry.histogram("latency_seconds", "Latency", ["route"], [0.1, 1]);
  for (const value of [0.05, 0.5, 0.5, 3]) latency.observe({ route: "/x" }, value);
  assert.deepEqual(registry.text().split("\n"), [
    "# HELP latency_seconds Latency",
    "# TYPE latency_seconds histogram",
    'latency_seconds_bucket{route="/x",le="0.1"} 1',
    'latency_seconds_bucket{route="/x",le="1"} 3',
    'latency_seconds_bucket{route="/x",le="+Inf"} 4',
    'latency_seconds_sum{route="/x"} 4.05',
    'latency_seconds_count{route="/x"} 4',
    "",
  ]);
});

Deno.test("gauges are read when scraped; an empty registry is an empty page", () => {
  assert.equal(new MetricRegistry().text(), "");
  const registry = new MetricRegistry();
  let used = 1;
  registry.gauge("cache_bytes", "Bytes cached", () => used);
  used = 42;
  assert.match(registry.text(), /^cache_bytes 42$/m);
});

Deno.test("series handles count without looking labels up, and other workers' snapshots add up when scraped", () => {
  const make = () => {
    const registry = new MetricRegistry();
    const requests = registry.counter("requests_total", "Requests", ["route"]);
    const latency = registry.histogram("latency_seconds", "Latency", ["route"], [0.1, 1]);
    let open = 2;
    registry.gauge("open", "Open now", () => open++, "sum");
    let stored = 10;
    registry.gauge("stored", "Stored bytes", () => stored += 10);
    return { registry, requests, latency };
  };
  const here = make();
  const there = make();
  const series = here.requests.series({ route: "/a" });
  series.inc();
  series.inc(2);
  there.requests.inc({ route: "/a" });
  there.requests.inc({ route: "/b" });
  here.latency.series({ route: "/a" }).observe(0.05);
  there.latency.observe({ route: "/a" }, 0.5);
  const page = here.registry.text([there.registry.snapshot()]);
  assert.match(page, /^requests_total\{route="\/a"\} 4$/m);
  assert.match(page, /^requests_total\{route="\/b"\} 1$/m);
  assert.match(page, /^latency_seconds_bucket\{route="\/a",le="0\.1"\} 1$/m);
  assert.match(page, /^latency_seconds_bucket\{route="\/a",le="1"\} 2$/m);
  assert.match(page, /^latency_seconds_count\{route="\/a"\} 2$/m);
  assert.match(page, /^open 4$/m, "gauges of what each worker has of its own are summed");
  assert.match(page, /^stored 20$/m, "gauges of something shared show the highest reading");
});
