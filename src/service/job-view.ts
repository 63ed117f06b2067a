/** A stored job as the API shows it: plain data, datetimes as ISO strings, absent fields omitted. */
import {
  JOB_CATALOGUE,
  type JobFieldName,
  type StoredValue,
  VIEW_FIELDS,
  type ViewField,
} from "../catalogue/job-fields.js";
import type { FieldRef } from "../query/ast.js";
import type { JobRow } from "../storage/schema.js";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** The view's value of a field: json columns parsed (an object), the others as stored. */
type ViewValue<K extends JobFieldName> = (typeof JOB_CATALOGUE)[K]["type"] extends "json"
  ? JsonObject
  : StoredValue<K>;

/** Every view field of the catalogue, each optional (absent = NULL or not selected). */
export type JobView = { [K in ViewField]?: ViewValue<K> };

/** The view's fields in catalogue order, json ones marked (they are parsed and pruned). */
const VIEW_COLUMNS: readonly { readonly name: ViewField; readonly json: boolean }[] = VIEW_FIELDS.map(
  (name) => ({ name, json: JOB_CATALOGUE[name].type === "json" }),
);

/** A json column's stored text as the view holds it: its object, or absent when it holds no object. */
export function jsonColumnValue(text: string | null | undefined): JsonObject | undefined {
  if (text === null || text === undefined) return undefined;
  const value = JSON.parse(text) as JsonValue;
  return value !== null && typeof value === "object" && !Array.isArray(value) ? value : undefined;
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Define an own data member (plain assignment of `__proto__` would set the prototype instead). */
function setOwn(target: JsonObject, key: string, value: JsonValue): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Keep only the requested paths of an options object. */
function pickPaths(options: JsonObject, paths: readonly (readonly string[])[]): JsonObject {
  const out: JsonObject = {};
  for (const path of paths) {
    let source: JsonValue | undefined = options;
    for (const segment of path) {
      // Own members only: `options.constructor` or `options.__proto__` must not reach inherited ones.
      source = isObject(source) && Object.hasOwn(source, segment) ? source[segment] : undefined;
    }
    if (source === undefined) continue;
    let target = out;
    path.forEach((segment, i) => {
      if (i === path.length - 1) {
        setOwn(target, segment, source as JsonValue);
      } else {
        let next = Object.hasOwn(target, segment) ? target[segment] : undefined;
        if (!isObject(next)) {
          next = {};
          setOwn(target, segment, next);
        }
        target = next;
      }
    });
  }
  return out;
}

/** Row -> view; with `only`, just the selected fields (json paths pruned to what was asked). */
export function toJobView(row: Partial<JobRow>, only: readonly FieldRef[] | null = null): JobView {
  const view: Record<string, unknown> = {};
  const wanted = only === null ? null : new Set<string>(only.map((f) => f.column));
  for (const { name, json } of VIEW_COLUMNS) {
    if (wanted !== null && !wanted.has(name)) continue;
    let value: unknown = row[name];
    if (value === null || value === undefined) continue;
    if (json) {
      let parsed = jsonColumnValue(value as string);
      const whole = only === null || only.some((f) => f.column === name && f.path.length === 0);
      if (parsed && !whole && only) {
        parsed = pickPaths(
          parsed,
          only.filter((f) => f.column === name).map((f) => f.path),
        );
      }
      if (parsed === undefined) continue;
      value = parsed;
    }
    view[name] = value;
  }
  return view as JobView;
}
