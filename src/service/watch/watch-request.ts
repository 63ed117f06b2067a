/**
 * A `watch` request (proto JSON with proto field names) -> what a watcher needs: the caller's scope,
 * the whole filter (scope AND shortcut fields AND query) as an AST and as an in-memory predicate
 * (`query/match.ts`, the same semantics as the SQL `list` runs), the projection and where to start.
 *
 * A stream has no pages and no order, so `page`, `sort`, `count_only` and `minimal` are refused.
 * `only` is honoured, and `job_id` and `version` are always kept in it: a client applying a stream
 * needs the identity and the version of every job it is sent (docs/watch.md).
 */
import type { Principal } from "../../auth/principal.js";
import { errors } from "../../errors.js";
import type { FieldRef, Where } from "../../query/ast.js";
import { compileWherePredicate, type RowPredicate } from "../../query/match.js";
import { parseListQuery } from "../../query/parse-query.js";
import type { ChangeCursor } from "../../storage/store.js";
import { authorize, DOMAIN_WORKSPACE, type Scope, scopeConditions } from "../job-rules.js";
import type { JsonObject } from "../job-view.js";
import { shortcutConditions } from "../list-shortcuts.js";
import { decodeCursor } from "./cursor.js";

export interface WatchRequest {
  query?: JsonObject;
  job_id?: string;
  status?: string;
  workspace_id?: string;
  trusted_account_id?: string;
  plugin_id?: string;
  cursor?: string;
  send_initial?: boolean;
}

export interface WatchSpec {
  readonly scope: Scope;
  /** Everything a job must satisfy, scope included: what `list` would run. */
  readonly where: Where;
  readonly predicate: RowPredicate;
  /** The `job_id` shortcut: a watch of one job (the hub routes only that job's changes to it). */
  readonly jobId: string | null;
  /** True when the request narrows the scope (a job can stop matching). */
  readonly filtered: boolean;
  readonly only: readonly FieldRef[] | null;
  /** Resume after this position; null = from now (or from the snapshot with send_initial). */
  readonly after: ChangeCursor | null;
  readonly sendInitial: boolean;
}

/** Query fields that make no sense for a stream, and why. */
const STREAM_REFUSED: Record<string, string> = {
  page: "a watch has no pages; list with pages, then watch from JobsInfo.cursor",
  sort: "a watch delivers changes in commit order and cannot be sorted",
  count_only: "a watch sends jobs; use list with count_only for a count",
  minimal: "use only to choose the fields of a watch",
};

const ALWAYS_PROJECTED: readonly FieldRef[] = [
  { column: "job_id", path: [], name: "job_id" },
  { column: "version", path: [], name: "version" },
];

export function parseWatchRequest(
  principal: Principal,
  request: WatchRequest,
  context: { readonly now: Date; readonly maxPageSize: number },
): WatchSpec {
  const scope = authorize(principal, "watch", request.workspace_id);
  const raw = request.query ?? {};
  for (const [key, reason] of Object.entries(STREAM_REFUSED)) {
    const value = raw[key];
    const set = Array.isArray(value)
      ? value.length > 0
      : value !== undefined && value !== null && value !== false;
    if (set) throw errors.invalidParameter(`query.${key}`, reason);
  }
  const query = parseListQuery(raw, context, scope.rule.keywordFields);
  const shortcuts = shortcutConditions(request);
  const where: Where = {
    and: [...scopeConditions(scope), ...shortcuts, ...query.where.and],
    or: query.where.or,
  };
  const cursor = request.cursor ?? "";
  const sendInitial = request.send_initial ?? false;
  if (cursor !== "" && sendInitial) {
    throw errors.invalidParameter(
      "send_initial",
      "send_initial starts from a new snapshot and cannot resume a cursor; send one of them",
    );
  }
  return {
    scope,
    where,
    predicate: compileWherePredicate(where),
    jobId: request.job_id ? request.job_id : null,
    filtered: shortcuts.length + query.where.and.length + query.where.or.length > 0,
    only: query.only === null ? null : [...ALWAYS_PROJECTED, ...query.only],
    after: cursor === "" ? null : decodeCursor(cursor, "cursor"),
    sendInitial,
  };
}

/** Whether a job of (domain, workspace) is inside a scope: the scope conditions, for rows we no longer have. */
export function inScope(scope: Scope, domainId: string, workspaceId: string): boolean {
  if (domainId !== scope.domainId) return false;
  if (scope.workspaceId === null) return true;
  if (workspaceId === scope.workspaceId) return true;
  return (
    scope.rule.workspaceMatch === "with_domain_jobs" &&
    scope.workspaceId !== DOMAIN_WORKSPACE &&
    workspaceId === DOMAIN_WORKSPACE
  );
}
