/**
 * Valid `JobsQuery` requests: filters with every operator over every field type (columns of each type,
 * `options` paths one to three levels deep, the bare `options` object where it is allowed), `filter_or`,
 * `keyword`, several sort keys, paging (including a limit just over the maximum, which must be refused),
 * `only` with dotted paths, `minimal`, `count_only`, the shortcut fields, and the long and short key
 * spellings (`key`/`k`, `value`/`v`, `operator`/`o`).
 *
 * Contain and regex operators are not generated on number fields: the service refuses them (they have no
 * text to search; see the regression tests), and the reference does not model that refusal.
 */
import fc from "fast-check";
import { REF_FIELDS, REF_RESOURCE_GROUPS, REF_STATUSES } from "../reference/job-model.js";
import { isoArb, timediffArb } from "./datetimes.js";
import { keyArb, NEEDLES, NUMBERS, PATTERNS, STRINGS, scalarArb } from "./values.js";

type Cond = Record<string, unknown>;

const columns = (type: string) => Object.keys(REF_FIELDS).filter((name) => REF_FIELDS[name] === type);
const STRING_COLUMNS = columns("string");
const DATETIME_COLUMNS = columns("datetime");
const NUMBER_COLUMNS = columns("number");
const ENUM_VALUES: Readonly<Record<string, readonly string[]>> = {
  status: REF_STATUSES,
  resource_group: REF_RESOURCE_GROUPS,
};

/** Values found in the string columns of generated jobs, so equality hits. */
const COLUMN_STRINGS = [
  "domain-a",
  "domain-b",
  "ws-1",
  "ws-2",
  "*",
  "ta-1",
  "TA-3",
  "ta-ü",
  "plugin-aws",
  "Plugin-Google",
  "job-0001",
  "job-000a",
  "JOB-0002",
  "user-1",
  "ERROR_UNKNOWN",
];

export const optionsPathArb: fc.Arbitrary<string> = fc
  .array(keyArb, { minLength: 1, maxLength: 3 })
  .map((segments) => `options.${segments.join(".")}`);

const stringValue = fc.oneof(fc.constantFrom(...STRINGS), fc.constantFrom(...COLUMN_STRINGS));
const needle = fc.constantFrom(...NEEDLES);
const pattern = fc.constantFrom(...PATTERNS);
const list = <T>(arb: fc.Arbitrary<T>) => fc.array(arb, { maxLength: 4 });
const orNull = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 5, arbitrary: arb }, fc.constant(null));

/** [operator, value] pairs valid for a field of a type. */
function opValue(type: "string" | "enum" | "datetime" | "number" | "options", name: string) {
  const text: fc.Arbitrary<[string, unknown]>[] = [
    fc.tuple(fc.constantFrom("contain", "not_contain"), needle),
    fc.tuple(fc.constantFrom("contain_in", "not_contain_in"), list(needle)),
    fc.tuple(fc.constant("regex"), pattern),
    fc.tuple(fc.constant("regex_in"), list(pattern)),
  ];
  const ordered = (value: fc.Arbitrary<unknown>): fc.Arbitrary<[string, unknown]>[] => [
    fc.tuple(fc.constantFrom("eq", "not"), orNull(value)),
    fc.tuple(fc.constantFrom("lt", "lte", "gt", "gte"), value),
    fc.tuple(fc.constantFrom("in", "not_in"), list(orNull(value))),
    fc.tuple(fc.constant("exists"), fc.boolean()),
  ];
  const instants: fc.Arbitrary<[string, unknown]>[] = [
    fc.tuple(fc.constantFrom("datetime_lt", "datetime_lte", "datetime_gt", "datetime_gte"), isoArb),
    fc.tuple(fc.constantFrom("timediff_lt", "timediff_lte", "timediff_gt", "timediff_gte"), timediffArb),
  ];
  switch (type) {
    case "string":
      return fc.oneof(...ordered(stringValue), ...text);
    case "enum":
      return fc.oneof(...ordered(fc.constantFrom(...(ENUM_VALUES[name] as string[]))), ...text);
    case "datetime":
      return fc.oneof(...ordered(isoArb), ...text, ...instants);
    case "number":
      return fc.oneof(...ordered(fc.constantFrom(...NUMBERS)));
    case "options": {
      const nonNull = scalarArb.filter((v) => v !== null);
      const matchValue = fc.dictionary(keyArb, scalarArb, { minKeys: 1, maxKeys: 3 });
      return fc.oneof(
        fc.tuple(fc.constantFrom("eq", "not"), scalarArb),
        fc.tuple(fc.constantFrom("lt", "lte", "gt", "gte"), nonNull),
        fc.tuple(fc.constantFrom("in", "not_in"), list(scalarArb)),
        fc.tuple(fc.constant("exists"), fc.boolean()),
        ...text,
        fc.tuple(fc.constant("match"), matchValue),
        ...instants,
      );
    }
  }
}

const conditionArb: fc.Arbitrary<Cond> = fc
  .oneof(
    {
      weight: 3,
      arbitrary: fc
        .constantFrom(...STRING_COLUMNS)
        .chain((n) => opValue("string", n).map((ov) => [n, ...ov] as const)),
    },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom("status", "resource_group")
        .chain((n) => opValue("enum", n).map((ov) => [n, ...ov] as const)),
    },
    {
      weight: 3,
      arbitrary: fc
        .constantFrom(...DATETIME_COLUMNS)
        .chain((n) => opValue("datetime", n).map((ov) => [n, ...ov] as const)),
    },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom(...NUMBER_COLUMNS)
        .chain((n) => opValue("number", n).map((ov) => [n, ...ov] as const)),
    },
    {
      weight: 5,
      arbitrary: optionsPathArb.chain((n) => opValue("options", n).map((ov) => [n, ...ov] as const)),
    },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.tuple(fc.constant("options"), fc.constant("exists"), fc.boolean()),
        fc.tuple(fc.constant("options"), fc.constantFrom("eq", "not"), fc.constant(null)),
      ),
    },
  )
  .chain(([key, operator, value]) =>
    fc.boolean().map((short): Cond => (short ? { k: key, v: value, o: operator } : { key, value, operator })),
  );

const sortKeyArb = fc.oneof(
  fc.constantFrom(...Object.keys(REF_FIELDS).filter((n) => n !== "options")),
  optionsPathArb,
);
const onlyArb = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...Object.keys(REF_FIELDS)) },
    { weight: 2, arbitrary: optionsPathArb },
  ),
  { minLength: 1, maxLength: 5 },
);
const keywordArb = fc
  .array(fc.constantFrom("job", "JOB-0", "fail", "SUCC", "pend", "ess", "ws", "x", "00"), {
    minLength: 1,
    maxLength: 3,
  })
  .chain((words) => fc.constantFrom(" ", "  ", "\t").map((gap) => words.join(gap)));

/** `arb` in about `percent`% of cases, else absent. */
function sometimes<T>(arb: fc.Arbitrary<T>, percent: number): fc.Arbitrary<T | undefined> {
  return fc.oneof(
    { weight: 100 - percent, arbitrary: fc.constant(undefined) },
    { weight: percent, arbitrary: arb },
  );
}

/** Drop absent keys, so requests look like what clients send. */
function compact(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}

export function queryArb(maxPageSize: number): fc.Arbitrary<Record<string, unknown>> {
  const limit = fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 0, max: Math.min(maxPageSize, 40) }) },
    { weight: 1, arbitrary: fc.constant(maxPageSize) },
    { weight: 1, arbitrary: fc.constant(maxPageSize + 1) },
  );
  return fc
    .record({
      filter: sometimes(fc.array(conditionArb, { minLength: 1, maxLength: 4 }), 80),
      filter_or: sometimes(fc.array(conditionArb, { maxLength: 3 }), 35),
      keyword: sometimes(keywordArb, 15),
      sort: sometimes(
        fc.array(fc.record({ key: sortKeyArb, desc: sometimes(fc.boolean(), 80) }).map(compact), {
          minLength: 1,
          maxLength: 3,
        }),
        55,
      ),
      page: sometimes(
        fc
          .record({ start: sometimes(fc.integer({ min: 0, max: 12 }), 70), limit: sometimes(limit, 85) })
          .map(compact),
        65,
      ),
      only: sometimes(onlyArb, 25),
      minimal: sometimes(fc.boolean(), 10),
      count_only: sometimes(fc.boolean(), 10),
    })
    .map(compact);
}

export interface GeneratedCaller {
  readonly role: "DOMAIN_ADMIN" | "WORKSPACE_OWNER" | "WORKSPACE_MEMBER";
  readonly domainId: string;
  readonly workspaceId: string | null;
}

export const callerArb: fc.Arbitrary<GeneratedCaller> = fc.constantFrom<GeneratedCaller>(
  { role: "DOMAIN_ADMIN", domainId: "domain-a", workspaceId: null },
  { role: "DOMAIN_ADMIN", domainId: "domain-a", workspaceId: null },
  { role: "DOMAIN_ADMIN", domainId: "domain-b", workspaceId: null },
  { role: "WORKSPACE_OWNER", domainId: "domain-a", workspaceId: "ws-1" },
  { role: "WORKSPACE_MEMBER", domainId: "domain-a", workspaceId: "ws-2" },
  { role: "WORKSPACE_MEMBER", domainId: "domain-b", workspaceId: "ws-3" },
);

/** The request around the query: the JobsQuery shortcut fields, each now and then. */
export function listRequestArb(maxPageSize: number): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .record({
      query: sometimes(queryArb(maxPageSize), 95),
      job_id: sometimes(fc.constantFrom("job-0001", "job-0002", "JOB-0003", "nope"), 3),
      status: sometimes(fc.constantFrom(...REF_STATUSES), 8),
      workspace_id: sometimes(fc.constantFrom("ws-1", "ws-2", "*"), 10),
      trusted_account_id: sometimes(fc.constantFrom("ta-1", "TA-3"), 5),
      plugin_id: sometimes(fc.constantFrom("plugin-aws", "Plugin-Google"), 5),
    })
    .map(compact);
}
