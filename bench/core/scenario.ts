/**
 * A scenario: one thing `npm run bench` measures, in its own file under bench/scenarios/, listed once in
 * bench/scenarios/index.ts. It gets the shared context (options, seeded data, tokens, the shared service,
 * the load runner) and returns its figures; load runs and notes go through the context.
 *
 * A scenario that cannot measure something yet (a feature another issue adds, an error the service gives
 * today) returns the figure with `value: null`, status "not measurable yet" and the reason in `note`; it
 * throws `CannotMeasure` only when the measurement itself is broken (a server does not start, wrong answers).
 */
import type { BenchContext } from "./context.js";
import type { Figure } from "./figure.js";

export interface Scenario {
  /** Stable name, used by `--only` and as the prefix of its figures where that reads well. */
  readonly name: string;
  /** One line for the progress output. */
  readonly title: string;
  run(ctx: BenchContext): Promise<Figure[]>;
}
