/**
 * The Prometheus text exposition format (version 0.0.4), small enough to own:
 * counters, gauges and histograms with labels, kept as plain numbers and
 * formatted only when scraped. (prom-client's dependency tree makes
 * `deno compile` overflow its stack.)
 *
 * @example
 * const registry = new MetricRegistry();
 * const requests = registry.counter("http_requests_total", "HTTP requests", ["method"]);
 * requests.inc({ method: "GET" });
 * registry.text(); // "# HELP http_requests_total HTTP requests\n# TYPE ...\nhttp_requests_total{method=\"GET\"} 1\n"
 *
 * @module
 */

/** Label values by label name. */
export type Labels<Name extends string> = { readonly [K in Name]: string };

interface Metric {
  /** Appends this metric's lines to `out`. */
  write(out: string[]): void;
}

/** A monotonically increasing count per label set. */
export class Counter<Name extends string = never> implements Metric {
  readonly #series = new Map<string, { labels: string; value: number }>();

  constructor(readonly name: string, readonly help: string, readonly labelNames: readonly Name[]) {}

  /** Adds `amount` (default 1) to the series of `labels`. */
  inc(labels: Labels<Name>, amount = 1): void {
    const key = seriesKey(this.labelNames, labels);
    const series = this.#series.get(key);
    if (series !== undefined) series.value += amount;
    else this.#series.set(key, { labels: formatLabels(this.labelNames, labels), value: amount });
  }

  write(out: string[]): void {
    header(out, this.name, this.help, "counter");
    for (const { labels, value } of this.#series.values()) out.push(`${this.name}${labels} ${formatNumber(value)}`);
  }
}

/** A value read when scraped. */
export class Gauge implements Metric {
  constructor(readonly name: string, readonly help: string, readonly read: () => number) {}

  write(out: string[]): void {
    header(out, this.name, this.help, "gauge");
    out.push(`${this.name} ${formatNumber(this.read())}`);
  }
}

/** Observations counted into cumulative buckets per label set, with their sum and count. */
export class Histogram<Name extends string = never> implements Metric {
  readonly #series = new Map<string, { labels: Labels<Name>; buckets: number[]; sum: number; count: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly Name[],
    readonly bounds: readonly number[],
  ) {}

  /** Records `value` in the series of `labels`. */
  observe(labels: Labels<Name>, value: number): void {
    const key = seriesKey(this.labelNames, labels);
    let series = this.#series.get(key);
    if (series === undefined) {
      series = { labels, buckets: new Array(this.bounds.length).fill(0), sum: 0, count: 0 };
      this.#series.set(key, series);
    }
    // Only the first bucket that holds the value is counted; buckets are made cumulative when scraped.
    const index = this.bounds.findIndex((bound) => value <= bound);
    if (index >= 0) series.buckets[index]++;
    series.sum += value;
    series.count++;
  }

  write(out: string[]): void {
    header(out, this.name, this.help, "histogram");
    for (const { labels, buckets, sum, count } of this.#series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += buckets[i];
        const le = formatLabels([...this.labelNames, "le"], { ...labels, le: formatNumber(this.bounds[i]) });
        out.push(`${this.name}_bucket${le} ${cumulative}`);
      }
      const inf = formatLabels([...this.labelNames, "le"], { ...labels, le: "+Inf" });
      out.push(`${this.name}_bucket${inf} ${count}`);
      const plain = formatLabels(this.labelNames, labels);
      out.push(`${this.name}_sum${plain} ${formatNumber(sum)}`, `${this.name}_count${plain} ${count}`);
    }
  }
}

/** A set of metrics exposed together. */
export class MetricRegistry {
  readonly #metrics: Metric[] = [];

  /** Registers a new counter. */
  counter<Name extends string = never>(name: string, help: string, labelNames: readonly Name[] = []): Counter<Name> {
    return this.#add(new Counter(name, help, labelNames));
  }

  /** Registers a gauge whose value `read` gives at scrape time. */
  gauge(name: string, help: string, read: () => number): Gauge {
    return this.#add(new Gauge(name, help, read));
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

  /** Every metric in the text exposition format. */
  text(): string {
    const out: string[] = [];
    for (const metric of this.#metrics) metric.write(out);
    return out.length === 0 ? "" : `${out.join("\n")}\n`;
  }

  #add<M extends Metric>(metric: M): M {
    this.#metrics.push(metric);
    return metric;
  }
}

function header(out: string[], name: string, help: string, type: string): void {
  out.push(`# HELP ${name} ${help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n")}`, `# TYPE ${name} ${type}`);
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
