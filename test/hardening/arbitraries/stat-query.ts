/**
 * Valid `StatisticsQuery` requests for the differential stat test: the list generator's filters, then
 * either `distinct` on a column or a pipeline of an optional job `sort`, a `group` (column keys, date
 * keys with `date_format`, fields count / sum / average / max / min / first / last / push, counts with
 * conditions), an optional `sort` over what the group made, `limit`/`skip`, and an optional `count`;
 * plus paging (sometimes over the maximum, which must be refused).
 */
import fc from "fast-check";
import { STAT_COLUMNS } from "../reference/stat-reference.js";
import { queryArb } from "./list-query.js";

const keyArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...STAT_COLUMNS.keys).map((key) => ({ key })) },
  {
    weight: 1,
    arbitrary: fc.record({
      key: fc.constantFrom(...STAT_COLUMNS.dates),
      date_format: fc.constantFrom("year", "month", "day", "%Y-%m", "%Y-%m-%d", "%d/%m %H"),
    }),
  },
);

const fieldArb = fc.oneof(
  fc.constant({ operator: "count" as const }),
  fc
    .tuple(
      fc.constantFrom(
        { key: "status", value: "SUCCESS", operator: "eq" },
        { key: "status", value: "FAILURE", operator: "not" },
        { key: "version", value: 2, operator: "gte" },
        { key: "error_code", value: null, operator: "eq" },
        { key: "progress_percent", value: 50, operator: "lt" },
      ),
    )
    .map(([condition]) => ({ operator: "count" as const, conditions: [condition] })),
  fc.record({
    operator: fc.constantFrom("sum", "average", "max", "min"),
    key: fc.constantFrom(...STAT_COLUMNS.numbers),
  }),
  fc.record({
    operator: fc.constantFrom("max", "min", "first", "last"),
    key: fc.constantFrom(...STAT_COLUMNS.ordered),
  }),
  fc.record({ operator: fc.constant("push"), key: fc.constantFrom("job_id", "plugin_id") }),
);

const groupArb = fc
  .tuple(
    fc.uniqueArray(keyArb, { maxLength: 3, selector: (k) => k.key }),
    fc.array(fieldArb, { minLength: 1, maxLength: 4 }),
  )
  .map(([keys, fields]) => ({
    keys: keys.map((k, i) => ({ ...k, name: `k${i}` })),
    fields: fields.map((f, i) => ({ ...f, name: `f${i}` })),
  }));

export function statQueryArb(maxPageSize: number): fc.Arbitrary<Record<string, unknown>> {
  const pipeline = fc
    .record({
      before: fc.option(
        fc.array(fc.record({ key: fc.constantFrom(...STAT_COLUMNS.ordered), desc: fc.boolean() }), {
          minLength: 1,
          maxLength: 2,
        }),
        { nil: undefined },
      ),
      group: groupArb,
      after: fc.option(
        fc.array(fc.record({ pick: fc.nat(), desc: fc.boolean() }), { minLength: 1, maxLength: 2 }),
        { nil: undefined },
      ),
      limit: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
      skip: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
      count: fc.boolean(),
    })
    .map(({ before, group, after, limit, skip, count }) => {
      // Lists (push) have no order of their own: sort by keys and scalar fields only.
      const names = [
        ...group.keys.map((k) => k.name),
        ...group.fields.filter((f) => f.operator !== "push").map((f) => f.name),
      ];
      const stages: Record<string, unknown>[] = [];
      if (before) stages.push({ sort: before });
      stages.push({ group });
      if (after && names.length > 0)
        stages.push({ sort: after.map((s) => ({ key: names[s.pick % names.length], desc: s.desc })) });
      if (skip !== undefined) stages.push({ skip });
      if (limit !== undefined && limit > 0) stages.push({ limit });
      if (count && stages.length < 5) stages.push({ count: { name: "total" } });
      return { aggregate: stages };
    });
  const distinct = fc
    .constantFrom(...STAT_COLUMNS.keys, ...STAT_COLUMNS.dates, "job_id")
    .map((d) => ({ distinct: d }));
  const page = fc.record(
    {
      start: fc.integer({ min: 0, max: 6 }),
      limit: fc.oneof(
        { weight: 6, arbitrary: fc.integer({ min: 0, max: 15 }) },
        { weight: 1, arbitrary: fc.constant(maxPageSize + 1) },
      ),
    },
    { requiredKeys: [] },
  );
  return fc
    .tuple(
      queryArb(maxPageSize),
      fc.oneof({ weight: 4, arbitrary: pipeline }, { weight: 1, arbitrary: distinct }),
      fc.option(page, { nil: undefined }),
    )
    .map(([list, stat, paging]) => {
      // The list generator's filters and keyword; its sort/page/only belong to list, not stat.
      const { filter, filter_or, keyword } = list as Record<string, unknown>;
      const out: Record<string, unknown> = { ...stat };
      if (filter) out.filter = filter;
      if (filter_or) out.filter_or = filter_or;
      if (keyword) out.keyword = keyword;
      if (paging) out.page = paging;
      return out;
    });
}
