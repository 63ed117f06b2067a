/**
 * The web page in Debian's Chromium against the real service with 3,000 seeded jobs: sign-in and what
 * it shows, history counts/filters/paging/sorting/URL state checked against the API's own answers,
 * the workspace member's view, trends equal to `stat`, and clear messages for bad tokens.
 */
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ListAnswer, rest, type StatRow } from "./api.js";
import {
  browserMissing,
  buildPage,
  DOCS_IMG,
  launchChromium,
  openPage,
  SCREENSHOT_DIR,
  SEED_DOMAIN,
  SEED_WORLD,
  signIn,
  startUiServer,
  type UiServer,
} from "./harness.js";

/** The page updates asynchronously; on a busy shared machine give it time. */
const poll = <T>(fn: () => Promise<T> | T, timeout = 15_000) => expect.poll(fn, { timeout, interval: 100 });

const missing = browserMissing();
if (missing) console.warn(`skipping the web page's browser tests: ${missing}`);

describe.skipIf(missing !== null)("web page", { timeout: 90_000 }, () => {
  let server: UiServer;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let browser: Browser;
  let admin: string;

  beforeAll(async () => {
    const uiDir = buildPage();
    server = await startUiServer({ uiDir, jobs: 3000 });
    chromium = await launchChromium();
    browser = chromium.browser;
    admin = await server.token("DOMAIN_ADMIN");
  }, 120_000);

  afterAll(async () => {
    console.info(`screenshots: ${SCREENSHOT_DIR} (and docs/img)`);
    await chromium?.close();
    await server?.close();
  });

  const list = (token: string, query: Record<string, unknown>) =>
    rest<ListAnswer>(server.url, token, "list", { query });
  const rowIds = (page: Page) =>
    page
      .locator("tbody tr[data-job-id]")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-job-id")));
  const total = async (page: Page) => {
    await page.locator("[data-testid=total-count][data-total]").waitFor();
    // Not busy: the rows and the count are those of the URL's view (no stale page in between).
    await page.locator('.table-wrap[aria-busy="false"]').waitFor();
    return Number(await page.getByTestId("total-count").getAttribute("data-total"));
  };

  it("serves the page with a strict CSP and redirects / to /ui/", async () => {
    const root = await fetch(`${server.url}/`, { redirect: "manual" });
    expect(root.status).toBe(302);
    expect(root.headers.get("location")).toBe("/ui/");
    const page = await fetch(`${server.url}/ui/history?status=FAILURE`);
    expect(page.status).toBe(200);
    const csp = page.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain("unsafe");
    const html = await page.text();
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)/);
    expect(html).not.toMatch(/https?:\/\//);
    expect((await fetch(`${server.url}/ui/assets/nope.js`)).status).toBe(404);
    expect((await fetch(`${server.url}/ui/..%2fpackage.json`)).status).toBe(400);
  });

  it("signs in with a pasted token and shows domain, workspace, role and expiry", async () => {
    const { page, context, problems } = await openPage(browser);
    await signIn(page, server.url, admin);
    await poll(() => page.getByTestId("who-domain").textContent()).toBe(SEED_DOMAIN);
    expect(await page.getByTestId("who-workspace").textContent()).toBe("all");
    expect(await page.getByTestId("who-role").textContent()).toBe("DOMAIN_ADMIN");
    expect(await page.getByTestId("who-expiry").textContent()).toMatch(/^in (59 min|1 h)/);
    // sessionStorage only: not in the URL, not in a cookie.
    expect(page.url()).not.toContain(admin.slice(0, 20));
    expect(await context.cookies()).toEqual([]);
    expect(await page.evaluate<string[]>("Object.values(sessionStorage)")).toContain(admin);
    await total(page);
    await page.screenshot({ path: path.join(DOCS_IMG, "ui-history.png") });
    expect(problems).toEqual([]);
    await context.close();
  });

  it("history: the count and the status tabs equal the API's total_count per status", async () => {
    const { page, context, problems } = await openPage(browser);
    await signIn(page, server.url, admin, "/ui/history?range=all");
    const api = await list(admin, { page: { limit: 1 } });
    expect(api.total_count).toBeGreaterThan(1000);
    expect(await total(page)).toBe(api.total_count);
    expect(await page.getByTestId("tab-ALL").locator(".count").getAttribute("data-count")).toBe(
      String(api.total_count),
    );
    for (const status of ["PENDING", "IN_PROGRESS", "FAILURE", "SUCCESS", "CANCELED"]) {
      const expected = await list(admin, {
        filter: [{ k: "status", v: status, o: "eq" }],
        page: { limit: 1 },
      });
      expect(
        await page.getByTestId(`tab-${status}`).locator(".count").getAttribute("data-count"),
        status,
      ).toBe(String(expected.total_count));
    }
    expect((await rowIds(page)).length).toBe(25);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("history: filter by status, then by account; the URL carries both", async () => {
    const { page, context } = await openPage(browser);
    await signIn(page, server.url, admin, "/ui/history?range=all");
    await total(page);
    await page.getByTestId("tab-FAILURE").click();
    await page.waitForURL(/status=FAILURE/);
    const failures = await list(admin, {
      filter: [{ k: "status", v: "FAILURE", o: "eq" }],
      page: { limit: 1 },
    });
    expect(failures.total_count).toBeGreaterThan(0);
    expect(await total(page)).toBe(failures.total_count);
    const statuses = await page
      .locator("tbody tr")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-status")));
    expect(statuses.length).toBeGreaterThan(0);
    expect(new Set(statuses)).toEqual(new Set(["FAILURE"]));

    const account = (await page.locator("tbody tr").first().getAttribute("data-account")) ?? "";
    expect(account).toMatch(/^ta-/);
    await page.getByLabel("Account").fill(account);
    await page.getByLabel("Account").press("Enter");
    await page.waitForURL(
      (url) => url.searchParams.get("account") === account && url.searchParams.get("status") === "FAILURE",
    );
    const both = await list(admin, {
      filter: [
        { k: "status", v: "FAILURE", o: "eq" },
        { k: "trusted_account_id", v: account, o: "eq" },
      ],
      page: { limit: 100 },
    });
    expect(await total(page)).toBe(both.total_count);
    const accounts = await page
      .locator("tbody tr")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-account")));
    expect(accounts.length).toBeGreaterThan(0);
    expect(new Set(accounts)).toEqual(new Set([account]));
    await context.close();
  });

  it("history: paging walks the API's pages in order", async () => {
    const { page, context } = await openPage(browser);
    await signIn(page, server.url, admin, "/ui/history?range=all");
    await total(page);
    const first = await list(admin, {
      sort: [{ key: "created_at", desc: true }],
      page: { start: 1, limit: 25 },
    });
    expect(await rowIds(page)).toEqual(first.results.map((r) => r.job_id));
    await page.getByRole("button", { name: "Next" }).click();
    await page.waitForURL(/page=2/);
    await total(page);
    const second = await list(admin, {
      sort: [{ key: "created_at", desc: true }],
      page: { start: 26, limit: 25 },
    });
    expect(await rowIds(page)).toEqual(second.results.map((r) => r.job_id));
    expect(await page.getByTestId("page-number").textContent()).toMatch(/^Page 2 of /);
    await page.getByRole("button", { name: "Last" }).click();
    await page.waitForURL(/page=\d{2,}/);
    await total(page);
    const lastRows = await rowIds(page);
    const expectedLast = first.total_count % 25 || 25;
    expect(lastRows.length).toBe(expectedLast);
    await context.close();
  });

  it("history: sorting by a column flips direction and matches the API's order", async () => {
    const { page, context } = await openPage(browser);
    await signIn(page, server.url, admin, "/ui/history?range=all");
    await total(page);
    await page.getByRole("button", { name: "Account" }).click();
    await page.waitForURL(/sort=trusted_account_id/);
    await total(page);
    const desc = await list(admin, {
      sort: [{ key: "trusted_account_id", desc: true }],
      page: { limit: 25 },
    });
    const descAccounts = await page
      .locator("tbody tr")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-account")));
    expect(descAccounts).toEqual(desc.results.map((r) => r.trusted_account_id));
    expect(await page.locator("th[aria-sort]").getAttribute("aria-sort")).toBe("descending");
    await page.getByRole("button", { name: "Account" }).click();
    await page.waitForURL(/dir=asc/);
    await total(page);
    const asc = await list(admin, {
      sort: [{ key: "trusted_account_id", desc: false }],
      page: { limit: 25 },
    });
    const ascAccounts = await page
      .locator("tbody tr")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-account")));
    expect(ascAccounts).toEqual(asc.results.map((r) => r.trusted_account_id));
    expect(String(ascAccounts[0]) <= String(ascAccounts.at(-1))).toBe(true);
    await context.close();
  });

  it("history: a shared URL opens the same view, and the back button returns to the previous one", async () => {
    const plugin = SEED_WORLD[0]?.workspaceAccounts[0]?.pluginId ?? "";
    expect(plugin).not.toBe("");
    const from = new Date(Date.now() - 60 * 86_400_000).toISOString();
    const url = `/ui/history?status=SUCCESS&plugin=${plugin}&range=custom&from=${encodeURIComponent(from)}&sort=duration_seconds&dir=asc&size=50`;
    const { page, context } = await openPage(browser);
    await signIn(page, server.url, admin, url);
    expect(new URL(page.url()).search).toBe(new URL(server.url + url).search);
    const api = await list(admin, {
      filter: [
        { k: "status", v: "SUCCESS", o: "eq" },
        { k: "plugin_id", v: plugin, o: "eq" },
        { k: "created_at", v: from, o: "datetime_gte" },
      ],
      sort: [{ key: "duration_seconds", desc: false }],
      page: { limit: 50 },
    });
    expect(api.total_count).toBeGreaterThan(50);
    expect(await total(page)).toBe(api.total_count);
    const firstPage = await rowIds(page);
    expect(firstPage).toEqual(api.results.map((r) => r.job_id));
    expect(await page.getByLabel("Plugin").inputValue()).toBe(plugin);
    expect(await page.getByTestId("tab-SUCCESS").getAttribute("aria-pressed")).toBe("true");
    await page.getByRole("button", { name: "Next" }).click();
    await page.waitForURL(/page=2/);
    await total(page);
    expect(await rowIds(page)).not.toEqual(firstPage);
    await page.goBack();
    await page.waitForURL((u) => !u.searchParams.has("page"));
    await total(page);
    expect(await rowIds(page)).toEqual(firstPage);
    await context.close();
  });

  it("a workspace member sees only their workspace (and domain jobs) and no cancel", async () => {
    const workspace = SEED_WORLD[0]?.workspaceIds[0] ?? "";
    const member = await server.token("WORKSPACE_MEMBER", workspace);
    const { page, context, problems } = await openPage(browser);
    await signIn(page, server.url, member, "/ui/history?range=all");
    expect(await page.getByTestId("who-workspace").textContent()).toBe(workspace);
    expect(await page.getByTestId("who-role").textContent()).toBe("WORKSPACE_MEMBER");
    const api = await list(member, { page: { limit: 1 } });
    const everything = await list(admin, { page: { limit: 1 } });
    expect(api.total_count).toBeLessThan(everything.total_count);
    expect(await total(page)).toBe(api.total_count);
    const workspaces = await page
      .locator("tbody tr")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-workspace")));
    expect(workspaces.length).toBeGreaterThan(0);
    for (const w of workspaces) expect([workspace, "*"]).toContain(w);
    // Another workspace's job is not found for this member, even by its URL.
    const other = await list(admin, {
      filter: [{ k: "workspace_id", v: SEED_WORLD[0]?.workspaceIds[1] ?? "", o: "eq" }],
      page: { limit: 1 },
    });
    const foreign = other.results[0]?.job_id ?? "";
    expect(foreign).not.toBe("");
    await page.locator("tbody tr a").first().click();
    await page.getByRole("heading", { name: "Cancel" }).waitFor();
    expect(await page.getByRole("button", { name: "Cancel job" }).isDisabled()).toBe(true);
    expect(await page.getByTestId("cancel-why").textContent()).toContain("WORKSPACE_MEMBER");
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, "detail-member.png"), fullPage: true });
    await page.goto(`${server.url}/ui/jobs/${foreign}`);
    await poll(() => page.getByRole("alert").textContent()).toMatch(/^Not found: .*cannot be found/);
    expect(problems.filter((p) => !/404|Failed to load resource/.test(p))).toEqual([]);
    await context.close();
  });

  it("trends: the charts' numbers equal what stat answers, and a click opens the matching history", async () => {
    const { page, context, problems } = await openPage(browser);
    await signIn(page, server.url, admin, "/ui/trends?days=30");
    await page.getByTestId("table-per-day").waitFor({ state: "attached" });
    const start = new Date(
      Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate()) -
        29 * 86_400_000,
    );
    const since = { k: "created_at", v: start.toISOString(), o: "datetime_gte" };
    const perDay = await rest<{ results: StatRow[] }>(server.url, admin, "stat", {
      query: {
        filter: [since],
        aggregate: [
          {
            group: {
              keys: [
                { key: "created_at", name: "day", date_format: "%Y-%m-%d" },
                { key: "status", name: "status" },
              ],
              fields: [{ name: "n", operator: "count" }],
            },
          },
        ],
      },
    });
    expect(perDay.results.length).toBeGreaterThan(10);
    for (const row of perDay.results) {
      const cell = page.locator(
        `[data-testid=table-per-day] tr[data-day="${row.day}"] td[data-status="${row.status}"]`,
      );
      expect(await cell.getAttribute("data-value"), `${row.day} ${row.status}`).toBe(String(row.n));
    }
    const shown = await page
      .locator("[data-testid=table-per-day] td[data-value]")
      .evaluateAll((cells) => cells.reduce((sum, c) => sum + Number(c.getAttribute("data-value")), 0));
    expect(shown).toBe(perDay.results.reduce((sum, r) => sum + Number(r.n), 0));

    const failures = await rest<{ results: StatRow[] }>(server.url, admin, "stat", {
      query: {
        filter: [since],
        aggregate: [
          {
            group: {
              keys: [{ key: "plugin_id", name: "plugin" }],
              fields: [
                { name: "all", operator: "count" },
                {
                  name: "failed",
                  operator: "count",
                  conditions: [{ key: "status", value: "FAILURE", operator: "eq" }],
                },
              ],
            },
          },
        ],
      },
    });
    expect(failures.results.length).toBeGreaterThan(0);
    for (const row of failures.results) {
      const tr = page.locator(`[data-testid=table-failure] tr[data-plugin="${row.plugin ?? ""}"]`);
      expect(await tr.getAttribute("data-total")).toBe(String(row.all));
      expect(await tr.getAttribute("data-failures")).toBe(String(row.failed));
    }

    const durations = await rest<{ results: StatRow[] }>(server.url, admin, "stat", {
      query: {
        filter: [since, { k: "duration_seconds", v: 60, o: "lt" }],
        aggregate: [
          {
            group: {
              keys: [{ key: "plugin_id", name: "plugin" }],
              fields: [{ name: "n", operator: "count" }],
            },
          },
        ],
      },
    });
    for (const row of durations.results) {
      const cell = page.locator(
        `[data-testid=table-duration] tr[data-plugin="${row.plugin ?? ""}"] td[data-bucket=lt_1m]`,
      );
      expect(await cell.getAttribute("data-value")).toBe(String(row.n));
    }
    // The charts drew something: canvases have a size and non-blank pixels.
    for (const id of ["chart-per-day", "chart-failure", "chart-duration"]) {
      // Pixels drawn (alpha > 0) on the chart's canvas; a string so this file needs no DOM types.
      const painted = await page.evaluate<number>(`(() => {
        const canvas = document.querySelector('[data-testid="${id}"]');
        const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
        return n;
      })()`);
      expect(painted, id).toBeGreaterThan(1000);
    }
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, "trends.png"), fullPage: true });

    // Click-through from the numbers (the keyboard path); the bar click navigates to the same URL.
    const busiest = perDay.results
      .filter((r) => r.status === "SUCCESS")
      .sort((a, b) => Number(b.n) - Number(a.n))[0];
    expect(busiest).toBeDefined();
    await page.locator("[data-testid=table-per-day]").locator("xpath=..").locator("summary").click();
    await page
      .locator(`[data-testid=table-per-day] tr[data-day="${busiest?.day}"] td[data-status=SUCCESS] a`)
      .click();
    await page.waitForURL(/\/ui\/history\?status=SUCCESS&range=custom/);
    expect(await total(page)).toBe(Number(busiest?.n));
    expect(problems).toEqual([]);
    await context.close();
  });

  it("a bad, forged or expired token gets a clear message, not a blank page", async () => {
    const { page, context } = await openPage(browser);
    await page.goto(`${server.url}/ui/`);
    await page.getByLabel("Token").fill("hello");
    await page.getByRole("button", { name: "Sign in" }).click();
    await poll(() => page.getByRole("alert").textContent()).toContain("This is not a JWT");

    const [header, payload] = admin.split(".");
    await page.getByLabel("Token").fill(`${header}.${payload}.c2lnbmF0dXJl`);
    await page.getByRole("button", { name: "Sign in" }).click();
    await poll(() => page.getByRole("alert").textContent()).toMatch(/did not accept the token.*signature/);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, "signin-error.png") });

    const shortLived = await server.token("DOMAIN_ADMIN", undefined, 1);
    await new Promise((r) => setTimeout(r, 1200));
    await page.getByLabel("Token").fill(shortLived);
    await page.getByRole("button", { name: "Sign in" }).click();
    await poll(() => page.getByRole("alert").textContent()).toMatch(/This token expired at/);
    expect(await page.evaluate<number>("sessionStorage.length")).toBe(0);

    // A token that expires while the page is open ends the session with the reason.
    const twoSeconds = await server.token("DOMAIN_ADMIN", undefined, 3);
    await page.getByLabel("Token").fill(twoSeconds);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByTestId("who-role").waitFor();
    await poll(() => page.getByRole("alert").textContent(), 8000).toMatch(/Your token expired at/);
    expect(await page.evaluate<number>("sessionStorage.length")).toBe(0);
    await context.close();
  });

  it("is keyboard reachable: Tab reaches the views, tabs, filters, sort buttons, rows and pager; Enter opens a job", async () => {
    const { page, context } = await openPage(browser);
    await signIn(page, server.url, admin, "/ui/history?range=all");
    await total(page);
    await page.locator("body").click({ position: { x: 1, y: 1 } });
    const reached: string[] = [];
    for (let i = 0; i < 80; i++) {
      await page.keyboard.press("Tab");
      reached.push(
        await page.evaluate<string>(
          "(() => { const e = document.activeElement; return e.tagName + ':' + (e.getAttribute('aria-label') || e.getAttribute('name') || e.textContent.trim().slice(0, 30)); })()",
        ),
      );
    }
    for (const expected of [
      "A:Skip to content",
      "A:Live",
      "A:Trends",
      "BUTTON:FAILURE",
      "INPUT:account",
      "SELECT:range",
      "BUTTON:Account",
      "A:job-",
      "BUTTON:Next",
    ]) {
      expect(
        reached.some((r) => r.startsWith(expected)),
        `${expected} in ${reached.join(" | ")}`,
      ).toBe(true);
    }
    const firstJob = reached.findIndex((r) => r.startsWith("A:job-"));
    await page.locator("body").click({ position: { x: 1, y: 1 } });
    for (let i = 0; i <= firstJob; i++) await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await page.waitForURL(/\/ui\/jobs\/job-/);
    await page.getByRole("heading", { name: "Timeline" }).waitFor();
    await context.close();
  });

  it("is readable on a narrow screen", async () => {
    const { page, context } = await openPage(browser, { width: 390, height: 844 });
    await signIn(page, server.url, admin, "/ui/history?range=all");
    await total(page);
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
    expect(overflow).toBeLessThanOrEqual(0);
    expect(await page.locator("thead th.wide-only").first().isVisible()).toBe(false);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, "history-narrow.png"), fullPage: true });
    await context.close();
  });
});
