/**
 * Whether the signed-in user may cancel a job, and if not, why: the page disables the button with
 * this explanation instead of letting the service refuse. The service decides in the end (its rules:
 * cancel is for DOMAIN_ADMIN and WORKSPACE_OWNER, a workspace owner only in their own workspace, and a
 * token with a `permissions` list must grant identity:Job.write).
 */
import type { TokenClaims } from "./jwt.js";

export interface CancelJobView {
  readonly status: string;
  readonly workspaceId: string;
  readonly cancelRequestedAt: string;
}

export type CancelVerdict = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

const CANCEL_PERMISSION = "identity:Job.write";

/** Who you are decides first (it does not change), then the job's state (which does). */
export function cancelVerdict(claims: TokenClaims, job: CancelJobView): CancelVerdict {
  if (claims.tokenType !== "SYSTEM_TOKEN") {
    if (claims.role !== "DOMAIN_ADMIN" && claims.role !== "WORKSPACE_OWNER") {
      return {
        allowed: false,
        reason: `Your role (${claims.role ?? "none"}) may read jobs but not cancel them; a domain admin or workspace owner can.`,
      };
    }
    if (claims.permissions.length > 0 && !claims.permissions.some((p) => CANCEL_PERMISSION.startsWith(p))) {
      return { allowed: false, reason: `Your token's permissions do not include ${CANCEL_PERMISSION}.` };
    }
    if (claims.role === "WORKSPACE_OWNER" && job.workspaceId !== claims.workspaceId) {
      return {
        allowed: false,
        reason:
          job.workspaceId === "*"
            ? "This is a domain-level job; a workspace owner can cancel only their workspace's jobs."
            : "This job belongs to another workspace.",
      };
    }
  }
  if (job.status !== "PENDING" && job.status !== "IN_PROGRESS") {
    return {
      allowed: false,
      reason: `A ${job.status} job has finished; only PENDING and IN_PROGRESS jobs can be canceled.`,
    };
  }
  if (job.cancelRequestedAt !== "") {
    return { allowed: false, reason: "A cancel was already requested; the worker is stopping the job." };
  }
  return { allowed: true };
}
