/**
 * `WIRE_UNARY=connect npx vitest run ...` runs the protocol and hardening suites with unary calls through
 * connect's router instead of the unary path (src/wire/unary/, the default): the test servers take the
 * setting from the environment (child processes inherit it).
 */
export function wireEnv(): Record<string, string> {
  const value = process.env.WIRE_UNARY;
  return value === undefined ? {} : { WIRE_UNARY: value };
}
