import assert from "node:assert/strict";
import type { Rampdown } from "../../src/core/interval.ts";
import {
  announcedTtl,
  heardUs,
  listeningFor,
  MAX_TTL,
  roundInterval,
} from "../../src/core/schedule.ts";

const DEFAULT: Rampdown = { min: 100, max: 1000, rampdown: 10_000 };

Deno.test("the announced ttl is three of the longest intervals, jitter included", () => {
  assert.equal(announcedTtl({ min: 100, max: 1000, rampdown: 10_000 }), 3300);
  assert.equal(announcedTtl({ min: 50, max: 300, rampdown: 1000 }), 990);
  assert.equal(announcedTtl({ min: 1, max: 3_600_000, rampdown: 1 }), 3_600_000);
});

Deno.test("the announced ttl is rounded up to a whole millisecond", () => {
  assert.equal(announcedTtl({ min: 1, max: 333, rampdown: 1 }), 1099);
  assert.equal(announcedTtl({ min: 1, max: 1, rampdown: 1 }), 4);
});

Deno.test("a small chart ramps its interval from min to max, with ±10% jitter", () => {
  const cases: Array<[size: number, elapsed: number, jitter: number, interval: number]> = [
    [1, 0, 0.5, 100],
    [1, 5_000, 0.5, 550],
    [1, 10_000, 0.5, 1000],
    [1, 60_000, 0.5, 1000],
    [1, 0, 0, 90],
    [1, 10_000, 0, 900],
    [1, 10_000, 0.75, 1050],
    // Up to 20 instances, 5 ms each stays within min: the ramp is the plain one.
    [20, 0, 0.5, 100],
    [20, 5_000, 0.5, 550],
  ];
  for (const [size, elapsed, jitter, interval] of cases) {
    assert.equal(
      roundInterval(DEFAULT, size, elapsed, jitter),
      interval,
      `size ${size}, elapsed ${elapsed}, jitter ${jitter}`,
    );
  }
});

Deno.test("a crowded chart starts its ramp at 5 ms per instance, never beyond max", () => {
  const cases: Array<[size: number, elapsed: number, interval: number]> = [
    [21, 0, 105],
    [61, 0, 305],
    [100, 0, 500],
    [199, 0, 995],
    [200, 0, 1000],
    [2049, 0, 1000],
    // Half-way through the ramp: half-way from the crowded start to max.
    [100, 5_000, 750],
    [100, 10_000, 1000],
  ];
  for (const [size, elapsed, interval] of cases) {
    assert.equal(
      roundInterval(DEFAULT, size, elapsed, 0.5),
      interval,
      `size ${size}, elapsed ${elapsed}`,
    );
  }
  // Jitter still spreads a crowded round: ±10% of 305.
  assert.equal(roundInterval(DEFAULT, 61, 0, 0), 274.5);
  assert.equal(roundInterval(DEFAULT, 61, 0, 1), 335.5);
});

Deno.test("a newcomer heard us when it was listening before our last announcement", () => {
  // We last announced at 1000; its datagram is heard at 1500.
  const cases: Array<[listening: number | undefined, heard: boolean]> = [
    [undefined, false], // A Rust peer says nothing: always answered.
    [0, false],
    [400, false], // Started at 1100, after we announced.
    [500, false], // Started just as we announced.
    [502, false], // Within the 2 ms transit margin.
    [503, true],
    [10_000, true],
  ];
  for (const [listening, heard] of cases) {
    assert.equal(heardUs(listening, 1000, 1500), heard, `listening ${listening}`);
  }
  // Never announced: nothing to have heard.
  assert.equal(heardUs(10_000, -Infinity, 1500), false);
});

Deno.test("a newcomer that started within 2 ms of our first announcement is taken to have heard it", () => {
  // We started and announced at 1000; its datagram is heard at 1500.
  const cases: Array<[listening: number | undefined, heard: boolean]> = [
    [undefined, false],
    [0, false],
    [497, false], // Started at 1003, after we announced.
    [498, true], // Within 2 ms: started with us.
    [500, true],
    [502, true],
    [10_000, true],
  ];
  for (const [listening, heard] of cases) {
    assert.equal(heardUs(listening, 1000, 1500, true), heard, `listening ${listening}`);
  }
});

Deno.test("the listening field counts whole milliseconds, 0 while idle, capped at u32", () => {
  const cases: Array<[since: number, now: number, field: number]> = [
    [Infinity, 5000, 0],
    [1000, 1000, 0],
    [1000, 1500.9, 500],
    [1000, 900, 0],
    [0, 2 ** 33, 0xffff_ffff],
  ];
  for (const [since, now, field] of cases) {
    assert.equal(listeningFor(since, now), field, `since ${since}, now ${now}`);
  }
});

Deno.test("no ttl announced exceeds an hour", () => {
  assert.equal(announcedTtl({ min: 1, max: 10 * MAX_TTL, rampdown: 1 }), MAX_TTL);
});
