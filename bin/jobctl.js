#!/usr/bin/env node
// jobctl: runs src/cli/jobctl from source through tsx (a dependency), so `npx jobctl` needs no build.
import { register } from "tsx/esm/api";

register();
const { runJobctl } = await import("../src/cli/jobctl/main.ts");
process.exitCode = await runJobctl(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  now: () => Date.now(),
});
