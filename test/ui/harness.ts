/**
 * The web page's end-to-end harness: the page built by Vite into a temp folder, the real app serving it
 * on an ephemeral port with seeded jobs (the demo generator, "now" = the real clock, so the page's
 * relative times and time ranges mean what they say), real signed tokens, and Debian's Chromium driven
 * by playwright-core. Never a downloaded browser: without /usr/bin/chromium the suite is skipped with
 * the reason, and under CI=true it fails.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { type App, createApp } from "../../src/app.js";
import { ensureLocalSecret } from "../../src/auth/keys.js";
import type { RoleType } from "../../src/auth/principal.js";
import { createTokenVerifier, signToken } from "../../src/auth/token.js";
import { type Config, loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/log.js";
import { FIRST_SEED_DOMAIN, generateJobs, insertJobs, seedWorld } from "../../src/seed/generate.js";
import { openDatabase } from "../../src/storage/database.js";
import { SqliteStore } from "../../src/storage/sqlite/sqlite-store.js";
import { startServer } from "../../src/wire/server.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Why the browser suite cannot run here, or null. Under CI a missing browser is a failure, not a skip. */
export function browserMissing(): string | null {
  if (fs.existsSync(CHROMIUM)) return null;
  const reason = `Debian's chromium is not installed (${CHROMIUM}); apt-get install -y chromium`;
  if (process.env.CI === "true") throw new Error(`CI=true: ${reason}`);
  return reason;
}

export const SEED_DOMAIN = FIRST_SEED_DOMAIN;
export const SEED_WORLD = seedWorld(1);

/** Build the page once into a temp folder (the same config `npm run build` uses). */
export function buildPage(): string {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "job-ui-build-"));
  execFileSync(
    process.execPath,
    [
      path.join(root, "node_modules/vite/bin/vite.js"),
      "build",
      "--config",
      "ui/vite.config.ts",
      "--outDir",
      outDir,
      "--emptyOutDir",
      "--logLevel",
      "warn",
    ],
    { cwd: root, stdio: ["ignore", "ignore", "inherit"] },
  );
  return outDir;
}

export interface UiServer {
  readonly url: string;
  readonly config: Config;
  readonly app: App;
  token(role: RoleType, workspaceId?: string, ttlSeconds?: number): Promise<string>;
  /** A SYSTEM_TOKEN acting for the seed domain (what a collector uses). */
  systemToken(): Promise<string>;
  close(): Promise<void>;
}

export async function startUiServer(options: { uiDir: string; jobs: number }): Promise<UiServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "job-ui-e2e-"));
  const config = loadConfig({ DATA_DIR: dataDir, PORT: "0", LOG_LEVEL: "silent" });
  ensureLocalSecret(config);
  const db = openDatabase({ file: config.databaseFile });
  insertJobs(db, generateJobs({ count: options.jobs, seed: 1, now: new Date() }));
  const store = new SqliteStore(db, { ownsConnection: true });
  const app = createApp({
    config,
    store,
    verifier: await createTokenVerifier(config),
    logger: createLogger("silent"),
    uiDir: options.uiDir,
  });
  const server = await startServer({
    handler: app.handler,
    host: "127.0.0.1",
    port: 0,
    shutdownGraceMs: 1000,
  });
  return {
    url: server.url,
    config,
    app,
    token: (role, workspaceId, ttlSeconds = 3600) =>
      signToken(config, { role, domainId: SEED_DOMAIN, workspaceId, ttlSeconds }),
    systemToken: () =>
      signToken(config, {
        role: "DOMAIN_ADMIN",
        domainId: SEED_DOMAIN,
        ttlSeconds: 3600,
        tokenType: "SYSTEM_TOKEN",
      }),
    async close() {
      // Open watch streams end at once (as at SIGTERM), so the server can close.
      app.watch.hub.close();
      await server.close();
      await store.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Playwright gives every launch a fresh, empty profile (its own --user-data-dir in a temp folder). */
export async function launchChromium(): Promise<{ browser: Browser; close(): Promise<void> }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    browser,
    close: () => browser.close(),
  };
}

/** A fresh context (own sessionStorage) whose page records console errors and CSP violations. */
export async function openPage(
  browser: Browser,
  viewport = { width: 1280, height: 900 },
): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(error.message));
  return { context, page, problems };
}

export async function signIn(
  page: Page,
  baseUrl: string,
  token: string,
  pathAndQuery = "/ui/",
): Promise<void> {
  await page.goto(baseUrl + pathAndQuery);
  await page.getByLabel("Token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("who-role").waitFor();
}

/**
 * Screenshots of every view go to a temp folder. The two the README shows are committed in docs/img;
 * they are rewritten only on request (`UPDATE_SCREENSHOTS=1 npx vitest run test/ui`), so a test run
 * never leaves the checkout modified.
 */
export const SCREENSHOT_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "job-ui-screens-"));
export const DOCS_IMG = process.env.UPDATE_SCREENSHOTS === "1" ? path.join(root, "docs/img") : SCREENSHOT_DIR;
