import { describe, expect, it } from "vitest";
import { parseRoute, paths } from "./routes.js";

describe("routes", () => {
  const cases: [string, ReturnType<typeof parseRoute>][] = [
    ["/ui/", { view: "history" }],
    ["/ui/history", { view: "history" }],
    ["/ui/live", { view: "live" }],
    ["/ui/trends", { view: "trends" }],
    ["/ui/jobs/job-123", { view: "job", jobId: "job-123" }],
    ["/ui/jobs/a%20b", { view: "job", jobId: "a b" }],
    ["/ui/jobs/", { view: "not-found", path: "/ui/jobs/" }],
    ["/ui/nope", { view: "not-found", path: "/ui/nope" }],
  ];
  for (const [path, route] of cases) {
    it(`${path} is ${route.view}`, () => expect(parseRoute(path)).toEqual(route));
  }

  it("a job path round-trips an id with reserved characters", () => {
    expect(parseRoute(paths.job("a/b?c"))).toEqual({ view: "job", jobId: "a/b?c" });
  });
});
