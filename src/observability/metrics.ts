/**
 * Every Prometheus metric of the service, in one registry per app (tests run several apps in one
 * process; a global registry would mix them). Label values are bounded by construction: services and
 * methods come from the proto descriptors (anything else is `unknown`), protocols and codes from
 * fixed lists, statuses from the state machine. No job id, token or free text is ever a label.
 *
 * Other parts of the service feed these through the small handles below (`watch`, `database`,
 * `housekeeping`), so they need not know prom-client.
 */
import client from "prom-client";
import type { PoolUse } from "../storage/store.js";
import { lookup } from "./lookup.js";
import { PairHistogram } from "./pair-histogram.js";

export const METRIC_PREFIX = "job_service_";

/** How a call reached us. `http` is anything that is not an RPC (health, metrics, docs). */
export const PROTOCOLS = ["connect", "grpc", "grpc-web", "rest"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** Latency buckets (seconds): from a cached `get` (~0.2 ms) to a `stat` at the deadline (30 s). */
const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const statementBuckets = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 5];

/** A count kept as a plain number and handed to its prom-client metric when scraped. */
export interface Tally {
  value: number;
}

export interface Metrics {
  readonly registry: client.Registry;
  /** Fed by `callTally` at each scrape. */
  readonly calls: client.Counter<"service" | "method" | "protocol" | "code">;
  /** Per (service, method): `callDuration.series(service, method).observe(seconds)`. */
  readonly callDuration: PairHistogram;
  /** Fed by `inFlightTally` at each scrape. */
  readonly callsInFlight: client.Gauge<"protocol">;
  /**
   * The answered calls of one label tuple (add 1 per call). prom-client hashes a label object on
   * every `inc`, a measurable share of a `get`; a tally is one addition. The tuples are bounded
   * (served methods or `unknown`, fixed protocols and codes), so they are kept for the process's life.
   */
  callTally(service: string, method: string, protocol: Protocol, code: string): Tally;
  /** The calls of a protocol whose response has not finished (add 1 at arrival, take 1 at close). */
  inFlightTally(protocol: Protocol): Tally;
  readonly transitions: client.Counter<"action" | "from" | "to">;
  readonly housekeeping: client.Counter<"task" | "action">;
  readonly housekeepingDuration: client.Histogram<"task">;
  /** For the watch lane: open watch streams and pending `wait` calls (inc on open, dec on close). */
  readonly watch: {
    readonly streams: client.Gauge;
    readonly waiters: client.Gauge;
  };
  /** For the storage backends: statement time per operation, pool connections by state. */
  readonly database: {
    /** Per (backend, operation): `statementDuration.series(backend, operation).observe(seconds)`. */
    readonly statementDuration: PairHistogram;
    readonly poolConnections: client.Gauge<"backend" | "pool" | "state">;
    /** Have the pool gauge ask `use` for the backend's figures at every scrape (not in between). */
    samplePool(backend: string, use: () => readonly PoolUse[]): void;
  };
  /** Text exposition of everything registered. */
  scrape(): Promise<string>;
}

export interface MetricsOptions {
  /** Process and event-loop metrics from prom-client (`process_*`, `nodejs_*`); on by default. */
  readonly defaultMetrics?: boolean;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new client.Registry();
  if (options.defaultMetrics ?? true) {
    // Event-loop lag is sampled with perf_hooks' histogram at this resolution (ms).
    client.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  }
  const registers = [registry];
  const name = (suffix: string) => `${METRIC_PREFIX}${suffix}`;
  const poolSources: { backend: string; use: () => readonly PoolUse[] }[] = [];
  type CallLabels = { service: string; method: string; protocol: Protocol; code: string };
  type Series = { labels: CallLabels; tally: Tally };
  const answered = new Map<string, Map<string, Map<Protocol, Map<string, Series>>>>();
  const answeredSeries: Series[] = [];
  const inFlight = new Map<Protocol, Tally>(PROTOCOLS.map((protocol) => [protocol, { value: 0 }]));
  const metrics: Metrics = {
    registry,
    calls: new client.Counter({
      name: name("calls_total"),
      help: "RPC calls answered, by service, method, protocol and status code.",
      labelNames: ["service", "method", "protocol", "code"],
      registers,
      collect() {
        this.reset();
        for (const { labels, tally } of answeredSeries) this.inc(labels, tally.value);
      },
    }),
    callDuration: new PairHistogram(
      name("call_duration_seconds"),
      "Time from the request's arrival to the end of its response, per method.",
      ["service", "method"],
      latencyBuckets,
      registers,
    ),
    callsInFlight: new client.Gauge({
      name: name("calls_in_flight"),
      help: "RPC calls whose response has not finished, by protocol.",
      labelNames: ["protocol"],
      registers,
      // Every protocol reads 0 from the first scrape, not "no data" until its first call.
      collect() {
        for (const [protocol, tally] of inFlight) this.set({ protocol }, tally.value);
      },
    }),
    callTally: (service, method, protocol, code) => {
      // Nested maps: no key string is built (and hashed) per call.
      const byCode = lookup(lookup(lookup(answered, service), method), protocol);
      let series = byCode.get(code);
      if (series === undefined) {
        series = { labels: { service, method, protocol, code }, tally: { value: 0 } };
        byCode.set(code, series);
        answeredSeries.push(series);
      }
      return series.tally;
    },
    inFlightTally: (protocol) => inFlight.get(protocol) as Tally,
    transitions: new client.Counter({
      name: name("job_transitions_total"),
      help: "Job lifecycle transitions recorded in the timeline, by action and the statuses it moved between.",
      labelNames: ["action", "from", "to"],
      registers,
    }),
    housekeeping: new client.Counter({
      name: name("housekeeping_actions_total"),
      help: "Jobs the reaper finished and jobs or tombstones retention purged, by task and action.",
      labelNames: ["task", "action"],
      registers,
    }),
    housekeepingDuration: new client.Histogram({
      name: name("housekeeping_pass_duration_seconds"),
      help: "Duration of one reaper or retention pass.",
      labelNames: ["task"],
      buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 30, 120],
      registers,
    }),
    watch: {
      streams: new client.Gauge({
        name: name("watch_streams"),
        help: "Open watch streams.",
        registers,
      }),
      waiters: new client.Gauge({
        name: name("waiters"),
        help: "wait calls holding for a job to finish.",
        registers,
      }),
    },
    database: {
      statementDuration: new PairHistogram(
        name("db_statement_duration_seconds"),
        "Time to run one database statement, by backend and operation.",
        ["backend", "operation"],
        statementBuckets,
        registers,
      ),
      poolConnections: new client.Gauge({
        name: name("db_pool_connections"),
        help: "Database connections, worker threads and the writer by pool and state (in_use, idle, starting), and requests waiting for one (waiting).",
        labelNames: ["backend", "pool", "state"],
        registers,
        // Read when scraped: a pool's use changes every millisecond, sampling in between says nothing.
        collect() {
          this.reset();
          for (const { backend, use } of poolSources) {
            for (const { pool, state, count } of use()) this.set({ backend, pool, state }, count);
          }
        },
      }),
      samplePool: (backend, use) => {
        poolSources.push({ backend, use });
      },
    },
    scrape: () => registry.metrics(),
  };
  return metrics;
}
