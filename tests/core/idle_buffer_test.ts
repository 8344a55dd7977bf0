import assert from "node:assert/strict";
import { IdleBuffer, isOutlived } from "../../src/core/idle_buffer.ts";
import { MAX_TTL } from "../../src/core/schedule.ts";

Deno.test("the idle buffer keeps the last datagram of each source, a copy of it", () => {
  const buffer = new IdleBuffer(10);
  const first = Uint8Array.of(1);
  const second = Uint8Array.of(2);
  assert.equal(buffer.hold(first, "198.18.0.1", 8080, 0), true);
  assert.equal(buffer.hold(Uint8Array.of(9), "198.18.0.2", 8080, 3), true);
  assert.equal(buffer.hold(second, "198.18.0.1", 8080, 5), true);
  second[0] = 99;
  assert.equal(buffer.size, 2);
  // In the order they came; each source with its last datagram and when it came.
  assert.deepEqual(buffer.take(), [
    { data: Uint8Array.of(9), address: "198.18.0.2", port: 8080, at: 3 },
    { data: Uint8Array.of(2), address: "198.18.0.1", port: 8080, at: 5 },
  ]);
  assert.equal(buffer.size, 0);
  assert.deepEqual(buffer.take(), []);
});

Deno.test("a source is an address and a port", () => {
  const buffer = new IdleBuffer(10);
  buffer.hold(Uint8Array.of(1), "198.18.0.1", 8080, 0);
  buffer.hold(Uint8Array.of(2), "198.18.0.1", 40000, 0);
  buffer.hold(Uint8Array.of(3), "198.18.0.10", 8080, 0);
  assert.equal(buffer.size, 3);
});

Deno.test("a full buffer turns new sources away, still replaces known ones, and knows it missed one", () => {
  const cases: Array<[max: number, sources: number, kept: number, since: number]> = [
    [3, 2, 2, 100],
    [3, 3, 3, 100],
    [3, 4, 3, Infinity],
    [1, 5, 1, Infinity],
  ];
  for (const [max, sources, kept, since] of cases) {
    const buffer = new IdleBuffer(max);
    buffer.keepFrom(100);
    const held = Array.from(
      { length: sources },
      (_, i) => buffer.hold(Uint8Array.of(i), `198.18.0.${i + 1}`, 8080, 200 + i),
    );
    assert.deepEqual(held, Array.from({ length: sources }, (_, i) => i < max), `max ${max}`);
    assert.equal(buffer.hold(Uint8Array.of(42), "198.18.0.1", 8080, 300), true, "a known source");
    assert.equal(buffer.size, kept);
    assert.equal(buffer.since, since, `max ${max}, ${sources} sources`);
  }
});

Deno.test("the buffer keeps all only from when it started keeping, and from the last new link", () => {
  const buffer = new IdleBuffer(10);
  assert.equal(buffer.since, Infinity, "not yet in the group");
  buffer.widened(50);
  assert.equal(buffer.since, Infinity, "a link before keeping starts changes nothing");
  buffer.keepFrom(100);
  assert.equal(buffer.since, 100);
  buffer.widened(250);
  assert.equal(buffer.since, 250);
  buffer.clear();
  assert.equal(buffer.size, 0);
});

Deno.test("a kept datagram older than any ttl is outlived", () => {
  const cases: Array<[at: number, now: number, outlived: boolean]> = [
    [0, 0, false],
    [0, MAX_TTL - 1, false],
    [0, MAX_TTL, true],
    [1000, MAX_TTL + 999, false],
    [1000, MAX_TTL + 1000, true],
  ];
  for (const [at, now, outlived] of cases) {
    assert.equal(isOutlived(at, now), outlived, `kept at ${at}, charted at ${now}`);
  }
});

Deno.test("datagrams older than any ttl leave the buffer as new ones come, making room", () => {
  const cases: Array<[now: number, kept: number, held: boolean]> = [
    [MAX_TTL - 1, 2, false],
    [MAX_TTL, 2, true],
    [MAX_TTL + 10, 1, true],
  ];
  for (const [now, kept, held] of cases) {
    const buffer = new IdleBuffer(2);
    buffer.hold(Uint8Array.of(1), "198.18.0.1", 8080, 0);
    buffer.hold(Uint8Array.of(2), "198.18.0.2", 8080, 10);
    assert.equal(buffer.hold(Uint8Array.of(3), "198.18.0.3", 8080, now), held, `at ${now}`);
    assert.equal(buffer.size, kept, `at ${now}`);
  }
});
