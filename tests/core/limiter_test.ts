import assert from "node:assert/strict";
import { ReplyLimiter } from "../../src/core/limiter.ts";

Deno.test("answers are limited per source and in total, and refill with time", () => {
  const limiter = new ReplyLimiter({ total: 100, perSource: 10 }, 0);
  let allowed = 0;
  for (let i = 0; i < 50; i++) if (limiter.allow("198.18.0.9", 0)) allowed++;
  assert.equal(allowed, 20, "a burst of twice the per-source rate");
  assert.equal(limiter.allow("198.18.0.9", 50), false);
  assert.equal(limiter.allow("198.18.0.9", 100), true, "one more after 100 ms at 10 per second");
  // Loopback (this machine's instances) is bound only by the total.
  let local = 0;
  for (let i = 0; i < 200; i++) if (limiter.allow("127.0.0.1", 100)) local++;
  // 100 - 20, plus 10 refilled over 100 ms, less the one answer just sent.
  assert.equal(local, 89);
  assert.equal(limiter.allow("198.18.0.10", 100), false, "the total is spent");
  assert.equal(limiter.allow("198.18.0.10", 1_100), true);
});

Deno.test("a source's bucket refills at its rate, up to twice the rate", () => {
  const cases: Array<[later: number, allowed: number]> = [
    [0, 0],
    [100, 1],
    [1_000, 10],
    [2_000, 20],
    [10_000, 20],
  ];
  for (const [later, allowed] of cases) {
    const limiter = new ReplyLimiter({ total: 10_000, perSource: 10 }, 0);
    while (limiter.allow("198.18.0.9", 0));
    let count = 0;
    while (limiter.allow("198.18.0.9", later)) count++;
    assert.equal(count, allowed, `${later} ms later`);
  }
});

Deno.test("an answer the total refuses takes no token from its source", () => {
  const limiter = new ReplyLimiter({ total: 2, perSource: 0.5 }, 0);
  assert.equal(limiter.allow("198.18.0.1", 0), true);
  assert.equal(limiter.allow("198.18.0.2", 0), true);
  assert.equal(limiter.allow("198.18.0.3", 0), false);
  // The total refilled; the source still has the one token it holds at most.
  assert.equal(limiter.allow("198.18.0.3", 1_000), true);
  assert.equal(limiter.allow("198.18.0.3", 1_000), false);
});

Deno.test("the limiter tracks at most 4,096 sources, forgetting the oldest", () => {
  const limiter = new ReplyLimiter({ total: 1_000_000, perSource: 1 }, 0);
  assert.deepEqual([limiter.allow("198.18.0.1", 0), limiter.allow("198.18.0.1", 0)], [true, true]);
  assert.equal(limiter.allow("198.18.0.1", 0), false);
  for (let i = 0; i < 4_095; i++) limiter.allow(`10.1.${i >> 8}.${i & 255}`, 0);
  assert.equal(limiter.allow("198.18.0.1", 0), false, "still tracked: 4,096 sources in all");
  limiter.allow("10.2.0.0", 0);
  assert.equal(limiter.allow("198.18.0.1", 0), true, "forgotten, it starts with a full bucket");
});

Deno.test("a source unanswered for two seconds, whose bucket is full again, is no longer tracked", () => {
  const cases: Array<[later: number, tracked: number]> = [
    [0, 3],
    [1_999, 3],
    [2_000, 1],
    [2_500, 1],
  ];
  for (const [later, tracked] of cases) {
    const limiter = new ReplyLimiter({ total: 1_000_000, perSource: 10 }, 0);
    limiter.allow("198.18.0.1", 0);
    limiter.allow("198.18.0.2", 0);
    limiter.allow("198.18.0.3", later);
    assert.equal(limiter.sources, tracked, `${later} ms later`);
  }
});

Deno.test("under churn of sources the limiter tracks those of the last two seconds", () => {
  const limiter = new ReplyLimiter({ total: 1_000_000, perSource: 10 }, 0);
  let largest = 0;
  // A new source every 4 ms: 500 in two seconds.
  for (let i = 0; i < 100_000; i++) {
    limiter.allow(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 4 * i);
    largest = Math.max(largest, limiter.sources);
  }
  assert.equal(largest, 500);
});

Deno.test("a drained source stays tracked while others come and go", () => {
  const limiter = new ReplyLimiter({ total: 1_000_000, perSource: 1 }, 0);
  while (limiter.allow("198.18.0.1", 0));
  for (let i = 0; i < 3_000; i++) limiter.allow(`10.1.${i >> 8}.${i & 255}`, i / 10);
  // Refused at 999 ms: one token after a second, not a fresh bucket.
  assert.equal(limiter.allow("198.18.0.1", 999), false);
  assert.equal(limiter.allow("198.18.0.1", 1_000), true);
});
