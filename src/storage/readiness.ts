/**
 * Whether the database can serve: reachable (a statement runs) and migrated to the schema this build
 * expects. Answers a short reason, or null when ready; throws when the connection is gone.
 */
import type { Db } from "./database.js";
import { LATEST_VERSION } from "./migrations.js";

export function databaseProblem(db: Db): string | null {
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version < LATEST_VERSION)
    return `schema version ${version}, migrations to ${LATEST_VERSION} not applied`;
  return null;
}
