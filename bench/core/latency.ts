/**
 * Latency through the server: sequential Connect JSON requests over one keep-alive HTTP/1.1 connection.
 * With a baseline, each request is followed by one call of it (timed apart), so the server and its
 * baseline are sampled at the same moments of a noisy machine.
 */
import { h1Post, keepAliveAgent } from "../../test/support/http-client.js";
import { CannotMeasure } from "./errors.js";
import { type LatencyBudget, percentile } from "./measure.js";

export type LatencyOutcome =
  | { ok: true; p50: number; baselineP50: number | null; first: unknown; samples: number }
  | { ok: false; status: number; error: { code?: string; message?: string } };

export async function serverLatency(
  url: string,
  token: string,
  body: unknown,
  budget: LatencyBudget,
  baseline?: () => unknown,
): Promise<LatencyOutcome> {
  const agent = keepAliveAgent();
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const text = JSON.stringify(body);
  try {
    const first = await h1Post(url, headers, text, agent);
    const raw = first.body.toString("utf8");
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(raw || "null");
    } catch {
      parsed = { message: raw.slice(0, 300) };
    }
    if (first.status !== 200) {
      return {
        ok: false,
        status: first.status,
        error: (parsed ?? {}) as { code?: string; message?: string },
      };
    }
    let bad: string | null = null;
    const request = async () => {
      const r = await h1Post(url, headers, text, agent);
      if (r.status !== 200) bad = `HTTP ${r.status}: ${r.body.toString("utf8").slice(0, 200)}`;
    };
    for (let i = 0; i < budget.warmup; i++) {
      await request();
      baseline?.();
    }
    const samples: number[] = [];
    const baseSamples: number[] = [];
    const start = performance.now();
    while (
      samples.length < budget.maxIterations &&
      (samples.length < budget.minIterations || performance.now() - start < budget.minMs)
    ) {
      let t0 = performance.now();
      await request();
      samples.push(performance.now() - t0);
      if (baseline) {
        t0 = performance.now();
        baseline();
        baseSamples.push(performance.now() - t0);
      }
    }
    if (bad !== null) throw new CannotMeasure(`${url} failed under repetition: ${bad}`);
    return {
      ok: true,
      p50: percentile(samples, 50),
      baselineP50: baseline ? percentile(baseSamples, 50) : null,
      first: parsed,
      samples: samples.length,
    };
  } finally {
    agent.destroy();
  }
}
