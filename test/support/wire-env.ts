/**
 * `WIRE_UNARY=lean npx vitest run ...` runs the protocol and hardening suites through the lean unary path
 * (src/wire/unary/): the test servers take the setting from the environment (child processes inherit it).
 */
export function wireEnv(): Record<string, string> {
  const value = process.env.WIRE_UNARY;
  return value === undefined ? {} : { WIRE_UNARY: value };
}
