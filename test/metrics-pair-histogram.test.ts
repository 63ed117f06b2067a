/**
 * A two-label histogram kept as plain numbers (src/observability/pair-histogram.ts) exposes exactly what
 * prom-client's own `Histogram` exposes for the same observations, text and JSON.
 */
import client from "prom-client";
import { describe, expect, it } from "vitest";
import { PairHistogram } from "../src/observability/pair-histogram.js";

const buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const observations: [string, string, number][] = [
  ["spaceone.api.identity.v2.Job", "get", 0.0003],
  ["spaceone.api.identity.v2.Job", "get", 0.0005],
  ["spaceone.api.identity.v2.Job", "get", 0.00051],
  ["spaceone.api.identity.v2.Job", "list", 0.2],
  ["spaceone.api.identity.v2.Job", "get", 42],
  ["unknown", "unknown", 0.01],
  ['we"ird\\', "name\nx", 1],
  ["spaceone.api.identity.v2.Job", "list", 0.25],
];

function both() {
  const ours = new client.Registry();
  const theirs = new client.Registry();
  const durations = new PairHistogram(
    "x_call_duration_seconds",
    "Help text.",
    ["service", "method"],
    buckets,
    [ours],
  );
  const histogram = new client.Histogram({
    name: "x_call_duration_seconds",
    help: "Help text.",
    labelNames: ["service", "method"],
    buckets,
    registers: [theirs],
  });
  for (const [service, method, seconds] of observations) {
    durations.series(service, method).observe(seconds);
    histogram.observe({ service, method }, seconds);
  }
  return { ours, theirs, durations };
}

describe("a two-label histogram", () => {
  it("expose the text prom-client's Histogram exposes for the same observations", async () => {
    const { ours, theirs } = both();
    const text = await ours.metrics();
    expect(text).toContain(
      'x_call_duration_seconds_bucket{le="0.0005",service="spaceone.api.identity.v2.Job",method="get"} 2',
    );
    expect(text).toBe(await theirs.metrics());
  });

  it("expose the JSON prom-client's Histogram exposes, and reset with the registry", async () => {
    const { ours, theirs } = both();
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
    ours.resetMetrics();
    const text = await ours.metrics();
    expect(text).toContain(
      'x_call_duration_seconds_count{service="spaceone.api.identity.v2.Job",method="get"} 0',
    );
  });
});
