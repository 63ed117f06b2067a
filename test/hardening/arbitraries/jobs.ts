/**
 * Generated job sets for differential tests: a few hundred jobs in two domains and four workspaces
 * (incl. domain-level `*`), with `created_at` drawn from a handful of instants (so sorts tie and the
 * insertion-order tiebreaker matters), many nulls, and `options` holding strings, numbers, booleans,
 * lists and nested objects. Deterministic for a seed; loaded into an in-memory database through the
 * store, and kept as `RefJob`s for the reference.
 */

import fc from "fast-check";
import { openDatabase } from "../../../src/storage/database.js";
import type { JobRow } from "../../../src/storage/schema.js";
import { SqliteStore } from "../../../src/storage/sqlite/sqlite-store.js";
import type { RefJob } from "../reference/job-model.js";
import { INSTANTS, optionsArb, STRINGS } from "./values.js";

const iso = (ms: number) => new Date(ms).toISOString();
const instantArb = fc.constantFrom(...INSTANTS).map(iso);
const nullable = <T>(arb: fc.Arbitrary<T>, nullWeight = 1): fc.Arbitrary<T | null> =>
  fc.oneof({ weight: nullWeight, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: arb });

const jobArb = fc.record({
  idPrefix: fc.constantFrom("job-", "job-", "job-", "JOB-", "job_%", "jöb-"),
  status: fc.constantFrom("PENDING", "IN_PROGRESS", "FAILURE", "SUCCESS", "CANCELED"),
  domain_id: fc.constantFrom("domain-a", "domain-a", "domain-b"),
  workspace_id: fc.constantFrom("ws-1", "ws-2", "ws-3", "*"),
  trusted_account_id: fc.constantFrom("ta-1", "ta-2", "TA-3", "ta-ü"),
  plugin_id: nullable(fc.constantFrom("plugin-aws", "plugin-azure", "Plugin-Google")),
  error_message: nullable(fc.constantFrom(...STRINGS), 2),
  options: nullable(optionsArb, 1),
  created_at: instantArb,
  updated_at: instantArb,
  finished_at: nullable(instantArb),
  started_at: nullable(instantArb),
  heartbeat_at: nullable(instantArb, 2),
  progress_percent: nullable(fc.constantFrom(0, 12.5, 33.333, 50, 99.9, 100)),
  current_step: nullable(fc.constantFrom(...STRINGS), 2),
  records_processed: nullable(fc.constantFrom(0, 1, 2, 10, 1000)),
  records_total: nullable(fc.constantFrom(0, 1, 2, 10, 1000)),
  records_created: nullable(fc.constantFrom(0, 1, 7)),
  records_updated: nullable(fc.constantFrom(0, 3)),
  records_deleted: nullable(fc.constantFrom(0, 5), 3),
  cancel_requested_at: nullable(instantArb, 3),
  cancel_reason: nullable(fc.constantFrom(...STRINGS), 3),
  canceled_by: nullable(fc.constantFrom("user-1", "system", "Ü"), 3),
  error_code: nullable(fc.constantFrom("ERROR_HEARTBEAT_LOST", "ERROR_UNKNOWN", "error_x"), 3),
  version: fc.integer({ min: 1, max: 4 }),
});

/** `count` jobs for `seed`, with unique ids and seq 1..count (insertion order). */
export function generateRefJobs(seed: number, count: number): RefJob[] {
  return fc.sample(jobArb, { seed, numRuns: count }).map(({ idPrefix, ...job }, i) => ({
    ...job,
    seq: i + 1,
    job_id: `${idPrefix}${i.toString(16).padStart(4, "0")}`,
    resource_group: job.workspace_id === "*" ? "DOMAIN" : "WORKSPACE",
  }));
}

/** The jobs as table rows (options as JSON text), in seq order. */
export function rowsOf(jobs: readonly RefJob[]): Omit<JobRow, "seq">[] {
  return jobs.map(({ seq: _seq, options, ...job }) => ({
    ...job,
    options: options === null ? null : JSON.stringify(options),
  })) as never;
}

/** The jobs in a fresh in-memory database, inserted in seq order through the service's own store. */
export function storeWith(jobs: readonly RefJob[]): SqliteStore {
  const store = new SqliteStore(openDatabase({ file: ":memory:" }), { ownsConnection: true });
  store.insertRows(rowsOf(jobs));
  return store;
}
