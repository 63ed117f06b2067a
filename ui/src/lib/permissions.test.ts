import { describe, expect, it } from "vitest";
import type { TokenClaims } from "./jwt.js";
import { cancelVerdict } from "./permissions.js";

const claims = (over: Partial<TokenClaims>): TokenClaims => ({
  domainId: "d",
  workspaceId: null,
  role: "DOMAIN_ADMIN",
  tokenType: "ACCESS_TOKEN",
  permissions: [],
  subject: null,
  expiresAt: null,
  ...over,
});
const job = (over: Partial<{ status: string; workspaceId: string; cancelRequestedAt: string }> = {}) => ({
  status: "IN_PROGRESS",
  workspaceId: "ws-1",
  cancelRequestedAt: "",
  ...over,
});

describe("who may cancel", () => {
  const cases: [string, TokenClaims, ReturnType<typeof job>, RegExp | null][] = [
    ["a domain admin, a running job", claims({}), job(), null],
    [
      "a domain admin, a pending domain-level job",
      claims({}),
      job({ status: "PENDING", workspaceId: "*" }),
      null,
    ],
    [
      "a workspace owner, their workspace",
      claims({ role: "WORKSPACE_OWNER", workspaceId: "ws-1" }),
      job(),
      null,
    ],
    ["a system token", claims({ role: null, tokenType: "SYSTEM_TOKEN" }), job(), null],
    ["a token granting identity:Job", claims({ permissions: ["identity:Job"] }), job(), null],
    [
      "a workspace member",
      claims({ role: "WORKSPACE_MEMBER", workspaceId: "ws-1" }),
      job(),
      /WORKSPACE_MEMBER.*may read/,
    ],
    [
      "a workspace owner, another workspace",
      claims({ role: "WORKSPACE_OWNER", workspaceId: "ws-2" }),
      job(),
      /another workspace/,
    ],
    [
      "a workspace owner, a domain-level job",
      claims({ role: "WORKSPACE_OWNER", workspaceId: "ws-1" }),
      job({ workspaceId: "*" }),
      /domain-level/,
    ],
    [
      "a token granting only reads",
      claims({ permissions: ["identity:Job.read"] }),
      job(),
      /identity:Job.write/,
    ],
    ["a finished job", claims({}), job({ status: "SUCCESS" }), /SUCCESS job has finished/],
    [
      "a cancel already requested",
      claims({}),
      job({ cancelRequestedAt: "2026-01-01T00:00:00Z" }),
      /already requested/,
    ],
    [
      "a member and a finished job: the role is the reason",
      claims({ role: "WORKSPACE_MEMBER", workspaceId: "ws-1" }),
      job({ status: "FAILURE" }),
      /may read/,
    ],
  ];
  for (const [name, who, what, reason] of cases) {
    it(`${name}: ${reason ? "disabled with the reason" : "allowed"}`, () => {
      const verdict = cancelVerdict(who, what);
      if (reason === null) expect(verdict).toEqual({ allowed: true });
      else {
        expect(verdict.allowed).toBe(false);
        expect(verdict.allowed ? "" : verdict.reason).toMatch(reason);
      }
    });
  }
});
