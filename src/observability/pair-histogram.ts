/**
 * A histogram with two labels (the call durations by service and method, the store's statement times by
 * backend and operation), kept as plain numbers per label pair and handed to the registry as
 * prom-client's histogram exposition when scraped.
 *
 * Why not prom-client's `Histogram`: its `observe` (and `startTimer`'s end) validates the label object,
 * builds its hash string and turns the bucket bound into a property key on every call, 3-4% of a `get`'s
 * CPU for the two histograms a `get` feeds (docs/benchmarks.md, "get JSON ... third pass"). Here a
 * caller finds its series once through nested maps (label values are bounded: served methods or
 * `unknown`, fixed operation names) and adds to an array. The exposition is what prom-client's
 * `Histogram` writes for the same observations (test/metrics-pair-histogram.test.ts).
 *
 * Registered as a metric by duck typing: prom-client's registry reads a metric's `name`, `help`, `type`
 * and `getForPromString()` (text) or `get()` (JSON), which is all this provides.
 */
import type client from "prom-client";
import { lookup } from "./lookup.js";

export interface HistogramSeries {
  /** Add one observation. */
  observe(value: number): void;
}

type Labels = Record<string, string>;

interface Series extends HistogramSeries {
  readonly labels: Labels;
  /** Per bucket, the calls that fell in it (not cumulative); the last slot is above every bound. */
  readonly counts: number[];
  sum: number;
  count: number;
}

interface ValuePair {
  labels: Record<string, string | number>;
  sharedLabels: Labels;
  value: number;
  metricName: string;
  /** prom-client's shape: null on buckets, undefined on the sum and count. */
  exemplar: null | undefined;
}

export class PairHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly byFirst = new Map<string, Map<string, Series>>();
  private readonly all: Series[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    /** The two label names, in the order `series` takes their values. */
    private readonly labelNames: readonly [string, string],
    private readonly buckets: readonly number[],
    registers: readonly client.Registry[],
  ) {
    for (const registry of registers) registry.registerMetric(this as unknown as client.Metric);
  }

  /** The series of one label pair, made on first use and kept. */
  series(first: string, second: string): HistogramSeries {
    const bySecond = lookup(this.byFirst, first);
    let series = bySecond.get(second);
    if (series === undefined) {
      const [a, b] = this.labelNames;
      series = this.newSeries({ [a]: first, [b]: second });
      bySecond.set(second, series);
      this.all.push(series);
    }
    return series;
  }

  private newSeries(labels: Labels): Series {
    const bounds = this.buckets;
    const counts = new Array<number>(bounds.length + 1).fill(0);
    const series: Series = {
      labels,
      counts,
      sum: 0,
      count: 0,
      observe(value) {
        let i = 0;
        while (i < bounds.length && value > (bounds[i] as number)) i++;
        (counts as number[])[i]++;
        series.sum += value;
        series.count++;
      },
    };
    return series;
  }

  /** For the text exposition: the values as prom-client's `Histogram` gives them (labels shared apart). */
  async getForPromString(): Promise<{
    name: string;
    help: string;
    type: "histogram";
    values: ValuePair[];
    aggregator: "sum";
  }> {
    const bucketName = `${this.name}_bucket`;
    const values: ValuePair[] = [];
    for (const series of this.all) {
      const shared = series.labels;
      let cumulative = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        cumulative += series.counts[i] as number;
        values.push({
          labels: { le: this.buckets[i] as number },
          sharedLabels: shared,
          value: cumulative,
          metricName: bucketName,
          exemplar: null,
        });
      }
      const sum = `${this.name}_sum`;
      const count = `${this.name}_count`;
      values.push(
        {
          labels: { le: "+Inf" },
          sharedLabels: shared,
          value: series.count,
          metricName: bucketName,
          exemplar: null,
        },
        { labels: {}, sharedLabels: shared, value: series.sum, metricName: sum, exemplar: undefined },
        { labels: {}, sharedLabels: shared, value: series.count, metricName: count, exemplar: undefined },
      );
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** For the JSON exposition: each value's labels in one object, as prom-client's `get()`. */
  async get(): Promise<{
    name: string;
    help: string;
    type: "histogram";
    values: unknown[];
    aggregator: "sum";
  }> {
    const data = await this.getForPromString();
    return {
      ...data,
      values: data.values.map(({ sharedLabels, labels, ...rest }) => ({
        ...rest,
        labels: { ...labels, ...sharedLabels },
      })),
    };
  }

  /** prom-client's `registry.resetMetrics()` calls this: every series back to zero. */
  reset(): void {
    for (const series of this.all) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }
}
