import assert from "node:assert/strict";
import type { Entry, PortEntry } from "../../src/core/entry.ts";
import { announcesSame, entryOf, isProtected, type Peer, PeerTable } from "../../src/core/peers.ts";
import { type Announcement, DEFAULT_HEADER } from "../../src/core/wire.ts";

function peer(id: bigint): Peer<PortEntry> {
  return {
    entry: { id, address: "198.18.0.1", ports: [9000] },
    incarnation: 1n,
    seq: 1,
    ttl: 3300,
    heardAt: 0,
    paths: [{ address: "198.18.0.1", port: 8080, heardAt: 0 }],
    port: 8080,
    probes: 0,
    confirmed: false,
    probeHeld: false,
    asked: 0,
    answerOwed: false,
    onHost: false,
    superseded: undefined,
  };
}

/** A table of `max` with the given ids added in order. */
function tableOf(max: number, ids: bigint[]): PeerTable<PortEntry> {
  const table = new PeerTable<PortEntry>(max);
  for (const id of ids) table.add(id, peer(id));
  return table;
}

Deno.test("a full table evicts the newest unconfirmed instance, and is no longer full", () => {
  const table = tableOf(3, [1n, 2n, 3n]);
  assert.equal(table.full, true);
  assert.equal(table.evict(0)?.entry.id, 3n);
  assert.equal(table.size, 2);
  assert.equal(table.full, false);
  assert.equal(table.get(3n), undefined);
});

Deno.test("a confirmed instance heard lately is never evicted: with all such, nothing is", () => {
  const cases: Array<[confirmed: bigint[], evicted: Array<bigint | undefined>]> = [
    [[], [3n, 2n, 1n, undefined]],
    [[3n], [2n, 1n, undefined]],
    [[2n], [3n, 1n, undefined]],
    [[1n, 3n], [2n, undefined]],
    [[1n, 2n, 3n], [undefined]],
  ];
  for (const [confirmed, evicted] of cases) {
    const table = tableOf(3, [1n, 2n, 3n]);
    for (const id of confirmed) table.get(id)!.confirmed = true;
    assert.deepEqual(
      evicted.map(() => table.evict(0)?.entry.id),
      evicted,
      `confirmed ${confirmed}`,
    );
    assert.equal(table.size, confirmed.length);
  }
});

Deno.test("a confirmed instance is protected while heard within its ttl and 10 s", () => {
  const cases: Array<[confirmed: boolean, ttl: number, quietFor: number, kept: boolean]> = [
    [false, 3300, 0, false],
    [true, 3300, 0, true],
    [true, 3300, 3300, true],
    [true, 3300, 3301, false],
    // An hour claimed protects 10 s.
    [true, 3_600_000, 10_000, true],
    [true, 3_600_000, 10_001, false],
  ];
  for (const [confirmed, ttl, quietFor, kept] of cases) {
    const quiet = { ...peer(1n), confirmed, ttl, heardAt: 500 };
    assert.equal(isProtected(quiet, 500 + quietFor), kept, `${confirmed}, ${ttl}, ${quietFor}`);
  }
});

Deno.test("with no unconfirmed instance left, the quietest unprotected one is evicted", () => {
  // Confirmed fakes with an hour's ttl, heard at 0, 100 and 200.
  const table = tableOf(3, [1n, 2n, 3n]);
  for (const [i, id] of [1n, 2n, 3n].entries()) {
    Object.assign(table.get(id)!, { confirmed: true, ttl: 3_600_000, heardAt: 100 * i });
  }
  const evictions: Array<[now: number, evicted: bigint | undefined]> = [
    [5_000, undefined],
    [10_000, undefined],
    [10_150, 1n],
    [10_150, 2n],
    [10_150, undefined],
    // Not at once: a scan that found none waits until the first lapses, and 100 ms at least.
    [10_201, undefined],
    [10_250, 3n],
  ];
  for (const [now, evicted] of evictions) {
    assert.equal(table.evict(now)?.entry.id, evicted, `at ${now}`);
  }
  // An unconfirmed newcomer still goes before any of them.
  const mixed = tableOf(2, [1n, 2n]);
  Object.assign(mixed.get(1n)!, { confirmed: true, heardAt: 0 });
  assert.equal(mixed.evict(20_000)?.entry.id, 2n);
  assert.equal(mixed.evict(20_000)?.entry.id, 1n);
});

Deno.test("an instance that left is not evicted, and one heard again is the newest", () => {
  const table = tableOf(3, [1n, 2n, 3n]);
  table.delete(3n);
  table.delete(1n);
  table.add(1n, peer(1n));
  assert.deepEqual([table.evict(0)?.entry.id, table.evict(0)?.entry.id, table.evict(0)], [
    1n,
    2n,
    undefined,
  ]);
});

Deno.test("churn through a small table keeps the newest unconfirmed first in line", () => {
  const table = tableOf(2, [1n, 2n]);
  // Far more ids than twice the bound, each gone or confirmed: the list is compacted.
  for (let id = 100n; id < 150n; id++) {
    table.add(id, peer(id));
    if (id % 2n === 0n) table.delete(id);
    else table.get(id)!.confirmed = true;
  }
  assert.equal(table.size, 2 + 25);
  assert.deepEqual([table.evict(0)?.entry.id, table.evict(0)?.entry.id, table.evict(0)], [
    2n,
    1n,
    undefined,
  ]);
});

Deno.test("an id charted again and again is in line once, as its newest peer", () => {
  const table = tableOf(3, [1n]);
  // Each time a new peer of the same id: left, or still charted at the end.
  for (let i = 0; i < 10_000; i++) {
    table.delete(7n);
    table.add(7n, peer(7n));
  }
  table.add(2n, peer(2n));
  const last = table.get(7n);
  assert.deepEqual([table.evict(0)?.entry.id, table.evict(0), table.evict(0)?.entry.id], [
    2n,
    last,
    1n,
  ]);
  assert.equal(table.evict(0), undefined);
});

Deno.test("an announcement carries the same data as an entry when ports or msg are equal", () => {
  const announcement = (data: { ports?: number[]; msg?: unknown }): Announcement => ({
    header: DEFAULT_HEADER,
    id: 7n,
    reply: false,
    ...data,
  });
  const ports = (...ports: number[]): Entry => ({ id: 7n, address: "198.18.0.7", ports });
  const msg = (msg: unknown): Entry => ({ id: 7n, address: "198.18.0.7", msg });
  const cases: Array<[Entry, Announcement, boolean]> = [
    [ports(1, 2), announcement({ ports: [1, 2] }), true],
    [ports(1, 2), announcement({ ports: [2, 1] }), false],
    [ports(1, 2), announcement({ ports: [1] }), false],
    [ports(1), announcement({ ports: [1, 2] }), false],
    [ports(1), announcement({ msg: [1] }), false],
    [msg({ a: 1, b: [2] }), announcement({ msg: { a: 1, b: [2] } }), true],
    [msg({ a: 1 }), announcement({ msg: { a: 2 } }), false],
    [msg("x"), announcement({ msg: "x" }), true],
    [msg(null), announcement({ msg: null }), true],
    [msg([1]), announcement({ ports: [1] }), false],
  ];
  for (const [i, [entry, heard, same]] of cases.entries()) {
    assert.equal(announcesSame(entry, heard), same, `case ${i}`);
  }
});

Deno.test("the entry of an announcement is frozen, its ports too", () => {
  const ports = [9001, 9002];
  const entry = entryOf<PortEntry>(
    { header: DEFAULT_HEADER, id: 7n, ports, reply: false, ttl: 3300, seq: 4 },
    "198.18.0.7",
  );
  assert.deepEqual(entry, { id: 7n, address: "198.18.0.7", ports: [9001, 9002] });
  assert.ok(Object.isFrozen(entry));
  assert.ok(Object.isFrozen(entry.ports));
  const withMsg = entryOf(
    { header: DEFAULT_HEADER, id: 8n, msg: { role: "db" }, reply: false },
    "x",
  );
  assert.deepEqual(withMsg, { id: 8n, address: "x", msg: { role: "db" } });
  assert.ok(Object.isFrozen(withMsg));
});
