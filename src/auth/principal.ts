/** Who is calling, as established from a verified token. */

export const ROLE_TYPES = [
  "DOMAIN_ADMIN",
  "WORKSPACE_OWNER",
  "WORKSPACE_MEMBER",
  "USER",
  "SYSTEM_ADMIN",
] as const;
export type RoleType = (typeof ROLE_TYPES)[number];

export interface Principal {
  /** `typ` claim: ACCESS_TOKEN for users and apps, SYSTEM_TOKEN for other microservices. */
  readonly tokenType: "ACCESS_TOKEN" | "SYSTEM_TOKEN";
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
