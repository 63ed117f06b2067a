/**
 * `--filter 'key op value'` into a query filter: the key, one of the query language's operators, and
 * the rest of the argument as the value. Values are typed the way a shell user means them: numbers,
 * true/false and null as such, `[...]`/`{...}` as JSON, and for the list operators (`in`, `not_in`,
 * ...) a comma-separated list. Quote a value to keep it a string: `'plugin_id eq "123"'`.
 */
import type { JsonValue } from "@bufbuild/protobuf";
import { OPERATORS } from "../../query/parse-filter.js";
import { UsageError } from "./usage-error.js";

export interface FilterSpec {
  readonly k: string;
  readonly v: JsonValue;
  readonly o: string;
}

const LIST = new Set(["in", "not_in", "contain_in", "not_contain_in", "regex_in"]);

export function parseFilter(text: string): FilterSpec {
  const match = /^\s*(\S+)\s+(\S+)(?:\s+([\s\S]*?))?\s*$/.exec(text);
  if (!match) throw new UsageError(`--filter ${JSON.stringify(text)}: expected 'key operator value'`);
  const [, k = "", o = "", raw] = match;
  if (!(OPERATORS as readonly string[]).includes(o)) {
    throw new UsageError(
      `--filter ${JSON.stringify(text)}: unknown operator ${JSON.stringify(o)}; one of ${OPERATORS.join(", ")}`,
    );
  }
  if (raw === undefined) {
    if (o === "exists") return { k, v: true, o };
    throw new UsageError(`--filter ${JSON.stringify(text)}: a value is missing after ${o}`);
  }
  if (LIST.has(o) && !/^\s*\[/.test(raw)) {
    return { k, v: raw.split(",").map((item) => scalar(item.trim())), o };
  }
  return { k, v: scalar(raw), o };
}

function scalar(text: string): JsonValue {
  if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(text)) return Number(text);
  if (text === "true" || text === "false" || text === "null") return JSON.parse(text) as JsonValue;
  if (/^["[{]/.test(text)) {
    try {
      return JSON.parse(text) as JsonValue;
    } catch {
      // Not JSON after all: the text itself.
    }
  }
  return text;
}
