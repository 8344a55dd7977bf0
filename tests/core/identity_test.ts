import assert from "node:assert/strict";
import {
  type Contender,
  contenderSpoke,
  type ContenderWord,
  incarnationOf,
  isFromFuture,
  isNewer,
  type Rival,
  Rivals,
  rivalSpoke,
  seqAfter,
  startOf,
  Tombstones,
  tombstoneTime,
} from "../../src/core/identity.ts";

Deno.test("sequence numbers compare across the wrap-around", () => {
  assert.equal(seqAfter(2, 1), true);
  assert.equal(seqAfter(1, 2), false);
  assert.equal(seqAfter(1, 1), false);
  assert.equal(seqAfter(0, 0xffff_ffff), true);
  assert.equal(seqAfter(0xffff_ffff, 0), false);
});

Deno.test("a sequence number is newer up to half the number space ahead, and no further", () => {
  const cases: Array<[a: number, b: number, after: boolean]> = [
    [0x7fff_ffff, 0, true],
    [0x8000_0000, 0, false],
    [0x8000_0001, 0, false],
    [5, 0xffff_fff0, true],
    [0xffff_fff0, 5, false],
  ];
  for (const [a, b, after] of cases) assert.equal(seqAfter(a, b), after, `${a} after ${b}`);
});

Deno.test("an incarnation of a later millisecond is greater, whatever its random bits", () => {
  assert.equal(incarnationOf(1000, 5), (1000n << 20n) | 5n);
  assert.ok(incarnationOf(1001, 0) > incarnationOf(1000, 0xfffff));
  // Only 20 random bits are used, and a clock before the epoch counts as 0.
  assert.equal(incarnationOf(1000, 0x1_00005), incarnationOf(1000, 5));
  assert.equal(incarnationOf(-5, 3), 3n);
  assert.equal(incarnationOf(1000.9, 0), 1000n << 20n);
});

Deno.test("an incarnation that starts over a minute ahead of our clock is from the future", () => {
  const wall = Date.UTC(2026, 0, 1);
  const cases: Array<[incarnation: bigint, future: boolean]> = [
    [incarnationOf(wall - 3_600_000, 7), false],
    [incarnationOf(wall, 0xfffff), false],
    [incarnationOf(wall + 60_000, 0xfffff), false],
    [incarnationOf(wall + 60_001, 0), true],
    // The forged maximum claims a start in the year 2527.
    [2n ** 64n - 1n, true],
  ];
  for (const [incarnation, future] of cases) {
    assert.equal(
      isFromFuture(incarnation, wall),
      future,
      `${startOf(incarnation) - wall} ms ahead`,
    );
  }
  assert.equal(startOf(incarnationOf(wall, 5)), wall);
});

Deno.test("a contender collides when it speaks right after the charted one, and takes the id on its third word in a row", () => {
  // Words from the contender (its sequence number) and from the charted incarnation ("charted").
  const cases: Array<
    [inARow: number, words: Array<number | "charted">, meant: Array<ContenderWord | "-">]
  > = [
    // The incarnation a hijack or restart replaced (its last word 5) speaks on.
    [0, [6, 7, 8], ["collision", "heard", "takes"]],
    // Both alive: the charted one's words break every run.
    [0, [6, "charted", 7, 8, "charted", 9], ["collision", "-", "heard", "heard", "-", "heard"]],
    // Stray and repeated words count for nothing.
    [0, [5, 4, 6, 6, 7, 3, 8], ["stale", "stale", "collision", "stale", "heard", "stale", "takes"]],
    // One first heard as a stray word (5): twice more in a row takes the id, with no collision.
    [1, [6, 7], ["heard", "takes"]],
    [1, ["charted", 6, 7, 8], ["-", "collision", "heard", "takes"]],
  ];
  for (const [inARow, words, meant] of cases) {
    const contender: Contender = { incarnation: 9n, seq: 5, reported: false, inARow };
    const heard = words.map((word) => {
      if (word !== "charted") return contenderSpoke(contender, word);
      contender.inARow = 0;
      return "-";
    });
    assert.deepEqual(heard, meant, `${inARow} in a row, then ${words}`);
  }
});

Deno.test("a word is newer than the last when its sequence number is, or either has none", () => {
  const cases: Array<[seq: number | undefined, last: number | undefined, newer: boolean]> = [
    [6, 5, true],
    [5, 5, false],
    [4, 5, false],
    [undefined, 5, true],
    [5, undefined, true],
    [undefined, undefined, true],
  ];
  for (const [seq, last, newer] of cases) {
    assert.equal(isNewer(seq, last), newer, `${seq}, ${last}`);
  }
});

Deno.test("a departed incarnation is remembered ten ttls, or an hour with keys", () => {
  assert.equal(tombstoneTime(3300, false), 33_000);
  assert.equal(tombstoneTime(660, false), 6_600);
  assert.equal(tombstoneTime(3300, true), 3_600_000);
});

Deno.test("a tombstone refuses replays of its incarnation, and a new word ends it", () => {
  // Incarnation 5 left with its last sequence number 10; remembered until 1000.
  const cases: Array<
    [
      final: boolean,
      incarnation: bigint | undefined,
      seq: number | undefined,
      now: number,
      refused: boolean,
    ]
  > = [
    // Expired (not final): only a newer word of that incarnation brings it back.
    [false, 4n, 99, 500, true],
    [false, 5n, 9, 500, true],
    [false, 5n, 10, 500, true],
    [false, 5n, undefined, 500, true],
    [false, 5n, 11, 500, false],
    [false, 6n, 1, 500, false],
    // A bare announcement (no incarnation) cannot be judged: it is let in.
    [false, undefined, undefined, 500, false],
    // Said goodbye: nothing of that incarnation comes back, a restart does.
    [true, 5n, 11, 500, true],
    [true, 5n, 1_000_000, 500, true],
    [true, 4n, 11, 500, true],
    [true, 6n, 1, 500, false],
    // Past its time, nothing is refused.
    [true, 5n, 10, 1000, false],
    [false, 4n, 1, 1000, false],
  ];
  for (const [final, incarnation, seq, now, refused] of cases) {
    const stones = new Tombstones();
    stones.bury(7n, 5n, 10, final, 1000);
    const what = `final ${final}, incarnation ${incarnation}, seq ${seq}, at ${now}`;
    assert.equal(stones.refuses(7n, incarnation, seq, now), refused, what);
    // A refused replay leaves the tombstone; anything else ends it.
    assert.equal(stones.has(7n), refused, what);
    assert.equal(stones.refuses(8n, 5n, 10, now), false, "another id has no tombstone");
  }
});

Deno.test("a goodbye's tombstone, which has no sequence number, refuses all of its incarnation", () => {
  const stones = new Tombstones();
  stones.bury(7n, 5n, undefined, false, 1000);
  assert.equal(stones.refuses(7n, 5n, 1_000_000, 0), true);
  assert.equal(stones.refuses(7n, 6n, 1, 0), false);
});

Deno.test("tombstones are bounded: the one buried longest ago goes first", () => {
  const stones = new Tombstones(2);
  stones.bury(1n, 1n, 1, true, 1000);
  stones.bury(2n, 1n, 1, true, 1000);
  // Buried again: it is the newest now.
  stones.bury(1n, 1n, 2, true, 1000);
  stones.bury(3n, 1n, 1, true, 1000);
  assert.equal(stones.size, 2);
  assert.deepEqual([1n, 2n, 3n].map((id) => stones.has(id)), [true, false, true]);
});

Deno.test("a rival is reported once, on a newer word than the last heard of it", () => {
  const cases: Array<
    [last: number | undefined, seqs: Array<number | undefined>, reports: boolean[]]
  > = [
    [5, [6], [true]],
    [5, [6, 7, 8], [true, false, false]],
    [5, [5], [false]],
    [5, [4], [false]],
    [5, [5, 6], [false, true]],
    // Stray old words, even in order, are no second word.
    [5, [3, 4], [false, false]],
    [5, [3, 4, 6], [false, false, true]],
    [undefined, [undefined], [true]],
    [5, [undefined, undefined], [true, false]],
  ];
  for (const [last, seqs, reports] of cases) {
    const rival: Rival = { seq: last, reported: false };
    assert.deepEqual(seqs.map((seq) => rivalSpoke(rival, seq)), reports, `${last} then ${seqs}`);
    assert.equal(rival.reported, reports.includes(true));
  }
});

Deno.test("another instance with our id is reported on its second word, once", () => {
  const rivals = new Rivals();
  assert.deepEqual(
    [rivals.heard(9n, 1), rivals.heard(9n, 2), rivals.heard(9n, 3)],
    [false, true, false],
  );
  // A replay of its first word is no second word.
  const replayed = new Rivals();
  assert.deepEqual([replayed.heard(9n, 1), replayed.heard(9n, 1)], [false, false]);
  // Each incarnation, and the bare one, on its own.
  assert.deepEqual(
    [rivals.heard(10n, 1), rivals.heard(undefined, undefined), rivals.heard(undefined, undefined)],
    [false, false, true],
  );
});

Deno.test("rivals of our id are bounded: one heard when full is never reported", () => {
  const rivals = new Rivals(1);
  assert.equal(rivals.heard(5n, 1), false);
  assert.deepEqual([rivals.heard(6n, 1), rivals.heard(6n, 2), rivals.heard(6n, 3)], [
    false,
    false,
    false,
  ]);
  assert.equal(rivals.heard(5n, 2), true);
});
