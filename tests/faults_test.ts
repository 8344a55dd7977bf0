import { type LabHost, LabNet, Peer, type PeerOptions } from "./_lab.ts";
import assert from "node:assert/strict";

const DEADLINE = 30_000;
/** A fast ramp: intervals of at most 300 ms (330 with jitter), a ttl of 990 ms. */
const FAST = { min: 50, max: 300, rampdown: 1_000 };
const INTERVAL = FAST.max * 1.1;
const TTL = Math.ceil(3 * INTERVAL);
/** Scheduling slack for processes on a loaded two-core machine. */
const SLACK = 1_000;
const interfaces = { rescanInterval: 100 };

/** A clock the peers share: they stamp their events with it. */
const now = () => performance.timeOrigin + performance.now();

function startPeers(hosts: LabHost[], options: Partial<PeerOptions> = {}): Peer[] {
  return hosts.map((host, i) =>
    new Peer({
      id: `${i + 1}`,
      ports: [9000 + i],
      localDiscovery: false,
      rampdown: FAST,
      interfaces,
      ...options,
    }, host)
  );
}

async function stopAll(peers: Peer[]): Promise<void> {
  for (const peer of peers) await peer[Symbol.asyncDispose]();
}

/** Waits until every peer charts every other one, and returns when that was. */
async function whole(peers: Peer[], signal: AbortSignal): Promise<void> {
  const ids = peers.map((_, i) => `${i + 1}`);
  await Promise.all(peers.map((peer, i) => peer.charts(ids.filter((_, j) => j !== i), signal)));
}

/** The time a peer last (re)added an instance, on the shared clock. */
function addedAt(peer: Peer, id: string): number {
  return peer.lines.findLast((line) => line.type === "added" && line.id === id)!.at!;
}

Deno.test("a killed process disappears from every peer within its ttl plus one interval", async () => {
  await using lab = await LabNet.create(3);
  const peers = startPeers(lab.hosts);
  try {
    await whole(peers, AbortSignal.timeout(DEADLINE));
    const killedAt = now();
    peers[2].kill("SIGKILL");
    for (const peer of peers.slice(0, 2)) {
      const removed = await peer.removes("3", AbortSignal.timeout(DEADLINE));
      assert.equal(removed.reason, "expired");
      const after = removed.at! - killedAt;
      assert.ok(after < TTL + INTERVAL + SLACK, `removed ${after} ms after the kill`);
    }
  } finally {
    await stopAll(peers);
  }
});

Deno.test("a process stopped with SIGTERM says goodbye and is removed at once", async () => {
  await using lab = await LabNet.create(3);
  // A ttl of 33 s: only the goodbye can remove it within the test's deadline.
  const peers = startPeers(lab.hosts, { rampdown: { min: 50, max: 10_000, rampdown: 1_000 } });
  try {
    await whole(peers, AbortSignal.timeout(DEADLINE));
    peers[2].kill("SIGTERM");
    for (const peer of peers.slice(0, 2)) {
      const removed = await peer.removes("3", AbortSignal.timeout(10_000));
      assert.equal(removed.reason, "goodbye");
    }
  } finally {
    await stopAll(peers);
  }
});

Deno.test("a host whose cable is pulled expires, and all charts are whole again soon after it is back", async () => {
  await using lab = await LabNet.create(3);
  const peers = startPeers(lab.hosts);
  try {
    await whole(peers, AbortSignal.timeout(DEADLINE));
    await lab.setCable(lab.hosts[2], false);
    const signal = AbortSignal.timeout(DEADLINE);
    for (const peer of peers.slice(0, 2)) {
      assert.equal((await peer.removes("3", signal)).reason, "expired");
    }
    assert.equal((await peers[2].removes("1", signal)).reason, "expired");
    assert.equal((await peers[2].removes("2", signal)).reason, "expired");

    const backAt = now();
    await lab.setCable(lab.hosts[2], true);
    await whole(peers, AbortSignal.timeout(DEADLINE));
    const last = Math.max(
      addedAt(peers[0], "3"),
      addedAt(peers[1], "3"),
      addedAt(peers[2], "1"),
      addedAt(peers[2], "2"),
    );
    assert.ok(
      last - backAt < 2 * INTERVAL + SLACK,
      `whole ${last - backAt} ms after the cable came back`,
    );
  } finally {
    await stopAll(peers);
  }
});

Deno.test("a partition of the link expires each half on the other, and healing makes the charts whole", async () => {
  await using lab = await LabNet.create(4);
  const peers = startPeers(lab.hosts);
  try {
    await whole(peers, AbortSignal.timeout(DEADLINE));
    const [h1, h2, h3, h4] = lab.hosts;
    await lab.moveCables([h3, h4], `${lab.bridge}p`);
    const signal = AbortSignal.timeout(DEADLINE);
    for (
      const [peer, others] of [[0, ["3", "4"]], [1, ["3", "4"]], [2, ["1", "2"]], [3, [
        "1",
        "2",
      ]]] as const
    ) {
      for (const id of others) {
        assert.equal((await peers[peer].removes(id, signal)).reason, "expired");
      }
    }
    // Each half still has its own.
    assert.ok(peers[0].charted.has("2") && peers[2].charted.has("4"));

    const healedAt = now();
    await lab.moveCables([h3, h4]);
    await whole(peers, AbortSignal.timeout(DEADLINE));
    const last = Math.max(
      ...["3", "4"].flatMap((id) => [addedAt(peers[0], id), addedAt(peers[1], id)]),
      ...["1", "2"].flatMap((id) => [addedAt(peers[2], id), addedAt(peers[3], id)]),
    );
    assert.ok(last - healedAt < 2 * INTERVAL + SLACK, `whole ${last - healedAt} ms after healing`);
    void h1, h2;
  } finally {
    await stopAll(peers);
  }
});

Deno.test("an interface added to a running host is used without a restart", async () => {
  await using left = await LabNet.create(2);
  await using right = await LabNet.create(1);
  const [first, second] = startPeers(left.hosts);
  const third = new Peer({
    id: "3",
    ports: [9002],
    localDiscovery: false,
    rampdown: FAST,
    interfaces,
  }, right.hosts[0]);
  try {
    await whole([first, second], AbortSignal.timeout(DEADLINE));
    const { address } = await left.addInterface(left.hosts[0], right);
    const signal = AbortSignal.timeout(DEADLINE);
    await third.charts(["1"], signal);
    await first.charts(["3"], signal);
    assert.equal(third.charted.get("1")?.address, address);
    assert.equal(first.charted.get("3")?.address, right.hosts[0].address);
    assert.equal(first.charted.get("2")?.address, left.hosts[1].address);
    assert.ok(!second.charted.has("3"), "the second host has no link to the third");
  } finally {
    await stopAll([first, second, third]);
  }
});

Deno.test("a chart whose interface comes up is answered by those who announced there before", async () => {
  await using left = await LabNet.create(1);
  await using right = await LabNet.create(1);
  // One announcement each, then none for a minute: only an answer brings news in time.
  const slow = { min: 60_000, max: 60_000, rampdown: 1 };
  const options = { localDiscovery: false, rampdown: slow, interfaces };
  const first = new Peer({ id: "1", ports: [9000], ...options }, left.hosts[0]);
  const third = new Peer({ id: "3", ports: [9002], ...options }, right.hosts[0]);
  try {
    const signal = AbortSignal.timeout(DEADLINE);
    await first.until((line) => line.type === "ready", signal);
    // The third announces after the first started to listen, but on a link the first is not on.
    await third.until((line) => line.type === "ready", signal);
    await left.addInterface(left.hosts[0], right);
    await first.charts(["3"], signal);
    await third.charts(["1"], signal);
  } finally {
    await stopAll([first, third]);
  }
});

Deno.test("a loopback-only chart is found on its own host and nowhere else", async () => {
  await using lab = await LabNet.create(2);
  const [h1, h2] = lab.hosts;
  const base = { localDiscovery: true, rampdown: FAST, interfaces };
  const local = new Peer({
    ...base,
    id: "1",
    ports: [1],
    interfaces: { ...interfaces, loopbackOnly: true },
  }, h1);
  const neighbour = new Peer({ ...base, id: "2", ports: [2] }, h1);
  const remote = new Peer({ ...base, id: "3", ports: [3] }, h2);
  const peers = [local, neighbour, remote];
  try {
    const signal = AbortSignal.timeout(DEADLINE);
    await neighbour.charts(["1", "3"], signal);
    await remote.charts(["2"], signal);
    assert.equal(neighbour.charted.get("1")?.address, "127.0.0.1");
    // One more instance on the first host, started after the loopback-only
    // one had announced many times: the remote host hears it, never the other.
    const late = new Peer({ ...base, id: "4", ports: [4] }, h1);
    peers.push(late);
    await remote.charts(["4"], signal);
    assert.ok(!remote.charted.has("1"), "the remote host charted the loopback-only instance");
    assert.ok(!local.charted.has("3"), "the loopback-only instance charted a remote one");
  } finally {
    await stopAll(peers);
  }
});
