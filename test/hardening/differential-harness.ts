/**
 * What the differential tests share: the service under test built over generated jobs, a caller as a
 * Principal, and one comparison of the service's answer with the reference's. Used by the generated
 * runs and by the kept regression cases, so both check exactly the same thing.
 */
import { expect } from "vitest";
import type { Principal } from "../../src/auth/principal.js";
import { SpaceOneError } from "../../src/errors.js";
import { JobService, type JobsQueryRequest } from "../../src/service/job-service.js";
import type { Backend } from "../support/backends.js";
import { generateRefJobs, rowsOf, storeWith } from "./arbitraries/jobs.js";
import type { GeneratedCaller } from "./arbitraries/list-query.js";
import { NOW_MS } from "./arbitraries/values.js";
import type { RefJob } from "./reference/job-model.js";
import { type RefListResult, referenceList } from "./reference/list-reference.js";

/** Small, so unpaged lists over the maximum (an error) and exactly at it both happen. */
export const MAX_PAGE_SIZE = 60;

export interface Subject {
  readonly jobs: RefJob[];
  readonly service: JobService;
}

/** Generated jobs for a data seed, in the reference's hands and in a real store behind the service. */
export function subject(seed: number, count: number): Subject {
  const jobs = generateRefJobs(seed, count);
  return { jobs, service: serviceOver(jobs) };
}

/** The same, on a backend's store (a fresh PostgreSQL database, or SQLite); `close()` drops it. */
export async function subjectOn(
  backend: Backend,
  seed: number,
  count: number,
): Promise<Subject & { close(): Promise<void> }> {
  const jobs = generateRefJobs(seed, count);
  const opened = await backend.open();
  await opened.insertJobs(rowsOf(jobs));
  const service = new JobService(opened.store, { maxPageSize: MAX_PAGE_SIZE, now: () => new Date(NOW_MS) });
  return { jobs, service, close: () => opened.close() };
}

export function serviceOver(jobs: readonly RefJob[]): JobService {
  return new JobService(storeWith(jobs), { maxPageSize: MAX_PAGE_SIZE, now: () => new Date(NOW_MS) });
}

export function principalFor(caller: GeneratedCaller): Principal {
  return {
    tokenType: "ACCESS_TOKEN",
    role: caller.role,
    domainId: caller.domainId,
    workspaceId: caller.workspaceId,
    permissions: [],
    subject: "differential",
  };
}

export type Outcome = { results: unknown[]; total_count: number } | { error: string; message: string };

/** The service's answer, or its SpaceOneError as data (anything else is a bug and propagates). */
export async function serviceOutcome(
  service: JobService,
  caller: GeneratedCaller,
  request: unknown,
): Promise<Outcome> {
  try {
    // The reference has no change feed: compare the page and the count (the cursor is watch's, tested there).
    const { results, total_count } = await service.list(principalFor(caller), request as JobsQueryRequest);
    return { results, total_count };
  } catch (error) {
    if (error instanceof SpaceOneError) return { error: error.status, message: error.message };
    throw error;
  }
}

/** One case: the service agrees with the reference (rows, order, page, total_count, or the refusal). */
export async function checkCase(
  { jobs, service }: Subject,
  caller: GeneratedCaller,
  request: unknown,
): Promise<RefListResult> {
  const expected = referenceList(jobs, caller, request as never, { now: NOW_MS, maxPageSize: MAX_PAGE_SIZE });
  const actual = await serviceOutcome(service, caller, request);
  if (expected.kind === "invalid") {
    expect(actual, expected.why).toMatchObject({ error: "invalid_argument" });
  } else {
    expect(actual).toEqual({ results: expected.results, total_count: expected.total_count });
  }
  return expected;
}

export const domainAdminA: GeneratedCaller = {
  role: "DOMAIN_ADMIN",
  domainId: "domain-a",
  workspaceId: null,
};
