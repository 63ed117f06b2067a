/** A job's view as the `JobInfo` message (every answer that carries a job, and the reference of job-json.ts). */
import { create } from "@bufbuild/protobuf";
import {
  type JobInfo,
  JobInfo_ResourceGroup,
  JobInfo_Status,
  JobInfoSchema,
} from "../../../gen/spaceone/api/identity/v2/job_pb.js";
import type { JobView } from "../../service/job-view.js";

export function toJobInfo(view: JobView): JobInfo {
  return create(JobInfoSchema, {
    jobId: view.job_id,
    status: view.status ? JobInfo_Status[view.status] : JobInfo_Status.NONE,
    options: view.options,
    resourceGroup: view.resource_group ? JobInfo_ResourceGroup[view.resource_group] : undefined,
    errorMessage: view.error_message,
    domainId: view.domain_id,
    workspaceId: view.workspace_id,
    trustedAccountId: view.trusted_account_id,
    pluginId: view.plugin_id,
    createdAt: view.created_at,
    updatedAt: view.updated_at,
    finishedAt: view.finished_at,
    startedAt: view.started_at,
    heartbeatAt: view.heartbeat_at,
    progressPercent: view.progress_percent,
    currentStep: view.current_step,
    recordsProcessed: view.records_processed,
    recordsTotal: view.records_total,
    recordsCreated: view.records_created,
    recordsUpdated: view.records_updated,
    recordsDeleted: view.records_deleted,
    cancelRequestedAt: view.cancel_requested_at,
    cancelReason: view.cancel_reason,
    canceledBy: view.canceled_by,
    errorCode: view.error_code,
    durationSeconds: view.duration_seconds,
    version: view.version,
  });
}
