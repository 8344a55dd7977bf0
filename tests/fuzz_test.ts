import "./_lab.ts";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { ChartBuilder, DEFAULT_HEADER, foundEveryone, maintain, MULTICAST_GROUP } from "../mod.ts";
import { decodeAnnouncement } from "../src/core/wire.ts";
import { freshPort, record, until } from "./_charts.ts";
import { seededRandom } from "./_random.ts";

/** `deno task fuzz` runs the full campaign: 100,000 datagrams at each chart instead of 10,000. */
const DATAGRAMS = Deno.env.get("INSTANCE_CHART_FUZZ") === "full" ? 100_000 : 10_000;
const DEADLINE = 120_000;
const FAST = { min: 50, max: 200, rampdown: 500 };

/** Mutates a datagram: flips bits, truncates, extends, or replaces its tail with garbage. */
function mutate(original: Uint8Array, next: () => number): Uint8Array {
  const kind = Math.floor(next() * 6);
  const byte = () => Math.floor(next() * 256);
  if (kind === 0) {
    const flipped = original.slice();
    for (let flips = 1 + Math.floor(next() * 4); flips > 0; flips--) {
      const bit = Math.floor(next() * flipped.length * 8);
      flipped[bit >> 3] ^= 1 << (bit & 7);
    }
    return flipped;
  }
  if (kind === 1) return original.slice(0, Math.floor(next() * original.length));
  if (kind === 2) {
    return Uint8Array.from([...original, ...Array.from({ length: 1 + next() * 64 }, byte)]);
  }
  if (kind === 3) {
    const keep = 16 + Math.floor(next() * (original.length - 16));
    return Uint8Array.from([
      ...original.subarray(0, keep),
      ...Array.from({ length: next() * 80 }, byte),
    ]);
  }
  if (kind === 4) return Uint8Array.from({ length: Math.floor(next() * 1100) }, byte);
  // A valid prefix of ours with random fields after it.
  const garbage = original.slice();
  for (let i = 20; i < garbage.length; i++) if (next() < 0.3) garbage[i] = byte();
  return garbage;
}

for (const keyed of [false, true]) {
  Deno.test(`${DATAGRAMS} mutated and random datagrams at a live ${keyed ? "keyed " : ""}chart change nothing`, async () => {
    const discoveryPort = freshPort();
    const build = (id: number) => {
      const builder = new ChartBuilder().withId(id).withServicePort(9000 + id)
        .withDiscoveryPort(discoveryPort).localDiscovery(true).withRampdown(FAST);
      return (keyed ? builder.withKeys(["a shared key for the fuzz test"]) : builder).finish();
    };
    await using target = await build(1);
    await using peer = await build(2);
    maintain(target);
    maintain(peer);
    await foundEveryone(target, 2, { signal: AbortSignal.timeout(DEADLINE) });

    // Real datagrams of the peer, captured on the wire, to mutate.
    const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
    await new Promise<void>((resolve) => socket.bind(discoveryPort, "0.0.0.0", resolve));
    socket.addMembership(MULTICAST_GROUP, "127.0.0.1");
    socket.setMulticastInterface("127.0.0.1");
    const captured: Uint8Array[] = [];
    socket.on("message", (data) => {
      if (data[8] === 2 && captured.length < 16) captured.push(new Uint8Array(data));
    });
    try {
      await until(() => captured.length >= 4, AbortSignal.timeout(DEADLINE));
      const seen = record(target.events());
      (globalThis as { gc?: () => void }).gc?.();
      const heapBefore = Deno.memoryUsage().heapUsed;
      const next = seededRandom(keyed ? 7 : 11);
      const start = target.counters.received;
      let sent = 0;
      while (sent < DATAGRAMS) {
        const datagram = mutate(captured[sent % captured.length], next);
        // Only what is invalid: a mutation may still be a valid announcement.
        if (
          !keyed && decodeAnnouncement(datagram, DEFAULT_HEADER, { kind: "ports", count: 1 }).ok
        ) {
          continue;
        }
        await new Promise<void>((resolve, reject) =>
          socket.send(
            datagram,
            discoveryPort,
            MULTICAST_GROUP,
            (error) => error ? reject(error) : resolve(),
          )
        );
        sent++;
        // In batches, so that no socket buffer overflows and each one is judged.
        if (sent % 200 === 0) {
          await until(
            () => target.counters.received - start >= sent,
            AbortSignal.timeout(DEADLINE),
          );
        }
      }
      await until(() => target.counters.received - start >= sent, AbortSignal.timeout(DEADLINE));
      (globalThis as { gc?: () => void }).gc?.();
      const grown = Deno.memoryUsage().heapUsed - heapBefore;

      assert.deepEqual(seen, [], "no datagram changed the chart");
      assert.deepEqual(target.entries(), [{ id: 2n, address: "127.0.0.1", ports: [9002] }]);
      assert.ok(grown < 4 * 2 ** 20, `the live heap grew by ${Math.round(grown / 2 ** 10)} KiB`);
      // And it still works: a newcomer is found.
      await using late = await build(3);
      maintain(late);
      await foundEveryone(target, 3, { signal: AbortSignal.timeout(DEADLINE) });
    } finally {
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    }
  });
}
