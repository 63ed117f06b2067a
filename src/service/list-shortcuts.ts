/**
 * `list`'s shortcut fields (`job_id`, `status`, `trusted_account_id`, `plugin_id`) as conditions: one
 * reading for `list` and for `watch`, which takes the same fields.
 */
import { JOB_STATUSES } from "../catalogue/job-fields.js";
import { errors } from "../errors.js";
import type { Condition } from "../query/ast.js";

export const SHORTCUT_FIELDS = ["job_id", "status", "trusted_account_id", "plugin_id"] as const;

export type ShortcutRequest = { readonly [K in (typeof SHORTCUT_FIELDS)[number]]?: string };

/** An equality per shortcut set; unset proto3 fields are absent, and the status enum's NONE means no filter. */
export function shortcutConditions(request: ShortcutRequest): Condition[] {
  const conditions: Condition[] = [];
  for (const name of SHORTCUT_FIELDS) {
    const value = request[name];
    if (value === undefined || value === "" || (name === "status" && value === "NONE")) continue;
    if (name === "status" && !(JOB_STATUSES as readonly string[]).includes(value)) {
      throw errors.invalidParameter("status", `${value} is not one of ${JOB_STATUSES.join(", ")}`);
    }
    conditions.push({ op: "eq", field: { column: name, path: [], name }, value });
  }
  return conditions;
}
