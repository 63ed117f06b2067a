/**
 * `npm run token -- --domain D --role R [--workspace W] [--ttl S] [--type T] [--system] [--permissions a,b]`
 *
 * Mints a token the running service accepts, for local use, tests and the examples. Stdout carries the
 * token and nothing else, so `TOKEN=$(npm run -s token -- ...)` works; everything else goes to stderr.
 * Bad usage or configuration exits with status 2.
 */
import { parseArgs } from "node:util";
import { ensureLocalSecret } from "../auth/keys.js";
import { ROLE_TYPES, type RoleType } from "../auth/principal.js";
import { OWNER_TYPES, type OwnerType, signToken, TOKEN_TYPES, type TokenType } from "../auth/token.js";
import { loadTokenConfig } from "../config.js";

/** The first seeded domain (src/seed/generate.ts), so a fresh `npm run seed` + token just works. */
const DEFAULT_DOMAIN = "domain-seed0001";
const DEFAULT_TTL_SECONDS = 86_400;

const USAGE =
  "usage: npm run token -- [--domain D] [--role DOMAIN_ADMIN|WORKSPACE_OWNER|WORKSPACE_MEMBER|USER|SYSTEM_ADMIN]" +
  " [--workspace W] [--ttl SECONDS] [--type ACCESS_TOKEN|CLIENT_SECRET|API_KEY|SYSTEM_TOKEN] [--system]" +
  " [--owner USER|APP] [--audience ID] [--permissions a,b]";

async function main(argv: string[]): Promise<string> {
  const { values } = parse(argv);
  if (values.help) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(0);
  }

  const role = values.role ?? "DOMAIN_ADMIN";
  if (!(ROLE_TYPES as readonly string[]).includes(role)) {
    throw new Error(`--role must be one of ${ROLE_TYPES.join(", ")}`);
  }
  const ttlText = values.ttl ?? String(DEFAULT_TTL_SECONDS);
  if (!/^[1-9][0-9]{0,9}$/.test(ttlText)) throw new Error("--ttl must be a positive whole number of seconds");
  const domain = values.domain ?? DEFAULT_DOMAIN;
  if (domain.trim() === "") throw new Error("--domain must not be empty");

  const type = values.system ? "SYSTEM_TOKEN" : (values.type ?? "ACCESS_TOKEN");
  if (!(TOKEN_TYPES as readonly string[]).includes(type)) {
    throw new Error(`--type must be one of ${TOKEN_TYPES.join(", ")}`);
  }
  if (values.owner !== undefined && !(OWNER_TYPES as readonly string[]).includes(values.owner)) {
    throw new Error(`--owner must be one of ${OWNER_TYPES.join(", ")}`);
  }

  const config = loadTokenConfig();
  if (config.jwt.algorithm === "HS256" && ensureLocalSecret(config)) {
    process.stderr.write(`created a new JWT secret at ${config.jwt.secretFile}\n`);
  }
  return signToken(config, {
    domainId: domain,
    role: role as RoleType,
    workspaceId: values.workspace,
    ttlSeconds: Number(ttlText),
    tokenType: type as TokenType,
    owner: values.owner as OwnerType | undefined,
    audience: values.audience,
    permissions: values.permissions?.split(","),
  });
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      domain: { type: "string" },
      role: { type: "string" },
      workspace: { type: "string" },
      ttl: { type: "string" },
      system: { type: "boolean" },
      type: { type: "string" },
      owner: { type: "string" },
      audience: { type: "string" },
      permissions: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

main(process.argv.slice(2)).then(
  (token) => {
    process.stdout.write(`${token}\n`);
  },
  (error: unknown) => {
    // Config, key and usage errors alike: their messages name files and variables, never key material.
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`error: ${message}\n${USAGE}\n`);
    process.exitCode = 2;
  },
);
