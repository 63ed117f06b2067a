/**
 * Who may call each Job method and how it is scoped: one table to check against docs/compatibility.md, "Roles and scoping"
 * (identity `service/job_service.py` decorators), and the one function that applies it.
 */
import type { Principal, RoleType } from "../auth/principal.js";
import { LIST_KEYWORD_FIELDS, STAT_KEYWORD_FIELDS } from "../catalogue/job-fields.js";
import { errors } from "../errors.js";
import type { Condition } from "../query/ast.js";
import type { JobColumn } from "../query/fields.js";

/** DOMAIN jobs carry this workspace id (docs/compatibility.md, "Jobs and their lifecycle"). */
export const DOMAIN_WORKSPACE = "*";

export interface MethodRule {
  readonly roles: readonly RoleType[];
  /** Permission a token with a `permissions` list must hold by prefix (`identity:Job` grants both). */
  readonly permission: string;
  /**
   * How a workspace is applied: `with_domain_jobs` matches the workspace and domain-level (`*`)
   * jobs (upstream APPEND rule); `exact` matches the workspace only (delete by a workspace owner
   * cannot touch domain-level jobs).
   */
  readonly workspaceMatch: "with_domain_jobs" | "exact";
  readonly keywordFields: readonly JobColumn[];
  /**
   * An access token must hold `permission` in its `permissions` claim: the role alone (managed roles
   * carry no list) is not enough. For the worker verbs, so a user cannot forge a job's progress.
   */
  readonly permissionRequired?: boolean;
}

const READERS: readonly RoleType[] = ["DOMAIN_ADMIN", "WORKSPACE_OWNER", "WORKSPACE_MEMBER"];
const WRITERS: readonly RoleType[] = ["DOMAIN_ADMIN", "WORKSPACE_OWNER"];

/**
 * The orchestrator and the plugin workers (docs/lifecycle.md): system tokens, or app tokens with a
 * writer role whose `permissions` grant `identity:Job.execute`. Workspace-scoped callers touch only
 * their workspace's jobs.
 */
const EXECUTE: MethodRule = {
  roles: WRITERS,
  permission: "identity:Job.execute",
  permissionRequired: true,
  workspaceMatch: "exact",
  keywordFields: [],
};

export const JOB_RULES = {
  get: {
    roles: READERS,
    permission: "identity:Job.read",
    workspaceMatch: "with_domain_jobs",
    keywordFields: [],
  },
  list: {
    roles: READERS,
    permission: "identity:Job.read",
    workspaceMatch: "with_domain_jobs",
    keywordFields: LIST_KEYWORD_FIELDS,
  },
  // Decision: stat scopes like list (workspace users also count domain-level jobs). Upstream's stat
  // leaves them out, so a summary tile would disagree with the list it links to (docs/compatibility.md, "Upstream quirks" 4).
  stat: {
    roles: READERS,
    permission: "identity:Job.read",
    workspaceMatch: "with_domain_jobs",
    keywordFields: STAT_KEYWORD_FIELDS,
  },
  delete: {
    roles: WRITERS,
    permission: "identity:Job.write",
    workspaceMatch: "exact",
    keywordFields: [],
  },
  // JobLifecycle (job_lifecycle.proto): workers write, users with delete's rights cancel, readers
  // read the timeline.
  create: EXECUTE,
  start: EXECUTE,
  report_progress: EXECUTE,
  succeed: EXECUTE,
  fail: EXECUTE,
  cancel: {
    roles: WRITERS,
    permission: "identity:Job.write",
    workspaceMatch: "exact",
    keywordFields: [],
  },
  // watch and wait (docs/watch.md): a stream of what list shows, and get that waits.
  watch: {
    roles: READERS,
    permission: "identity:Job.read",
    workspaceMatch: "with_domain_jobs",
    keywordFields: LIST_KEYWORD_FIELDS,
  },
  wait: {
    roles: READERS,
    permission: "identity:Job.read",
    workspaceMatch: "with_domain_jobs",
    keywordFields: [],
  },
  list_events: {
    roles: READERS,
    permission: "identity:Job.read",
    workspaceMatch: "with_domain_jobs",
    keywordFields: [],
  },
} as const satisfies Record<string, MethodRule>;

export type JobMethod = keyof typeof JOB_RULES;

export interface Scope {
  readonly domainId: string;
  /** The caller's workspace, or for a domain admin the workspace asked for; null = whole domain. */
  readonly workspaceId: string | null;
  readonly rule: MethodRule;
}

/**
 * Check the caller against a method's rule and derive the scope (upstream's authorization and
 * mutation handlers). `requestedWorkspace` is the request's own `workspace_id`, honoured only for
 * a domain admin (workspace tokens are pinned to their workspace).
 */
export function authorize(principal: Principal, method: JobMethod, requestedWorkspace?: string): Scope {
  const rule: MethodRule = JOB_RULES[method];
  if (principal.tokenType === "ACCESS_TOKEN") {
    if (principal.role === null || !rule.roles.includes(principal.role)) throw errors.permissionDenied();
    if (
      (principal.permissions.length > 0 || rule.permissionRequired) &&
      !principal.permissions.some((p) => rule.permission.startsWith(p))
    ) {
      throw errors.permissionDenied();
    }
  }
  if (!principal.domainId) {
    // A system token must say which domain it acts for; we never serve all domains at once.
    throw errors.requiredParameter("domain_id (x_domain_id header for system tokens)");
  }
  const isDomainWide =
    principal.tokenType === "SYSTEM_TOKEN"
      ? principal.workspaceId === null
      : principal.role === "DOMAIN_ADMIN";
  if (!isDomainWide && !principal.workspaceId) throw errors.permissionDenied();
  const workspaceId = isDomainWide ? requestedWorkspace || null : principal.workspaceId;
  return { domainId: principal.domainId, workspaceId, rule };
}

/** The scope as filter conditions, ANDed into every query of the method. */
export function scopeConditions(scope: Scope): Condition[] {
  const conditions: Condition[] = [
    { op: "eq", field: { column: "domain_id", path: [], name: "domain_id" }, value: scope.domainId },
  ];
  if (scope.workspaceId !== null) {
    const field = { column: "workspace_id", path: [], name: "workspace_id" } as const;
    conditions.push(
      scope.rule.workspaceMatch === "exact" || scope.workspaceId === DOMAIN_WORKSPACE
        ? { op: "eq", field, value: scope.workspaceId }
        : { op: "in", field, values: [scope.workspaceId, DOMAIN_WORKSPACE] },
    );
  }
  return conditions;
}
