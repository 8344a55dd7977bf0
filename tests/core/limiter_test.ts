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
