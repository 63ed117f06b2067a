/**
 * Every scenario of `npm run bench`, in the order they run. Adding one: a file in this folder exporting a
 * `Scenario` (bench/core/scenario.ts), and one line here. Order matters only where a scenario reads an
 * earlier one's figures (`ctx.figure(name)`): `breakdown` after `list`, `memory` last.
 */
import type { Scenario } from "../core/scenario.js";
import { breakdownScenario } from "./breakdown.js";
import { getScenario } from "./get.js";
import { lifecycleWritesScenario } from "./lifecycle-writes.js";
import { listScenario } from "./list.js";
import { memoryScenario } from "./memory.js";
import { pgScenario } from "./pg.js";
import { pgInstancesScenario } from "./pg-instances.js";
import { scalingScenario } from "./scaling.js";
import { statScenario } from "./stat.js";
import { unpagedListScenario } from "./unpaged-list.js";
import { wireLeanScenario } from "./wire-lean.js";

export const SCENARIOS: readonly Scenario[] = [
  getScenario,
  wireLeanScenario,
  listScenario,
  statScenario,
  lifecycleWritesScenario,
  breakdownScenario,
  scalingScenario,
  unpagedListScenario,
  pgScenario,
  pgInstancesScenario,
  memoryScenario,
];
