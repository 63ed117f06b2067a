/**
 * jobctl against a real server: every command and output format (in process, through `runJobctl`,
 * with the server's clock so relative times are exact), the exit code of each kind of error, the
 * real `bin` as a user runs it, and the terminal rendering through a pseudo-terminal (`script`)
 * read back by a terminal emulator (@xterm/headless).
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import xterm from "@xterm/headless";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { JobLifecycle } from "../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { JobInfo_ResourceGroup } from "../gen/spaceone/api/identity/v2/job_pb.js";
import { EXIT } from "../src/cli/jobctl/exit-codes.js";
import { parseFilter } from "../src/cli/jobctl/filters.js";
import { runJobctl } from "../src/cli/jobctl/main.js";
import { renderTable } from "../src/cli/jobctl/render/table.js";
import { JOBS, NOW } from "./support/fixture.js";
import { startTestServer, type TestServer } from "./support/server.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const domainA = JOBS.filter((j) => j.domain_id === "domain-a");

let server: TestServer;
let admin: string;
let member: string;
let system: string;

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.token("DOMAIN_ADMIN");
  member = await server.token("WORKSPACE_MEMBER", "domain-a", "ws-1");
  system = await server.systemToken("orchestrator");
});
afterAll(async () => server?.close());

/**
 * A child process, asynchronously: the server runs in this process, so a synchronous spawn of a
 * client would block the very event loop that has to answer it.
 */
function spawnAsync(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // stdin ignored: `script` copies its stdin to the terminal and would wait for it.
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => {
      stdout += String(c);
    });
    child.stderr.on("data", (c) => {
      stderr += String(c);
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.once("error", reject);
    child.once("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** What a terminal shows after `output`: its lines, as a terminal emulator renders them. */
function screenOf(output: string, cols: number, rows: number): Promise<string[]> {
  const screen = new xterm.Terminal({ cols, rows, allowProposedApi: true, scrollback: 1000 });
  return new Promise((resolve) => {
    screen.write(output, () => {
      const lines: string[] = [];
      for (let i = 0; i < screen.buffer.active.length; i++) {
        lines.push(screen.buffer.active.getLine(i)?.translateToString(true) ?? "");
      }
      screen.dispose();
      resolve(lines);
    });
  });
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** jobctl in this process, as a pipe (no TTY) unless `tty` is given. */
function jobctl(
  args: string[],
  env: Record<string, string> = {},
  tty?: { columns: number },
): Promise<Run> & { peek(): string; stop(): void } {
  const capture = () => {
    const stream = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
    let text = "";
    stream.on("data", (chunk) => {
      text += String(chunk);
    });
    if (tty) {
      stream.isTTY = true;
      stream.columns = tty.columns;
    }
    return { stream: stream as unknown as NodeJS.WriteStream, text: () => text };
  };
  const out = capture();
  const err = capture();
  const stop = new AbortController();
  const run = (async () => {
    const code = await runJobctl(args, {
      stdout: out.stream,
      stderr: err.stream,
      env: { JOB_SERVICE_URL: server.url, TOKEN: admin, ...env },
      now: () => NOW.getTime(),
      stop: stop.signal,
    });
    await new Promise((r) => setImmediate(r));
    return { code, stdout: out.text(), stderr: err.text() };
  })();
  return Object.assign(run, { peek: () => out.text(), stop: () => stop.abort() });
}

describe("jobctl list", () => {
  it("prints a table with every job of the scope, newest first, and the total in a footer", async () => {
    const run = await jobctl(["list"]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(
      /^JOB_ID\s+STATUS\s+ACCOUNT\s+PLUGIN\s+WORKSPACE\s+PROGRESS\s+DURATION\s+CREATED$/,
    );
    const newestFirst = [...domainA]
      .sort((a, b) => b.created_at.localeCompare(a.created_at))
      .map((j) => j.job_id);
    expect(lines.slice(1, -1).map((l) => l.split(/\s+/)[0])).toEqual(newestFirst);
    expect(lines.at(-1)).toBe(`1-${domainA.length} of ${domainA.length} jobs`);
    // Relative times from the server's clock: job-a04 was created 10 minutes before NOW.
    expect(lines.find((l) => l.startsWith("job-a04"))).toMatch(/10m ago$/);
    // Not a terminal: no escape codes.
    expect(run.stdout).not.toContain("\u001b[");
  });

  it("shortcut flags, repeatable filters, sort and paging reach the server", async () => {
    const run = await jobctl([
      "list",
      "--status",
      "FAILURE",
      "--filter",
      "created_at datetime_gte 2026-01-01T00:00:00Z",
      "--filter",
      "plugin_id in plugin-aws,plugin-azure",
      "--sort",
      "created_at",
      "-o",
      "ids",
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split("\n")).toEqual(["job-a07", "job-a02"]);
    const page2 = await jobctl(["list", "--limit", "2", "--page", "2", "-o", "ids"]);
    const all = (await jobctl(["list", "-o", "ids"])).stdout.trim().split("\n");
    expect(page2.stdout.trim().split("\n")).toEqual(all.slice(2, 4));
    const accounts = await jobctl(["list", "-a", "ta-az-1", "-w", "ws-2", "-p", "plugin-azure", "-o", "ids"]);
    expect(accounts.stdout.trim().split("\n").sort()).toEqual(["job-a03", "job-a05"]);
  });

  it("-o json and -o yaml are the API's proto JSON, total_count included", async () => {
    const json = JSON.parse((await jobctl(["list", "-o", "json", "-l", "3"])).stdout);
    expect(json.total_count).toBe(domainA.length);
    expect(json.results).toHaveLength(3);
    expect(json.results[0]).toMatchObject({ job_id: "job-a04", status: "PENDING", resource_group: "DOMAIN" });
    const yaml = YAML.parse((await jobctl(["list", "-o", "yaml", "-l", "3"])).stdout);
    expect(yaml).toEqual(json);
  });

  it("-o wide adds domain, step, records, finished and error; a narrow terminal drops columns to fit", async () => {
    const wide = await jobctl(["list", "-o", "wide"], { COLUMNS: "250" });
    expect(wide.stdout.split("\n")[0]).toMatch(/DOMAIN\s+STEP\s+RECORDS\s+FINISHED\s+ERROR$/);
    expect(wide.stdout).toMatch(/job-a02 .*Authenticate failure: AccessDenied 100%_off/);
    const narrow = await jobctl(["list"], { COLUMNS: "60" });
    for (const line of narrow.stdout.trimEnd().split("\n")) expect(line.length).toBeLessThanOrEqual(60);
    expect(narrow.stdout.split("\n")[0]).toMatch(/^JOB_ID\s+STATUS\s+ACCOUNT/);
  });

  it("a workspace member sees only their workspace", async () => {
    const run = await jobctl(["list", "-o", "ids"], { TOKEN: member });
    // Their workspace's jobs and the domain's own (workspace "*"), never another workspace's.
    const ws1 = domainA
      .filter((j) => j.workspace_id === "ws-1" || j.workspace_id === "*")
      .map((j) => j.job_id);
    expect(run.stdout.trim().split("\n").sort()).toEqual(ws1.sort());
  });
});

describe("jobctl stat", () => {
  it("status-per-day pivots statuses into columns, one line per day", async () => {
    const run = await jobctl(["stat", "status-per-day", "--days", "60"]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^DATE\s+PENDING\s+IN_PROGRESS\s+SUCCESS\s+FAILURE\s+CANCELED\s+TOTAL$/);
    // 2026-03-01: job-a01 and job-a06 (SUCCESS); 2026-03-15: the IN_PROGRESS and PENDING ones.
    expect(lines).toContain(lines.find((l) => /^2026-03-01\s+0\s+0\s+2\s+0\s+0\s+2$/.test(l)));
    expect(lines.some((l) => /^2026-03-15\s+1\s+1\s+0\s+0\s+0\s+2$/.test(l))).toBe(true);
  });

  it("failures-per-plugin and slowest-plugins; json and yaml give the rows", async () => {
    const failures = await jobctl(["stat", "failures-per-plugin", "--days", "365"]);
    expect(failures.stdout.split("\n")[0]).toMatch(/^PLUGIN\s+JOBS\s+FAILURES\s+RATE$/);
    expect(failures.stdout).toMatch(/^plugin-aws\s+3\s+2\s+66\.7%$/m);
    const json = JSON.parse(
      (await jobctl(["stat", "failures-per-plugin", "--days", "365", "-o", "json"])).stdout,
    );
    expect(json.results[0]).toEqual({ plugin_id: "plugin-aws", jobs: 3, failures: 2 });
    const yaml = YAML.parse(
      (await jobctl(["stat", "slowest-plugins", "--days", "365", "-o", "yaml"])).stdout,
    );
    expect(yaml.results.length).toBeGreaterThan(0);
    expect(yaml.results[0]).toHaveProperty("average_seconds");
    const slow = await jobctl(["stat", "slowest-plugins", "--days", "365"]);
    expect(slow.stdout.split("\n")[0]).toMatch(/^PLUGIN\s+JOBS\s+AVERAGE\s+MAX$/);
  });

  it("--query FILE runs any pipeline (JSON or YAML, bare or as the request body)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jobctl-"));
    const file = path.join(dir, "q.yaml");
    fs.writeFileSync(
      file,
      YAML.stringify({
        query: {
          aggregate: [
            {
              group: {
                keys: [{ key: "workspace_id", name: "ws" }],
                fields: [{ operator: "count", name: "n" }],
              },
            },
            { sort: [{ key: "ws" }] },
          ],
        },
      }),
    );
    const run = await jobctl(["stat", "--query", file]);
    fs.rmSync(dir, { recursive: true, force: true });
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^WS\s+N$/);
    const count = (ws: string) => domainA.filter((j) => j.workspace_id === ws).length;
    expect(lines.slice(1)).toEqual(["*", "ws-1", "ws-2"].map((ws) => `${ws.padEnd(4)}  ${count(ws)}`));
  });
});

describe("errors: the server's code and message on stderr, an exit code per kind", () => {
  it.each([
    ["not found", ["get", "job-b01"], {}, EXIT.notFound, /^jobctl: not_found: ERROR_NOT_FOUND: /],
    ["auth", ["list"], { TOKEN: "bad" }, EXIT.auth, /^jobctl: unauthenticated: ERROR_AUTHENTICATE_FAILURE/],
    ["no token", ["list"], { TOKEN: "" }, EXIT.auth, /^jobctl: unauthenticated: /],
    ["permission", ["create", "-a", "x", "-w", "ws-1"], { TOKEN: "" }, EXIT.auth, /^jobctl: unauthenticated/],
    [
      "invalid",
      ["list", "--filter", "nope eq 1"],
      {},
      EXIT.invalid,
      /^jobctl: invalid_argument: ERROR_INVALID_PARAMETER/,
    ],
    ["state", ["cancel", "job-a01"], {}, EXIT.invalid, /^jobctl: failed_precondition: /],
    [
      "unavailable",
      ["list"],
      { JOB_SERVICE_URL: "http://127.0.0.1:1" },
      EXIT.unavailable,
      /^jobctl: unavailable: .*ECONNREFUSED/,
    ],
    ["usage: bad filter", ["list", "--filter", "k"], {}, EXIT.usage, /expected 'key operator value'/],
    ["usage: bad operator", ["list", "--filter", "k is 1"], {}, EXIT.usage, /unknown operator "is"/],
    ["usage: bad choice", ["list", "--status", "DONE"], {}, EXIT.usage, /Allowed choices are PENDING/],
    ["usage: unknown command", ["frobnicate"], {}, EXIT.usage, /unknown command 'frobnicate'/],
    ["usage: stat needs a report", ["stat"], {}, EXIT.usage, /either a report name or --query/],
  ] as const)("%s", async (_name, args, env, code, message) => {
    const run = await jobctl([...args], env);
    expect(run.stderr.trim()).toMatch(message);
    expect(run.code).toBe(code);
    expect(run.stdout).toBe("");
  });
});

describe("pieces", () => {
  it("parses filters the way a shell user means them", () => {
    expect(parseFilter("status eq FAILURE")).toEqual({ k: "status", o: "eq", v: "FAILURE" });
    expect(parseFilter("records_total gte 10")).toEqual({ k: "records_total", o: "gte", v: 10 });
    expect(parseFilter("plugin_id in a, b")).toEqual({ k: "plugin_id", o: "in", v: ["a", "b"] });
    expect(parseFilter('plugin_id eq "123"')).toEqual({ k: "plugin_id", o: "eq", v: "123" });
    expect(parseFilter("created_at timediff_gte now/d - 6d")).toEqual({
      k: "created_at",
      o: "timediff_gte",
      v: "now/d - 6d",
    });
    expect(parseFilter("options.provider exists")).toEqual({ k: "options.provider", o: "exists", v: true });
  });

  it("a table never exceeds its width while flexible columns can shrink, and cuts with …", () => {
    const rows = [{ a: "x".repeat(30), b: "short" }];
    const columns = [
      { header: "A", text: (r: (typeof rows)[0]) => r.a, flex: { min: 5 } },
      { header: "B", text: (r: (typeof rows)[0]) => r.b },
    ];
    const out = renderTable(columns, rows, 20).split("\n");
    expect(out[1]).toBe(`${"x".repeat(12)}…  short`);
    for (const line of out) expect(line.length).toBeLessThanOrEqual(20);
  });
});

describe("the real bin, as a user runs it", () => {
  const bin = path.join(repo, "bin", "jobctl.js");
  const env = () => ({ ...process.env, JOB_SERVICE_URL: server.url, TOKEN: admin, NO_COLOR: "" });

  it("runs from package.json's bin, and --help on every command has examples", async () => {
    const run = await spawnAsync(process.execPath, [bin, "list", "-o", "ids"], env());
    expect(run.status).toBe(0);
    expect(run.stdout.trim().split("\n")).toHaveLength(domainA.length);
    expect(JSON.parse(fs.readFileSync(path.join(repo, "package.json"), "utf8")).bin).toEqual({
      jobctl: "bin/jobctl.js",
    });
    for (const command of ["", "list", "get", "events", "stat", "cancel", "create", "completion"]) {
      const help = await jobctl([...(command ? [command] : []), "--help"]);
      expect(help.code, command).toBe(0);
      expect(help.stdout, command).toMatch(/\nExamples:\n {2}(jobctl|export|source)/);
    }
  });

  it("bash and zsh completion scripts name every command and the status choices, and parse", async () => {
    const bash = await jobctl(["completion", "bash"]);
    expect(bash.stdout).toMatch(/complete -F _jobctl jobctl/);
    for (const word of ["list", "get", "events", "stat", "cancel", "create", "--status", "IN_PROGRESS"]) {
      expect(bash.stdout).toContain(word);
    }
    expect(spawnSync("bash", ["-n"], { input: bash.stdout }).status).toBe(0);
    // Completing `jobctl list --status I` in bash offers IN_PROGRESS.
    const completed = spawnSync(
      "bash",
      [
        "-c",
        `${bash.stdout}\nCOMP_WORDS=(jobctl list --status I); COMP_CWORD=3; _jobctl; echo "\${COMPREPLY[@]}"`,
      ],
      { encoding: "utf8" },
    );
    expect(completed.stdout.trim()).toBe("IN_PROGRESS");
    const zsh = await jobctl(["completion", "zsh"]);
    expect(zsh.stdout).toMatch(/^#compdef jobctl/);
    // The catalogue's order, which is the proto enum's.
    expect(zsh.stdout).toContain(
      "'--status[only jobs in this status]:status:(PENDING IN_PROGRESS FAILURE SUCCESS CANCELED)'",
    );
  });

  it("in a terminal: status colours, a table sized to the terminal; NO_COLOR turns colour off", async () => {
    const ptyRun = (extra: Record<string, string>) =>
      spawnAsync("script", ["-qfec", `${process.execPath} ${bin} list`, "/dev/null"], {
        ...env(),
        COLUMNS: "72",
        LINES: "30",
        TERM: "xterm-256color",
        ...extra,
      });
    const run = await ptyRun({});
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("\u001b[31mFAILURE\u001b[39m");
    expect(run.stdout).toContain("\u001b[32mSUCCESS\u001b[39m");
    const text = (await screenOf(run.stdout, 72, 30)).filter(Boolean);
    expect(text[0]).toMatch(/^JOB_ID\s+STATUS/);
    for (const line of text) expect(line.length).toBeLessThanOrEqual(72);
    // Each job on one row: nothing wrapped.
    expect(text.filter((l) => l.startsWith("job-a"))).toHaveLength(domainA.length);
    const plain = await ptyRun({ NO_COLOR: "1" });
    expect(plain.status).toBe(0);
    expect(plain.stdout).toMatch(/FAILURE/);
    expect(plain.stdout).not.toContain("\u001b[3");
  });
});

// Last: it creates jobs, which the counts above do not expect.
describe("jobctl get, events, cancel, create", () => {
  it("get prints every field; -o json is the job", async () => {
    const text = await jobctl(["get", "job-a02"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^job_id\s+job-a02$/m);
    expect(text.stdout).toMatch(/^status\s+FAILURE$/m);
    expect(text.stdout).toMatch(/^created_at\s+2026-03-02T00:00:00.000Z \(13d12h ago\)$/m);
    expect(text.stdout).toMatch(/^options\s+\{"provider":"aws"/m);
    const json = JSON.parse((await jobctl(["get", "job-a02", "-o", "json"])).stdout);
    expect(json).toMatchObject({ job_id: "job-a02", status: "FAILURE", options: { retry: 2 } });
    expect(YAML.parse((await jobctl(["get", "job-a02", "-o", "yaml"])).stdout)).toEqual(json);
  });

  it("create, then events and cancel, in every format", async () => {
    const created = await jobctl(
      ["create", "-a", "ta-cli", "-w", "ws-1", "-p", "plugin-cli", "--options", '{"x":1}'],
      {
        TOKEN: system,
      },
    );
    expect(created.code).toBe(0);
    const id = created.stdout.trim();
    expect(id).toMatch(/^job-[0-9a-f]{12}$/);
    const canceled = await jobctl(["cancel", id, "--reason", "not needed"]);
    expect(canceled.stdout.trim()).toBe(`${id} CANCELED`);
    const events = await jobctl(["events", id]);
    const lines = events.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^SEQ\s+TIME\s+AGE\s+ACTION\s+STATUS\s+ACTOR\s+REASON$/);
    expect(lines[1]).toMatch(/^\s*1\s+\S+\s+\S+\s+create\s+PENDING\s+system:orchestrator/);
    expect(lines[2]).toMatch(/^\s*2\s+\S+\s+\S+\s+cancel\s+PENDING → CANCELED\s+user:\S+\s+not needed$/);
    const json = JSON.parse((await jobctl(["events", id, "-o", "json"])).stdout);
    expect(json.results.map((e: { action: string }) => e.action)).toEqual(["create", "cancel"]);
    expect(YAML.parse((await jobctl(["events", id, "-o", "yaml"])).stdout)).toEqual(json);
    const again = JSON.parse((await jobctl(["cancel", id, "-o", "json"])).stdout);
    expect(again).toMatchObject({
      job_id: id,
      status: "CANCELED",
      cancel_reason: "not needed",
      options: { x: 1 },
    });
    const domainJob = YAML.parse(
      (await jobctl(["create", "-a", "ta-cli-2", "-o", "yaml"], { TOKEN: system })).stdout,
    );
    expect(domainJob).toMatchObject({ resource_group: "DOMAIN", workspace_id: "*", status: "PENDING" });
  });
});

describe("jobctl wait and watch, with a worker moving a job", () => {
  const lifecycleClient = () =>
    createClient(JobLifecycle, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }));
  const headers = () => ({ token: system, x_workspace_id: "ws-1" });
  async function runningJob(): Promise<string> {
    const client = lifecycleClient();
    const job = await client.create(
      {
        trustedAccountId: `ta-live-${Math.random()}`,
        workspaceId: "ws-1",
        resourceGroup: JobInfo_ResourceGroup.WORKSPACE,
      },
      { headers: headers() },
    );
    await client.start({ jobId: job.jobId }, { headers: headers() });
    return job.jobId;
  }
  const later = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it("wait exits 0 when the job succeeds, 10 when it fails, 11 on timeout", async () => {
    const client = lifecycleClient();
    const ok = await runningJob();
    const waiting = jobctl(["wait", ok, "--timeout", "30"]);
    await later(300);
    await client.succeed({ jobId: ok }, { headers: headers() });
    const done = await waiting;
    expect(done.stdout.trim()).toBe(`${ok} SUCCESS in 0s`);
    expect(done.code).toBe(EXIT.ok);

    const bad = await runningJob();
    const failing = jobctl(["wait", bad, "-o", "json"]);
    await later(300);
    await client.fail({ jobId: bad, errorCode: "ERROR_X", errorMessage: "boom" }, { headers: headers() });
    const failed = await failing;
    expect(JSON.parse(failed.stdout)).toMatchObject({ job_id: bad, status: "FAILURE" });
    expect(failed.code).toBe(EXIT.jobFailed);

    const slow = await runningJob();
    const timedOut = await jobctl(["wait", slow, "--timeout", "1"]);
    expect(timedOut.stdout.trim()).toBe(`${slow} still IN_PROGRESS after 1s`);
    expect(timedOut.code).toBe(EXIT.timedOut);
  });

  it("watch ID prints one line per change when not a terminal, and ends with the job", async () => {
    const client = lifecycleClient();
    const id = await runningJob();
    const watching = jobctl(["watch", id]);
    await later(400);
    await client.report_progress(
      {
        jobId: id,
        progressPercent: 40,
        currentStep: "collecting",
        recordsProcessed: 400,
        recordsTotal: 1000,
      },
      { headers: headers() },
    );
    await later(300);
    await client.succeed({ jobId: id }, { headers: headers() });
    const run = await watching;
    expect(run.code).toBe(EXIT.ok);
    const lines = run.stdout.trim().split("\n");
    expect(lines[0]).toMatch(new RegExp(`SNAPSHOT\\s+${id}\\s+IN_PROGRESS`));
    expect(
      lines.some((l) => new RegExp(`UPDATED\\s+${id}\\s+IN_PROGRESS\\s+40%\\s+collecting$`).test(l)),
    ).toBe(true);
    expect(lines.at(-1)).toMatch(new RegExp(`UPDATED\\s+${id}\\s+SUCCESS\\s+100%`));
  });

  it("watch -o json prints the events as JSON lines", async () => {
    const client = lifecycleClient();
    const id = await runningJob();
    const watching = jobctl(["watch", id, "-o", "json"]);
    await later(400);
    await client.cancel({ jobId: id, reason: "stop" }, { headers: { token: admin } });
    await client.fail({ jobId: id }, { headers: headers() });
    const run = await watching;
    const events = run.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(events[0]).toMatchObject({ type: "SNAPSHOT", job: { job_id: id } });
    expect(events.at(-1)).toMatchObject({ type: "UPDATED", job: { status: "CANCELED" } });
    expect(run.code).toBe(EXIT.jobFailed);
  });

  it("on a terminal: a progress bar per running job, replaced by its result when it finishes", async () => {
    const client = lifecycleClient();
    const id = await runningJob();
    const other = await runningJob();
    const watching = jobctl(
      ["watch", "--workspace", "ws-1", "--status", "IN_PROGRESS"],
      {},
      { columns: 140 },
    );
    await later(500);
    await client.report_progress(
      { jobId: id, progressPercent: 50, currentStep: "inventory", recordsProcessed: 500, recordsTotal: 1000 },
      { headers: headers() },
    );
    await later(400);
    const first = await watching.peek();
    const screen = (await screenOf(first, 140, 20)).join("\n");
    expect(screen).toMatch(new RegExp(`${id} .*50% \\| inventory \\| 500/1000 records`));
    expect(screen).toMatch(new RegExp(`${other} .*0% \\| in_progress`));
    await client.succeed({ jobId: id }, { headers: headers() });
    await later(500);
    const after = (await screenOf(await watching.peek(), 140, 20)).join("\n");
    expect(after).toMatch(new RegExp(`✔ ${id} SUCCESS`));
    expect(after).toMatch(new RegExp(`${other} .*0%`));
    expect(after).not.toMatch(new RegExp(`${id} .*50% \\|`));
    watching.stop();
    expect((await watching).code).toBe(EXIT.ok);
  });
});
