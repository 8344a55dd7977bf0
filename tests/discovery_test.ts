import "./_lab.ts";
import assert from "node:assert/strict";
import { foundEveryone } from "../mod.ts";
import { Charts, expectedEntries, sortedEntries, TRANSPORTS } from "./_charts.ts";

// Generous: discovery needs one announcement round (100 ms at start).
const DEADLINE = 20_000;

for (const transport of TRANSPORTS) {
  for (const n of [2, 5, 10, 50]) {
    Deno.test(`${n} charts in one process all find everyone over ${transport}`, async () => {
      await using group = await Charts.start(n, transport);
      await Promise.all(
        group.charts.map((chart) =>
          foundEveryone(chart, n, { signal: AbortSignal.timeout(DEADLINE) })
        ),
      );
      for (const chart of group.charts) {
        assert.equal(chart.size, n);
        assert.deepEqual(sortedEntries(chart), expectedEntries(n, Number(chart.ourId)));
      }
    });
  }
}
