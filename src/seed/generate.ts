/**
 * Deterministic, realistic collection jobs for demos, tests and benchmarks.
 *
 * The data imitates what identity's trusted-account sync leaves behind (docs/compatibility.md, "Jobs and their lifecycle"): a few domains
 * of very different sizes (the first, `domain-seed0001`, holds about half the jobs, so scoped queries
 * see skew), each with workspaces and ~40 trusted accounts tied to a cloud plugin; ~15% domain-level
 * jobs (`workspace_id: "*"`); hourly scheduler bursts at HH:00 plus manual syncs; mostly SUCCESS, some
 * FAILURE with the messages identity and the collector plugins really produce, a few CANCELED, and
 * PENDING / IN_PROGRESS only in the last half hour, as a live system would show.
 *
 * Same `seed` and `now`, same jobs. The "world" (domains, workspaces, trusted accounts) depends on the
 * seed alone, so appending more jobs later (`firstIndex`) lands in the same world with fresh job ids.
 */

import { type JobStatus, SEEDED_FIELDS, type SeededField } from "../catalogue/job-fields.js";
import type { Db } from "../storage/database.js";
import type { JobRow } from "../storage/schema.js";

/** A generated job: the catalogue's seeded columns (the database fills in the others). */
export type SeedJob = Pick<JobRow, SeededField>;

export interface GenerateOptions {
  /** How many jobs to generate. */
  readonly count: number;
  /** PRNG seed (any 32-bit integer); default 1. */
  readonly seed?: number;
  /** The moment "now": jobs span the ~6 months before it. Default: the current time. */
  readonly now?: Date;
  /**
   * Position of the first job in this seed's endless sequence of jobs (default 0). Job ids are a
   * bijection of (seed, position), so batches at disjoint positions never share an id.
   */
  readonly firstIndex?: number;
}

export interface SeedTrustedAccount {
  readonly trustedAccountId: string;
  /** A workspace id, or "*" for a domain-level account. */
  readonly workspaceId: string;
  readonly pluginId: string;
  /** `options` JSON for retry 0, 1, 2 (precomputed: the hot loop only picks one). */
  readonly options: readonly string[];
}

export interface SeedDomain {
  readonly domainId: string;
  /** Share of all jobs that fall in this domain. */
  readonly share: number;
  readonly workspaceIds: readonly string[];
  readonly domainAccounts: readonly SeedTrustedAccount[];
  readonly workspaceAccounts: readonly SeedTrustedAccount[];
}

/** The first seeded domain: the token CLI's default, and the largest one. */
export const FIRST_SEED_DOMAIN = "domain-seed0001";

/** Shares of the jobs per domain, largest first: real tenants differ by orders of magnitude. */
const DOMAIN_SHARES = [0.5, 0.2, 0.14, 0.1, 0.06] as const;
const DOMAIN_LEVEL_SHARE = 0.15;

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
/** The jobs span this long before `now`. */
const SPAN_MS = 183 * DAY_MS;
/** The live window: the only place PENDING and IN_PROGRESS jobs appear. */
const RECENT_MS = 30 * MINUTE_MS;
const RECENT_SHARE = 0.02;
/** Share of jobs created by the hourly scheduler (at HH:00), the rest being manual syncs. */
const SCHEDULED_SHARE = 0.7;

interface Provider {
  readonly pluginId: string;
  readonly provider: string;
  readonly regions: readonly string[];
  readonly weight: number;
  readonly authErrors: readonly string[];
}

const PROVIDERS: readonly Provider[] = [
  {
    pluginId: "plugin-aws-cloud-service-inven-collector",
    provider: "aws",
    weight: 0.42,
    regions: [
      "us-east-1",
      "us-east-2",
      "us-west-2",
      "ap-northeast-2",
      "ap-northeast-1",
      "eu-west-1",
      "eu-central-1",
    ],
    authErrors: [
      "Authenticate failure. (message = An error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation: The security token included in the request is invalid.)",
      "An error occurred (AccessDenied) when calling the AssumeRole operation: User: arn:aws:iam::{acct}:user/cloudforet-collector is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::{acct2}:role/CloudforetReadOnlyRole",
      "An error occurred (ExpiredToken) when calling the ListAccounts operation: The security token included in the request is expired",
      "An error occurred (AccessDeniedException) when calling the ListAccounts operation: You don't have permissions to access this resource.",
    ],
  },
  {
    pluginId: "plugin-azure-inven-collector",
    provider: "azure",
    weight: 0.22,
    regions: ["koreacentral", "eastus", "eastus2", "westeurope", "japaneast", "southeastasia"],
    authErrors: [
      "Authenticate failure. (message = AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{uuid}'.)",
      "Authenticate failure. (message = AADSTS7000222: The provided client secret keys for app '{uuid}' are expired. Visit the Azure portal to create new keys for your app.)",
      "(AuthorizationFailed) The client '{uuid}' with object id '{uuid}' does not have authorization to perform action 'Microsoft.Management/managementGroups/descendants/read' over scope '/providers/Microsoft.Management/managementGroups/{uuid}' or the scope is invalid.",
    ],
  },
  {
    pluginId: "plugin-google-cloud-inven-collector",
    provider: "google_cloud",
    weight: 0.22,
    regions: ["asia-northeast3", "asia-northeast1", "us-central1", "us-east1", "europe-west1"],
    authErrors: [
      "('invalid_grant: Invalid JWT Signature.', {'error': 'invalid_grant', 'error_description': 'Invalid JWT Signature.'})",
      '<HttpError 403 when requesting https://cloudresourcemanager.googleapis.com/v3/projects:search?alt=json returned "The caller does not have permission". Details: "The caller does not have permission">',
      "Authenticate failure. (message = ('invalid_grant: Invalid grant: account not found', {'error': 'invalid_grant', 'error_description': 'Invalid grant: account not found'}))",
    ],
  },
  {
    pluginId: "plugin-oci-inven-collector",
    provider: "oci",
    weight: 0.08,
    regions: ["ap-seoul-1", "ap-chuncheon-1", "us-ashburn-1", "eu-frankfurt-1"],
    authErrors: [
      "{'target_service': 'identity', 'status': 401, 'code': 'NotAuthenticated', 'operation_name': 'list_compartments', 'message': 'The required information to complete authentication was not provided or was incorrect.'}",
      "Authenticate failure. (message = The private key does not match the fingerprint of the API signing key.)",
    ],
  },
  {
    pluginId: "plugin-alibaba-cloud-inven-collector",
    provider: "alibaba_cloud",
    weight: 0.06,
    regions: ["ap-northeast-2", "cn-hangzhou", "cn-shanghai", "ap-southeast-1"],
    authErrors: [
      "HTTP Status: 404 Error:InvalidAccessKeyId.NotFound Specified access key is not found. RequestID: {uuid}",
      "HTTP Status: 400 Error:SignatureDoesNotMatch Specified signature is not matched with our calculation. RequestID: {uuid}",
    ],
  },
];

/** Failures not specific to a cloud: identity's own errors and the plugin transport. */
const GENERIC_ERRORS: readonly string[] = [
  "Request timeout!",
  "Server is unavailable. (reason = plugin endpoint is not ready)",
  "Resource cannot be found or access is denied. (trusted_secret_id = trusted-secret-{hex})",
  "Parameter is invalid. (key = secret_data, reason = Secret data is not matched with schema)",
  "Plugin(plugin_id = {plugin}) is not available. (reason = Connection refused)",
];

/** identity `ERROR_DUPLICATE_JOB` (docs/compatibility.md, "Jobs and their lifecycle"). */
function duplicateJobMessage(trustedAccountId: string): string {
  return `The same job is already running. (trusted_account_id = ${trustedAccountId})`;
}

/**
 * The domains, workspaces and trusted accounts of a seed. Jobs only ever reference these, so a test
 * or benchmark can mint tokens for real workspaces of the data set.
 */
export function seedWorld(seed = 1): SeedDomain[] {
  return DOMAIN_SHARES.map((share, index) => {
    const random = mulberry32(mix(seed, 0x5eed_d0 + index));
    const workspaceIds = Array.from(
      { length: 3 + Math.floor(random() * 4) },
      () => `workspace-${hex12(random)}`,
    );
    // Zipf-like weights: the first workspace of a domain is the busiest.
    const workspaceWeights = workspaceIds.map((_, k) => 1 / (k + 1));
    const accountCount = 36 + Math.floor(random() * 9);
    const domainAccountCount = Math.max(2, Math.round(accountCount * DOMAIN_LEVEL_SHARE));
    const domainAccounts: SeedTrustedAccount[] = [];
    const workspaceAccounts: SeedTrustedAccount[] = [];
    for (let k = 0; k < accountCount; k++) {
      if (k < domainAccountCount) {
        domainAccounts.push(trustedAccount(random, "*"));
      } else {
        // Every workspace gets at least one account; the rest follow the weights.
        const w = k - domainAccountCount;
        const workspaceId =
          w < workspaceIds.length ? workspaceIds[w] : workspaceIds[pickWeighted(random, workspaceWeights)];
        workspaceAccounts.push(trustedAccount(random, workspaceId as string));
      }
    }
    return {
      domainId: `domain-seed${String(index + 1).padStart(4, "0")}`,
      share,
      workspaceIds,
      domainAccounts,
      workspaceAccounts,
    };
  });
}

function trustedAccount(random: () => number, workspaceId: string): SeedTrustedAccount {
  const trustedAccountId = `ta-${hex12(random)}`;
  const provider = PROVIDERS[pickWeighted(random, PROVIDER_WEIGHTS)] as Provider;
  const regionCount = 1 + Math.floor(random() * 4);
  const start = Math.floor(random() * provider.regions.length);
  const regions = Array.from(
    { length: Math.min(regionCount, provider.regions.length) },
    (_, k) => provider.regions[(start + k) % provider.regions.length],
  );
  // identity's own sync passes `{}` (docs/compatibility.md, "Jobs and their lifecycle"); most accounts here carry collector options.
  const empty = random() < 0.1;
  const skipProjectGroup = random() < 0.2;
  const options = [0, 1, 2].map((retry) =>
    empty
      ? "{}"
      : JSON.stringify({
          sync_options: { skip_project_group: skipProjectGroup },
          provider: provider.provider,
          regions,
          retry,
        }),
  );
  return { trustedAccountId, workspaceId, pluginId: provider.pluginId, options };
}

const PROVIDER_WEIGHTS = PROVIDERS.map((p) => p.weight);
const PROVIDER_BY_PLUGIN = new Map(PROVIDERS.map((p) => [p.pluginId, p]));

/**
 * Jobs in creation order (oldest first, like real insertion order). Lazy: a million jobs stream
 * straight into `insertJobs` without being held in memory.
 */
export function* generateJobs(options: GenerateOptions): Generator<SeedJob> {
  const count = options.count;
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError("count must be a non-negative integer");
  const seed = options.seed ?? 1;
  const firstIndex = options.firstIndex ?? 0;
  if (!Number.isSafeInteger(firstIndex) || firstIndex < 0 || firstIndex + count > 2 ** 48) {
    throw new RangeError("firstIndex must be a non-negative integer, and firstIndex + count at most 2^48");
  }
  const nowMs = (options.now ?? new Date()).getTime();
  const world = seedWorld(seed);
  const domainWeights = world.map((d) => d.share);
  const random = mulberry32(mix(seed, firstIndex));
  const ids = jobIdPermutation(seed);

  const recentCount = Math.round(count * RECENT_SHARE);
  const historicCount = count - recentCount;
  const historicStart = nowMs - SPAN_MS;
  const historicSpan = SPAN_MS - RECENT_MS;

  for (let i = 0; i < count; i++) {
    const domain = world[pickWeighted(random, domainWeights)] as SeedDomain;
    const accounts = random() < DOMAIN_LEVEL_SHARE ? domain.domainAccounts : domain.workspaceAccounts;
    const account = accounts[Math.floor(random() * accounts.length)] as SeedTrustedAccount;

    let createdMs: number;
    if (i < historicCount) {
      // Stratified, so creation order follows i; the power < 1 makes recent months busier (growth).
      const u = (i + random()) / historicCount;
      createdMs = historicStart + Math.floor(historicSpan * u ** 0.8);
      if (random() < SCHEDULED_SHARE) {
        // The scheduler fires at HH:00; the job row lands a few hundred ms to a few seconds later.
        createdMs = createdMs - (createdMs % HOUR_MS) + 50 + Math.floor(random() * 4000);
      }
    } else {
      const u = (i - historicCount + random()) / recentCount;
      createdMs = nowMs - RECENT_MS + Math.floor(RECENT_MS * u);
    }
    createdMs = Math.min(createdMs, nowMs);

    const ageMs = nowMs - createdMs;
    const status = pickStatus(random, ageMs);
    let updatedMs = createdMs;
    let finishedMs: number | null = null;
    let errorMessage: string | null = null;
    let retry = 0;

    switch (status) {
      case "PENDING":
        break;
      case "IN_PROGRESS":
        // The worker picked it up shortly after creation.
        updatedMs = createdMs + Math.min(ageMs, 200 + Math.floor(random() * 5000));
        break;
      case "SUCCESS":
        finishedMs = createdMs + 8000 + Math.floor(exponential(random, 100_000));
        break;
      case "CANCELED":
        // Either the worker found it canceled at start, or a later job's duplicate check gave up on it.
        finishedMs =
          createdMs +
          (random() < 0.5
            ? 500 + Math.floor(random() * 9500)
            : 10 * MINUTE_MS + Math.floor(random() * 3 * HOUR_MS));
        break;
      case "FAILURE": {
        const kind = random();
        if (kind < 0.35) {
          // Duplicate: failed at creation, never queued.
          errorMessage = duplicateJobMessage(account.trustedAccountId);
          finishedMs = createdMs + 5 + Math.floor(random() * 200);
        } else if (kind < 0.8) {
          const provider = PROVIDER_BY_PLUGIN.get(account.pluginId) as Provider;
          errorMessage = fill(pick(random, provider.authErrors), random, account.pluginId);
          finishedMs = createdMs + 1000 + Math.floor(random() * 40_000);
          retry = random() < 0.3 ? 1 + Math.floor(random() * 2) : 0;
        } else {
          errorMessage = fill(pick(random, GENERIC_ERRORS), random, account.pluginId);
          finishedMs = createdMs + 5000 + Math.floor(random() * 15 * MINUTE_MS);
          retry = random() < 0.3 ? 1 + Math.floor(random() * 2) : 0;
        }
        break;
      }
    }
    if (finishedMs !== null) {
      finishedMs = Math.min(finishedMs, nowMs);
      updatedMs = finishedMs;
    }

    yield {
      job_id: `job-${ids(firstIndex + i)}`,
      status,
      options: account.options[retry] as string,
      resource_group: account.workspaceId === "*" ? "DOMAIN" : "WORKSPACE",
      error_message: errorMessage,
      domain_id: domain.domainId,
      workspace_id: account.workspaceId,
      trusted_account_id: account.trustedAccountId,
      plugin_id: account.pluginId,
      created_at: new Date(createdMs).toISOString(),
      updated_at: new Date(updatedMs).toISOString(),
      finished_at: finishedMs === null ? null : new Date(finishedMs).toISOString(),
    };
  }
}

/** Status by age: only the live window has unfinished jobs (docs/compatibility.md, "Jobs and their lifecycle"). */
function pickStatus(random: () => number, ageMs: number): JobStatus {
  const r = random();
  if (ageMs < 3 * MINUTE_MS) {
    if (r < 0.45) return "PENDING";
    if (r < 0.9) return "IN_PROGRESS";
    return "FAILURE";
  }
  if (ageMs < RECENT_MS) {
    if (r < 0.05) return "PENDING";
    if (r < 0.4) return "IN_PROGRESS";
    if (r < 0.85) return "SUCCESS";
    if (r < 0.97) return "FAILURE";
    return "CANCELED";
  }
  if (r < 0.855) return "SUCCESS";
  if (r < 0.965) return "FAILURE";
  return "CANCELED";
}

/**
 * Insert jobs with one prepared statement, `batch` rows per transaction (pass `Infinity` for a single
 * transaction). Rows are pulled from the iterable as they are inserted, never buffered. When called
 * inside an outer transaction, each batch is a savepoint of it. Returns the number of rows inserted.
 */
export function insertJobs(db: Db, rows: Iterable<SeedJob>, batch = 10_000): number {
  if (!(batch >= 1)) throw new RangeError("batch must be at least 1");
  // Column names from the catalogue, never from input.
  const insert = db.prepare(
    `INSERT INTO jobs (${SEEDED_FIELDS.join(", ")}) VALUES (${SEEDED_FIELDS.map(() => "?").join(", ")})`,
  );
  const iterator = rows[Symbol.iterator]();
  const insertBatch = db.transaction((): { inserted: number; done: boolean } => {
    let inserted = 0;
    while (inserted < batch) {
      const next = iterator.next();
      if (next.done) return { inserted, done: true };
      const r = next.value;
      insert.run(SEEDED_FIELDS.map((name) => r[name]));
      inserted++;
    }
    return { inserted, done: false };
  });
  let total = 0;
  for (;;) {
    const { inserted, done } = insertBatch();
    total += inserted;
    if (done) return total;
  }
}

/** mulberry32: tiny, fast, good enough for test data, and identical on every platform. */
export function mulberry32(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Combine two integers into one well-spread 32-bit PRNG seed. */
function mix(a: number, b: number): number {
  let h =
    Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul((b % 2 ** 32) ^ Math.floor(b / 2 ** 32), 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) | 0;
}

/**
 * A keyed permutation of 48-bit integers (4-round Feistel network over two 24-bit halves), rendered
 * as 12 hex digits. Being a bijection, distinct positions can never collide, with no set of seen ids.
 */
function jobIdPermutation(seed: number): (n: number) => string {
  const keys = [1, 2, 3, 4].map((round) => mix(seed, 0x1d0b + round));
  return (n) => {
    let left = Math.floor(n / 0x1000000) & 0xffffff;
    let right = n & 0xffffff;
    for (const key of keys) {
      const f = mix(right, key) & 0xffffff;
      [left, right] = [right, left ^ f];
    }
    return left.toString(16).padStart(6, "0") + right.toString(16).padStart(6, "0");
  };
}

function hex12(random: () => number): string {
  const high = Math.floor(random() * 0x1000000);
  const low = Math.floor(random() * 0x1000000);
  return high.toString(16).padStart(6, "0") + low.toString(16).padStart(6, "0");
}

function pickWeighted(random: () => number, weights: readonly number[]): number {
  let total = 0;
  for (const w of weights) total += w;
  let r = random() * total;
  for (let k = 0; k < weights.length; k++) {
    r -= weights[k] as number;
    if (r < 0) return k;
  }
  return weights.length - 1;
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

function exponential(random: () => number, mean: number): number {
  return -mean * Math.log(1 - random());
}

/** Fill the placeholders of an error template with plausible random ids. */
function fill(template: string, random: () => number, pluginId: string): string {
  return template
    .replaceAll("{acct2}", () => digits(random, 12))
    .replaceAll("{acct}", () => digits(random, 12))
    .replaceAll("{uuid}", () => uuid(random))
    .replaceAll("{hex}", () => hex12(random))
    .replaceAll("{plugin}", pluginId);
}

function digits(random: () => number, length: number): string {
  let text = "";
  for (let k = 0; k < length; k++) text += Math.floor(random() * 10);
  return text;
}

function uuid(random: () => number): string {
  const h = hex12(random) + hex12(random) + hex12(random);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
