/**
 * `npm run measure:ui [-- --jobs N --runs R]`: the web page's size and first-load time on seeded data,
 * in Debian's Chromium. Builds the page, serves it with N generated jobs (default 1,000,000: the bench's
 * largest set), and opens the History view R times (default 5) in a fresh browser context each time
 * (empty cache) with a signed-in session. Prints the JavaScript and CSS sizes (raw and gzip, as served)
 * and, per run, the time from navigation start to the first table rows and the bytes transferred.
 */
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { buildPage, launchChromium, startUiServer } from "./harness.js";

const { values } = parseArgs({
  options: { jobs: { type: "string", default: "1000000" }, runs: { type: "string", default: "5" } },
});
const jobs = Number(values.jobs);
const runs = Number(values.runs);

const uiDir = buildPage();
const assets = fs.readdirSync(path.join(uiDir, "assets"));
const sizes = (ext: string) =>
  assets
    .filter((f) => f.endsWith(ext))
    .map((f) => fs.readFileSync(path.join(uiDir, "assets", f)))
    .reduce((acc, b) => ({ raw: acc.raw + b.length, gzip: acc.gzip + gzipSync(b, { level: 9 }).length }), {
      raw: 0,
      gzip: 0,
    });
const js = sizes(".js");
const css = sizes(".css");
const kb = (n: number) => `${(n / 1024).toFixed(1)} kB`;
process.stdout.write(
  `JavaScript: ${kb(js.raw)} raw, ${kb(js.gzip)} gzip; CSS: ${kb(css.raw)} raw, ${kb(css.gzip)} gzip\n`,
);

const seedStart = performance.now();
const server = await startUiServer({ uiDir, jobs });
process.stdout.write(`seeded ${jobs} jobs in ${((performance.now() - seedStart) / 1000).toFixed(1)} s\n`);
const token = await server.token("DOMAIN_ADMIN");
const chromium = await launchChromium();
const times: number[] = [];
try {
  for (let i = 0; i < runs; i++) {
    const context = await chromium.browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript(`sessionStorage.setItem("job-ui.token", ${JSON.stringify(token)})`);
    const page = await context.newPage();
    let transferred = 0;
    page.on("response", async (response) => {
      const length = Number((await response.allHeaders())["content-length"] ?? 0);
      transferred += length;
    });
    await page.goto(`${server.url}/ui/history`);
    await page.locator('.table-wrap[aria-busy="false"] tbody tr').first().waitFor({ timeout: 60_000 });
    const ms = await page.evaluate<number>("performance.now()");
    times.push(ms);
    // Where the time went: the page's own files, then the API calls (start + duration).
    const phases = await page.evaluate<string>(`performance.getEntriesByType("resource")
      .map((e) => e.name.split("/").pop() + " " + Math.round(e.startTime) + "+" + Math.round(e.duration))
      .join(", ")`);
    process.stdout.write(
      `run ${i + 1}: rows shown after ${ms.toFixed(0)} ms, ${kb(transferred)} transferred; ${phases} ms\n`,
    );
    await context.close();
  }
} finally {
  await chromium.close();
  await server.close();
  fs.rmSync(uiDir, { recursive: true, force: true });
}
times.sort((a, b) => a - b);
process.stdout.write(
  `median first load (navigation to rows): ${times[Math.floor(times.length / 2)]?.toFixed(0)} ms\n`,
);
