/**
 * The protocol core end to end, on a virtual clock: datagrams go in at
 * explicit times, the core's timers fire at the deadlines it gives, and a
 * recording outbox keeps what it sent and reported. No socket, no timer.
 */

import assert from "node:assert/strict";
import type { ChartEvent, Entry, RemoveReason } from "../../src/core/entry.ts";
import { SourceCredit } from "../../src/core/credit.ts";
import { incarnationOf } from "../../src/core/identity.ts";
import { DEFAULT_RAMPDOWN } from "../../src/core/interval.ts";
import { Keyring } from "../../src/core/keyring.ts";
import { type Outbox, Protocol, type ProtocolConfig } from "../../src/core/protocol.ts";
import { SeedSet } from "../../src/core/seeds.ts";
import {
  type Announcement,
  decodeAnnouncement,
  DEFAULT_HEADER,
  encodeAnnouncement,
  findSignature,
} from "../../src/core/wire.ts";

const HEADER = DEFAULT_HEADER;
/** Our ttl with the default ramp: three 1 s intervals and 10%. */
const TTL = 3300;

/** A datagram the core sent, when, and what it says. */
interface Sent {
  at: number;
  /** The link of a multicast, or the address of a unicast. */
  to: string;
  port: number | undefined;
  data: Uint8Array;
  announcement: Announcement;
}

/** What the core reported, and when. */
type Reported = ChartEvent & { at: number };

/** Where a datagram comes from. */
interface Source {
  address?: string;
  port?: number;
  handedOverAt?: number;
}

/** A protocol core on a virtual clock, with an outbox that records. */
class Simulated implements Outbox<Entry, string> {
  now = 0;
  readonly core: Protocol<Entry, string>;
  readonly multicasts: Sent[] = [];
  readonly unicasts: Sent[] = [];
  readonly events: Reported[] = [];
  linkNames = ["lan"];
  onSubnet: (address: string) => boolean = () => true;
  isHostAddress: (address: string) => boolean = () => false;

  constructor(config: Partial<ProtocolConfig> = {}) {
    this.core = new Protocol(
      {
        id: 1n,
        header: HEADER,
        ports: [9001],
        rampdown: DEFAULT_RAMPDOWN,
        incarnation: 50n,
        random: () => 0.5,
        ...config,
      },
      0,
      this,
    );
  }

  /** A chart that started maintaining at 0. */
  static maintaining(config: Partial<ProtocolConfig> = {}): Simulated {
    const chart = new Simulated(config);
    chart.core.start("maintain", 0);
    return chart;
  }

  /** Fires the core's timers, each at the deadline it gave, up to `until`. */
  runUntil(until: number): void {
    for (let deadline = this.core.deadline(); deadline <= until;) {
      this.now = deadline;
      this.core.timeout(deadline);
      const next = this.core.deadline();
      // What was due is done: a deadline that stays would stall the clock.
      assert.ok(next > deadline, `the core still wants to be woken at ${deadline}`);
      deadline = next;
    }
    this.now = until;
  }

  /** Calls the core at `at`, once what fell due before has run. */
  act(at: number, call: (core: Protocol<Entry, string>, now: number) => void): void {
    this.runUntil(at);
    call(this.core, at);
  }

  /** Hands the core a datagram at `at`, once what fell due before has run. */
  hear(at: number, data: Uint8Array, source: Source = {}): void {
    this.runUntil(at);
    // By default from 198.18.0.<id>, where the id fits a datagram.
    const id = data.length >= 16
      ? new DataView(data.buffer, data.byteOffset).getBigUint64(8, true)
      : 99n;
    this.core.handle(at, {
      data,
      address: source.address ?? `198.18.0.${id}`,
      port: source.port ?? 8080,
      handedOverAt: source.handedOverAt,
      reading: undefined,
    });
  }

  /**
   * Hears a peer 16 times at `at` (seq 1 to 16) from one source: the first
   * may be answered, and the other 15 pay for its 15 probes (credit.ts).
   */
  known(at: number, id: bigint, fields: Partial<Announcement> = {}, source: Source = {}): void {
    for (let seq = 1; seq <= 16; seq++) this.hear(at, from(id, { seq, ...fields }), source);
  }

  /** The probes sent, as [time, address]. */
  probes(): Array<[number, string]> {
    const sent = this.unicasts.filter(({ announcement }) => announcement.probe);
    return sent.map(({ at, to }) => [at, to]);
  }

  /** The answers sent, as [time, address]. */
  answers(): Array<[number, string]> {
    const sent = this.unicasts.filter(({ announcement }) => announcement.reply);
    return sent.map(({ at, to }) => [at, to]);
  }

  /** The events, each as [time, type, id] and the reason or withUs. */
  happened(): Array<[number, string, bigint, ...unknown[]]> {
    return this.events.map((event) => {
      const head: [number, string, bigint] = [event.at, event.type, event.entry.id];
      if (event.type === "removed") return [...head, event.reason];
      if (event.type === "collision") return [...head, event.withUs];
      return head;
    });
  }

  // The outbox.

  links(): Iterable<string> {
    return this.linkNames;
  }

  multicast(data: Uint8Array, link: string): void {
    this.multicasts.push({
      at: this.now,
      to: link,
      port: undefined,
      data,
      announcement: read(data),
    });
  }

  unicast(data: Uint8Array, address: string, port: number): boolean {
    this.unicasts.push({ at: this.now, to: address, port, data, announcement: read(data) });
    return true;
  }

  added(entry: Entry): void {
    this.events.push({ at: this.now, type: "added", entry });
  }

  updated(entry: Entry, previous: Entry): void {
    this.events.push({ at: this.now, type: "updated", entry, previous });
  }

  removed(entry: Entry, reason: RemoveReason, lastHeard: number): void {
    this.events.push({ at: this.now, type: "removed", entry, reason, lastHeard });
  }

  collision(entry: Entry, withUs: boolean): void {
    this.events.push({ at: this.now, type: "collision", entry, withUs });
  }
}

function read(data: Uint8Array): Announcement {
  const result = decodeAnnouncement(data, HEADER, { kind: "any" });
  assert.ok(result.ok, `the core sent a datagram it cannot read: ${!result.ok && result.reason}`);
  return result.announcement;
}

/**
 * An announcement of another instance of this module: port 9000 + id, ttl
 * 3300, incarnation 100, just started (listening 0), so that it wants an
 * answer of its own size.
 */
function from(id: bigint, fields: Partial<Announcement> = {}): Uint8Array {
  return encodeAnnouncement({
    header: HEADER,
    id,
    ports: [9000 + Number(id)],
    reply: false,
    ttl: TTL,
    incarnation: 100n,
    seq: 1,
    listening: 0,
    ...fields,
  });
}

/** The bare announcement of a Rust peer: 18 bytes, no ttl, no incarnation. */
function rust(id: bigint): Uint8Array {
  return encodeAnnouncement({ header: HEADER, id, ports: [9000 + Number(id)], reply: false });
}

// --- Expiry ---

Deno.test("a peer heard at 0 with ttl 3300 is charted at 3300 and removed by the first sweep after", () => {
  const chart = Simulated.maintaining();
  chart.hear(0, from(2n));
  chart.runUntil(3300);
  chart.core.timeout(3300);
  assert.deepEqual(chart.core.get(2n), { id: 2n, address: "198.18.0.2", ports: [9002] });
  chart.runUntil(10_000);
  assert.deepEqual(chart.happened(), [[0, "added", 2n], [3301, "removed", 2n, "expired"]]);
  assert.equal(chart.core.size, 1);
});

Deno.test("an instance expires within 2 ms after its ttl runs out, whatever the sweeps' phase", () => {
  const cases: Array<[heardAt: number, ttl: number]> = [
    [0, 3300],
    [250, 660],
    [1000, 990],
    [7.25, 1234],
    [3, 33_000],
  ];
  for (const [heardAt, ttl] of cases) {
    const chart = Simulated.maintaining();
    // Another peer of the same ttl first, so that the sweeps run in their own phase.
    chart.hear(0, from(3n, { ttl }));
    chart.hear(heardAt, from(2n, { ttl }));
    chart.hear(heardAt, from(3n, { ttl, seq: 2 }));
    chart.runUntil(heardAt + ttl);
    chart.core.timeout(heardAt + ttl);
    assert.ok(chart.core.get(2n), `heard at ${heardAt}, ttl ${ttl}: gone too soon`);
    chart.runUntil(heardAt + ttl + 1_000);
    const removed = chart.events.filter((event) =>
      event.type === "removed" && event.entry.id === 2n
    );
    assert.equal(removed.length, 1, `heard at ${heardAt}, ttl ${ttl}`);
    const late = removed[0].at - (heardAt + ttl);
    assert.ok(late > 0 && late <= 2, `heard at ${heardAt}, ttl ${ttl}: removed ${late} ms late`);
  }
});

Deno.test("a peer of a shorter ttl than those charted expires at its own ttl, not a sweep later", () => {
  type Case = [what: string, hear: (chart: Simulated) => void];
  const cases: Case[] = [
    // Heard twice, so that there is credit for a probe besides the answer.
    ["a newcomer", (chart) => chart.known(250, 2n, { ttl: 660 })],
    ["a restart with a faster ramp", (chart) => {
      chart.hear(0, from(2n, { ttl: 100_000 }));
      chart.known(250, 2n, { ttl: 660, incarnation: 101n });
    }],
    ["a newcomer kept while idle", (chart) => {
      chart.act(200, (core, now) => core.stop(now));
      chart.hear(250, from(2n, { ttl: 660 }));
      chart.act(300, (core, now) => core.start("maintain", now));
      chart.act(300, (core, now) => core.chartHeld(now));
    }],
  ];
  for (const [what, hear] of cases) {
    const chart = Simulated.maintaining();
    // Charted with a long ttl: the sweeps come every second.
    chart.hear(0, from(3n, { ttl: 100_000 }));
    hear(chart);
    chart.runUntil(5_000);
    const removed = chart.happened().filter(([, type, id]) => type === "removed" && id === 2n);
    assert.equal(removed.length, 1, what);
    const [[at]] = removed;
    assert.ok(at > 910 && at <= 912, `${what}: removed at ${at}, its ttl ran out at 910`);
    // Probed before that, from 0.7 of its ttl, at its own sweeps' pace (12.375 ms).
    const probes = chart.probes().filter(([, to]) => to === "198.18.0.2").map(([at]) => at);
    assert.ok(probes.length > 0 && probes[0] > 712 && probes[0] < 712 + 13, `${what}: ${probes}`);
  }
});

Deno.test("a peer heard again before its ttl runs out stays, its ttl counted from then", () => {
  const chart = Simulated.maintaining();
  chart.hear(0, from(2n, { seq: 1 }));
  chart.hear(3000, from(2n, { seq: 2 }));
  chart.runUntil(6300);
  assert.ok(chart.core.get(2n));
  assert.equal(chart.core.lastHeard(2n), 3000);
  chart.runUntil(7000);
  assert.deepEqual(chart.happened(), [[0, "added", 2n], [6301, "removed", 2n, "expired"]]);
});

Deno.test("a Rust peer lives the bare ttl, and with expiry off nothing leaves", () => {
  const cases: Array<[expiry: ProtocolConfig["expiry"], removedAt: number | undefined]> = [
    [undefined, 3301],
    [{ bareTtl: 300 }, 301],
    [{ bareTtl: 5000 }, 5001],
    [{ enabled: false }, undefined],
  ];
  for (const [expiry, removedAt] of cases) {
    const chart = Simulated.maintaining({ expiry });
    chart.hear(0, rust(7n));
    chart.runUntil(60_000);
    const removed = chart.happened().filter(([, type]) => type === "removed");
    assert.deepEqual(
      removed,
      removedAt === undefined ? [] : [[removedAt, "removed", 7n, "expired"]],
      JSON.stringify(expiry),
    );
  }
});

// --- Probes ---

Deno.test("a quiet peer gets 15 probes, each at the first sweep after 0.7 + 0.01875 i of its ttl", () => {
  const cases: Array<[ttl: number, first: number, period: number]> = [
    // Sweeps every 61.875 ms from 0: the 38th is the first after 0.7 of the ttl, 2310.
    [3300, 2351.25, 61.875],
    [1000, 712.5, 18.75],
    // Beyond a 53 s ttl the sweeps come every second, not every 0.01875 of it.
    [33_000, 23_512.5, 618.75],
    [100_000, 71_000, 1000],
  ];
  for (const [ttl, first, period] of cases) {
    const chart = Simulated.maintaining();
    chart.known(0, 2n, { ttl });
    chart.runUntil(ttl + 10);
    const probes = chart.probes().map(([at]) => at);
    assert.equal(probes[0].toFixed(6), first.toFixed(6), `ttl ${ttl}`);
    assert.equal(probes.length, 15, `ttl ${ttl}`);
    for (const [i, at] of probes.entries()) {
      const late = at - (0.7 + 0.01875 * i) * ttl;
      assert.ok(late > -1e-6 && late <= period + 1e-6, `ttl ${ttl}: probe ${i} at ${at}`);
    }
    assert.equal(chart.core.counters.probes, 15);
    assert.equal(chart.core.counters.probesSuppressed, 0);
    assert.deepEqual(chart.happened().at(-1), [ttl + 1, "removed", 2n, "expired"]);
  }
});

Deno.test("every quiet peer is probed at the first sweep it is due, however many are quiet", () => {
  const chart = Simulated.maintaining();
  for (let id = 2n; id <= 21n; id++) chart.known(Number(id - 2n) / 4, id);
  chart.runUntil(2352);
  const first = chart.probes();
  assert.equal(first.length, 20, "20 quiet peers, 20 probes, one sweep");
  assert.ok(first.every(([at]) => at === first[0][0]));
  chart.runUntil(3400);
  const perPeer = Map.groupBy(chart.probes(), ([, to]) => to);
  assert.ok([...perPeer.values()].every((probes) => probes.length === 15));
  assert.equal(chart.core.counters.probes, 300);
});

Deno.test("under a tight limit every quiet peer is probed once before any is probed again", () => {
  // A burst of 4 and 4 a second in all: a sweep has room for a few, or none.
  const chart = Simulated.maintaining({ limits: { replies: { total: 4 } } });
  // Listening long enough to have heard our announcement: no answers take the tokens.
  for (let id = 2n; id <= 7n; id++) chart.known(Number(id - 2n) * 10, id, { listening: 5000 });
  chart.runUntil(3400);
  const order = chart.probes().map(([, to]) => to);
  assert.deepEqual(order.slice(0, 6), [2, 3, 4, 5, 6, 7].map((id) => `198.18.0.${id}`));
  assert.ok(chart.core.counters.probesSuppressed > 0, "held back, then sent");
});

Deno.test("a probe goes to the address and port the peer's datagrams came from", () => {
  const chart = Simulated.maintaining();
  chart.known(0, 2n, {}, { address: "10.9.9.9", port: 40_000 });
  chart.runUntil(2352);
  const [probe] = chart.unicasts.filter((sent) => sent.announcement.probe);
  assert.deepEqual([probe.to, probe.port], ["10.9.9.9", 40_000]);
  assert.equal(probe.announcement.id, 1n);
  assert.equal(probe.announcement.reply, false);
});

Deno.test("a peer that answers a probe stays, and is probed again only once quiet again", () => {
  const chart = Simulated.maintaining();
  chart.known(0, 2n);
  chart.hear(2400, from(2n, { seq: 17, reply: true }));
  chart.runUntil(6000);
  const first = chart.probes().filter(([at]) => at < 2400).map(([at]) => at.toFixed(2));
  assert.deepEqual(first, ["2351.25"]);
  // Quiet for 0.7 ttl again from 2400: probing starts after 4710.
  assert.ok(chart.probes().filter(([at]) => at >= 2400).every(([at]) => at > 4710));
  assert.deepEqual(chart.happened(), [[0, "added", 2n], [5701, "removed", 2n, "expired"]]);
});

Deno.test("a peer of a longer ttl than the sweeps' period is probed at its own pace", () => {
  const chart = Simulated.maintaining();
  chart.known(0, 3n, { ttl: 33_000 });
  // A short-lived peer, heard all along, keeps the sweeps at 12.375 ms.
  for (let at = 0; at < 34_000; at += 200) chart.hear(at, from(2n, { ttl: 660, seq: at + 1 }));
  chart.runUntil(34_000);
  const probes = chart.probes().filter(([, to]) => to === "198.18.0.3").map(([at]) => at);
  assert.equal(probes.length, 15);
  for (const [i, at] of probes.entries()) {
    const due = (0.7 + 0.01875 * i) * 33_000;
    assert.ok(at > due && at < due + 13, `probe ${i} at ${at}`);
  }
  assert.deepEqual(chart.probes().filter(([, to]) => to === "198.18.0.2"), []);
});

Deno.test("Rust peers are not probed, and a sniffing chart probes no one", () => {
  const sniffing = new Simulated();
  sniffing.core.start("sniff", 0);
  sniffing.hear(0, from(2n));
  sniffing.runUntil(4000);
  assert.deepEqual(sniffing.probes(), []);
  assert.equal(sniffing.multicasts.length, 0);
  assert.equal(sniffing.core.get(2n), undefined, "still expired");

  const chart = Simulated.maintaining();
  chart.hear(0, rust(7n));
  chart.runUntil(4000);
  assert.deepEqual(chart.probes(), []);
});

Deno.test("a ttl beyond an hour is taken as an hour", () => {
  const chart = Simulated.maintaining();
  chart.hear(0, from(2n, { ttl: 0xffff_ffff }));
  chart.runUntil(3_600_000);
  assert.ok(chart.core.get(2n));
  chart.runUntil(3_600_001);
  assert.equal(chart.core.get(2n), undefined);
});

// --- Tombstones ---

Deno.test("a goodbye removes an instance at once, and no replay of it brings it back", () => {
  const cases: Array<[what: string, datagram: Uint8Array, charted: boolean]> = [
    ["its last announcement", from(2n, { seq: 1 }), false],
    ["the goodbye itself", from(2n, { seq: 2, goodbye: true }), false],
    ["a later word of the same incarnation, still in flight", from(2n, { seq: 9 }), false],
    ["an older incarnation", from(2n, { incarnation: 99n, seq: 50 }), false],
    ["a restart", from(2n, { incarnation: 101n, seq: 1 }), true],
  ];
  for (const [what, datagram, charted] of cases) {
    const chart = Simulated.maintaining();
    chart.hear(0, from(2n, { seq: 1 }));
    chart.hear(500, from(2n, { seq: 2, goodbye: true }));
    assert.deepEqual(chart.happened(), [[0, "added", 2n], [500, "removed", 2n, "goodbye"]]);
    const stale = chart.core.counters.dropped.stale;
    chart.hear(550, datagram);
    assert.equal(chart.core.get(2n) !== undefined, charted, what);
    assert.equal(chart.core.counters.dropped.stale - stale, charted ? 0 : 1, what);
  }
});

Deno.test("a goodbye that names no incarnation removes no one and is counted", () => {
  const chart = Simulated.maintaining();
  chart.hear(0, from(2n, { seq: 1 }));
  chart.hear(
    500,
    from(2n, { incarnation: undefined, seq: undefined, ttl: undefined, goodbye: true }),
  );
  assert.deepEqual(chart.happened(), [[0, "added", 2n]]);
  assert.equal(chart.core.counters.dropped["bare-goodbye"], 1);
  assert.ok(chart.core.get(2n));
});

Deno.test("a goodbye is remembered for ten ttls: a replay after that is charted again", () => {
  const cases: Array<[at: number, charted: boolean]> = [
    [500 + 10 * TTL - 1, false],
    [500 + 10 * TTL, true],
  ];
  for (const [at, charted] of cases) {
    const chart = Simulated.maintaining();
    chart.hear(0, from(2n, { seq: 1 }));
    chart.hear(500, from(2n, { seq: 2, goodbye: true }));
    chart.hear(at, from(2n, { seq: 1 }));
    assert.equal(chart.core.get(2n) !== undefined, charted, `replayed at ${at}`);
  }
});

/** A datagram signed with the key the goodbye tests share. */
function signWithShared(datagram: Uint8Array): Uint8Array {
  SHARED_KEYRING.sign(datagram);
  return datagram;
}
const SHARED_KEY = "the key the goodbye tests share";
const SHARED_KEYRING = new Keyring([SHARED_KEY]);

Deno.test("without keys a goodbye bars what was heard of it; a newer word after 100 ms is back", () => {
  // Anyone can forge a goodbye: one for a live instance (its incarnation is in
  // every announcement) removes it only until its next announcement.
  const cases: Array<
    [what: string, at: number, seq: number, incarnation: bigint, charted: boolean]
  > = [
    ["in flight, sent before the goodbye", 599, 9, 100n, false],
    ["its next announcement", 600, 9, 100n, true],
    ["an announcement ten ttls later", 500 + 10 * TTL, 9, 100n, true],
    ["a replay of what was heard", 600, 5, 100n, false],
    ["a replay of what was heard, later", 500 + 10 * TTL - 1, 5, 100n, false],
    ["an older incarnation", 600, 50, 99n, false],
    ["a restart, at once", 500, 1, 101n, true],
  ];
  for (const [what, at, seq, incarnation, charted] of cases) {
    const chart = Simulated.maintaining();
    chart.hear(0, from(2n, { seq: 5 }));
    chart.hear(500, from(2n, { seq: 0x7fff_0000, goodbye: true }));
    assert.deepEqual(chart.happened(), [[0, "added", 2n], [500, "removed", 2n, "goodbye"]]);
    chart.hear(at, from(2n, { seq, incarnation }));
    assert.equal(chart.core.get(2n) !== undefined, charted, what);
  }
});

Deno.test("a goodbye repeated every interval removes an announcing instance only until it announces", () => {
  const chart = Simulated.maintaining();
  for (let round = 0; round < 30; round++) {
    chart.hear(round * 1000, from(2n, { seq: round + 1 }));
    chart.hear(round * 1000 + 1, from(2n, { seq: 0xffff_ffff, goodbye: true }));
  }
  const added = chart.happened().filter(([, type]) => type === "added");
  assert.equal(added.length, 30);
});

Deno.test("with keys a goodbye bars all of its incarnation for an hour", () => {
  const cases: Array<[at: number, seq: number, incarnation: bigint, charted: boolean]> = [
    [600, 9, 100n, false],
    [500 + 3_600_000 - 1, 9, 100n, false],
    [500 + 3_600_000, 9, 100n, true],
    [600, 1, 101n, true],
  ];
  for (const [at, seq, incarnation, charted] of cases) {
    const chart = Simulated.maintaining({ keys: [SHARED_KEY] });
    const keyed = { signerId: SHARED_KEYRING.signerId };
    chart.hear(0, signWithShared(from(2n, { seq: 5, ...keyed })));
    chart.hear(500, signWithShared(from(2n, { seq: 6, goodbye: true, ...keyed })));
    chart.hear(at, signWithShared(from(2n, { seq, incarnation, ...keyed })));
    assert.equal(
      chart.core.get(2n) !== undefined,
      charted,
      `seq ${seq} of ${incarnation} at ${at}`,
    );
  }
});

Deno.test("a goodbye of an instance not charted bars nothing without keys; with keys its incarnation", () => {
  const cases: Array<[keys: boolean, incarnation: bigint, charted: boolean]> = [
    // The largest incarnation would bar every instance yet to start with that id.
    [false, 0xffff_ffff_ffff_ffffn, true],
    [false, 100n, true],
    [true, 100n, false],
    [true, 101n, true],
  ];
  for (const [keys, incarnation, charted] of cases) {
    const chart = Simulated.maintaining(keys ? { keys: [SHARED_KEY] } : {});
    const sign = keys ? signWithShared : (datagram: Uint8Array) => datagram;
    const keyed = keys ? { signerId: SHARED_KEYRING.signerId } : {};
    chart.hear(0, sign(from(2n, { incarnation: 100n, seq: 5, goodbye: true, ...keyed })));
    chart.hear(10, sign(from(2n, { incarnation, seq: 4, ...keyed })));
    assert.equal(chart.core.get(2n) !== undefined, charted, `keys ${keys}, ${incarnation}`);
    assert.equal(chart.core.counters.dropped.stale, charted ? 1 : 2);
  }
});

Deno.test("after expiry a replayed datagram is stale, and only a newer one brings the instance back", () => {
  const cases: Array<[seq: number, charted: boolean]> = [
    [4, false],
    [5, false],
    [6, true],
  ];
  for (const [seq, charted] of cases) {
    const chart = Simulated.maintaining();
    chart.hear(0, from(2n, { seq: 5 }));
    chart.runUntil(4000);
    assert.equal(chart.core.get(2n), undefined);
    chart.hear(4000, from(2n, { seq }));
    assert.equal(chart.core.get(2n) !== undefined, charted, `seq ${seq} after seq 5`);
    assert.equal(chart.core.counters.dropped.stale, charted ? 0 : 1);
  }
});

Deno.test("a charted instance's older or repeated sequence numbers are stale and change nothing", () => {
  const chart = Simulated.maintaining();
  chart.hear(0, from(2n, { seq: 5 }));
  chart.hear(100, from(2n, { seq: 5, ports: [1] }));
  chart.hear(200, from(2n, { seq: 3, ports: [2] }));
  assert.equal(chart.core.counters.dropped.stale, 2);
  assert.equal(chart.core.lastHeard(2n), 0);
  assert.deepEqual(chart.core.get(2n), { id: 2n, address: "198.18.0.2", ports: [9002] });
});

Deno.test("a forgotten instance heard again is new again", () => {
  const chart = Simulated.maintaining();
  chart.hear(0, from(2n, { seq: 1 }));
  assert.equal(chart.core.forget(2n), true);
  assert.equal(chart.core.forget(2n), false);
  chart.hear(100, from(2n, { seq: 1 }));
  assert.deepEqual(chart.happened(), [
    [0, "added", 2n],
    [0, "removed", 2n, "forgotten"],
    [100, "added", 2n],
  ]);
});

// --- Restarts and rivals ---

Deno.test("a restart replaces the entry: updated when its data changed, silent when not", () => {
  const cases: Array<[ports: number[], happened: Array<[number, string, bigint]>]> = [
    [[9999], [[0, "added", 2n], [500, "updated", 2n]]],
    [[9002], [[0, "added", 2n]]],
  ];
  for (const [ports, happened] of cases) {
    const chart = Simulated.maintaining();
    chart.hear(0, from(2n, { incarnation: 100n, seq: 40 }));
    chart.hear(500, from(2n, { incarnation: 200n, seq: 1, ports }));
    assert.deepEqual(chart.happened(), happened, `ports ${ports}`);
    assert.deepEqual(chart.core.get(2n), { id: 2n, address: "198.18.0.2", ports });
    assert.equal(chart.core.lastHeard(2n), 500);
    // The new incarnation's sequence numbers start over and are not stale.
    chart.hear(600, from(2n, { incarnation: 200n, seq: 2, ports }));
    assert.equal(chart.core.lastHeard(2n), 600);
    assert.equal(chart.core.counters.dropped.stale, 0);
  }
});

Deno.test("late datagrams of the incarnation a restart replaced are stale, and no collision", () => {
  const chart = Simulated.maintaining();
  chart.hear(0, from(2n, { incarnation: 100n, seq: 10 }));
  chart.hear(500, from(2n, { incarnation: 200n, seq: 1, ports: [9999] }));
  chart.hear(600, from(2n, { incarnation: 100n, seq: 10 }));
  // Two that were held up on the way, in the order sent.
  chart.hear(700, from(2n, { incarnation: 100n, seq: 8 }));
  chart.hear(800, from(2n, { incarnation: 100n, seq: 9 }));
  assert.deepEqual(chart.happened(), [[0, "added", 2n], [500, "updated", 2n]]);
  assert.equal(chart.core.counters.dropped.stale, 3);
  assert.deepEqual(chart.core.get(2n)?.address, "198.18.0.2");
});

Deno.test("two live incarnations of one id are reported once, and the chart keeps the newer", () => {
  const cases: Array<[first: bigint, happened: Array<[number, string, bigint, ...unknown[]]>]> = [
    // The older first: the newer replaces it, as a restart would; the older speaking again reveals it.
    [100n, [[0, "added", 2n], [100, "updated", 2n], [200, "collision", 2n, false]]],
    // The newer first: the older is stale, and reported on its second word.
    [200n, [[0, "added", 2n], [300, "collision", 2n, false]]],
  ];
  for (const [first, happened] of cases) {
    const chart = Simulated.maintaining();
    const second = first === 100n ? 200n : 100n;
    const portsOf = (incarnation: bigint) => [incarnation === 100n ? 9100 : 9200];
    for (let round = 0; round < 20; round++) {
      for (const [i, incarnation] of [first, second].entries()) {
        chart.hear(
          round * 200 + i * 100,
          from(2n, { incarnation, seq: round + 1, ports: portsOf(incarnation) }),
        );
      }
    }
    assert.deepEqual(chart.happened(), happened, `incarnation ${first} first`);
    const collision = chart.events.find((event) => event.type === "collision")!;
    assert.deepEqual(collision.entry, { id: 2n, address: "198.18.0.2", ports: [9100] });
    assert.deepEqual(chart.core.get(2n), { id: 2n, address: "198.18.0.2", ports: [9200] });
  }
});

Deno.test("another instance with our id is reported once, on its second word; our own echo is not", () => {
  const chart = Simulated.maintaining();
  // Our own announcement, heard back.
  chart.hear(10, chart.multicasts[0].data, { address: "198.18.0.1" });
  assert.equal(chart.core.counters.dropped.own, 1);
  for (let seq = 1; seq <= 5; seq++) {
    chart.hear(100 * seq, from(1n, { incarnation: 77n, seq, ports: [9999] }));
  }
  // Old words replayed, even in order, are no second word.
  chart.hear(550, from(1n, { incarnation: 79n, seq: 5 }));
  chart.hear(560, from(1n, { incarnation: 79n, seq: 3 }));
  chart.hear(570, from(1n, { incarnation: 79n, seq: 4 }));
  // A goodbye is no second word: only a live instance collides.
  chart.hear(600, from(1n, { incarnation: 78n, seq: 1 }));
  chart.hear(700, from(1n, { incarnation: 78n, seq: 2, goodbye: true }));
  assert.deepEqual(chart.happened(), [[200, "collision", 1n, true]]);
  assert.deepEqual(chart.events[0].entry, { id: 1n, address: "198.18.0.1", ports: [9999] });
  assert.equal(chart.core.size, 1);
});

// --- Hijacks and replays ---

/** Our wall clock at 0, in the high bits of our incarnation; peer 2 started a minute earlier. */
const WALL = Date.UTC(2026, 0, 1);
const PEER = incarnationOf(WALL - 60_000, 2);

/** Peer 2 speaking every `every` ms from `start` to `end`, its sequence numbers from `seq`. */
function speaking(
  chart: Simulated,
  incarnation: bigint,
  [start, end, every]: [number, number, number],
  seq = 1,
): void {
  for (let at = start; at <= end; at += every) {
    chart.hear(at, from(2n, { incarnation, seq: seq++ }));
  }
}

Deno.test("without keys, one forged word of a later incarnation holds a live id only until the instance speaks thrice", () => {
  const cases: Array<[forged: bigint, happened: Array<[number, string, bigint, ...unknown[]]>]> = [
    // From the future (the maximum; a minute and a bit ahead): not trusted to be newer.
    [2n ** 64n - 1n, [[0, "added", 2n]]],
    [incarnationOf(WALL + 300 + 60_001, 0), [[0, "added", 2n]]],
    // Plausible: it replaces the entry, and the instance still speaking takes it back
    // on its third word with none from the forger between.
    [
      incarnationOf(WALL + 30_000, 0),
      [[0, "added", 2n], [300, "updated", 2n], [1000, "collision", 2n, false], [
        3000,
        "updated",
        2n,
      ]],
    ],
  ];
  for (const [forged, happened] of cases) {
    const chart = Simulated.maintaining({ incarnation: incarnationOf(WALL, 1) });
    chart.hear(0, from(2n, { incarnation: PEER }));
    const hijack = { incarnation: forged, ttl: 3_600_000, ports: [1] };
    chart.hear(300, from(2n, hijack), { address: "198.18.0.66" });
    speaking(chart, PEER, [1000, 20_000, 1000], 2);
    assert.deepEqual(chart.happened(), happened, `forged ${forged}`);
    assert.deepEqual(chart.core.get(2n), { id: 2n, address: "198.18.0.2", ports: [9002] });
  }
});

Deno.test("without keys, an instance that restarts after a hijack takes its id back", () => {
  const chart = Simulated.maintaining({ incarnation: incarnationOf(WALL, 1) });
  chart.hear(0, from(2n, { incarnation: PEER }));
  const forged = { incarnation: incarnationOf(WALL + 30_000, 0), ttl: 3_600_000, ports: [1] };
  chart.hear(300, from(2n, forged), { address: "198.18.0.66" });
  // Its goodbye is of the incarnation the forger replaced; its restart's is older than the forged.
  chart.hear(1000, from(2n, { incarnation: PEER, seq: 2, goodbye: true }));
  speaking(chart, incarnationOf(WALL + 1500, 3), [1500, 3000, 100]);
  assert.deepEqual(chart.happened(), [
    [0, "added", 2n],
    [300, "updated", 2n],
    [1700, "updated", 2n],
  ]);
  assert.deepEqual(chart.core.get(2n), { id: 2n, address: "198.18.0.2", ports: [9002] });
});

Deno.test("without keys, a future incarnation is charted but leaves no tombstone to keep the real one out", () => {
  const chart = Simulated.maintaining({ incarnation: incarnationOf(WALL, 1) });
  // A clock far ahead, or a forger: charted all the same, as an id no one else has.
  chart.hear(0, from(2n, { incarnation: 2n ** 64n - 1n, ports: [1] }), { address: "198.18.0.66" });
  chart.runUntil(5000);
  chart.hear(5000, from(2n, { incarnation: PEER }));
  assert.deepEqual(chart.happened().map(([, type, id, reason]) => [type, id, reason]), [
    ["added", 2n, undefined],
    ["removed", 2n, "expired"],
    ["added", 2n, undefined],
  ]);
  assert.deepEqual(chart.core.get(2n), { id: 2n, address: "198.18.0.2", ports: [9002] });
});

Deno.test("with keys, an older incarnation is a replay, and no collision unless it is the one replaced speaking anew", () => {
  const keys = ["a shared key, sixteen or more"];
  const keyring = new Keyring(keys);
  const signed = (fields: Partial<Announcement>) => {
    const datagram = from(2n, { signerId: keyring.signerId, ...fields });
    keyring.sign(datagram);
    return datagram;
  };
  const cases: Array<
    [witnessed: boolean, happened: Array<[number, string, bigint, ...unknown[]]>]
  > = [
    // Charted at incarnation 200: captures of 100, which this chart never heard, replayed in order.
    [false, [[0, "added", 2n]]],
    // This chart saw 100 replaced by 200: 100 speaking past its last word is a second key holder.
    [true, [[0, "added", 2n], [50, "updated", 2n], [300, "collision", 2n, false]]],
  ];
  for (const [witnessed, happened] of cases) {
    const chart = Simulated.maintaining({ keys });
    if (witnessed) chart.hear(0, signed({ incarnation: 100n, seq: 2, ports: [9100] }));
    chart.hear(witnessed ? 50 : 0, signed({ incarnation: 200n, seq: 1 }));
    for (let seq = 1; seq <= 5; seq++) {
      chart.hear(100 * seq, signed({ incarnation: 100n, seq, ports: [9100] }));
    }
    assert.deepEqual(chart.happened(), happened, `witnessed ${witnessed}`);
    assert.deepEqual(chart.core.get(2n), { id: 2n, address: "198.18.0.2", ports: [9002] });
    assert.equal(chart.core.counters.dropped.stale, 5);
  }
});

Deno.test("with keys, a replayed capture of an instance this chart never knew lives its announced ttl", () => {
  const keys = ["a shared key, sixteen or more"];
  const keyring = new Keyring(keys);
  const chart = Simulated.maintaining({ keys });
  for (const [at, seq] of [[1000, 7], [3000, 8], [3500, 8]]) {
    const capture = from(2n, { incarnation: 100n, seq, signerId: keyring.signerId });
    keyring.sign(capture);
    chart.hear(at, capture);
  }
  chart.runUntil(10_000);
  // Each capture with a newer sequence number lives a ttl from its replay; a repeat does not.
  const [added, removed] = chart.happened();
  assert.deepEqual(added, [1000, "added", 2n]);
  assert.deepEqual(removed.slice(1), ["removed", 2n, "expired"]);
  assert.ok(removed[0] > 3000 + TTL && removed[0] <= 3000 + TTL + 2, `removed at ${removed[0]}`);
});

// --- Addresses ---

Deno.test("a peer heard on another path keeps its address while the known one is alive", () => {
  const cases: Array<[at: number, address: string]> = [
    // Within half its ttl of the last datagram from the known address: kept.
    [1000, "198.18.0.2"],
    [1649, "198.18.0.2"],
    // Beyond that, the known path seems gone: the new address is charted.
    [1650, "192.168.1.2"],
  ];
  for (const [at, address] of cases) {
    const chart = Simulated.maintaining();
    // Heard enough there to pay for its probes.
    chart.known(0, 2n, {}, { address: "198.18.0.2" });
    chart.hear(at, from(2n, { seq: 17 }), { address: "192.168.1.2", port: 40_000 });
    assert.equal(chart.core.get(2n)?.address, address, `heard elsewhere at ${at}`);
    const updated = chart.happened().filter(([, type]) => type === "updated");
    assert.deepEqual(updated, address === "198.18.0.2" ? [] : [[at, "updated", 2n]]);
    // Probes go where the charted address's datagrams came from.
    chart.runUntil(at + 2380);
    const [probe] = chart.unicasts.filter((sent) => sent.announcement.probe && sent.at > at);
    assert.deepEqual([probe.to, probe.port], [address, address === "198.18.0.2" ? 8080 : 40_000]);
  }
});

Deno.test("a dual-stack peer is one entry: its IPv4 address, and both in addresses", () => {
  const chart = Simulated.maintaining();
  const v6 = { address: "fd00::2", port: 40_006 };
  // Heard over IPv6 first: charted there, until its IPv4 announcement of the same round.
  chart.hear(0, from(2n, { seq: 1 }), v6);
  assert.deepEqual(chart.core.get(2n), { id: 2n, address: "fd00::2", ports: [9002] });
  chart.hear(1, from(2n, { seq: 2 }), { port: 40_004 });
  const both = {
    id: 2n,
    address: "198.18.0.2",
    addresses: ["198.18.0.2", "fd00::2"],
    ports: [9002],
  };
  assert.deepEqual(chart.core.get(2n), both);
  // Rounds with the IPv4 datagram numbered first but heard last: it keeps its address.
  for (let round = 1; round <= 5; round++) {
    const at = 1000 * round;
    chart.hear(at, from(2n, { seq: 2 * round + 2 }), v6);
    chart.hear(at + 1, from(2n, { seq: 2 * round + 1 }), { port: 40_004 });
  }
  assert.deepEqual(chart.core.get(2n), both);
  assert.deepEqual(chart.happened(), [[0, "added", 2n], [1, "updated", 2n]]);
  // Probes go to the IPv4 address, at the port its datagrams came from there.
  chart.runUntil(5001 + 3000);
  const [probe] = chart.unicasts.filter((sent) => sent.announcement.probe);
  assert.deepEqual([probe.to, probe.port], ["198.18.0.2", 40_004]);
});

Deno.test("a chart of one family drops and counts what the other family sends it", () => {
  const v6only = Simulated.maintaining({ families: [6] });
  v6only.hear(0, from(2n, { seq: 1 }));
  v6only.hear(1, from(3n, { seq: 1 }), { address: "fd00::3" });
  assert.deepEqual(v6only.core.entries().map((entry) => entry.id), [3n]);
  assert.equal(v6only.core.counters.dropped.family, 1);
  const v4only = Simulated.maintaining({ families: [4] });
  v4only.hear(0, from(2n, { seq: 1 }));
  v4only.hear(1, from(3n, { seq: 1 }), { address: "fd00::3" });
  assert.deepEqual(v4only.core.entries().map((entry) => entry.id), [2n]);
  assert.equal(v4only.core.counters.dropped.family, 1);
  const both = Simulated.maintaining({ families: [4, 6] });
  both.hear(0, from(2n, { seq: 1 }));
  both.hear(1, from(3n, { seq: 1 }), { address: "fd00::3" });
  assert.equal(both.core.entries().length, 2);
  assert.equal(both.core.counters.dropped.family, 0);
});

Deno.test("a datagram older than the last adds no address, though it refreshes a known one", () => {
  const chart = Simulated.maintaining();
  chart.hear(0, from(2n, { seq: 5 }));
  chart.hear(1, from(2n, { seq: 4 }), { address: "fd00::66" });
  assert.deepEqual(chart.core.get(2n), { id: 2n, address: "198.18.0.2", ports: [9002] });
  assert.equal(chart.core.counters.dropped.stale, 1);
});

Deno.test("a dual-stack peer heard only over IPv6 for half its ttl is charted there", () => {
  const chart = Simulated.maintaining();
  chart.hear(0, from(2n, { seq: 1 }));
  chart.hear(0, from(2n, { seq: 2 }), { address: "fd00::2" });
  chart.hear(1650, from(2n, { seq: 3 }), { address: "fd00::2" });
  assert.deepEqual(chart.core.get(2n), {
    id: 2n,
    address: "fd00::2",
    addresses: ["fd00::2", "198.18.0.2"],
    ports: [9002],
  });
  // Past its ttl, the IPv4 address is gone from the entry.
  chart.hear(3400, from(2n, { seq: 4 }), { address: "fd00::2" });
  assert.deepEqual(chart.core.get(2n), { id: 2n, address: "fd00::2", ports: [9002] });
});

// --- A full chart ---

Deno.test("a full chart evicts only an unconfirmed newcomer, and turns the next away once all are confirmed", () => {
  const chart = Simulated.maintaining({ limits: { maxEntries: 3 } });
  chart.hear(0, from(2n));
  chart.hear(10, from(3n));
  chart.hear(20, from(4n));
  // 2 is heard again: confirmed. The newest unconfirmed (4) makes room for 5.
  chart.hear(30, from(2n, { seq: 2 }));
  chart.hear(40, from(5n));
  assert.deepEqual(chart.happened().slice(3), [[40, "removed", 4n, "evicted"], [40, "added", 5n]]);
  chart.hear(50, from(3n, { seq: 2 }));
  chart.hear(60, from(5n, { seq: 2 }));
  const answers = chart.answers().length;
  chart.hear(70, from(6n));
  chart.hear(80, from(7n));
  assert.deepEqual(chart.core.entries().map((entry) => entry.id).sort(), [2n, 3n, 5n]);
  assert.equal(chart.events.length, 5);
  assert.equal(chart.core.counters.evicted, 1);
  assert.equal(chart.core.counters.dropped.full, 2);
  assert.equal(chart.answers().length, answers, "a newcomer turned away is not answered");
});

Deno.test("a full chart of confirmed fakes takes a newcomer once they were quiet 10 s, never a peer that speaks", () => {
  const chart = Simulated.maintaining({ limits: { maxEntries: 4 } });
  // 3, 4 and 5 are fakes, each heard twice at once and claiming an hour; 2 speaks every second.
  const heard: Array<[number, Uint8Array]> = [];
  for (const id of [3n, 4n, 5n]) {
    heard.push([0, from(id, { ttl: 3_600_000, seq: 1 })], [
      1,
      from(id, { ttl: 3_600_000, seq: 2 }),
    ]);
  }
  for (let at = 0, seq = 1; at <= 20_000; at += 1000) heard.push([at, from(2n, { seq: seq++ })]);
  // A newcomer tries at 1500, at 10,001 (the fakes were quiet 10 s) and from 10,200 on
  // (a scan that found none is not done again for 100 ms).
  const newcomer = [1500, 10_001];
  for (let at = 10_200; at <= 20_000; at += 1000) newcomer.push(at);
  for (const [i, at] of newcomer.entries()) heard.push([at, from(6n, { seq: i + 1 })]);
  for (const [at, data] of heard.sort((a, b) => a[0] - b[0])) chart.hear(at, data);
  assert.deepEqual(chart.happened().slice(4), [
    [10_200, "removed", 3n, "evicted"],
    [10_200, "added", 6n],
  ]);
  assert.deepEqual(chart.core.entries().map((entry) => entry.id).sort(), [2n, 4n, 5n, 6n]);
  assert.equal(chart.core.counters.dropped.full, 2);
});

// --- Answers ---

Deno.test("a newcomer is answered unless its listening field shows it heard our last announcement", () => {
  // We started at 0 and announced again at 100; the newcomer is heard at 150.
  const cases: Array<[at: number, listening: number, answered: boolean]> = [
    [150, 0, true],
    [150, 30, true],
    [150, 51, true],
    [150, 52, true],
    [150, 53, false],
    [150, 5000, false],
    // Our first round: one that started within 2 ms of our first announcement heard it.
    [1, 0, false],
    [2, 1, false],
    [3, 0, true],
    [50, 0, true],
  ];
  for (const [at, listening, answered] of cases) {
    const chart = Simulated.maintaining();
    chart.hear(at, from(2n, { listening }));
    assert.deepEqual(
      chart.answers(),
      answered ? [[at, "198.18.0.2"]] : [],
      `heard at ${at}, listening ${listening}`,
    );
    assert.equal(chart.core.counters.replies, answered ? 1 : 0);
    assert.equal(chart.core.counters.repliesSuppressed, 0, "not wanted is not suppressed");
  }
});

Deno.test("the answer goes to the newcomer's address and port, and says we are listening", () => {
  const chart = Simulated.maintaining();
  chart.hear(150, from(2n), { address: "198.18.0.9", port: 40_000 });
  const [answer] = chart.unicasts;
  assert.deepEqual([answer.to, answer.port], ["198.18.0.9", 40_000]);
  assert.deepEqual(
    answer.announcement,
    {
      header: HEADER,
      id: 1n,
      ports: [9001],
      reply: true,
      ttl: TTL,
      incarnation: 50n,
      seq: 3,
      listening: 150,
    },
  );
});

Deno.test("a bare Rust announcement gets the bare 18-byte announcement back", () => {
  const chart = Simulated.maintaining();
  chart.hear(100, rust(7n));
  assert.equal(chart.unicasts.length, 1);
  assert.deepEqual(
    chart.unicasts[0].data,
    encodeAnnouncement({ header: HEADER, id: 1n, ports: [9001], reply: false }),
  );
  assert.equal(chart.unicasts[0].data.length, 18);
});

Deno.test("an answer larger than the datagram that asked for it is suppressed", () => {
  // Custom-message charts: the answer carries our message, the trigger theirs;
  // the other fields match ours in size.
  const cases: Array<[ours: string, theirs: Partial<Announcement>, answered: boolean]> = [
    ["abcdef", { msg: "abcdef" }, true],
    ["abcdef", { msg: "abcdefg" }, true],
    ["abcdef", { msg: "abcde" }, false],
    ["a".repeat(500), { msg: "b" }, false],
    // Without the listening field (7 bytes) it is smaller than our answer.
    ["abcdef", { msg: "abcdef", listening: undefined }, false],
    ["abcdef", { msg: "abcdefghijklm", listening: undefined }, true],
  ];
  for (const [ours, theirs, answered] of cases) {
    const chart = Simulated.maintaining({ ports: undefined, msg: ours });
    const trigger = from(2n, { ports: undefined, ...theirs });
    chart.hear(100, trigger);
    const what = `${ours} to ${JSON.stringify(theirs)}`;
    assert.equal(chart.unicasts.length, answered ? 1 : 0, what);
    assert.equal(chart.core.counters.repliesSuppressed, answered ? 0 : 1, what);
    for (const answer of chart.unicasts) assert.ok(answer.data.length <= trigger.length, what);
    assert.ok(chart.core.get(2n), "charted all the same");
  }
});

Deno.test("a signed chart never answers a bare announcement: it does not even chart it", () => {
  const keys = ["a shared key, sixteen or more"];
  const chart = Simulated.maintaining({ keys });
  chart.hear(100, rust(7n));
  assert.equal(chart.unicasts.length, 0);
  assert.equal(chart.core.counters.dropped.unsigned, 1);
  assert.equal(chart.core.get(7n), undefined);
  // A signed newcomer is answered, signed.
  const keyring = new Keyring(keys);
  const signed = from(2n, { signerId: keyring.signerId });
  keyring.sign(signed);
  chart.hear(200, signed);
  assert.equal(chart.unicasts.length, 1);
  const answer = chart.unicasts[0].data;
  assert.equal(keyring.verify(answer, findSignature(answer)), undefined);
});

Deno.test("no answer goes to a source on no connected subnet", () => {
  const chart = Simulated.maintaining();
  chart.onSubnet = (address) => address.startsWith("198.18.0.");
  chart.hear(100, from(2n), { address: "192.0.2.7" });
  chart.hear(200, from(3n));
  assert.deepEqual(chart.answers(), [[200, "198.18.0.3"]]);
  assert.equal(chart.core.counters.repliesSuppressed, 1);
  assert.ok(chart.core.get(2n), "charted all the same");
});

Deno.test("answers stay within the per-source and total rate limits", () => {
  type Case = [what: string, perSource: number, total: number, sources: string[], answered: number];
  const cases: Case[] = [
    ["one source: a burst of twice its rate", 2, 1000, Array(6).fill("198.18.0.9"), 4],
    ["loopback is bound only by the total", 2, 1000, Array(6).fill("127.0.0.1"), 6],
    ["many sources: the total", 50, 3, ["198.18.0.1", "198.18.0.2", "198.18.0.3", "198.18.0.4"], 3],
  ];
  for (const [what, perSource, total, sources, answered] of cases) {
    const chart = Simulated.maintaining({ limits: { replies: { perSource, total } } });
    for (const [i, address] of sources.entries()) {
      chart.hear(100, from(BigInt(10 + i)), { address });
    }
    assert.equal(chart.core.counters.replies, answered, what);
    assert.equal(chart.core.counters.repliesSuppressed, sources.length - answered, what);
    assert.equal(chart.core.size, 1 + sources.length, `${what}: all charted`);
  }
});

Deno.test("a source's answers refill with time at its rate", () => {
  const chart = Simulated.maintaining({ limits: { replies: { perSource: 2 } } });
  let id = 10n;
  const burst = (at: number) => {
    for (let i = 0; i < 10; i++) chart.hear(at, from(id++), { address: "198.18.0.9" });
  };
  burst(100);
  burst(600);
  burst(10_600);
  assert.deepEqual(
    Map.groupBy(chart.answers(), ([at]) => at).entries().map(([at, all]) => [at, all.length])
      .toArray(),
    [[100, 4], [600, 1], [10_600, 4]],
  );
});

Deno.test("answers, sniffers and datagrams handed over in the process are not answered; probes are", () => {
  const chart = Simulated.maintaining();
  chart.hear(100, from(2n, { reply: true }));
  chart.hear(200, from(3n), { handedOverAt: 150 });
  assert.equal(chart.unicasts.length, 0);
  assert.equal(chart.core.lastHeard(3n), 150, "handed over: heard when it was sent");
  chart.hear(300, from(2n, { seq: 2, probe: true }));
  assert.deepEqual(chart.answers(), [[300, "198.18.0.2"]]);

  const sniffing = new Simulated();
  sniffing.core.start("sniff", 0);
  sniffing.hear(100, from(2n));
  sniffing.hear(200, from(2n, { seq: 2, probe: true }));
  assert.equal(sniffing.unicasts.length, 0);
  assert.ok(sniffing.core.get(2n));
});

// --- What a source may get back ---

/** The bytes a chart unicast to an address. */
function bytesTo(chart: Simulated, address: string): number {
  return chart.unicasts.filter(({ to }) => to === address).reduce(
    (sum, { data }) => sum + data.length,
    0,
  );
}

Deno.test("forged announcements from one address get back no more bytes than they brought", () => {
  const victim = { address: "198.18.0.66", port: 5555 };
  // Each a new id at the victim's address, heard once, then quiet until it expires.
  const cases: Array<[what: string, forged: (i: number) => Uint8Array]> = [
    ["newcomers of our size: answered, then probed", (i) => from(BigInt(1000 + i))],
    // Without the listening field: 47 bytes, where our answer takes 54.
    [
      "newcomers smaller than our answer: probed",
      (i) => from(BigInt(1000 + i), { listening: undefined }),
    ],
    ["probes: each asks for an answer", (i) => from(BigInt(1000 + i), { probe: true })],
    ["Rust newcomers: answered bare, never probed", (i) => rust(BigInt(1000 + i))],
  ];
  for (const [what, forged] of cases) {
    const chart = Simulated.maintaining();
    let received = 0;
    for (let i = 0; i < 300; i++) {
      const datagram = forged(i);
      received += datagram.length;
      chart.hear(10 * i, datagram, victim);
    }
    chart.runUntil(3000 + 2 * TTL);
    const sent = bytesTo(chart, victim.address);
    assert.ok(sent <= received, `${what}: ${sent} bytes back for ${received}`);
    assert.ok(sent > 0, `${what}: what the credit covers still goes`);
    const counters = chart.core.counters;
    assert.equal(counters.replies + counters.probes, chart.unicasts.length, what);
  }
});

Deno.test("a probe the address has no credit for waits, and goes once the address is heard again", () => {
  const chart = Simulated.maintaining();
  // Heard once, after our first round, and answered: the answer spent what it brought.
  chart.hear(150, from(2n));
  chart.runUntil(3000);
  assert.deepEqual(chart.probes(), []);
  assert.equal(chart.core.counters.probesSuppressed, 1, "held back at 9 sweeps from 2501, once");
  // Another instance at that address, which heard us and wants no answer, pays for it.
  chart.hear(3000, from(3n, { listening: 5000 }), { address: "198.18.0.2" });
  chart.runUntil(3100);
  assert.deepEqual(chart.probes().map(([at, to]) => [at.toFixed(3), to]), [
    ["3058.125", "198.18.0.2"],
  ]);
});

Deno.test("a quiet peer the credit cannot pay a probe for is named in the next round, and answers it", () => {
  const chart = Simulated.maintaining();
  // Heard once, after our first round, and answered: nothing left to pay for a probe.
  chart.hear(150, from(2n));
  chart.runUntil(2501.25);
  assert.deepEqual(chart.probes(), []);
  assert.equal(chart.core.counters.probesSuppressed, 1);
  // The next round names it (within one interval of the ramp, some 330 ms here).
  const asking = () => chart.multicasts.filter(({ announcement }) => announcement.asks);
  while (asking().length === 0) chart.runUntil(chart.core.deadline());
  const [named] = asking();
  assert.ok(named.at > 2501 && named.at < 2501 + 400, `named at ${named.at}`);
  assert.deepEqual(named.announcement.asks, [2n]);
  assert.equal(chart.core.counters.probesAsked, 1);
  // Its answer keeps it, and no round names it again while it speaks.
  chart.hear(named.at + 1, from(2n, { seq: 2, reply: true }));
  for (let at = named.at + 500; at < 4_400; at += 500) {
    chart.hear(at, from(2n, { seq: Math.round(at), listening: Math.round(at) }));
  }
  chart.runUntil(4_400);
  assert.ok(chart.core.get(2n));
  assert.equal(asking().length, 1);
  // Gone quiet for good, it is named in each round until it expires, as it would be probed.
  chart.runUntil(10_000);
  assert.ok(chart.core.counters.probesAsked > 1);
  assert.deepEqual(chart.happened().map(([, type]) => type), ["added", "removed"]);
});

Deno.test("a round that names us is answered as a probe; one that names others is not", () => {
  const cases: Array<[what: string, asks: bigint[] | undefined, answered: boolean]> = [
    ["names us", [7n, 1n], true],
    ["names others", [7n, 8n], false],
    ["names no one", undefined, false],
  ];
  for (const [what, asks, answered] of cases) {
    const chart = Simulated.maintaining();
    // Known, and listening since long before our rounds: no newcomer's answer.
    chart.hear(150, from(2n, { listening: 10_000 }));
    chart.hear(1_150, from(2n, { seq: 2, listening: 11_000, asks }));
    assert.deepEqual(chart.answers(), answered ? [[1_150, "198.18.0.2"]] : [], what);
    assert.equal(chart.core.counters.replies, answered ? 1 : 0, what);
  }
});

Deno.test("a round names as many quiet peers as fit beside our data, those named least first", () => {
  const chart = Simulated.maintaining();
  // 150 peers with a 33 s ttl, heard once from addresses that sent nothing else, and
  // listening since before our rounds: each one's datagram pays for one probe, at 23,250.
  for (let i = 0; i < 150; i++) {
    chart.hear(150, from(BigInt(1_000 + i), { listening: 10_000, ttl: 33_000 }), {
      address: `198.18.${1 + (i >> 8)}.${i & 0xff}`,
    });
  }
  chart.runUntil(26_000);
  assert.equal(chart.probes().length, 150);
  const asking = chart.multicasts.filter(({ announcement }) => announcement.asks);
  assert.ok(chart.multicasts.every(({ data }) => data.length <= 1024));
  // 54 bytes of ours, then 3 and 8 per id: 120 in 1,024; the next round starts with the 30 left.
  const [first, second] = asking.map(({ announcement }) => announcement.asks!);
  assert.equal(first.length, 120);
  assert.deepEqual(
    second.slice(0, 30).toSorted(),
    Array.from({ length: 30 }, (_, i) => 1_120n + BigInt(i)),
  );
  assert.equal(new Set([...first, ...second]).size, 150);
});

/**
 * Forges 200 bare announcements from one victim, one every 10 ms from 200 ms
 * on (after the charts' first round, in which they answer no newcomer), each
 * received once by every process and handed to each of its charts; asserts
 * that the charts sent the victim more than `most - 1` times and at most
 * `most` times the bytes.
 */
function assertSentBack(what: string, processes: Simulated[][], most: number): void {
  const victim = { address: "198.18.0.66", port: 5555 };
  let received = 0;
  for (let i = 0; i < 200; i++) {
    const at = 200 + 10 * i;
    const data = rust(BigInt(1000 + i));
    received += data.length;
    for (const process of processes) {
      const arrival = { ...victim, data, handedOverAt: undefined, reading: undefined };
      for (const chart of process) {
        chart.runUntil(at);
        chart.core.handle(at, arrival);
      }
    }
  }
  const charts = processes.flat();
  for (const chart of charts) chart.runUntil(2200 + TTL);
  const sent = charts.reduce((sum, chart) => sum + bytesTo(chart, victim.address), 0);
  assert.ok(sent <= most * received, `${what}: ${sent} bytes back for ${received}`);
  assert.ok(sent > (most - 1) * received, `${what}: ${sent} bytes back for ${received}`);
}

Deno.test("charts that share a credit send a source no more in all than they received from it", () => {
  const cases: Array<[what: string, shared: boolean, most: number]> = [
    // The shell's case: one credit for the process, one datagram counted once.
    ["one credit for all", true, 1],
    // Each chart on its own answers each datagram it heard.
    ["a credit each", false, 20],
  ];
  for (const [what, shared, most] of cases) {
    const credit = new SourceCredit();
    const charts = Array.from(
      { length: 20 },
      (_, i) => Simulated.maintaining({ id: BigInt(i + 1), ...shared ? { credit } : {} }),
    );
    // One process, which hands each datagram to every chart.
    assertSentBack(what, [charts], most);
  }
});

Deno.test("processes on one host that know each other's charts send a source no more in all than it sent", () => {
  const host = "198.18.0.1";
  const cases: Array<[what: string, known: boolean, most: number]> = [
    // Each chart earns one twentieth of what it hears: the host, the whole of it.
    ["the host's charts charted", true, 1],
    // Knowing none of the others, each process earns it all, and spends it.
    ["none charted", false, 4],
  ];
  for (const [what, known, most] of cases) {
    // 4 processes of 5 charts, ids 1 to 20, each process with its own credit.
    const processes = Array.from({ length: 4 }, (_, p) => {
      const credit = new SourceCredit();
      return Array.from({ length: 5 }, (_, i) => {
        const chart = Simulated.maintaining({ id: BigInt(5 * p + i + 1), credit });
        chart.isHostAddress = (address) => address === host;
        return chart;
      });
    });
    const charts = processes.flat();
    if (known) {
      for (const chart of charts) {
        for (let id = 1n; id <= 20n; id++) {
          if (id !== chart.core.id) chart.hear(100, from(id), { address: host });
        }
      }
    }
    assertSentBack(what, processes, most);
  }
});

/** Charts that share a credit, as the shell's process does, all in their steady schedule. */
class Process {
  readonly credit = new SourceCredit();
  readonly charts: Simulated[];

  constructor(n: number, config: Partial<ProtocolConfig> = {}) {
    this.charts = Array.from(
      { length: n },
      (_, i) => Simulated.maintaining({ id: BigInt(i + 1), credit: this.credit, ...config }),
    );
  }

  /** One datagram from the network, handed to every chart of the process. */
  hear(at: number, data: Uint8Array, address = "198.18.0.9"): void {
    const arrival = { address, port: 8080, data, handedOverAt: undefined, reading: undefined };
    for (const chart of this.charts) {
      chart.runUntil(at);
      chart.core.handle(at, arrival);
    }
  }

  runUntil(at: number): void {
    for (const chart of this.charts) chart.runUntil(at);
  }

  /** Per chart, the answers it unicast. */
  answered(): number[] {
    return this.charts.map((chart) => chart.answers().length);
  }

  /** Per chart, the times of its rounds from `since` on. */
  rounds(since: number): number[][] {
    return this.charts.map((chart) =>
      chart.multicasts.filter(({ at }) => at >= since).map(({ at }) => at)
    );
  }
}

Deno.test("a newcomer to charts that share a credit gets one answer, and the others' next rounds at once", () => {
  const process = new Process(20);
  // Steady: a round every 1 s, the next at 21,272.31.
  process.runUntil(20_300);
  assert.equal(process.charts[1].core.deadline().toFixed(2), "21272.31");
  // Its first datagram pays for one answer of its size; the others' rounds come now.
  process.hear(20_350, from(99n, { listening: 0 }));
  assert.deepEqual(process.answered(), [1, ...Array(19).fill(0)]);
  assert.deepEqual(process.rounds(20_300), [[], ...Array(19).fill([20_350])]);
  const counters = process.charts.map((chart) => chart.core.counters);
  assert.deepEqual(counters.map((c) => c.multicastAnswers), [0, ...Array(19).fill(1)]);
  assert.deepEqual(counters.map((c) => c.repliesSuppressed), [0, ...Array(19).fill(1)]);
  // Having heard them, its next datagram asks nothing more; the schedule goes on from the round.
  process.hear(20_450, from(99n, { seq: 2, listening: 100 }));
  process.runUntil(21_400);
  assert.deepEqual(process.answered(), [1, ...Array(19).fill(0)]);
  const later = process.rounds(20_400);
  assert.deepEqual(later[1], [21_350], "one interval after the round brought forward");
  assert.deepEqual(later[0].map((at) => at.toFixed(2)), ["21272.31"], "the one that answered");
});

Deno.test("a newcomer on the host is answered by unicast from every chart that shares a credit, uncharged", () => {
  const host = "198.18.0.1";
  const process = new Process(20);
  for (const chart of process.charts) chart.isHostAddress = (address) => address === host;
  process.runUntil(20_300);
  // The host's charts know each other: a datagram from elsewhere earns each a twentieth.
  for (let id = 1n; id <= 20n; id++) process.hear(20_300, from(id, { seq: 5 }), host);
  const since = (before: number[]) => process.answered().map((n, i) => n - before[i]);
  // A newcomer on the host: its datagram is answered by every chart, no round brought
  // forward; a second newcomer a moment later, as another process starting, the same.
  let before = process.answered();
  process.hear(20_350, from(77n, { listening: 0 }), host);
  process.hear(20_360, from(78n, { listening: 0 }), host);
  assert.deepEqual(since(before), Array(20).fill(2));
  assert.deepEqual(process.rounds(20_301), Array(20).fill([]));
  // The same from another host of the subnet is charged: each chart earns a twenty-second
  // of it (the host has 22 charts now), short of an answer, and brings its round forward.
  before = process.answered();
  process.hear(20_400, from(79n, { listening: 0 }), "198.18.0.79");
  assert.deepEqual(since(before), Array(20).fill(0));
  assert.deepEqual(process.rounds(20_301), Array(20).fill([20_400]));
});

Deno.test("a newcomer within a second of a round brought forward is answered as credit comes", () => {
  const process = new Process(3);
  process.runUntil(20_300);
  process.hear(20_350, from(9n, { listening: 0 }));
  assert.deepEqual(process.answered(), [1, 0, 0]);
  // Another newcomer, which started after those rounds: each datagram pays one more answer.
  const other = (at: number, seq: number, listening: number) =>
    process.hear(at, from(8n, { seq, listening }), "198.18.0.8");
  other(20_500, 1, 0);
  assert.deepEqual(process.answered(), [2, 0, 0]);
  other(20_600, 2, 100);
  assert.deepEqual(process.answered(), [2, 1, 0]);
  other(20_700, 3, 200);
  assert.deepEqual(process.answered(), [2, 1, 1]);
  other(20_800, 4, 300);
  assert.deepEqual(process.answered(), [2, 1, 1], "all answered: nothing more is owed");
  process.runUntil(21_200);
  assert.deepEqual(process.rounds(20_351), [[], [], []], "no round came forward again");
});

Deno.test("a newcomer heard once within a second of a round brought forward hears one when the second is over", () => {
  // A round every 10 s: the next in turn is far off.
  const process = new Process(3, { rampdown: { min: 10_000, max: 10_000, rampdown: 0 } });
  process.runUntil(20_300);
  process.hear(20_350, from(9n, { listening: 0 }));
  assert.deepEqual(process.rounds(20_300), [[], [20_350], [20_350]]);
  // Another newcomer, heard once only: one chart answers, the others owe it a round.
  process.hear(20_500, from(8n, { listening: 0 }), "198.18.0.8");
  assert.deepEqual(process.answered(), [2, 0, 0]);
  process.runUntil(25_000);
  assert.deepEqual(process.rounds(20_351), [[], [21_350], [21_350]]);
  const counters = process.charts.map((chart) => chart.core.counters.multicastAnswers);
  assert.deepEqual(counters, [0, 2, 2]);
});

Deno.test("forged newcomers bring a chart's rounds forward at most once a second", () => {
  // Every 10 ms for 5 s, a new id from one address: one answer's credit each, 20 charts.
  const process = new Process(20);
  process.runUntil(20_000);
  for (let at = 20_000; at < 25_000; at += 10) {
    process.hear(at + 5, from(BigInt(1_000 + at), { listening: 0 }), "198.18.0.66");
  }
  process.runUntil(25_000);
  for (const [i, chart] of process.charts.entries()) {
    const rounds = chart.multicasts.filter(({ at }) => at >= 20_000).map(({ at }) => at);
    const pulled = chart.core.counters.multicastAnswers;
    assert.ok(pulled <= 5, `chart ${i + 1}: ${pulled} rounds brought forward in 5 s`);
    // Its own schedule, one a second, and those: never closer than the gap, twice.
    assert.ok(rounds.length <= 10, `chart ${i + 1}: ${rounds.length} rounds in 5 s`);
    for (let r = 2; r < rounds.length; r++) {
      assert.ok(rounds[r] - rounds[r - 2] >= 1_000, `chart ${i + 1}: rounds at ${rounds}`);
    }
  }
  const pulled = process.charts.map((chart) => chart.core.counters.multicastAnswers);
  assert.ok(pulled.slice(1).every((n) => n >= 4), `the credit went to one: ${pulled}`);
});

Deno.test("no round comes forward for a source on no connected subnet, nor for a probe", () => {
  const cases: Array<[what: string, act: (process: Process) => void]> = [
    ["off the subnets", (process) => {
      for (const chart of process.charts) chart.onSubnet = () => false;
      process.hear(20_350, from(9n, { listening: 0 }));
    }],
    ["a probe without credit", (process) => {
      process.hear(20_340, from(9n, { listening: 5_000 }));
      for (let seq = 2; seq < 5; seq++) process.hear(20_350, from(9n, { seq, probe: true }));
    }],
  ];
  for (const [what, act] of cases) {
    const process = new Process(3);
    process.runUntil(20_300);
    act(process);
    process.runUntil(21_200);
    assert.deepEqual(process.rounds(20_300), [[], [], []], what);
    assert.deepEqual(process.charts.map((chart) => chart.core.counters.multicastAnswers), [
      0,
      0,
      0,
    ]);
  }
});

// --- The schedule ---

Deno.test("announcements ramp from min towards max, each interval jittered by its own draw", () => {
  const cases: Array<[draws: number[], rounds: number[]]> = [
    // Without jitter (0.5): 100 ms, then 100 + 900 × elapsed / 10 s.
    [[0.5], [0, 100, 209, 327.81]],
    [[0], [0, 90, 187.29]],
    [[0.75], [0, 105, 219.92]],
    // One draw per round, in the order drawn.
    [[0, 1], [0, 90, 208.91]],
  ];
  for (const [draws, rounds] of cases) {
    let n = 0;
    const chart = Simulated.maintaining({ random: () => draws[n++ % draws.length] });
    chart.runUntil(rounds.at(-1)! + 1);
    assert.deepEqual(
      chart.multicasts.map((sent) => Math.round(sent.at * 100) / 100),
      rounds,
      `draws ${draws}`,
    );
  }
});

Deno.test("after the ramp, a chart announces every max interval", () => {
  const chart = Simulated.maintaining();
  chart.runUntil(30_000);
  const times = chart.multicasts.map((sent) => sent.at);
  const late = times.filter((at) => at > 12_000);
  for (let i = 1; i < late.length; i++) assert.equal(Math.round(late[i] - late[i - 1]), 1000);
  assert.ok(late.length >= 17);
});

Deno.test("a crowd spaces the next round 5 ms per instance charted, never beyond max", () => {
  const cases: Array<[peers: number, nextRound: number]> = [
    [0, 100],
    [19, 100],
    [20, 105],
    [60, 305],
    [150, 755],
    [300, 1000],
  ];
  for (const [peers, nextRound] of cases) {
    const chart = Simulated.maintaining();
    for (let i = 0; i < peers; i++) chart.hear(50, from(BigInt(10 + i)), { address: "127.0.0.1" });
    chart.runUntil(2000);
    assert.equal(chart.multicasts[1].at, nextRound, `${peers} peers`);
  }
});

Deno.test("a chart announces at once on a link that comes up, and when its ports change", () => {
  const chart = Simulated.maintaining();
  chart.linkNames = ["lan", "wifi"];
  chart.act(40, (core, now) => core.linkUp(now, "wifi"));
  chart.act(60, (core, now) => core.setPorts([7777], now));
  assert.deepEqual(
    chart.multicasts.map((sent) => [sent.at, sent.to, sent.announcement.ports]),
    [[0, "lan", [9001]], [40, "wifi", [9001]], [60, "lan", [7777]], [60, "wifi", [7777]]],
  );
  // What was sent on the new link before did not reach us: we listen from then on.
  assert.deepEqual(chart.multicasts.map((sent) => sent.announcement.listening), [0, 0, 20, 20]);
  // The next round is planned from the last announcement: 105.4 ms after it, 60 ms into the ramp.
  chart.runUntil(1000);
  assert.equal(chart.multicasts[4].at, 165.4);
});

Deno.test("closing says goodbye on every link once, and then nothing is charted or sent", () => {
  const chart = Simulated.maintaining();
  chart.linkNames = ["lan", "wifi"];
  chart.hear(100, from(2n));
  chart.act(200, (core, now) => core.close(now));
  chart.act(300, (core, now) => core.close(now));
  const goodbyes = chart.multicasts.filter((sent) => sent.announcement.goodbye);
  assert.deepEqual(goodbyes.map((sent) => sent.to), ["lan", "wifi"]);
  assert.equal(chart.core.counters.goodbyes, 1);
  assert.equal(chart.core.deadline(), Infinity);
  chart.hear(400, from(3n));
  assert.equal(chart.core.get(3n), undefined);
  assert.equal(chart.core.counters.dropped.idle, 1);

  // A chart that never announced has nothing to take back.
  const silent = new Simulated();
  silent.core.close(0);
  assert.equal(silent.multicasts.length, 0);
});

// --- The idle buffer ---

Deno.test("while idle the chart keeps the last datagram per source and charts it on start, unanswered", () => {
  const chart = new Simulated();
  chart.core.joined(0);
  chart.hear(100, from(2n, { seq: 1 }));
  chart.hear(200, from(2n, { seq: 2, ports: [9102] }));
  chart.hear(300, from(3n));
  assert.equal(chart.events.length, 0);
  chart.act(1000, (core, now) => core.start("maintain", now));
  assert.equal(chart.core.holding, true);
  chart.act(1000, (core, now) => core.chartHeld(now));
  assert.equal(chart.core.holding, false);
  assert.deepEqual(chart.happened(), [[1000, "added", 2n], [1000, "added", 3n]]);
  assert.deepEqual(chart.core.get(2n), { id: 2n, address: "198.18.0.2", ports: [9102] });
  assert.deepEqual([chart.core.lastHeard(2n), chart.core.lastHeard(3n)], [200, 300]);
  assert.equal(chart.unicasts.length, 0);
  assert.equal(chart.core.counters.dropped.idle, 0);
  // It heard all since it joined: its announcement says so, and peers need not answer.
  assert.equal(chart.multicasts[0].announcement.listening, 1000);
});

Deno.test("an idle chart has heard all only since its last link came up", () => {
  const cases: Array<[linkUpAt: number | undefined, listening: number]> = [
    [undefined, 1000],
    [400, 600],
    [999, 1],
  ];
  for (const [linkUpAt, listening] of cases) {
    const chart = new Simulated();
    chart.core.joined(0);
    if (linkUpAt !== undefined) chart.act(linkUpAt, (core, now) => core.linkUp(now, "wifi"));
    assert.equal(chart.multicasts.length, 0, "an idle chart does not announce");
    chart.act(1000, (core, now) => core.start("maintain", now));
    assert.equal(chart.multicasts[0].announcement.listening, listening, `link up at ${linkUpAt}`);
  }
});

Deno.test("the idle buffer holds up to maxEntries sources; the rest are dropped, and the chart asks to be answered", () => {
  const cases: Array<[sources: number, charted: number, idle: number, listening: number]> = [
    [2, 2, 0, 1000],
    [3, 2, 1, 0],
    [6, 2, 4, 0],
  ];
  for (const [sources, charted, idle, listening] of cases) {
    const chart = new Simulated({ limits: { maxEntries: 2 } });
    chart.core.joined(0);
    for (let i = 0; i < sources; i++) chart.hear(100 + i, from(BigInt(10 + i)));
    chart.act(1000, (core, now) => core.start("maintain", now));
    chart.act(1000, (core, now) => core.chartHeld(now));
    assert.equal(chart.core.size - 1, charted, `${sources} sources`);
    assert.equal(chart.core.counters.dropped.idle, idle, `${sources} sources`);
    assert.equal(chart.multicasts[0].announcement.listening, listening, `${sources} sources`);
  }
});

Deno.test("datagrams handed over in the process while idle are not kept", () => {
  const chart = new Simulated();
  chart.core.joined(0);
  chart.hear(100, from(2n), { handedOverAt: 90 });
  chart.act(1000, (core, now) => core.start("maintain", now));
  assert.equal(chart.core.holding, false);
  assert.equal(chart.core.counters.dropped.idle, 1);
});

Deno.test("a kept datagram whose ttl ran out by the start is dropped as stale", () => {
  const cases: Array<[datagram: Uint8Array, startAt: number, charted: boolean]> = [
    [from(2n), 100 + TTL - 1, true],
    [from(2n), 100 + TTL, false],
    [from(2n, { ttl: 660 }), 760, false],
    [rust(7n), 100 + 3299, true],
    [rust(7n), 100 + 3300, false],
    // The longest ttl taken from a datagram is an hour, whatever it says.
    [from(2n, { ttl: 0xffff_ffff }), 100 + 3_600_000, false],
    // Kept longer than that, anything is stale: it is not even read.
    [Uint8Array.of(1, 2, 3), 100 + 3_600_000, false],
  ];
  for (const [datagram, startAt, charted] of cases) {
    const chart = new Simulated();
    chart.core.joined(0);
    chart.hear(100, datagram);
    chart.act(startAt, (core, now) => core.start("sniff", now));
    chart.act(startAt, (core, now) => core.chartHeld(now));
    assert.equal(chart.core.size, charted ? 2 : 1, `started at ${startAt}`);
    assert.equal(chart.core.counters.dropped.stale, charted ? 0 : 1);
  }
});

Deno.test("a kept datagram older than one heard live since is stale", () => {
  const chart = new Simulated();
  chart.core.joined(0);
  chart.hear(100, from(2n, { seq: 1, ports: [1] }));
  chart.act(1000, (core, now) => core.start("maintain", now));
  chart.hear(1000, from(2n, { seq: 2 }));
  chart.act(1001, (core, now) => core.chartHeld(now));
  assert.deepEqual(chart.core.get(2n), { id: 2n, address: "198.18.0.2", ports: [9002] });
  assert.equal(chart.core.counters.dropped.stale, 1);
  assert.deepEqual(chart.happened(), [[1000, "added", 2n]]);
});

Deno.test("a stopped chart keeps what it hears again, for when discovery restarts", () => {
  const chart = Simulated.maintaining();
  chart.hear(100, from(2n, { seq: 1 }));
  chart.act(200, (core, now) => core.stop(now));
  chart.hear(300, from(3n));
  assert.equal(chart.core.get(3n), undefined);
  chart.act(400, (core, now) => core.start("maintain", now));
  chart.act(400, (core, now) => core.chartHeld(now));
  assert.deepEqual(chart.core.entries().map((entry) => entry.id).sort(), [2n, 3n]);
  assert.equal(chart.core.lastHeard(3n), 300);
});

// --- Seeds ---

/** Seeds at 192.0.2.5:8080 (off the link) and our own 198.18.0.1:8080, which is skipped. */
function seedSet(): SeedSet {
  const seeds = new SeedSet(8080);
  seeds.setOwn(["198.18.0.1"]);
  seeds.set("192.0.2.5", [{ address: "192.0.2.5", port: 8080 }], 0);
  seeds.set("peers.example", [{ address: "198.18.0.1", port: 8080 }], 0);
  return seeds;
}

/** A chart whose links reach 198.18.0.0/24 only. */
function seeded(config: Partial<ProtocolConfig> = {}): Simulated {
  const chart = new Simulated({ seeds: seedSet(), ...config });
  chart.onSubnet = (address) => address.startsWith("198.18.0.");
  chart.core.start("maintain", 0);
  return chart;
}

Deno.test("each round and the goodbye go to every seed but our own socket, as the group gets them", () => {
  const chart = seeded();
  chart.runUntil(2_500);
  chart.act(2_500, (core, now) => core.close(now));
  const rounds = chart.multicasts.map(({ at, announcement }) => [at, announcement.goodbye]);
  const seedSends = chart.unicasts.map(({ at, to, port, announcement }) => [
    at,
    to,
    port,
    announcement.goodbye,
  ]);
  assert.deepEqual(seedSends, rounds.map(([at, goodbye]) => [at, "192.0.2.5", 8080, goodbye]));
  assert.ok(rounds.length >= 3);
  // The same layout as the group's: a Rust peer named as a seed reads it alike.
  const { seq: _m, ...multicast } = chart.multicasts[0].announcement;
  const { seq: _u, ...unicast } = chart.unicasts[0].announcement;
  assert.deepEqual(unicast, multicast);
  assert.equal(chart.unicasts[0].data.length, chart.multicasts[0].data.length);
  assert.equal(chart.core.counters.seedAnnouncements, rounds.length);
});

Deno.test("with multicast off, rounds and the goodbye go to the seeds only", () => {
  const chart = seeded({ multicast: false });
  chart.runUntil(2_500);
  chart.act(2_500, (core, now) => core.close(now));
  assert.deepEqual(chart.multicasts, []);
  assert.equal(chart.core.counters.announcements, 0);
  const sent = chart.unicasts.map(({ to, announcement }) => [to, announcement.goodbye]);
  assert.ok(sent.length >= 4);
  assert.deepEqual(sent.at(-1), ["192.0.2.5", true]);
  assert.ok(sent.slice(0, -1).every(([to, goodbye]) => to === "192.0.2.5" && !goodbye));
});

Deno.test("a seed is answered and probed off the link; another off-link source only with keys", () => {
  const keys = ["a shared key of sixteen bytes or more"];
  type Case = [what: string, address: string, withKeys: boolean, answered: boolean];
  const cases: Case[] = [
    ["on the link", "198.18.0.2", false, true],
    ["a seed off the link", "192.0.2.5", false, true],
    ["off the link, no seed, no keys", "192.0.2.9", false, false],
    ["off the link, no seed, keys vouch for it", "192.0.2.9", true, true],
  ];
  for (const [what, address, withKeys, answered] of cases) {
    const chart = seeded(withKeys ? { keys } : {});
    const keyring = withKeys ? new Keyring(keys) : undefined;
    const datagram = (seq: number) => {
      const data = from(2n, { seq, signerId: keyring?.signerId });
      keyring?.sign(data);
      return data;
    };
    for (let seq = 1; seq <= 11; seq++) chart.hear(100, datagram(seq), { address });
    assert.ok(chart.core.get(2n), `${what}: charted`);
    assert.deepEqual(chart.answers(), answered ? [[100, address]] : [], what);
    // Silent after: probed before it expires, where it may be answered.
    chart.runUntil(100 + TTL);
    assert.equal(chart.probes().length > 0, answered, `${what}: probed`);
  }
});

Deno.test("a newcomer that listened through our last round is answered only where that round did not reach", () => {
  // Listening since before our first round: on the link it heard it, off the link only a seed did.
  type Case = [what: string, address: string, answered: boolean];
  const cases: Case[] = [
    ["on the link", "198.18.0.2", false],
    ["a seed off the link", "192.0.2.5", false],
    ["off the link, with keys, no seed", "192.0.2.9", true],
  ];
  const keys = ["a shared key of sixteen bytes or more"];
  const keyring = new Keyring(keys);
  for (const [what, address, answered] of cases) {
    const chart = seeded({ keys });
    const data = from(2n, { listening: 5_000, signerId: keyring.signerId });
    keyring.sign(data);
    chart.hear(1_500, data, { address });
    assert.deepEqual(chart.answers(), answered ? [[1_500, address]] : [], what);
  }
});

Deno.test("new seed addresses hear of us at once, not at the next round", () => {
  const seeds = seedSet();
  const chart = seeded({ seeds });
  chart.runUntil(150);
  const change = seeds.set("more.example", [{ address: "192.0.2.6", port: 9090 }], 150);
  chart.act(150, (core, now) => core.seedsAdded(now, change.added));
  const last = chart.unicasts.at(-1)!;
  assert.deepEqual([last.at, last.to, last.port, last.announcement.reply], [
    150,
    "192.0.2.6",
    9090,
    false,
  ]);
  // A sniffing chart sends nothing.
  const sniffing = new Simulated({ seeds });
  sniffing.core.start("sniff", 0);
  sniffing.act(10, (core, now) => core.seedsAdded(now, change.added));
  assert.deepEqual(sniffing.unicasts, []);
});
