import { LabNet, Peer } from "./_lab.ts";
import assert from "node:assert/strict";
import { freshPort } from "./_charts.ts";
import { processOfCharts } from "./_charts_process.ts";
import type { Counters } from "../mod.ts";

const DEADLINE = 30_000;

Deno.test("5 charts in separate processes on one host all find everyone", async () => {
  const discoveryPort = freshPort();
  const ids = ["1", "2", "3", "4", "5"];
  const peers = ids.map((id, i) =>
    new Peer({
      id,
      ports: [9000 + Number(id)],
      discoveryPort,
      // Both socket APIs share the port and hear each other.
      transport: i % 2 === 0 ? "deno" : "node",
    })
  );
  try {
    const signal = AbortSignal.timeout(DEADLINE);
    await Promise.all(
      peers.map((peer, i) => peer.charts(ids.filter((id) => id !== ids[i]), signal)),
    );
    for (const [i, peer] of peers.entries()) {
      for (const id of ids.filter((id) => id !== ids[i])) {
        assert.deepEqual(peer.charted.get(id), {
          type: "added",
          id,
          address: "127.0.0.1",
          ports: [9000 + Number(id)],
        });
      }
    }
  } finally {
    for (const peer of peers) await peer[Symbol.asyncDispose]();
  }
});

Deno.test("charts on 3 lab hosts find each other at the hosts' own addresses", async () => {
  await using lab = await LabNet.create(3);
  const peers = lab.hosts.map((host, i) =>
    new Peer({
      id: `${i + 1}`,
      ports: [8000 + i, 9000 + i],
      localDiscovery: false,
      transport: i === 2 ? "node" : "deno",
    }, host)
  );
  try {
    const signal = AbortSignal.timeout(DEADLINE);
    const ids = ["1", "2", "3"];
    await Promise.all(peers.map((peer, i) => peer.charts(ids.filter((_, j) => j !== i), signal)));
    for (const [i, peer] of peers.entries()) {
      for (const [j, host] of lab.hosts.entries()) {
        if (i === j) continue;
        const line = peer.charted.get(`${j + 1}`);
        assert.equal(line?.address, host.address);
        assert.deepEqual(line?.ports, [8000 + j, 9000 + j]);
      }
    }
  } finally {
    for (const peer of peers) await peer[Symbol.asyncDispose]();
  }
});

/**
 * Starts 20 charts (ids 1 to 20) on one lab host, in `n` processes, then a
 * newcomer on another, and checks that it holds them all, at the host's
 * address, before their next round. A round every 10 s (never sooner than
 * 9 s, with jitter), for them and the newcomer: the newcomer's first
 * datagram is its only one in time, and pays for about one answer on the
 * host (the processes of a host that chart each other share what one source
 * may be sent).
 *
 * @returns The charts' counters, summed over the processes.
 */
async function newcomerHoldsAll(n: number): Promise<Partial<Record<keyof Counters, number>>> {
  await using lab = await LabNet.create(2);
  const [serviceHost, newcomerHost] = lab.hosts;
  const rampdown = { min: 10_000, max: 10_000, rampdown: 0 };
  const size = 20 / n;
  const services = await Promise.all(
    Array.from(
      { length: n },
      (_, p) => processOfCharts(serviceHost, size, { rampdown, firstId: size * p + 1, expect: 20 }),
    ),
  );
  const nextRound = Math.min(...services.map((service) => service.readyAt)) + 9_000;
  const ids = Array.from({ length: 20 }, (_, i) => `${i + 1}`);
  const newcomer = new Peer(
    { id: "100", ports: [9100], localDiscovery: false, rampdown },
    newcomerHost,
  );
  try {
    await newcomer.charts(ids, AbortSignal.timeout(DEADLINE));
    const added = newcomer.lines.filter((line) => line.type === "added");
    const last = Math.max(...added.map((line) => line.at!));
    const ready = newcomer.lines.find((line) => line.type === "ready");
    const held = (last - ready!.at!).toFixed(1);
    console.log(`20 charts in ${n} processes held ${held} ms after the newcomer maintained`);
    assert.ok(
      last < nextRound,
      `all held ${(last - nextRound).toFixed(0)} ms after their next round`,
    );
    for (const id of ids) assert.equal(newcomer.charted.get(id)?.address, serviceHost.address);
  } finally {
    await newcomer[Symbol.asyncDispose]();
  }
  const sum: Partial<Record<keyof Counters, number>> = {};
  for (const counters of await Promise.all(services.map((service) => service.stop()))) {
    for (const [name, value] of Object.entries(counters) as Array<[keyof Counters, number]>) {
      sum[name] = (sum[name] ?? 0) + value;
    }
  }
  return sum;
}

Deno.test("a newcomer on another host holds all 20 charts of a process before their next round", async () => {
  const counters = await newcomerHoldsAll(1);
  // One answer by unicast, which the newcomer's datagram paid for; the other 19 by their rounds.
  assert.equal(counters.replies, 1);
  assert.equal(counters.multicastAnswers, 19);
});

Deno.test("a newcomer on another host holds 20 charts in 10 processes before their next round", async () => {
  // Rounds brought forward bring in most of them; those that brought one forward within the
  // last second (finding each other), once it is over.
  const counters = await newcomerHoldsAll(10);
  assert.ok(
    counters.multicastAnswers! >= 10,
    `${counters.multicastAnswers} rounds brought forward`,
  );
});
