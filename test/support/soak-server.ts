/**
 * The app as a child process for the soak test, so its memory can be measured apart from the load
 * generator's. Run with `node --expose-gc --import tsx`; it serves seeded jobs on an ephemeral port,
 * sends `{ready, url, tokens}` over IPC, answers `"mem"` with its heap and RSS after a full GC, and
 * exits on `"stop"` after a graceful close.
 */
import { FIRST_SEED_DOMAIN, generateJobs } from "../../src/seed/generate.js";
import { startAppServer } from "./app-server.js";

const send = (message: unknown) => process.send?.(message);

const server = await startAppServer({
  jobs: [...generateJobs({ count: Number(process.env.SOAK_JOBS ?? 5000), seed: 7, now: new Date() })],
  now: () => new Date(),
});
const gc = (globalThis as { gc?: () => void }).gc;

process.on("message", async (message) => {
  if (message === "mem") {
    // Twice: the first pass can leave objects a finalizer freed for the second.
    gc?.();
    gc?.();
    const { heapUsed, rss } = process.memoryUsage();
    send({ mem: { heapUsed, rss, gc: gc !== undefined } });
  } else if (message === "stop") {
    await server.close();
    send({ stopped: true });
    process.exit(0);
  }
});

send({
  ready: true,
  url: server.url,
  domain: FIRST_SEED_DOMAIN,
  admin: await server.token("DOMAIN_ADMIN", FIRST_SEED_DOMAIN),
  system: await server.systemToken(FIRST_SEED_DOMAIN),
});
