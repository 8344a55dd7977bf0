/**
 * The seeds' pure rules: when names are resolved again, which destinations
 * are skipped as our own, how each seed's addresses are replaced, and when a
 * seed counts as silent.
 */

import assert from "node:assert/strict";
import {
  isOwnSeed,
  MAX_SEED_ADDRESSES,
  resolveDelay,
  retryDelay,
  type SeedAddress,
  SeedSet,
} from "../../src/core/seeds.ts";

/** Where a set sends, as plain addresses. */
function destinationsOf(seeds: SeedSet): SeedAddress[] {
  return [...seeds.destinations()].map(({ address, port }) => ({ address, port }));
}

Deno.test("a name is resolved again at its records' TTL, within 5 to 60 s, or every 10 s without one", () => {
  const cases: Array<[ttl: number | undefined, delay: number]> = [
    [0, 5_000],
    [1, 5_000],
    [5, 5_000],
    [30, 30_000],
    [59.5, 59_500],
    [600, 60_000],
    [86_400, 60_000],
    [undefined, 10_000],
    [NaN, 10_000],
  ];
  for (const [ttl, delay] of cases) assert.equal(resolveDelay(ttl), delay, `ttl ${ttl}`);
});

Deno.test("a name that fails is tried again after 5 s, doubling to 60 s", () => {
  const delays = [1, 2, 3, 4, 5, 6, 100].map(retryDelay);
  assert.deepEqual(delays, [5_000, 10_000, 20_000, 40_000, 60_000, 60_000, 60_000]);
});

Deno.test("our own discovery socket is no seed; another port on our address is", () => {
  const own = new Set(["198.18.0.1", "fd00::1"]);
  type Case = [seed: SeedAddress, skipped: boolean];
  const cases: Case[] = [
    [{ address: "198.18.0.1", port: 8080 }, true],
    [{ address: "198.18.0.1", port: 9090 }, false],
    [{ address: "fd00::1", port: 8080 }, true],
    [{ address: "127.0.0.1", port: 8080 }, true],
    [{ address: "127.0.0.53", port: 8080 }, true],
    [{ address: "::1", port: 8080 }, true],
    [{ address: "198.18.0.2", port: 8080 }, false],
  ];
  for (const [seed, skipped] of cases) {
    assert.equal(isOwnSeed(seed, own, 8080), skipped, `${seed.address}:${seed.port}`);
  }
});

Deno.test("each seed's addresses are replaced as it resolves anew; one named twice is sent to once", () => {
  const seeds = new SeedSet(8080);
  const a = { address: "198.18.1.1", port: 8080 };
  const b = { address: "198.18.1.2", port: 8080 };
  const c = { address: "198.18.1.3", port: 9090 };
  assert.deepEqual(seeds.set("peers", [a, b, a], 0), { added: [a, b], removed: [], overflow: 0 });
  // Another seed names b too.
  assert.deepEqual(seeds.set("198.18.1.2", [b], 0), { added: [], removed: [], overflow: 0 });
  assert.deepEqual(destinationsOf(seeds), [a, b]);
  // b left DNS, c came: b stays, named by the other seed.
  assert.deepEqual(seeds.set("peers", [a, c], 1), { added: [c], removed: [], overflow: 0 });
  assert.deepEqual(destinationsOf(seeds), [a, b, c]);
  // The name is gone: what only it named goes.
  assert.deepEqual(seeds.set("peers", [], 2), { added: [], removed: [a, c], overflow: 0 });
  assert.deepEqual(destinationsOf(seeds), [b]);
  assert.equal(seeds.has("198.18.1.2"), true);
  assert.equal(seeds.has("198.18.1.1"), false);
});

Deno.test("addresses are kept in their canonical form, and what is no address is left out", () => {
  const seeds = new SeedSet(8080);
  seeds.set("peers", [
    { address: "FD00:0:0::5", port: 8080 },
    { address: "fd00::5", port: 8080 },
    { address: "not an address", port: 8080 },
  ], 0);
  assert.deepEqual(destinationsOf(seeds), [{ address: "fd00::5", port: 8080 }]);
  assert.equal(seeds.has("fd00::5"), true);
});

Deno.test("an address of a family not in use is left out", () => {
  const v4 = { address: "198.18.1.1", port: 8080 };
  const v6 = { address: "fd00::5", port: 8080 };
  const cases: Array<[families: Array<4 | 6>, kept: SeedAddress[]]> = [
    [[4, 6], [v4, v6]],
    [[4], [v4]],
    [[6], [v6]],
  ];
  for (const [families, kept] of cases) {
    const seeds = new SeedSet(8080, families);
    assert.deepEqual(seeds.set("peers", [v4, v6], 0), { added: kept, removed: [], overflow: 0 });
    assert.deepEqual(destinationsOf(seeds), kept, `families ${families}`);
    assert.equal(seeds.has(v4.address), families.includes(4));
  }
});

Deno.test("our own addresses are skipped as destinations, new or not, and never reported silent", () => {
  const seeds = new SeedSet(8080);
  seeds.setOwn(["198.18.1.1"]);
  const change = seeds.set(
    "peers",
    [{ address: "198.18.1.1", port: 8080 }, { address: "198.18.1.2", port: 8080 }],
    0,
  );
  // Not even announced to at once as it appears.
  assert.deepEqual(change.added, [{ address: "198.18.1.2", port: 8080 }]);
  assert.deepEqual(destinationsOf(seeds), [{ address: "198.18.1.2", port: 8080 }]);
  assert.deepEqual(seeds.silent(10_000, 3_300), [{ address: "198.18.1.2", port: 8080 }]);
});

Deno.test("a seed is silent once not heard from for a while, reported once per silence", () => {
  const seeds = new SeedSet(8080);
  const a = { address: "198.18.1.1", port: 8080 };
  seeds.set("a", [a], 0);
  assert.deepEqual(seeds.silent(3_299, 3_300), []);
  assert.deepEqual(seeds.silent(3_300, 3_300), [a]);
  assert.deepEqual(seeds.silent(9_000, 3_300), [], "reported once");
  // Heard: a new silence starts from then, and is reported again.
  seeds.heard("198.18.1.1", 9_000);
  assert.deepEqual(seeds.silent(12_299, 3_300), []);
  assert.deepEqual(seeds.silent(12_300, 3_300), [a]);
  // Resolved again: it keeps its history.
  seeds.set("a", [a], 13_000);
  assert.deepEqual(seeds.silent(20_000, 3_300), []);
  // A datagram from an address that is no seed's changes nothing.
  seeds.heard("198.18.1.9", 20_000);
  assert.equal(seeds.has("198.18.1.9"), false);
});

Deno.test("the seeds hold at most 1,024 addresses; the rest are counted as overflow", () => {
  const seeds = new SeedSet(8080);
  const many = Array.from({ length: MAX_SEED_ADDRESSES + 10 }, (_, i) => ({
    address: `198.18.${i >> 8}.${i & 255}`,
    port: 8080,
  }));
  const change = seeds.set("many", many, 0);
  assert.equal(change.added.length, MAX_SEED_ADDRESSES);
  assert.equal(change.overflow, 10);
  assert.equal(seeds.size, MAX_SEED_ADDRESSES);
  // Room again once some leave.
  assert.equal(seeds.set("many", many.slice(0, 10), 1).removed.length, MAX_SEED_ADDRESSES - 10);
  assert.equal(seeds.set("more", many.slice(-5), 2).added.length, 5);
});
