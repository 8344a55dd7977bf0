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

const TTL = 3300;

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
    // Past the goodbye's own time (600 here), only a newer word of it comes back.
    [true, 5n, 10, 600, true],
    [true, 4n, 99, 600, true],
    [true, 5n, 11, 600, false],
    // Past its time, nothing is refused.
    [true, 5n, 10, 1000, false],
    [false, 4n, 1, 1000, false],
  ];
  for (const [final, incarnation, seq, now, refused] of cases) {
    const stones = new Tombstones();
    stones.bury(7n, 5n, 10, final, 1000, 600);
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

Deno.test("a goodbye bars all of its incarnation until its own time, unless told otherwise", () => {
  const stones = new Tombstones();
  stones.bury(7n, 5n, 10, true, 1000);
  assert.equal(stones.refuses(7n, 5n, 11, 999), true);
  stones.bury(8n, 5n, 10, true, 1000, 100);
  assert.deepEqual([stones.refuses(8n, 5n, 11, 99), stones.refuses(8n, 5n, 11, 100)], [
    true,
    false,
  ]);
});

Deno.test("tombstones whose time is up go as datagrams are judged, without a walk", () => {
  // [until of ids 1, 2, 3, when judged, how many judged, ids left]
  const cases: Array<[untils: number[], now: number, judged: number, left: bigint[]]> = [
    [[100, 200, 300], 99, 1, [1n, 2n, 3n]],
    [[100, 200, 300], 100, 1, [2n, 3n]],
    [[100, 200, 300], 250, 1, [3n]],
    [[100, 200, 300], 300, 1, []],
    // One of a short ttl behind a longer one waits for it (or for the bound),
    // however many are judged.
    [[300, 100, 200], 250, 1, [1n, 2n, 3n]],
    [[300, 100, 200], 250, 3, [1n, 2n, 3n]],
    [[300, 100, 200], 300, 1, []],
  ];
  for (const [untils, now, judged, left] of cases) {
    const stones = new Tombstones();
    untils.forEach((until, i) => stones.bury(BigInt(i + 1), 5n, 1, false, until));
    for (let i = 0; i < judged; i++) assert.equal(stones.refuses(99n, 5n, 1, now), false);
    const what = `buried until ${untils}, judged ${judged} times at ${now}`;
    assert.equal(stones.size, left.length, what);
    assert.deepEqual([1n, 2n, 3n].filter((id) => stones.has(id)), left, what);
  }
});

Deno.test("under churn the tombstones kept are those of the last ten ttls, never beyond the bound", () => {
  const cases: Array<[perMs: number, kept: number]> = [
    // One departure every 100 ms, each remembered 33 s: 330 at once.
    [0.01, 330],
    // Ten a millisecond would be 330,000: the bound holds.
    [10, 4_096],
  ];
  for (const [perMs, kept] of cases) {
    const stones = new Tombstones();
    let largest = 0;
    for (let i = 0; i < 100_000; i++) {
      const now = i / perMs;
      stones.refuses(BigInt(i), 1n, 1, now);
      stones.bury(BigInt(i), 1n, 1, true, now + tombstoneTime(3300, false));
      largest = Math.max(largest, stones.size);
    }
    assert.equal(largest, kept, `${perMs} a millisecond`);
  }
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
    [rivals.heard(9n, 1, TTL, 0), rivals.heard(9n, 2, TTL, 1), rivals.heard(9n, 3, TTL, 2)],
    [false, true, false],
  );
  // A replay of its first word is no second word.
  const replayed = new Rivals();
  assert.deepEqual([replayed.heard(9n, 1, TTL, 0), replayed.heard(9n, 1, TTL, 1)], [false, false]);
  // Each incarnation, and the bare one, on its own.
  assert.deepEqual(
    [
      rivals.heard(10n, 1, TTL, 3),
      rivals.heard(undefined, undefined, TTL, 4),
      rivals.heard(undefined, undefined, TTL, 5),
    ],
    [false, false, true],
  );
});

Deno.test("a rival is forgotten once its last word's ttl is up: a word after that is a first word", () => {
  const cases: Array<[second: number, reported: boolean]> = [
    [TTL - 1, true],
    [TTL, false],
  ];
  for (const [second, reported] of cases) {
    const rivals = new Rivals();
    rivals.heard(9n, 1, TTL, 0);
    assert.equal(rivals.heard(9n, 2, TTL, second), reported, `second word at ${second}`);
    assert.equal(rivals.size, 1);
  }
  // Each word restarts its time.
  const rivals = new Rivals();
  rivals.heard(9n, 1, TTL, 0);
  rivals.heard(9n, 1, TTL, 3000);
  assert.equal(rivals.heard(9n, 2, TTL, 6000), true);
});

Deno.test("rivals are bounded: a full set forgets the least recently heard, so a new one is reported", () => {
  const rivals = new Rivals(3);
  for (const incarnation of [1n, 2n, 3n]) rivals.heard(incarnation, 1, TTL, 0);
  // 1 is heard again: 2 is now the least recently heard.
  rivals.heard(1n, 1, TTL, 1);
  assert.deepEqual([rivals.heard(9n, 1, TTL, 2), rivals.heard(9n, 2, TTL, 3)], [false, true]);
  assert.equal(rivals.size, 3);
  assert.deepEqual([rivals.heard(1n, 2, TTL, 4), rivals.heard(2n, 2, TTL, 5)], [true, false]);
});

Deno.test("a flood of forged rivals, each heard once, does not hide a real one", () => {
  const cases: Array<[forgedBetween: number, reported: boolean]> = [
    [0, true],
    [4_095, true],
    // More new ones than the bound between its first two words push it out.
    [4_096, false],
  ];
  for (const [forgedBetween, reported] of cases) {
    const rivals = new Rivals();
    let incarnation = 1_000n;
    for (let i = 0; i < 5_000; i++) rivals.heard(incarnation++, 1, TTL, i / 10);
    rivals.heard(7n, 1, TTL, 500);
    for (let i = 0; i < forgedBetween; i++) rivals.heard(incarnation++, 1, TTL, 500 + i / 10);
    assert.equal(rivals.heard(7n, 2, TTL, 1000), reported, `${forgedBetween} forged between`);
    assert.ok(rivals.size <= 4_096);
  }
});

Deno.test("under churn the rivals kept are those heard within a ttl", () => {
  const rivals = new Rivals();
  let largest = 0;
  // One new forged rival a millisecond, with ttl 1000: about 1000 at once.
  for (let i = 0; i < 100_000; i++) {
    rivals.heard(BigInt(i), 1, 1000, i);
    largest = Math.max(largest, rivals.size);
  }
  assert.equal(largest, 1000);
});
