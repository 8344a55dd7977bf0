import assert from "node:assert/strict";
import {
  isExpired,
  isProbeDue,
  PROBE_AFTER,
  PROBE_GAP,
  PROBES_PER_EXPIRY,
  sweepDelay,
} from "../../src/core/expiry.ts";

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
      isExpired({ heardAt, ttl, probes: 0 }, now),
      expired,
      `heard at ${heardAt}, ttl ${ttl}, now ${now}`,
    );
  }
});

Deno.test("a quiet instance is due 15 probes, from 0.7 of its ttl every 0.01875 of it, and no more", () => {
  assert.equal(PROBES_PER_EXPIRY, 15);
  const cases: Array<[heardAt: number, probes: number, now: number, due: boolean]> = [
    // ttl 3300: probing starts after 2310 ms of quiet, two lost announcements.
    [0, 0, 1320, false],
    [0, 0, 2310, false],
    [0, 0, 2311, true],
    [500, 0, 2811, true],
    [500, 0, 2810, false],
    // One sent: the next after 2371.875 ms of quiet, the last after 3176.25.
    [0, 1, 2350, false],
    [0, 1, 2371.875, false],
    [0, 1, 2372, true],
    [0, 2, 2372, false],
    [0, 14, 3176.25, false],
    [0, 14, 3177, true],
    // All 15 sent: none until it is heard again, however long it stays quiet.
    [0, 15, 3250, false],
    [0, 15, 3300, false],
    // A probe held back stays due: the later ones wait for it.
    [0, 0, 3000, true],
    // Heard again after a probe: quiet is counted from the new word.
    [1500, 0, 2000, false],
  ];
  for (const [heardAt, probes, now, due] of cases) {
    assert.equal(
      isProbeDue({ heardAt, probes, ttl: 3300 }, now),
      due,
      `heard at ${heardAt}, ${probes} probes sent, now ${now}`,
    );
  }
});

Deno.test("the next sweep comes every 0.01875 of the shortest ttl, or just after the first expiry", () => {
  const cases: Array<[shortestTtl: number, firstExpiry: number, now: number, delay: number]> = [
    // The probe period: 0.01875 of the shortest ttl, between 5 ms and 1 s.
    [3300, 3300, 0, 61.875],
    [660, 10_000, 0, 12.375],
    [50, 10_000, 0, 5],
    [100_000, 100_000, 0, 1000],
    // A ttl runs out before the period is over: the sweep comes 1 ms after it.
    [3300, 3300, 3250, 51],
    [3300, 3300, 3299.5, 1.5],
    [3300, 3300.25, 3279.375, 22.625],
    [3300, 3300, 3300, 1],
    // Already past: at once, but never in 0 ms.
    [3300, 3000, 3300, 1],
  ];
  for (const [shortestTtl, firstExpiry, now, delay] of cases) {
    assert.equal(
      sweepDelay(shortestTtl, firstExpiry, now).toFixed(9),
      delay.toFixed(9),
      `shortest ttl ${shortestTtl}, first expiry ${firstExpiry}, now ${now}`,
    );
  }
});

Deno.test("each probe of a spell is due at the first sweep after its time, whatever the ttl", () => {
  // The sweeps of a chart whose shortest ttl is this peer's, from a fractional phase. Below
  // 267 ms, the 5 ms between sweeps are more than a probe gap, and fewer probes fit.
  for (let ttl = 267; ttl <= 25_000; ttl += 7) {
    const peer = { heardAt: 0.37, probes: 0, ttl };
    let sent: number[] = [];
    for (let now = 0.37; now < 0.37 + ttl; now += sweepDelay(ttl, Infinity, now)) {
      if (isProbeDue(peer, now)) {
        peer.probes++;
        sent.push(now - 0.37);
      }
    }
    sent = sent.map((at) => at / ttl);
    assert.equal(sent.length, PROBES_PER_EXPIRY, `ttl ${ttl}: ${sent}`);
    for (const [i, at] of sent.entries()) {
      const due = PROBE_AFTER + i * PROBE_GAP;
      // A sweep every gap of the ttl (at least 5 ms): late by less than one.
      const late = at - due;
      assert.ok(
        late > -1e-9 && late < Math.max(PROBE_GAP, 5 / ttl) + 1e-9,
        `ttl ${ttl}: probe ${i}`,
      );
    }
  }
});
