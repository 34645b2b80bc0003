/**
 * The Prometheus text exposition format (version 0.0.4), small enough to own:
 * counters, gauges and histograms with labels, kept as plain numbers and
 * formatted only when scraped. (prom-client's dependency tree makes
 * `deno compile` overflow its stack.)
 *
 * Hot paths take a series handle once ({@link Counter.series},
 * {@link Histogram.series}) and then count with no allocation at all.
 * Registries of several workers merge when scraped: {@link MetricRegistry.snapshot}
 * is plain data that crosses threads, and {@link MetricRegistry.text} adds
 * other workers' snapshots to its own.
 *
 * @example
 * const registry = new MetricRegistry();
 * const requests = registry.counter("http_requests_total", "HTTP requests", ["method"]);
 * requests.inc({ method: "GET" });
 * const gets = requests.series({ method: "GET" }); // keep it; gets.inc() allocates nothing
 * registry.text(); // "# HELP http_requests_total HTTP requests\n# TYPE ...\nhttp_requests_total{method=\"GET\"} 1\n"
 *
 * @module
 */

/** Label values by label name. */
export type Labels<Name extends string> = { readonly [K in Name]: string };

/** One series of a metric as plain data: formatted labels and its numbers. */
interface SeriesSnapshot {
  /** `{a="1",b="2"}`, or "" without labels. */
  labels: string;
  /** Counter or gauge value; for histograms the count. */
  value: number;
  /** Histograms: observations per bucket (not cumulative). */
  buckets?: number[];
  /** Histograms: the sum of observations. */
  sum?: number;
}

/** One metric as plain data. */
interface MetricSnapshot {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  /** Histograms: the upper bounds of the buckets. */
  bounds?: readonly number[];
  /** Labels of every series of a histogram without its `le` (kept apart to add `le`). */
  labelNames?: readonly string[];
  series: SeriesSnapshot[];
}

/** Every metric of a registry as plain data (it can be posted to another worker). */
export type RegistrySnapshot = MetricSnapshot[];

interface Metric {
  snapshot(): MetricSnapshot;
}

/** A counter series: {@link CounterSeries.inc} allocates nothing. */
export class CounterSeries {
  value = 0;
  constructor(readonly labels: string) {}

  /** Adds `amount` (default 1). */
  inc(amount = 1): void {
    this.value += amount;
  }
}

/** A monotonically increasing count per label set. */
export class Counter<Name extends string = never> implements Metric {
  readonly #series = new Map<string, CounterSeries>();

  constructor(readonly name: string, readonly help: string, readonly labelNames: readonly Name[]) {}

  /** Adds `amount` (default 1) to the series of `labels`. */
  inc(labels: Labels<Name>, amount = 1): void {
    this.series(labels).inc(amount);
  }

  /** The series of `labels` (created at zero when new), to count on without looking it up again. */
  series(labels: Labels<Name>): CounterSeries {
    const key = seriesKey(this.labelNames, labels);
    let series = this.#series.get(key);
    if (series === undefined) {
      series = new CounterSeries(formatLabels(this.labelNames, labels));
      this.#series.set(key, series);
    }
    return series;
  }

  snapshot(): MetricSnapshot {
    const series = [...this.#series.values()].map(({ labels, value }) => ({ labels, value }));
    return { name: this.name, help: this.help, type: "counter", series };
  }
}

/**
 * How the values of a gauge in several workers are shown: `max` (the default)
 * for a reading of something they share (bytes in storage), `sum` for
 * something each worker has its own of (open connections).
 */
export type GaugeMerge = "max" | "sum";

/** A value read when scraped. */
export class Gauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly read: () => number,
    readonly merge: GaugeMerge = "max",
  ) {}

  snapshot(): MetricSnapshot {
    return { name: this.name, help: this.help, type: "gauge", series: [{ labels: this.merge, value: this.read() }] };
  }
}

/** A histogram series: {@link HistogramSeries.observe} allocates nothing. */
export class HistogramSeries {
  readonly buckets: number[];
  sum = 0;
  count = 0;

  constructor(readonly labels: Record<string, string>, readonly bounds: readonly number[]) {
    this.buckets = new Array(bounds.length).fill(0);
  }

  /** Records `value`. */
  observe(value: number): void {
    // Only the first bucket that holds the value is counted; buckets are made cumulative when scraped.
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]) {
        this.buckets[i]++;
        break;
      }
    }
    this.sum += value;
    this.count++;
  }
}

/** Observations counted into cumulative buckets per label set, with their sum and count. */
export class Histogram<Name extends string = never> implements Metric {
  readonly #series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly Name[],
    readonly bounds: readonly number[],
  ) {}

  /** Records `value` in the series of `labels`. */
  observe(labels: Labels<Name>, value: number): void {
    this.series(labels).observe(value);
  }

  /** The series of `labels`, to observe on without looking it up again. */
  series(labels: Labels<Name>): HistogramSeries {
    const key = seriesKey(this.labelNames, labels);
    let series = this.#series.get(key);
    if (series === undefined) {
      series = new HistogramSeries({ ...labels }, this.bounds);
      this.#series.set(key, series);
    }
    return series;
  }

  snapshot(): MetricSnapshot {
    return {
      name: this.name,
      help: this.help,
      type: "histogram",
      bounds: this.bounds,
      labelNames: this.labelNames,
      series: [...this.#series.values()].map((s) => ({
        labels: JSON.stringify(s.labels),
        value: s.count,
        buckets: [...s.buckets],
        sum: s.sum,
      })),
    };
  }
}

/** A set of metrics exposed together. */
export class MetricRegistry {
  readonly #metrics: Metric[] = [];

  /** Registers a new counter. */
  counter<Name extends string = never>(name: string, help: string, labelNames: readonly Name[] = []): Counter<Name> {
    return this.#add(new Counter(name, help, labelNames));
  }

  /**
   * Registers a gauge whose value `read` gives at scrape time; `merge` says
   * how several workers' values are shown (see {@link GaugeMerge}).
   */
  gauge(name: string, help: string, read: () => number, merge: GaugeMerge = "max"): Gauge {
    return this.#add(new Gauge(name, help, read, merge));
  }

  /** Registers a new histogram with the given upper bucket bounds (ascending). */
  histogram<Name extends string = never>(
    name: string,
    help: string,
    labelNames: readonly Name[],
    bounds: readonly number[],
  ): Histogram<Name> {
    return this.#add(new Histogram(name, help, labelNames, bounds));
  }

  /** Every metric as plain data. */
  snapshot(): RegistrySnapshot {
    return this.#metrics.map((metric) => metric.snapshot());
  }

  /** Every metric in the text exposition format, with `others` (other workers' snapshots) added in. */
  text(others: readonly RegistrySnapshot[] = []): string {
    const merged = this.snapshot();
    for (const other of others) mergeInto(merged, other);
    const out: string[] = [];
    for (const metric of merged) write(out, metric);
    return out.length === 0 ? "" : `${out.join("\n")}\n`;
  }

  #add<M extends Metric>(metric: M): M {
    this.#metrics.push(metric);
    return metric;
  }
}

/** Adds the series of `other` to `into`: counters and histograms add up, gauges as they say. */
function mergeInto(into: RegistrySnapshot, other: RegistrySnapshot): void {
  for (const metric of other) {
    const target = into.find((m) => m.name === metric.name);
    if (target === undefined) {
      into.push(metric);
      continue;
    }
    for (const series of metric.series) {
      const same = target.series.find((s) => s.labels === series.labels);
      if (same === undefined) {
        target.series.push(series);
      } else if (metric.type === "gauge" && series.labels === "max") {
        same.value = Math.max(same.value, series.value);
      } else {
        same.value += series.value;
        if (same.sum !== undefined) same.sum += series.sum ?? 0;
        same.buckets?.forEach((_, i) => same.buckets![i] += series.buckets?.[i] ?? 0);
      }
    }
  }
}

function write(out: string[], metric: MetricSnapshot): void {
  const { name, help, type } = metric;
  out.push(`# HELP ${name} ${help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n")}`, `# TYPE ${name} ${type}`);
  for (const series of metric.series) {
    if (type === "gauge") {
      out.push(`${name} ${formatNumber(series.value)}`);
    } else if (type === "counter") {
      out.push(`${name}${series.labels} ${formatNumber(series.value)}`);
    } else {
      const labels = JSON.parse(series.labels) as Record<string, string>;
      const names = metric.labelNames ?? [];
      const bounds = metric.bounds ?? [];
      let cumulative = 0;
      for (let i = 0; i < bounds.length; i++) {
        cumulative += series.buckets![i];
        const le = formatLabels([...names, "le"], { ...labels, le: formatNumber(bounds[i]) });
        out.push(`${name}_bucket${le} ${cumulative}`);
      }
      out.push(`${name}_bucket${formatLabels([...names, "le"], { ...labels, le: "+Inf" })} ${series.value}`);
      const plain = formatLabels(names, labels);
      out.push(`${name}_sum${plain} ${formatNumber(series.sum!)}`, `${name}_count${plain} ${series.value}`);
    }
  }
}

function seriesKey(names: readonly string[], labels: Record<string, string>): string {
  let key = "";
  for (const name of names) key += `${labels[name]}\u0000`;
  return key;
}

function formatLabels(names: readonly string[], labels: Record<string, string>): string {
  if (names.length === 0) return "";
  const pairs = names.map((name) => `${name}="${escapeLabelValue(labels[name])}"`);
  return `{${pairs.join(",")}}`;
}

function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
