import assert from "node:assert/strict";
import { isExpired, isProbeDue, PROBE_AFTER, sweepDelay } from "../../src/core/expiry.ts";

Deno.test("an instance expires only once it has been quiet for longer than its ttl", () => {
  const cases: Array<[heardAt: number, ttl: number, now: number, expired: boolean]> = [
    [0, 3300, 0, false],
    [0, 3300, 3299, false],
    [0, 3300, 3300, false],
    [0, 3300, 3300.5, true],
    [0, 3300, 3301, true],
    [1000, 660, 1660, false],
    [1000, 660, 1661, true],
    [1000, 660, 500, false],
  ];
  for (const [heardAt, ttl, now, expired] of cases) {
    assert.equal(
      isExpired({ heardAt, ttl, probedAt: 0 }, now),
      expired,
      `heard at ${heardAt}, ttl ${ttl}, now ${now}`,
    );
  }
});

Deno.test("a probe is due once an instance was quiet for 0.4 of its ttl, then every 0.04 of it", () => {
  const cases: Array<[heardAt: number, probedAt: number, now: number, due: boolean]> = [
    // ttl 3300: probing starts after 1320 ms of quiet.
    [0, 0, 1000, false],
    [0, 0, 1320, false],
    [0, 0, 1321, true],
    [500, 0, 1821, true],
    [500, 0, 1820, false],
    // Probed at 1400: the next waits 132 ms.
    [0, 1400, 1500, false],
    [0, 1400, 1531, false],
    [0, 1400, 1532, true],
    [0, 1400, 1533, true],
    // Heard again after a probe: quiet is counted from the new word.
    [1500, 0, 2000, false],
  ];
  for (const [heardAt, probedAt, now, due] of cases) {
    assert.equal(
      isProbeDue({ heardAt, probedAt, ttl: 3300 }, now),
      due,
      `heard at ${heardAt}, probed at ${probedAt}, now ${now}`,
    );
  }
});

Deno.test("the next sweep comes every 0.04 of the shortest ttl, or just after the first expiry", () => {
  const cases: Array<[shortestTtl: number, firstExpiry: number, now: number, delay: number]> = [
    // The probe period: 0.04 of the shortest ttl, between 5 ms and 1 s.
    [3300, 3300, 0, 132],
    [660, 10_000, 0, 26.400000000000002],
    [50, 10_000, 0, 5],
    [100_000, 100_000, 0, 1000],
    // A ttl runs out before the period is over: the sweep comes 1 ms after it.
    [3300, 3300, 3250, 51],
    [3300, 3300, 3299.5, 2],
    [3300, 3300, 3300, 1],
    // Already past: at once, but never in 0 ms.
    [3300, 3000, 3300, 1],
  ];
  for (const [shortestTtl, firstExpiry, now, delay] of cases) {
    assert.equal(
      sweepDelay(shortestTtl, firstExpiry, now),
      delay,
      `shortest ttl ${shortestTtl}, first expiry ${firstExpiry}, now ${now}`,
    );
  }
});

Deno.test("a peer probed at one sweep is due again at the next, whatever its ttl and the clock", () => {
  // The sweeps of a chart whose shortest ttl is this peer's, from fractional times.
  for (let ttl = 125; ttl <= 25_000; ttl += 7) {
    let probedAt = PROBE_AFTER * ttl + 0.37;
    for (let sweep = 0; sweep < 10; sweep++) {
      const next = probedAt + sweepDelay(ttl, Infinity, probedAt);
      const peer = { heardAt: 0, probedAt, ttl };
      assert.equal(isProbeDue(peer, next), true, `ttl ${ttl}, probed at ${probedAt}`);
      probedAt = next;
    }
  }
});
