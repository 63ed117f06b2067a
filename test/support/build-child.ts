/**
 * Compile a test's child server to JavaScript before it starts, as production runs (`npm run build`,
 * then `node dist/src/main.js`): no TypeScript loader in the child or its read workers. Under `tsx`
 * each worker thread compiled the whole storage layer again (~65 MB RSS a worker instead of ~26 MB)
 * and the main thread's first calls paid for compiling, which is not what a deployment measures.
 *
 * esbuild bundles the entry and the read worker side by side (the pool finds `read-worker.js` beside
 * itself, as in `dist/`), leaving packages external; it takes well under a second, where `tsc` over
 * the project takes a minute on a loaded machine. The output goes under `node_modules/.cache`, so
 * the packages resolve from the repository's `node_modules`.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Bundle `entry` (a path from the repository root) and the read worker; the entry's output file. */
export async function buildChild(entry: string): Promise<string> {
  const name = path.basename(entry, ".ts");
  const outdir = path.join(root, "node_modules", ".cache", "child-servers", name);
  fs.rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: {
      [name]: path.join(root, entry),
      "read-worker": path.join(root, "src/storage/sqlite/read-worker.ts"),
    },
    outdir,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: "linked",
    logLevel: "warning",
  });
  return path.join(outdir, `${name}.js`);
}
