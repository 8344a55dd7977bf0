import assert from "node:assert/strict";
import { seededRandom } from "../_random.ts";
import { type LossModel, lossRate, Network } from "./_network.ts";
import { World } from "./_sim.ts";

/** Sends a datagram every 10 ms for 1,000 s to one host and returns which were lost. */
function losses(loss: LossModel): boolean[] {
  const network = new Network(seededRandom(1), seededRandom(2));
  const link = network.addLink({ loss });
  network.addHost("a", [link]);
  const to = network.addHost("b", [link]).attachments[0];
  const lost: boolean[] = [];
  for (let t = 0; t < 1_000_000; t += 10) lost.push(network.lost(to, t));
  return lost;
}

/** The mean length of the runs of consecutive losses. */
function meanRun(lost: boolean[]): number {
  let runs = 0, lostCount = 0;
  lost.forEach((l, i) => {
    if (!l) return;
    lostCount++;
    if (i === 0 || !lost[i - 1]) runs++;
  });
  return lostCount / runs;
}

Deno.test("independent loss loses its share of datagrams, one here and one there", () => {
  const lost = losses({ kind: "independent", rate: 0.3 });
  const share = lost.filter(Boolean).length / lost.length;
  assert.ok(Math.abs(share - 0.3) < 0.01, `lost ${share}`);
  // Runs of independent losses last 1 / (1 - p) datagrams.
  assert.ok(Math.abs(meanRun(lost) - 1 / 0.7) < 0.05);
});

Deno.test("bursty loss loses its long-run share in bursts as long as its bad spells", () => {
  const loss: LossModel = { kind: "bursty", meanGood: 900, meanBad: 100, lossGood: 0, lossBad: 1 };
  const lost = losses(loss);
  const share = lost.filter(Boolean).length / lost.length;
  assert.equal(lossRate(loss), 0.1);
  assert.ok(Math.abs(share - 0.1) < 0.02, `lost ${share}`);
  // A bad spell of 100 ms on average swallows some 10 datagrams sent 10 ms apart.
  const run = meanRun(lost);
  assert.ok(run > 7 && run < 13, `mean burst ${run}`);
});

Deno.test("a multicast reaches the hosts on its link only, each charting its address there", () => {
  const world = new World({ seed: 1 });
  const left = world.addLink();
  const right = world.addLink();
  const a = world.addInstance(world.addHost("a", [left]), { id: 1n });
  const b = world.addInstance(world.addHost("b", [right]), { id: 2n });
  const both = world.addInstance(world.addHost("both", [left, right]), { id: 3n });
  for (const instance of [a, b, both]) world.start(instance);
  world.run(3_000);
  assert.deepEqual(a.core!.entries().map((e) => [e.id, e.address]), [[3n, "10.0.0.2"]]);
  assert.deepEqual(b.core!.entries().map((e) => [e.id, e.address]), [[3n, "10.1.0.2"]]);
  const charted = both.core!.entries().map((e) => [e.id, e.address]).sort();
  assert.deepEqual(charted, [[1n, "10.0.0.1"], [2n, "10.1.0.1"]]);
});

Deno.test("a split link, a link down and a host cut off drop datagrams, and say why", () => {
  const world = new World({ seed: 1 });
  const link = world.addLink();
  const hosts = [1, 2, 3, 4].map((i) => world.addHost(`h${i}`, [link]));
  hosts.forEach((host, i) => world.start(world.addInstance(host, { id: BigInt(i + 1) })));
  world.run(1_000);
  world.split(link, [[hosts[0], hosts[1]]]);
  world.run(2_000);
  assert.ok(world.stats.dropped.partition > 0);
  assert.equal(world.network.reachable(hosts[0], hosts[1]), true);
  assert.equal(world.network.reachable(hosts[0], hosts[2]), false);
  world.heal(link);
  world.setHostUp(hosts[3], false);
  world.run(3_000);
  assert.ok(world.stats.dropped["host-down"] > 0);
  assert.equal(world.network.reachable(hosts[0], hosts[3]), false);
  world.setHostUp(hosts[3], true);
  world.setLinkUp(link, false);
  world.run(4_000);
  assert.ok(world.stats.dropped["link-down"] > 0);
  assert.equal(world.network.reachable(hosts[0], hosts[2]), false);
  world.setLinkUp(link, true);
  assert.equal(world.network.reachable(hosts[0], hosts[3]), true);
});
