/**
 * The query whitelist: the Job fields a query may name, derived from the field catalogue
 * (`catalogue/job-fields.ts`). Every filter key, sort key, `only` entry, group key and distinct field
 * is checked against it. A name not in here (or not a dotted path under a `json` field) is
 * `invalid_argument`; names never reach SQL unchecked.
 */
import { type ColumnType, JOB_CATALOGUE, QUERY_FIELDS, type QueryField } from "../catalogue/job-fields.js";

/** How the query language treats a field's values. */
export type FieldType = "string" | "enum" | "datetime" | "json" | "number";

export interface FieldSpec {
  readonly type: FieldType;
  /** Allowed values for `enum` fields. */
  readonly values?: readonly string[];
  /** Column may be NULL (absent on the wire). */
  readonly nullable: boolean;
}

const QUERY_TYPE: Readonly<Record<ColumnType, FieldType>> = {
  text: "string",
  enum: "enum",
  timestamp: "datetime",
  json: "json",
  int: "number",
  real: "number",
};

export type JobColumn = QueryField;

/** Column name -> spec, for every field a query may name. */
export const JOB_FIELDS: Readonly<Record<JobColumn, FieldSpec>> = Object.fromEntries(
  QUERY_FIELDS.map((name) => {
    const field = JOB_CATALOGUE[name];
    const spec: FieldSpec = {
      type: QUERY_TYPE[field.type],
      nullable: field.nullable,
      ...("values" in field ? { values: field.values } : {}),
    };
    return [name, spec];
  }),
) as Record<JobColumn, FieldSpec>;

export const JOB_COLUMNS: readonly JobColumn[] = QUERY_FIELDS;

/** How stat treats a field's values: enums are strings there. */
export function valueKindOf(type: FieldType): "string" | "datetime" | "number" | "json" {
  return type === "enum" ? "string" : type;
}

/** A segment of a dotted path under a json field: conservative so it is safe in a JSON path. */
export const JSON_SEGMENT = /^[A-Za-z0-9_\-:@$]{1,64}$/;
export const MAX_JSON_DEPTH = 8;

export function isJobColumn(name: string): name is JobColumn {
  return Object.hasOwn(JOB_FIELDS, name);
}
