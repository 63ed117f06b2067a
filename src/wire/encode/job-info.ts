/** A job's view as the `JobInfo` message (every answer that carries a job, and the reference of job-json.ts). */
import { create, type DescField, type MessageInitShape } from "@bufbuild/protobuf";
import { type JobInfo, JobInfoSchema } from "../../../gen/spaceone/api/identity/v2/job_pb.js";
import { JOB_CATALOGUE, type JobField, VIEW_FIELDS, type ViewField } from "../../catalogue/job-fields.js";
import type { JobView } from "../../service/job-view.js";

/**
 * How each view field becomes its `JobInfo` field: the catalogue names the proto field, the generated
 * descriptor gives its message key and, for enums, the numbers of the value names. Built once; a
 * catalogue field the proto lacks fails here, at start-up (and in test/job-fields.test.ts).
 */
export const JOB_INFO_FIELDS: readonly {
  readonly view: ViewField;
  readonly field: DescField;
  readonly key: string;
  readonly enumNumbers: ReadonlyMap<string, number> | null;
}[] = VIEW_FIELDS.map((view) => {
  const proto = (JOB_CATALOGUE[view] as JobField).proto;
  const field = JobInfoSchema.fields.find((f) => f.name === proto);
  if (!field) throw new Error(`JobInfo has no field ${String(proto)} for the view field ${view}`);
  const enumNumbers =
    field.fieldKind === "enum" ? new Map(field.enum.values.map((v) => [v.name, v.number])) : null;
  return { view, field, key: field.localName, enumNumbers };
});

/** View -> JobInfo; an absent field stays unset (an enum's zero value, NONE, when absent). */
export function toJobInfo(view: JobView): JobInfo {
  const init: Record<string, unknown> = {};
  for (const { view: name, key, enumNumbers } of JOB_INFO_FIELDS) {
    const value = view[name];
    if (value === undefined) continue;
    init[key] = enumNumbers === null ? value : enumNumbers.get(value as string);
  }
  return create(JobInfoSchema, init as MessageInitShape<typeof JobInfoSchema>);
}
