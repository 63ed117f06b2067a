/**
 * The settings that bound the service's memory (docs/benchmarks.md "Memory"): the SQLite page cache of
 * each connection (DATABASE_CACHE_MB), the PostgreSQL driver staying unloaded on SQLite, and the read
 * workers running compiled SQL without loading the query builder.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";
import { openDatabase } from "../src/storage/database.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memory-settings-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("DATABASE_CACHE_MB", () => {
  it("defaults to 2 MiB per connection and takes a whole number of MiB", () => {
    expect(loadConfig({ DATA_DIR: dir }).databaseCacheMb).toBe(2);
    expect(loadConfig({ DATA_DIR: dir, DATABASE_CACHE_MB: "64" }).databaseCacheMb).toBe(64);
  });

  it.each(["0", "-1", "1.5", "lots"])("refuses %j, naming the variable", (value) => {
    expect(() => loadConfig({ DATA_DIR: dir, DATABASE_CACHE_MB: value })).toThrow(ConfigError);
    expect(() => loadConfig({ DATA_DIR: dir, DATABASE_CACHE_MB: value })).toThrow(/DATABASE_CACHE_MB/);
  });

  it("sets each connection's cache_size; unset leaves the driver's 16 MB", () => {
    const file = path.join(dir, "cache.db");
    const sized = openDatabase({ file, cacheMb: 3 });
    const readonly = openDatabase({ file, readonly: true, cacheMb: 5 });
    const unset = openDatabase({ file });
    try {
      expect(sized.pragma("cache_size", { simple: true })).toBe(-3 * 1024);
      expect(readonly.pragma("cache_size", { simple: true })).toBe(-5 * 1024);
      expect(unset.pragma("cache_size", { simple: true })).toBe(-16_000);
    } finally {
      for (const db of [sized, readonly, unset]) db.close();
    }
  });
});

describe("the PostgreSQL driver", () => {
  /** Opens a store as main.ts does (in a fresh process), then lists the loaded files of `pg`. */
  function pgFilesAfterOpening(env: Record<string, string>, thenImport: string | null): number {
    const script = `
      import { createRequire } from "node:module";
      const { loadConfig } = await import("./src/config.ts");
      const { openStore } = await import("./src/storage/open-store.ts");
      const store = await openStore(loadConfig(${JSON.stringify(env)}));
      await store.close();
      ${thenImport ? `await import(${JSON.stringify(thenImport)});` : ""}
      const cache = createRequire(import.meta.url).cache;
      process.stdout.write(String(Object.keys(cache).filter((f) => f.includes("/node_modules/pg/")).length));
    `;
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: path.resolve(import.meta.dirname, ".."),
      encoding: "utf8",
    });
    return Number(out.trim());
  }

  it("is not loaded when the store is SQLite, and is once its module is imported", () => {
    const env = { DATA_DIR: dir, DATABASE_READ_WORKERS: "0" };
    expect(pgFilesAfterOpening(env, null)).toBe(0);
    // The check can see pg: importing the PostgreSQL store's module loads it.
    expect(pgFilesAfterOpening(env, "./src/storage/dialect/postgres/open.ts")).toBeGreaterThan(0);
  }, 120_000);
});

describe("the read worker's modules", () => {
  /** Every module a file loads at run time (type-only imports are erased), followed through src/. */
  function loadedBy(entry: string): Set<string> {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      if (!file.startsWith("/")) return;
      const text = fs.readFileSync(file, "utf8");
      for (const m of text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+"([^"]+)";/gms)) {
        const spec = m[1] as string;
        visit(spec.startsWith(".") ? path.resolve(path.dirname(file), spec.replace(/\.js$/, ".ts")) : spec);
      }
    };
    visit(entry);
    return seen;
  }

  it("do not include the query builder: the SQL comes compiled from the main thread", () => {
    const src = path.resolve(import.meta.dirname, "../src/storage/sqlite");
    const worker = loadedBy(path.join(src, "read-worker.ts"));
    expect(worker.has("better-sqlite3")).toBe(true);
    expect(worker.has("kysely")).toBe(false);
    // The check sees Kysely where it is loaded: the main thread's store compiles with it.
    expect(loadedBy(path.join(src, "sqlite-jobs.ts")).has("kysely")).toBe(true);
  });
});
