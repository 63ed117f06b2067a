/**
 * `WIRE_UNARY=connect npx vitest run ...` runs the protocol and hardening suites with unary calls through
 * connect's router instead of the unary path (src/wire/unary/, the default), and `WIRE_STREAM=connect`
 * with `watch` streams through connect's router instead of the stream path (src/wire/stream/): the test
 * servers take the settings from the environment (child processes inherit them).
 */
export function wireEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ["WIRE_UNARY", "WIRE_STREAM"]) {
    const value = process.env[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** The stream path setting of a suite that builds its wire handler itself (`WIRE_STREAM`). */
export function wireStream(): "lean" | "connect" {
  return process.env.WIRE_STREAM === "connect" ? "connect" : "lean";
}
