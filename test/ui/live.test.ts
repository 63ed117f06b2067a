/**
 * The Live and Detail views in Debian's Chromium against the real service: a collector started here
 * (the generated JobLifecycle client, as examples/collector.ts) moves a progress bar from 0 to 100 %
 * in the open page without a reload, and the job then shows as SUCCESS in the history; the stream's
 * loss and a server without `watch` are shown, not hidden; cancel from the detail view reaches the API.
 */
import path from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobLifecycle } from "../../gen/spaceone/api/identity/v2/job_lifecycle_pb.js";
import { JobInfo_ResourceGroup } from "../../gen/spaceone/api/identity/v2/job_pb.js";
import { rest } from "./api.js";
import {
  browserMissing,
  buildPage,
  DOCS_IMG,
  launchChromium,
  openPage,
  SCREENSHOT_DIR,
  signIn,
  startUiServer,
  type UiServer,
} from "./harness.js";

/** The page updates asynchronously; on a busy shared machine give it time. */
const poll = <T>(fn: () => Promise<T> | T, timeout = 15_000) => expect.poll(fn, { timeout, interval: 100 });

const missing = browserMissing();
if (missing) console.warn(`skipping the web page's browser tests: ${missing}`);

const WATCH_URL = "**/spaceone.api.identity.v2.JobLifecycle/watch";

describe.skipIf(missing !== null)("web page: live and detail", { timeout: 90_000 }, () => {
  let server: UiServer;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let browser: Browser;
  let admin: string;
  let collector: ReturnType<typeof createClient<typeof JobLifecycle>>;
  let headers: Record<string, string>;

  beforeAll(async () => {
    const uiDir = buildPage();
    server = await startUiServer({ uiDir, jobs: 500 });
    chromium = await launchChromium();
    browser = chromium.browser;
    admin = await server.token("DOMAIN_ADMIN");
    collector = createClient(
      JobLifecycle,
      createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
    );
    headers = { authorization: `Bearer ${await server.systemToken()}` };
  }, 120_000);

  afterAll(async () => {
    console.info(`screenshots: ${SCREENSHOT_DIR} (and docs/img)`);
    await chromium?.close();
    await server?.close();
  });

  const connection = (page: Page) => page.getByTestId("connection").getAttribute("data-state");

  it("a collector's job appears, its bar moves from 0 to 100 % in place, and it ends SUCCESS in the history", async () => {
    const { page, context, problems } = await openPage(browser);
    await signIn(page, server.url, admin, "/ui/live");
    await poll(() => connection(page), 10_000).toBe("live");
    // Survives only if the page is never reloaded.
    await page.evaluate("window.noReload = true");

    const job = await collector.create(
      {
        trustedAccountId: "ta-e2e-live",
        pluginId: "plugin-e2e",
        resourceGroup: JobInfo_ResourceGroup.DOMAIN,
      },
      { headers },
    );
    const id = job.jobId;
    const item = page.locator(`.live-item[data-job-id="${id}"]`);
    const percent = () => item.locator("progress").getAttribute("data-percent");
    await poll(() => item.getAttribute("data-status")).toBe("PENDING");
    await collector.start({ jobId: id }, { headers });
    await collector.report_progress(
      {
        jobId: id,
        progressPercent: 0,
        recordsTotal: 1000,
        recordsProcessed: 0,
        currentStep: "listing accounts",
      },
      { headers },
    );
    await poll(() => item.getAttribute("data-status")).toBe("IN_PROGRESS");
    await poll(percent).toBe("0");
    for (const value of [20, 45, 70, 100]) {
      await collector.report_progress(
        {
          jobId: id,
          progressPercent: value,
          recordsProcessed: value * 10,
          currentStep: `syncing (${value})`,
        },
        { headers },
      );
      await poll(percent).toBe(String(value));
      await poll(() => item.getByTestId("step").textContent()).toBe(`syncing (${value})`);
      if (value === 45) {
        // Rate and ETA need two samples; by now there are several.
        await poll(() => item.textContent()).toMatch(/ETA/);
        await page.screenshot({ path: path.join(DOCS_IMG, "ui-live.png") });
      }
    }
    await collector.succeed({ jobId: id, recordsProcessed: 1000 }, { headers });
    await poll(() => item.getAttribute("data-status")).toBe("SUCCESS");
    expect(await page.getByRole("heading", { name: "Finished while you watched" }).isVisible()).toBe(true);

    await page.getByRole("link", { name: "History" }).click();
    await page.getByLabel("Keyword").fill(id);
    await page.getByLabel("Keyword").press("Enter");
    await poll(() => page.locator(`tbody tr[data-job-id="${id}"]`).getAttribute("data-status")).toBe(
      "SUCCESS",
    );
    expect(await page.evaluate<boolean>("window.noReload === true")).toBe(true);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("shows Reconnecting while the stream is lost, and Live again once it is back", async () => {
    const { page, context } = await openPage(browser);
    await page.route(WATCH_URL, (route) => route.abort("connectionreset"));
    await signIn(page, server.url, admin, "/ui/live");
    await poll(() => connection(page), 10_000).toBe("reconnecting");
    expect(await page.getByTestId("connection").textContent()).toContain("Reconnecting");
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, "live-reconnecting.png") });
    await page.unroute(WATCH_URL);
    // It tries again by itself and is live again.
    await poll(() => connection(page), 20_000).toBe("live");
    await context.close();
  });

  it("says so when the server offers no watch, and lists the running jobs once instead", async () => {
    const { page, context } = await openPage(browser);
    await page.route(WATCH_URL, (route) =>
      route.fulfill({
        status: 404,
        contentType: "application/json",
        body: JSON.stringify({ code: "unimplemented", message: "no watch here" }),
      }),
    );
    await signIn(page, server.url, admin, "/ui/live");
    await poll(() => connection(page), 10_000).toBe("unavailable");
    await poll(() => page.getByRole("alert").textContent()).toMatch(/Live updates are unavailable/);
    const running = await rest<{ total_count: number }>(server.url, admin, "list", {
      query: { filter: [{ k: "status", v: ["PENDING", "IN_PROGRESS"], o: "in" }], page: { limit: 1 } },
    });
    await poll(() => page.locator(".warning .live-item").count()).toBe(running.total_count);
    await context.close();
  });

  it("cancel from the detail view (with a reason) is seen by the API, and the timeline shows it", async () => {
    const job = await collector.create(
      {
        trustedAccountId: "ta-e2e-cancel",
        pluginId: "plugin-e2e",
        resourceGroup: JobInfo_ResourceGroup.DOMAIN,
        options: { regions: ["us-east-1"] },
      },
      { headers },
    );
    const { page, context, problems } = await openPage(browser);
    await signIn(page, server.url, admin, `/ui/jobs/${job.jobId}`);
    await page.getByRole("heading", { name: "Timeline" }).waitFor();
    expect(await page.getByTestId("options").textContent()).toContain("us-east-1");
    for (const field of [
      "job_id",
      "status",
      "created_at",
      "version",
      "trusted_account_id",
      "resource_group",
    ]) {
      expect(await page.locator(`[data-field="${field}"]`).count(), field).toBe(1);
    }
    await page.getByLabel("Reason").fill("e2e: not needed");
    await page.getByRole("button", { name: "Cancel job" }).click();
    await page.locator('.timeline li[data-action="cancel"]').waitFor();
    await poll(() => page.locator("h1 .badge").textContent()).toBe("CANCELED");
    expect(await page.getByRole("button", { name: "Cancel job" }).isDisabled()).toBe(true);
    const seen = await rest<{ status: string; cancel_reason: string; canceled_by: string }>(
      server.url,
      admin,
      "get",
      {
        job_id: job.jobId,
      },
    );
    expect(seen.status).toBe("CANCELED");
    expect(seen.cancel_reason).toBe("e2e: not needed");
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, "detail.png"), fullPage: true });
    expect(problems).toEqual([]);
    await context.close();
  });
});
