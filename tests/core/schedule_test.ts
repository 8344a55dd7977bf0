import assert from "node:assert/strict";
import { announcedTtl } from "../../src/core/schedule.ts";

Deno.test("the announced ttl is three of the longest intervals, jitter included", () => {
  assert.equal(announcedTtl({ min: 100, max: 1000, rampdown: 10_000 }), 3300);
  assert.equal(announcedTtl({ min: 50, max: 300, rampdown: 1000 }), 990);
  assert.equal(announcedTtl({ min: 1, max: 3_600_000, rampdown: 1 }), 3_600_000);
});
