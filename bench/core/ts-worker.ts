/**
 * A worker thread running a TypeScript file of the benchmark: a worker does not inherit tsx's loader
 * (`node --import tsx`), so it registers it first, then loads the file (as read-pool.ts does for its
 * read workers when there is no build).
 */
import { Worker } from "node:worker_threads";

export function tsWorker(fileUrl: string, workerData: unknown): Worker {
  const source = `import("tsx/esm/api").then((m) => m.register()).then(() => import(${JSON.stringify(fileUrl)}));`;
  return new Worker(source, { eval: true, workerData });
}
