/** Who is calling, as established from a verified token. */

export const ROLE_TYPES = [
  "DOMAIN_ADMIN",
  "WORKSPACE_OWNER",
  "WORKSPACE_MEMBER",
  "USER",
  "SYSTEM_ADMIN",
] as const;
export type RoleType = (typeof ROLE_TYPES)[number];

/** `typ` values a call may carry (REFRESH_TOKEN only gets new tokens from identity: refused). */
export const CALLER_TOKEN_TYPES = ["ACCESS_TOKEN", "CLIENT_SECRET", "API_KEY", "SYSTEM_TOKEN"] as const;
export type CallerTokenType = (typeof CALLER_TOKEN_TYPES)[number];

export interface Principal {
  /**
   * How the call is authorized: ACCESS_TOKEN for every user or app token (ACCESS_TOKEN, CLIENT_SECRET,
   * API_KEY alike: role, workspace and permissions from the claims, as python-core does), SYSTEM_TOKEN
   * for other microservices (scope from the x_domain_id / x_workspace_id headers).
   */
  readonly tokenType: "ACCESS_TOKEN" | "SYSTEM_TOKEN";
  // The three below are optional so principals built in code (tests, benchmarks) need not name them.
  /** The `typ` claim itself, for logs and audit. */
  readonly issuedAs?: CallerTokenType;
  /** `own` claim: USER or APP (absent on older tokens). */
  readonly owner?: string | null;
  /** `aud` claim: the user id or app id the token was issued to. */
  readonly audience?: string | null;
  /** `rol` claim (absent on some system tokens). */
  readonly role: RoleType | null;
  /** `did` claim, or for SYSTEM_TOKEN the `x_domain_id` header. */
  readonly domainId: string | null;
  /** `wid` claim, or for SYSTEM_TOKEN the `x_workspace_id` header. */
  readonly workspaceId: string | null;
  /** `permissions` claim; empty means "role check only" (managed roles). */
  readonly permissions: readonly string[];
  /** `sub`/`user_id` of the caller, for audit; never used for scoping. */
  readonly subject: string | null;
}
