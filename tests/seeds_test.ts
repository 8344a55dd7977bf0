/**
 * Seeds in the lab: two subnets joined by a router, which forwards unicast
 * and no multicast, so that the two sides find each other only through
 * seeds; a static list, a DNS name served by a real dnsmasq, a subnet with
 * multicast turned off, and seeds that do not exist.
 *
 * @module
 */

import { type LabHost, LabNet, Peer, type PeerLine, type PeerOptions } from "./_lab.ts";
import assert from "node:assert/strict";
import { freshPort } from "./_charts.ts";

const DEADLINE = 40_000;
/** Short intervals, so that expiry and re-resolution show within the deadline. */
const RAMPDOWN = { min: 100, max: 500, rampdown: 1_000 };

/** Two subnets of `n` hosts each, joined by a router. */
async function twoSubnets(n: number) {
  const a = await LabNet.create(n);
  const b = await LabNet.create(n);
  const router = await a.routeTo(b);
  return {
    a,
    b,
    router,
    async [Symbol.asyncDispose]() {
      await a[Symbol.asyncDispose]();
      await b[Symbol.asyncDispose]();
    },
  };
}

/** The entry a peer printed for an instance, without the time. */
function entryOf(peer: Peer, id: string): Omit<PeerLine, "at" | "type"> | undefined {
  const line = peer.charted.get(id);
  if (!line) return undefined;
  const { type: _, ...entry } = line;
  return entry;
}

function expected(id: string, host: LabHost, port: number) {
  return { id, address: host.address, ports: [port] };
}

function peerOn(host: LabHost, options: PeerOptions): Peer {
  return new Peer({ rampdown: RAMPDOWN, localDiscovery: false, ...options }, host);
}

Deno.test("static seeds join two subnets across a router, both ways", async () => {
  await using net = await twoSubnets(2);
  const [a1, a2] = net.a.hosts;
  const [b1] = net.b.hosts;
  const discoveryPort = freshPort();
  await using p1 = peerOn(a1, { id: "1", ports: [9001], discoveryPort, seeds: [b1.address] });
  // No seeds: it hears its own link only.
  await using p2 = peerOn(a2, { id: "2", ports: [9002], discoveryPort });
  // A seed with its port written out.
  await using p3 = peerOn(b1, {
    id: "3",
    ports: [9003],
    discoveryPort,
    seeds: [`${a1.address}:${discoveryPort}`],
  });
  const signal = AbortSignal.timeout(DEADLINE);
  await Promise.all([p1.charts(["2", "3"], signal), p3.charts(["1"], signal)]);
  await p2.charts(["1"], signal);
  assert.deepEqual(entryOf(p1, "3"), expected("3", b1, 9003));
  assert.deepEqual(entryOf(p3, "1"), expected("1", a1, 9001));
  assert.deepEqual(entryOf(p1, "2"), expected("2", a2, 9002));
  // The router forwards no multicast: across it, only the seeds' unicasts go.
  assert.equal(p2.charted.has("3"), false);
  assert.equal(p3.charted.has("2"), false);
  // The goodbye goes to the seeds too.
  const counters = await p3.close(signal);
  assert.ok(counters.seedAnnouncements > 0);
  const removed = await p1.removes("3", signal);
  assert.equal(removed.reason, "goodbye");
  assert.equal(removed.address, b1.address);
});
