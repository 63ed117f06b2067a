/**
 * re2js is loaded with the first pattern, not with the modules that may use it (src/query/linear-regex.ts):
 * a thread that never compiles a regex does not carry its ~6 MB. Checked in a fresh process through the
 * CommonJS module cache, where the lazy `require` puts it: absent after the app's modules are imported,
 * present after the first pattern (an import of re2js at module load, ES or CommonJS, fails one or the other).
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "..");

/** Whether re2js is loaded after importing the service's app module and then running `then`. */
function loadedAround(then: string): { before: boolean; after: boolean } {
  const code = `
    import { createRequire } from "node:module";
    const require = createRequire(import.meta.url);
    const loaded = () => Object.keys(require.cache).some((file) => file.includes("re2js"));
    await import("./src/app.ts");
    const { linearRegex } = await import("./src/query/linear-regex.ts");
    const before = loaded();
    ${then}
    console.log(JSON.stringify({ before, after: loaded() }));
  `;
  const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
    cwd: root,
    encoding: "utf8",
  });
  return JSON.parse(out.trim().split("\n").at(-1) as string);
}

describe("re2js on first use", () => {
  it("is not loaded by the app's modules, and is loaded by the first pattern, which then matches", () => {
    const seen = loadedAround(`if (!linearRegex("^coll.ct").test("collect")) throw new Error("no match");`);
    expect(seen).toEqual({ before: false, after: true });
  });
});
