/**
 * `npx tsx bench/compile-list.ts [--root DIR] [--calls N]`: main-thread CPU per `compileList` of the
 * `list` scenario's request (as `JobService.list` hands it to the store), in microseconds, over N
 * calls after a warm-up. `--root` takes `compileList` and `JobService` from another checkout, so two
 * builds can be compared (run them alternately: the machine is shared).
 */
import path from "node:path";
import { parseArgs } from "node:util";
import type { JobService } from "../src/service/job-service.js";
import type { ListRequest } from "../src/storage/store.js";
import { BENCH_PRINCIPAL } from "./core/inprocess.js";
import { LIST_REQUEST } from "./core/workload.js";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { root: { type: "string", default: "." }, calls: { type: "string", default: "20000" } },
  });
  const root = path.resolve(values.root);
  const calls = Number(values.calls);
  const { JobService: Service } = (await import(path.join(root, "src/service/job-service.ts"))) as {
    JobService: typeof JobService;
  };
  const { compileList } = (await import(path.join(root, "src/storage/sqlite/sqlite-jobs.ts"))) as {
    compileList: (request: ListRequest) => unknown;
  };
  let captured: ListRequest | undefined;
  const store = {
    list: async (request: ListRequest) => {
      captured = request;
      throw new Error("captured");
    },
  };
  const service = new Service(store as unknown as ConstructorParameters<typeof JobService>[0], {
    maxPageSize: 1000,
  });
  await service.list(BENCH_PRINCIPAL, LIST_REQUEST).catch(() => undefined);
  if (!captured) throw new Error("JobService.list did not reach the store");
  const request = captured;
  for (let i = 0; i < Math.min(calls, 5000); i++) compileList(request);
  const start = process.cpuUsage();
  for (let i = 0; i < calls; i++) compileList(request);
  const used = process.cpuUsage(start);
  console.log(
    `compileList: ${((used.user + used.system) / calls).toFixed(2)} us CPU per call (${root}, ${calls} calls)`,
  );
}

await main();
