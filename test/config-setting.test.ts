/**
 * The configuration's own rules (src/config-setting.ts): every kind of variable takes what it says and
 * refuses the rest with a message naming the variable, and an unset or empty one takes its default.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";

const dir = { DATA_DIR: "/tmp/config-setting-test" };

function refused(env: Record<string, string>): string {
  try {
    loadConfig({ ...dir, ...env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe("configuration variables", () => {
  it("takes the defaults when unset or empty", () => {
    for (const env of [{}, { PORT: "", LOG_LEVEL: "", WORKERS: "", WATCH_HEARTBEAT_SECONDS: "" }]) {
      const config = loadConfig({ ...dir, ...env });
      expect(config.port).toBe(8080);
      expect(config.logLevel).toBe("info");
      expect(config.workers).toBe(1);
      expect(config.watch.heartbeatMs).toBe(15_000);
      expect(config.databaseCacheMb).toBe(2);
      expect(config.host).toBe("127.0.0.1");
      expect(config.postgres).toBeNull();
      expect(config.identity).toBeUndefined();
      expect(config.metrics.ownPort).toBeUndefined();
    }
  });

  it("reads whole numbers within their range, ends included", () => {
    expect(loadConfig({ ...dir, PORT: "0" }).port).toBe(0);
    expect(loadConfig({ ...dir, PORT: "65535" }).port).toBe(65535);
    expect(loadConfig({ ...dir, DATABASE_READ_WORKERS: "0" }).databaseReadWorkers).toBe(0);
    expect(loadConfig({ ...dir, QUERY_MAX_CONDITIONS: "400" }).limits.query.maxConditions).toBe(400);
    expect(loadConfig({ ...dir, METRICS_PORT: "9100" }).metrics.ownPort).toBe(9100);
  });

  it.each([
    ["PORT", "65536", "from 0 to 65535"],
    ["PORT", "-1", "from 0 to 65535"],
    ["PORT", "80.5", "whole number"],
    ["PORT", "eighty", "whole number"],
    ["MAX_BODY_BYTES", "0", "at least 1"],
    ["QUERY_MAX_CONDITIONS", "401", "from 1 to 400"],
    ["DATABASE_READ_WORKER_HEAP_MB", "15", "from 16 to 16384"],
  ])("refuses %s=%s", (name, value, what) => {
    const message = refused({ [name]: value });
    expect(message).toContain(`${name}=${JSON.stringify(value)}`);
    expect(message).toContain(what);
  });

  it("reads a fraction where the variable allows one", () => {
    expect(loadConfig({ ...dir, WATCH_HEARTBEAT_SECONDS: "0.05" }).watch.heartbeatMs).toBe(50);
    expect(refused({ WATCH_HEARTBEAT_SECONDS: "0.01" })).toContain("WATCH_HEARTBEAT_SECONDS");
  });

  it("takes only the listed choices, spelled exactly", () => {
    expect(loadConfig({ ...dir, LOG_LEVEL: "silent" }).logLevel).toBe("silent");
    expect(refused({ LOG_LEVEL: "INFO" })).toContain('LOG_LEVEL="INFO": expected one of debug, info');
    expect(refused({ JWT_ALGORITHM: "none" })).toContain("JWT_ALGORITHM");
  });

  it("takes auto or a count of workers", () => {
    expect(loadConfig({ ...dir, WORKERS: "3" }).workers).toBe(3);
    expect(loadConfig({ ...dir, WORKERS: "auto" }).workers).toBeGreaterThanOrEqual(1);
    expect(refused({ WORKERS: "65" })).toContain(
      'WORKERS="65": expected a whole number from 1 to 64, or auto',
    );
    expect(refused({ WORKERS: "Auto" })).toContain("WORKERS");
  });

  it("checks URLs and never echoes the database's", () => {
    const endpoint = "http://identity:50051";
    expect(loadConfig({ ...dir, IDENTITY_ENDPOINT: endpoint }).identity?.endpoint).toBe(endpoint);
    expect(refused({ IDENTITY_ENDPOINT: "grpc://identity:50051" })).toContain("IDENTITY_ENDPOINT");
    expect(refused({ IDENTITY_ENDPOINT: "identity:50051:x" })).toContain("IDENTITY_ENDPOINT");
    const url = "postgres://u:pw@h/db";
    expect(loadConfig({ ...dir, DATABASE_URL: url }).postgres?.url).toBe(url);
    const message = refused({ DATABASE_URL: "mysql://u:hunter2@h/db" });
    expect(message).toContain("DATABASE_URL=<hidden>: must start with postgres://");
    expect(message).not.toContain("hunter2");
  });

  it("names every bad variable at once", () => {
    const message = refused({ PORT: "x", LOG_LEVEL: "loud", MAX_PAGE_SIZE: "0" });
    expect(message).toMatch(/^invalid configuration: /);
    for (const name of ["PORT", "LOG_LEVEL", "MAX_PAGE_SIZE"]) expect(message).toContain(`${name}=`);
  });
});
