/**
 * Memory under churn: a million instances come and go through the core, on
 * a virtual clock, and what it keeps stays flat. Every structure keyed by
 * what a datagram says (the peer table and its newcomers, tombstones, rivals
 * of our id, the answers' per-source budgets) is fed. Needs `gc`:
 * `deno test --v8-flags=--expose-gc` (as `deno task test:core` runs it).
 */

import assert from "node:assert/strict";
import type { Entry } from "../../src/core/entry.ts";
import { DEFAULT_RAMPDOWN } from "../../src/core/interval.ts";
import { type Outbox, Protocol } from "../../src/core/protocol.ts";
import { DEFAULT_HEADER, encodeAnnouncement } from "../../src/core/wire.ts";

const OUR_ID = 1n;

/** The heap in use after a full collection. */
function liveHeap(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) {
    throw new Error("Cannot measure the live heap: run deno test with --v8-flags=--expose-gc");
  }
  gc();
  return Deno.memoryUsage().heapUsed;
}

/** An outbox that sends nowhere and counts who came and went. */
class Tally implements Outbox<Entry, string> {
  charted = 0;
  left = 0;
  links(): Iterable<string> {
    return ["lan"];
  }
  multicast(): void {}
  onSubnet(): boolean {
    return true;
  }
  isHostAddress(): boolean {
    return false;
  }
  unicast(): boolean {
    return true;
  }
  added(): void {
    this.charted++;
  }
  updated(): void {}
  removed(): void {
    this.left++;
  }
  collision(): void {}
}

/** How many steps each way of leaving gets, one after the other. */
const STEPS_EACH = 250_000;

/** A marker incarnation, to find where a datagram holds it. */
const MARK = 0x0123_4567_89ab_cdefn;

/**
 * A datagram encoded once and rewritten in place with another id and
 * incarnation for each use: the core may not keep the bytes it is handed,
 * and a million encodings would be most of the test's time.
 */
class Template {
  readonly data: Uint8Array;
  readonly #view: DataView;
  readonly #incarnationAt: number;

  constructor(goodbye: boolean) {
    this.data = encodeAnnouncement({
      header: DEFAULT_HEADER,
      id: 0n,
      ports: [9000],
      reply: false,
      goodbye,
      ttl: 3300,
      incarnation: MARK,
      seq: 1,
      listening: 0,
    });
    this.#view = new DataView(this.data.buffer);
    this.#incarnationAt = [...this.data.keys()].find((i) =>
      i + 8 <= this.data.length && this.#view.getBigUint64(i, true) === MARK
    )!;
  }

  /** The datagram, now of `id` and `incarnation`. */
  of(id: bigint, incarnation: bigint): Uint8Array {
    this.#view.setBigUint64(8, id, true);
    this.#view.setBigUint64(this.#incarnationAt, incarnation, true);
    return this.data;
  }
}

const ANNOUNCEMENT = new Template(false);
const GOODBYE = new Template(true);

/** One step of churn at `now`: a newcomer that leaves, in one of four ways. */
function churn(core: Protocol<Entry, string>, step: number, now: number): void {
  const address = `198.18.${(step >> 8) & 255}.${step & 255}`;
  const hear = (data: Uint8Array) =>
    core.handle(now, { data, address, port: 8080, handedOverAt: undefined, reading: undefined });
  const id = 1_000n + BigInt(step);
  switch (Math.floor(step / STEPS_EACH)) {
    case 0:
      // A newcomer that says goodbye at once.
      hear(ANNOUNCEMENT.of(id, 1n));
      hear(GOODBYE.of(id, 1n));
      break;
    case 1:
      // One id, restarted each time with a new incarnation, and gone at once.
      hear(ANNOUNCEMENT.of(100n, BigInt(step)));
      hear(GOODBYE.of(100n, BigInt(step)));
      break;
    case 2:
      // A newcomer every other step, never heard again, which expires.
      if (step % 2 === 0) hear(ANNOUNCEMENT.of(id, 1n));
      break;
    default:
      // A forged rival of our id, heard once, and a goodbye of an id never charted.
      hear(ANNOUNCEMENT.of(OUR_ID, BigInt(step)));
      hear(GOODBYE.of(id, 0xffff_ffff_ffff_ffffn));
  }
}

Deno.test("a million newcomers that leave at once, restart, expire or are forged leave the heap flat", () => {
  const tally = new Tally();
  const core = new Protocol<Entry, string>(
    {
      id: OUR_ID,
      header: DEFAULT_HEADER,
      ports: [9001],
      rampdown: DEFAULT_RAMPDOWN,
      incarnation: 50n,
      random: () => 0.5,
    },
    0,
    tally,
  );
  core.start("maintain", 0);
  let heapAt100k = 0;
  let largest = 0;
  for (let step = 0; step < 4 * STEPS_EACH; step++) {
    // A step a millisecond: some 1,650 newcomers are charted at once, waiting to expire.
    const now = step + 1;
    if (core.deadline() <= now) core.timeout(now);
    churn(core, step, now);
    largest = Math.max(largest, core.size);
    if (step === 100_000 - 1) heapAt100k = liveHeap();
  }
  const grown = liveHeap() - heapAt100k;
  // The churn happened: every newcomer was charted, and left.
  assert.equal(tally.charted, 2.5 * STEPS_EACH);
  assert.equal(tally.left, 2.5 * STEPS_EACH);
  assert.ok(largest > 1_600 && largest < 1_700, `at most ${largest} charted`);
  assert.equal(core.size, 1);
  assert.ok(grown < 2 ** 20, `the live heap grew by ${(grown / 2 ** 20).toFixed(1)} MiB`);
});
