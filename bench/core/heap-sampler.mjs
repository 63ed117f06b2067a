/**
 * Preloaded into the server by `bench/profile.ts --heap` (`node --import`): samples every allocation of
 * the main thread, those the GC has since collected included (which `--heap-prof` leaves out: it keeps
 * only what is still live when the profile is written), and writes the sampling profile to
 * `$HEAP_SAMPLE_FILE` when the process exits.
 */
import fs from "node:fs";
import { Session } from "node:inspector";

const file = process.env.HEAP_SAMPLE_FILE;
if (file) {
  const session = new Session();
  session.connect();
  session.post("HeapProfiler.startSampling", {
    samplingInterval: Number(process.env.HEAP_SAMPLE_INTERVAL ?? 4096),
    includeObjectsCollectedByMajorGC: true,
    // HEAP_SAMPLE_SURVIVORS=1 leaves out what a scavenge collected: what remains is what lived long
    // enough to be promoted (or was still live at the end), the old generation's intake.
    includeObjectsCollectedByMinorGC: process.env.HEAP_SAMPLE_SURVIVORS !== "1",
  });
  // An in-process session answers synchronously, so the profile is written before the process ends.
  process.on("exit", () => {
    session.post("HeapProfiler.stopSampling", (error, result) => {
      if (!error) fs.writeFileSync(file, JSON.stringify(result.profile));
    });
  });
}
