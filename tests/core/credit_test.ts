import assert from "node:assert/strict";
import { CREDIT_CAP, CREDIT_LIFETIME, SourceCredit } from "../../src/core/credit.ts";

/** A datagram of `size` bytes from an address. */
function datagram(size: number, address = "198.18.0.9") {
  return { data: new Uint8Array(size), address };
}

Deno.test("a source's credit is what it sent, less what went back, up to the cap", () => {
  type Step = ["earn", size: number, at: number] | ["spend", size: number, at: number];
  const cases: Array<[what: string, steps: Step[], at: number, covered: number, not: number]> = [
    ["nothing heard, nothing covered", [], 0, 0, 1],
    ["one datagram covers its own size", [["earn", 47, 0]], 0, 47, 48],
    ["two add up", [["earn", 47, 0], ["earn", 18, 10]], 10, 65, 66],
    ["what was sent is taken off", [["earn", 47, 0], ["spend", 40, 5]], 5, 7, 8],
    ["all spent", [["earn", 47, 0], ["spend", 47, 5]], 5, 0, 1],
    ["capped", Array(20).fill(["earn", 1024, 0]), 0, CREDIT_CAP, CREDIT_CAP + 1],
    ["kept an hour after its source was last heard", [["earn", 47, 0]], CREDIT_LIFETIME, 47, 48],
    ["then gone", [["earn", 47, 0]], CREDIT_LIFETIME + 1, 0, 1],
    [
      "gone before a later datagram adds",
      [["earn", 47, 0], ["earn", 18, 2 * CREDIT_LIFETIME]],
      2 *
      CREDIT_LIFETIME,
      18,
      19,
    ],
  ];
  for (const [what, steps, at, covered, not] of cases) {
    const credit = new SourceCredit();
    for (const [step, size, when] of steps) {
      if (step === "earn") credit.earn(datagram(size), when);
      else credit.spend("198.18.0.9", size);
    }
    assert.equal(credit.covers("198.18.0.9", covered, at), true, `${what}: covers ${covered}`);
    assert.equal(credit.covers("198.18.0.9", not, at), false, `${what}: not ${not}`);
    assert.equal(credit.covers("198.18.0.10", 1, at), false, `${what}: another source has none`);
  }
});

Deno.test("one datagram handed to every chart that shares a credit counts once", () => {
  const credit = new SourceCredit();
  const shared = datagram(18);
  for (let chart = 0; chart < 20; chart++) credit.earn(shared, 0);
  assert.equal(credit.covers("198.18.0.9", 18, 0), true);
  assert.equal(credit.covers("198.18.0.9", 19, 0), false);
  // The same bytes again, as a datagram of their own, count again.
  credit.earn(datagram(18), 1);
  assert.equal(credit.covers("198.18.0.9", 36, 1), true);
});

Deno.test("charts that share a credit each earn their share of a datagram, together no more than it", () => {
  const credit = new SourceCredit();
  const shared = datagram(100);
  // Three charts that each know of 4 on the host (5 with itself), and one of another header.
  credit.earn(shared, 0, 0);
  for (let chart = 0; chart < 3; chart++) credit.earn(shared, 0, 1 / 5);
  assert.equal(credit.covers("198.18.0.9", 60, 0), true);
  assert.equal(credit.covers("198.18.0.9", 61, 0), false);
  // Shares that add up past the whole earn the whole.
  const again = datagram(100);
  credit.earn(again, 1, 0.75);
  credit.earn(again, 1, 0.75);
  assert.equal(credit.covers("198.18.0.9", 160, 1), true);
  assert.equal(credit.covers("198.18.0.9", 161, 1), false);
});

Deno.test("past its bound the credit drops the source heard least recently", () => {
  const credit = new SourceCredit(3);
  credit.earn(datagram(10, "198.18.0.1"), 0);
  credit.earn(datagram(10, "198.18.0.2"), 1);
  credit.earn(datagram(10, "198.18.0.3"), 2);
  // Heard again: .1 is now the most recent.
  credit.earn(datagram(10, "198.18.0.1"), 3);
  credit.earn(datagram(10, "198.18.0.4"), 4);
  assert.equal(credit.covers("198.18.0.1", 20, 4), true);
  assert.equal(credit.covers("198.18.0.2", 1, 4), false, "the least recent went");
  assert.equal(credit.covers("198.18.0.3", 10, 4), true);
  assert.equal(credit.covers("198.18.0.4", 10, 4), true);
  assert.throws(() => new SourceCredit(0), RangeError);
});
