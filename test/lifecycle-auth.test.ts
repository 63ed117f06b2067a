/**
 * Who may call each JobLifecycle rpc, and on which jobs: every caller kind x every rpc x jobs in
 * the caller's workspace, another workspace and at domain level. Workers need a system token or the
 * `identity:Job.execute` permission (a user's role alone cannot forge progress); cancel follows
 * delete's rules; list_events follows get's.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Principal } from "../src/auth/principal.js";
import { SpaceOneError } from "../src/errors.js";
import { BACKENDS } from "./support/backends.js";
import { principal } from "./support/fixture.js";
import { type BackendHarness, closeSharedStores, harnessOn, worker } from "./support/lifecycle.js";

const CALLERS: Record<string, Principal> = {
  "system token": worker,
  "system token for ws-1": principal({ tokenType: "SYSTEM_TOKEN", role: null, workspaceId: "ws-1" }),
  "app token with identity:Job.execute": principal({ permissions: ["identity:Job.execute"] }),
  "ws-1 app token with identity:Job": principal({
    role: "WORKSPACE_OWNER",
    workspaceId: "ws-1",
    permissions: ["identity:Job"],
  }),
  "domain admin": principal(),
  "domain admin with identity:Job.read": principal({ permissions: ["identity:Job.read"] }),
  "ws-1 owner": principal({ role: "WORKSPACE_OWNER", workspaceId: "ws-1" }),
  "ws-1 member": principal({ role: "WORKSPACE_MEMBER", workspaceId: "ws-1" }),
  "ws-1 member with identity:Job.execute": principal({
    role: "WORKSPACE_MEMBER",
    workspaceId: "ws-1",
    permissions: ["identity:Job.execute"],
  }),
  user: principal({ role: "USER" }),
  "domain-b system token": principal({ tokenType: "SYSTEM_TOKEN", role: null, domainId: "domain-b" }),
};

type Rpc = "create" | "start" | "report_progress" | "succeed" | "fail" | "cancel" | "list_events";
type Target = "ws-1" | "ws-2" | "*";
type Expect = "ok" | "denied" | "not_found";

const RPCS: Rpc[] = ["create", "start", "report_progress", "succeed", "fail", "cancel", "list_events"];
const WORKER_RPCS: Rpc[] = ["create", "start", "report_progress", "succeed", "fail"];

/** The expected answer, stated rule by rule. */
function expected(caller: string, rpc: Rpc, target: Target): Expect {
  const mayCall: Record<string, (r: Rpc) => boolean> = {
    "system token": () => true,
    "system token for ws-1": () => true,
    "app token with identity:Job.execute": (r) => WORKER_RPCS.includes(r),
    "ws-1 app token with identity:Job": () => true,
    "domain admin": (r) => !WORKER_RPCS.includes(r),
    "domain admin with identity:Job.read": (r) => r === "list_events",
    "ws-1 owner": (r) => !WORKER_RPCS.includes(r),
    "ws-1 member": (r) => r === "list_events",
    // The member role is not a writer role, whatever the permissions say.
    "ws-1 member with identity:Job.execute": () => false,
    user: () => false,
    "domain-b system token": () => true,
  };
  if (!(mayCall[caller] as (r: Rpc) => boolean)(rpc)) return "denied";
  if (caller === "domain-b system token") return rpc === "create" ? "ok" : "not_found";
  const pinned = caller.includes("ws-1");
  if (!pinned) return "ok";
  if (target === "ws-1") return "ok";
  // Reading: a workspace caller also sees domain-level jobs. Writing: its own workspace only.
  if (target === "*" && rpc === "list_events") return "ok";
  // Creating elsewhere is refused outright; naming another workspace's job finds nothing.
  return rpc === "create" ? "denied" : "not_found";
}

let h: BackendHarness;

let seq = 0;
/** A fresh job in `target`, in the state the rpc needs. */
async function jobFor(rpc: Rpc, target: Target): Promise<string> {
  const ta = `ta-auth-${++seq}`;
  const request =
    target === "*"
      ? { trusted_account_id: ta, resource_group: "DOMAIN" }
      : { trusted_account_id: ta, resource_group: "WORKSPACE", workspace_id: target };
  const id = (await h.app.lifecycle.create(worker, request)).job_id as string;
  if (["report_progress", "succeed", "fail"].includes(rpc))
    await h.app.lifecycle.start(worker, { job_id: id });
  return id;
}

async function callAs(who: Principal, rpc: Rpc, target: Target): Promise<unknown> {
  const lc = h.app.lifecycle;
  if (rpc === "create") {
    const ta = `ta-auth-new-${++seq}`;
    return await lc.create(
      who,
      target === "*"
        ? { trusted_account_id: ta, resource_group: "DOMAIN" }
        : { trusted_account_id: ta, resource_group: "WORKSPACE", workspace_id: target },
    );
  }
  const job_id = await jobFor(rpc, target);
  switch (rpc) {
    case "start":
      return await lc.start(who, { job_id });
    case "report_progress":
      return await lc.reportProgress(who, { job_id, progress_percent: 5 });
    case "succeed":
      return await lc.succeed(who, { job_id });
    case "fail":
      return await lc.fail(who, { job_id });
    case "cancel":
      return await lc.cancel(who, { job_id });
    case "list_events":
      return await lc.listEvents(who, { job_id });
  }
}

const cases = Object.keys(CALLERS).flatMap((caller) =>
  RPCS.flatMap((rpc) => (["ws-1", "ws-2", "*"] as Target[]).map((target) => [caller, rpc, target] as const)),
);

describe.each(BACKENDS)("on $name", (backend) => {
  beforeAll(async () => {
    if (!backend.skip) h = await harnessOn(backend);
  });
  afterAll(async () => {
    await h?.close();
    await closeSharedStores();
  });
  if (backend.skip) it.skip(`skipped: ${backend.skip}`, () => {});
  else {
    describe("JobLifecycle roles and scopes", () => {
      it.each(cases)("%s: %s on a %s job", async (caller, rpc, target) => {
        const want = expected(caller, rpc, target);
        let outcome: Expect = "ok";
        try {
          await callAs(CALLERS[caller] as Principal, rpc, target);
        } catch (e) {
          if (!(e instanceof SpaceOneError)) throw e;
          outcome =
            e.code === "ERROR_PERMISSION_DENIED"
              ? "denied"
              : e.code === "ERROR_NOT_FOUND"
                ? "not_found"
                : "ok";
          if (outcome === "ok") throw e;
        }
        expect(outcome).toBe(want);
      });

      it("a system token must name its domain", async () => {
        const noDomain = principal({ tokenType: "SYSTEM_TOKEN", role: null, domainId: null });
        let error: unknown;
        try {
          await h.app.lifecycle.create(noDomain, { trusted_account_id: "ta", resource_group: "DOMAIN" });
        } catch (e) {
          error = e;
        }
        expect((error as SpaceOneError).code).toBe("ERROR_REQUIRED_PARAMETER");
      });
    });
  }
});
