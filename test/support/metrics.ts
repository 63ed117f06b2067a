/** Reading `/metrics` in tests: one scrape, and the value of one sample line. */
import { expect } from "vitest";

/** `GET {url}/metrics`, checked to be the Prometheus text format. */
export async function scrapeMetrics(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** The value of the sample `name{labels} value` whose labels include `labels`; undefined when absent. */
export function metricSample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const set = line.slice(name.length).match(/^\{(.*)\}/)?.[1] ?? "";
    const pairs = Object.fromEntries([...set.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => pairs[k] === v)) return Number(line.split(" ").pop());
  }
  return undefined;
}
