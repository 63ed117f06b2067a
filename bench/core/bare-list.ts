/** Starting bench/servers/bare-list.ts (the `list` floors), pinned where the service runs. */
import type { BareListSpec } from "../servers/bare-list.js";
import type { CapturedStatement } from "./inprocess.js";
import { type Child, freePort, type Pinning, startNode, waitHttpOk } from "./proc.js";

export interface BareList {
  readonly child: Child;
  readonly baseUrl: string;
}

/** A bare list server answering `answer` (the service's own response) after `statements` run where `sql` says. */
export async function startBareList(options: {
  dbFile: string;
  statements: CapturedStatement[];
  sql: BareListSpec["sql"];
  answer: { body: Buffer; contentType: string };
  pinning: Pinning;
  track: (child: Child) => Child;
}): Promise<BareList> {
  const spec: BareListSpec = {
    port: await freePort(),
    dbFile: options.dbFile,
    statements: options.statements,
    sql: options.sql,
    bodyBase64: options.answer.body.toString("base64"),
    contentType: options.answer.contentType,
  };
  const child = options.track(
    startNode("bench/servers/bare-list.ts", [JSON.stringify(spec)], {
      cpu: options.pinning.serverCpu,
      name: `bare list (${options.sql})`,
    }),
  );
  const baseUrl = `http://127.0.0.1:${spec.port}`;
  await waitHttpOk(`${baseUrl}/healthz`, child, 30_000);
  return { child, baseUrl };
}
