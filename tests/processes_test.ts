import { LabNet, Peer } from "./_lab.ts";
import assert from "node:assert/strict";
import { freshPort } from "./_charts.ts";

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
