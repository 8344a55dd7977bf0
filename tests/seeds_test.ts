/**
 * Seeds in the lab: two subnets joined by a router, which forwards unicast
 * and no multicast, so that the two sides find each other only through
 * seeds; a static list, a DNS name served by a real dnsmasq, a subnet with
 * multicast turned off, and seeds that do not exist.
 *
 * @module
 */

import {
  LabDns,
  type LabHost,
  type LabHostOptions,
  LabNet,
  Peer,
  type PeerLine,
  type PeerOptions,
} from "./_lab.ts";
import assert from "node:assert/strict";
import { freshPort } from "./_charts.ts";
import { Lines } from "./_lines.ts";
import { requireTool } from "./_tools.ts";
import { ChartBuilder, DEFAULT_HEADER, maintain } from "../mod.ts";
import dgram from "node:dgram";

const DEADLINE = 60_000;
/** Short intervals, so that expiry and re-resolution show within the deadline. */
const RAMPDOWN = { min: 100, max: 500, rampdown: 1_000 };

/** Two subnets of `n` hosts each (with these addresses), joined by a router. */
async function twoSubnets(n: number, options?: LabHostOptions) {
  const a = await LabNet.create(n, Array(n).fill(options ?? {}));
  const b = await LabNet.create(n, Array(n).fill(options ?? {}));
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

/** An IPv6 address written out in full and in capitals, as a user may write it. */
function spelledOut(address: string): string {
  const [head, tail] = address.split("::");
  const left = head.split(":");
  const right = tail === undefined ? [] : tail.split(":").filter((group) => group !== "");
  const zeros = Array(8 - left.length - right.length).fill("0000");
  return [...left, ...zeros, ...right].map((group) => group.padStart(4, "0")).join(":")
    .toUpperCase();
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

Deno.test("a DNS name joins two subnets, and members added to and removed from DNS are followed", async () => {
  await using net = await twoSubnets(2);
  const [a1] = net.a.hosts;
  const [b1, b2] = net.b.hosts;
  await using dns = await LabDns.start(net.router, { "peers.lab": [a1.address, b1.address] });
  const discoveryPort = freshPort();
  const seeded = { discoveryPort, seeds: ["peers.lab"], nameServer: dns.address };
  await using p1 = peerOn(a1, { id: "1", ports: [9001], ...seeded });
  await using p3 = peerOn(b1, { id: "3", ports: [9003], ...seeded });
  const signal = AbortSignal.timeout(DEADLINE);
  await Promise.all([p1.charts(["3"], signal), p3.charts(["1"], signal)]);
  assert.deepEqual(entryOf(p1, "3"), expected("3", b1, 9003));
  assert.deepEqual(entryOf(p3, "1"), expected("1", a1, 9001));

  // Not yet in DNS: it reaches p1 through the name, but p1 does not answer
  // an off-link instance it did not name (no keys).
  await using p4 = peerOn(b2, { id: "4", ports: [9004], ...seeded });
  await Promise.all([p1.charts(["4"], signal), p4.charts(["3"], signal)]);
  assert.deepEqual(entryOf(p1, "4"), expected("4", b2, 9004));
  assert.equal(p4.charted.has("1"), false);
  // Added to DNS: p1 resolves the name again and announces to it.
  await dns.setRecords({ "peers.lab": [a1.address, b1.address, b2.address] });
  await p4.charts(["1"], signal);
  assert.deepEqual(entryOf(p4, "1"), expected("1", a1, 9001));

  // Removed from DNS: p1 sends b1 no more, and p3 lets p1 expire, while p4 keeps it.
  await dns.setRecords({ "peers.lab": [a1.address, b2.address] });
  const removed = await p3.removes("1", signal);
  assert.equal(removed.reason, "expired");
  assert.equal(removed.address, a1.address);
  assert.deepEqual(entryOf(p4, "1"), expected("1", a1, 9001));
  // p3 still announces to p1 through the name: p1 keeps it.
  assert.deepEqual(entryOf(p1, "3"), expected("3", b1, 9003));
});

Deno.test("SRV records give each member's address and port, and our own is skipped", async () => {
  await using net = await twoSubnets(1);
  const [a1] = net.a.hosts;
  const [b1] = net.b.hosts;
  // Each member on a discovery port of its own: only the SRV records say which.
  const portA = freshPort();
  const portB = freshPort();
  await using dns = await LabDns.start(
    net.router,
    { "a1.lab": [a1.address], "b1.lab": [b1.address] },
    {
      "_instance-chart._udp.lab": [{ target: "a1.lab", port: portA }, {
        target: "b1.lab",
        port: portB,
      }],
    },
  );
  // Unicast only: what comes back to a chart is then only what was sent to it.
  const seeded = { seeds: ["_instance-chart._udp.lab"], nameServer: dns.address, multicast: false };
  await using p1 = peerOn(a1, { id: "1", ports: [9001], discoveryPort: portA, ...seeded });
  await using p3 = peerOn(b1, { id: "3", ports: [9003], discoveryPort: portB, ...seeded });
  const signal = AbortSignal.timeout(DEADLINE);
  await Promise.all([p1.charts(["3"], signal), p3.charts(["1"], signal)]);
  assert.deepEqual(entryOf(p1, "3"), expected("3", b1, 9003));
  assert.deepEqual(entryOf(p3, "1"), expected("1", a1, 9001));
  const counters = await p1.close(signal);
  // Our own socket is no destination: none of our rounds came back to us.
  assert.ok(counters.seedAnnouncements > 0);
  assert.equal(counters.dropped.own, 0);
  assert.equal(p1.lines.some((line) => line.type === "error"), false);
  // Its goodbye went to the port the SRV record gave.
  const removed = await p3.removes("1", signal);
  assert.deepEqual([removed.reason, removed.address], ["goodbye", a1.address]);
});

Deno.test("a subnet with multicast turned off everywhere still converges through seeds", async () => {
  await using lab = await LabNet.create(3);
  const discoveryPort = freshPort();
  const seeds = lab.hosts.map((host) => host.address);
  const peers = lab.hosts.map((host, i) =>
    peerOn(host, { id: `${i + 1}`, ports: [9001 + i], discoveryPort, seeds, multicast: false })
  );
  try {
    const signal = AbortSignal.timeout(DEADLINE);
    const ids = ["1", "2", "3"];
    await Promise.all(peers.map((peer, i) => peer.charts(ids.filter((_, j) => j !== i), signal)));
    for (const [i, peer] of peers.entries()) {
      for (const [j, host] of lab.hosts.entries()) {
        if (i !== j) {
          assert.deepEqual(entryOf(peer, `${j + 1}`), expected(`${j + 1}`, host, 9001 + j));
        }
      }
    }
    const counters = await peers[0].close(signal);
    assert.equal(counters.announcements, 0);
    assert.ok(counters.seedAnnouncements > 0);
    // Its goodbye went by unicast too.
    for (const peer of peers.slice(1)) {
      assert.equal((await peer.removes("1", signal)).reason, "goodbye");
    }
  } finally {
    for (const peer of peers) await peer[Symbol.asyncDispose]();
  }
});

Deno.test("a seed that does not exist and a name that does not resolve are reported and retried, not fatal", async () => {
  await using net = await twoSubnets(1);
  const [a1] = net.a.hosts;
  const [b1] = net.b.hosts;
  await using dns = await LabDns.start(net.router, { "b1.lab": [b1.address] });
  const discoveryPort = freshPort();
  const nowhere = b1.address.replace(/\.\d+$/, ".99");
  await using p1 = peerOn(a1, {
    id: "1",
    ports: [9001],
    discoveryPort,
    seeds: [nowhere, "nowhere.lab", "b1.lab"],
    nameServer: dns.address,
  });
  await using p3 = peerOn(b1, { id: "3", ports: [9003], discoveryPort, seeds: [a1.address] });
  const signal = AbortSignal.timeout(DEADLINE);
  const errors = () =>
    p1.lines.filter((line) => line.type === "error").map((line) => line.message!);
  const unresolved = () => errors().filter((message) => message.includes('"nowhere.lab"'));
  await p1.until(() => unresolved().length >= 2, signal);
  assert.match(unresolved()[0], /no A, AAAA or SRV records; trying again in 5 s/);
  assert.match(unresolved()[1], /trying again in 10 s/);
  await p1.until(() => errors().some((message) => message.includes(nowhere)), signal);
  assert.match(
    errors().find((message) => message.includes(nowhere))!,
    new RegExp(`Seed ${nowhere.replaceAll(".", "\\.")}:${discoveryPort} has not been heard from`),
  );
  // Discovery goes on: the seed that exists is charted, and was never reported.
  await Promise.all([p1.charts(["3"], signal), p3.charts(["1"], signal)]);
  assert.deepEqual(entryOf(p1, "3"), expected("3", b1, 9003));
  assert.equal(errors().some((message) => message.includes(b1.address)), false);
  await p3.close(signal);
  const removed = await p1.removes("3", signal);
  assert.deepEqual([removed.reason, removed.address], ["goodbye", b1.address]);
});

/** Hosts with IPv6 alone: a unique local address (and a link-local one). */
const V6_ONLY: LabHostOptions = { ipv4: false, ipv6: "ula" };

for (const transport of ["deno", "node"] as const) {
  Deno.test(`IPv6 seeds join two subnets across a router by unicast alone, and the goodbye goes to the seed (${transport})`, async () => {
    await using net = await twoSubnets(1, V6_ONLY);
    const [a1] = net.a.hosts;
    const [b1] = net.b.hosts;
    // A discovery port each: only the seeds say which.
    const portA = freshPort();
    const portB = freshPort();
    const common = { transport, family: "ipv6", multicast: false } as const;
    await using p1 = peerOn(a1, {
      id: "1",
      ports: [9001],
      discoveryPort: portA,
      // Written as a user may: its canonical form is what the chart sees.
      seeds: [`[${spelledOut(b1.ula!)}]:${portB}`],
      ...common,
    });
    await using p3 = peerOn(b1, {
      id: "3",
      ports: [9003],
      discoveryPort: portB,
      seeds: [`[${a1.ula}]:${portA}`],
      ...common,
    });
    const signal = AbortSignal.timeout(DEADLINE);
    await Promise.all([p1.charts(["3"], signal), p3.charts(["1"], signal)]);
    assert.deepEqual(entryOf(p1, "3"), { id: "3", address: b1.ula, ports: [9003] });
    assert.deepEqual(entryOf(p3, "1"), { id: "1", address: a1.ula, ports: [9001] });
    const counters = await p1.close(signal);
    assert.equal(counters.announcements, 0);
    assert.ok(counters.seedAnnouncements > 0);
    // Each seed was heard from at the address it was named by.
    for (const peer of [p1, p3]) {
      assert.deepEqual(peer.lines.filter((line) => line.type === "error"), []);
    }
    const removed = await p3.removes("1", signal);
    assert.deepEqual([removed.reason, removed.address], ["goodbye", a1.ula]);
  });

  Deno.test(`a name's AAAA records join two IPv6 subnets across a router (${transport})`, async () => {
    await using net = await twoSubnets(1, V6_ONLY);
    const [a1] = net.a.hosts;
    const [b1] = net.b.hosts;
    // The name server answers over IPv6 too.
    await using dns = await LabDns.start(net.router, { "peers.lab": [a1.ula!, b1.ula!] });
    const discoveryPort = freshPort();
    const seeded: Omit<PeerOptions, "id"> = {
      transport,
      family: "ipv6",
      multicast: false,
      discoveryPort,
      seeds: ["peers.lab"],
      nameServer: `[${dns.address}]:53`,
    };
    await using p1 = peerOn(a1, { id: "1", ports: [9001], ...seeded });
    await using p3 = peerOn(b1, { id: "3", ports: [9003], ...seeded });
    const signal = AbortSignal.timeout(DEADLINE);
    await Promise.all([p1.charts(["3"], signal), p3.charts(["1"], signal)]);
    assert.deepEqual(entryOf(p1, "3"), { id: "3", address: b1.ula, ports: [9003] });
    assert.deepEqual(entryOf(p3, "1"), { id: "1", address: a1.ula, ports: [9001] });
    const counters = await p3.close(signal);
    assert.ok(counters.seedAnnouncements > 0);
    // Its own address among the name's was skipped.
    assert.equal(counters.dropped.own, 0);
    const removed = await p1.removes("3", signal);
    assert.deepEqual([removed.reason, removed.address], ["goodbye", b1.ula]);
  });

  Deno.test(`on dual-stack hosts with IPv6 chosen, a name's AAAA records are used and its A records not (${transport})`, async () => {
    await using net = await twoSubnets(1, { ipv6: "ula" });
    const [a1] = net.a.hosts;
    const [b1] = net.b.hosts;
    await using dns = await LabDns.start(net.router, {
      "peers.lab": [a1.ipv4!, a1.ula!, b1.ipv4!, b1.ula!],
    });
    const discoveryPort = freshPort();
    const seeded: Omit<PeerOptions, "id"> = {
      transport,
      family: "ipv6",
      multicast: false,
      discoveryPort,
      seeds: ["peers.lab"],
      nameServer: dns.address,
    };
    await using p1 = peerOn(a1, { id: "1", ports: [9001], ...seeded });
    await using p3 = peerOn(b1, { id: "3", ports: [9003], ...seeded });
    const signal = AbortSignal.timeout(DEADLINE);
    await Promise.all([p1.charts(["3"], signal), p3.charts(["1"], signal)]);
    await Promise.all([dns.queried("peers.lab", a1.ipv4!), dns.queried("peers.lab", b1.ipv4!)]);
    // Heard over IPv6 alone: one address, the unique local one.
    assert.deepEqual(entryOf(p1, "3"), { id: "3", address: b1.ula, ports: [9003] });
    assert.deepEqual(entryOf(p3, "1"), { id: "1", address: a1.ula, ports: [9001] });
    const counters = await p3.close(signal);
    assert.ok(counters.seedAnnouncements > 0);
    const removed = await p1.removes("3", signal);
    assert.deepEqual([removed.reason, removed.address], ["goodbye", b1.ula]);
    // No IPv4 datagram went to a seed, and so none was ever heard.
    assert.equal(p1.lines.some((line) => line.addresses !== undefined), false);
    assert.equal(p3.lines.some((line) => line.addresses !== undefined), false);
  });
}

/**
 * A receiver as a Rust peer has one: a socket on the discovery port that
 * prints each datagram's source and bytes in hex.
 */
const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
print("ready", flush=True)
while True:
    data, source = s.recvfrom(2048)
    print(source[0], data.hex(), flush=True)
`;

/** Little-endian hex of an unsigned integer of `bytes` bytes. */
function hexLE(value: bigint, bytes: number): string {
  const view = new DataView(new ArrayBuffer(bytes));
  if (bytes === 8) view.setBigUint64(0, value, true);
  else view.setUint16(0, Number(value), true);
  return new Uint8Array(view.buffer).toHex();
}

Deno.test("a Rust peer named as a seed across a router gets announcements in the layout it reads", async () => {
  await requireTool("python3");
  await using net = await twoSubnets(1);
  const [a1] = net.a.hosts;
  const [b1] = net.b.hosts;
  const discoveryPort = freshPort();
  const rust = new Deno.Command("ip", {
    args: ["netns", "exec", b1.name, "python3", "-c", RECEIVER, `${discoveryPort}`],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const received = new Lines("the Rust peer's receiver", rust.stdout);
  try {
    const signal = AbortSignal.timeout(DEADLINE);
    await received.line("ready", (line) => line === "ready", signal);
    await using _chart = peerOn(a1, { id: "3", ports: [8042], discoveryPort, seeds: [b1.address] });
    // What a Rust receiver reads: header, id and ports (16 + 2N bytes); our extension follows.
    const layout = hexLE(DEFAULT_HEADER, 8) + hexLE(3n, 8) + hexLE(8042n, 2);
    const line = await received.line(
      "an announcement from the chart",
      (line) => line.startsWith(`${a1.address} ${layout}`),
      signal,
    );
    assert.ok(line.split(" ")[1].length > layout.length, "with our extension after it");
  } finally {
    rust.kill("SIGKILL");
    await rust.status;
    await received.done;
  }
});

Deno.test("with keys, a newcomer that names us as its seed is answered across the router at once", async () => {
  await using net = await twoSubnets(1);
  const [a1] = net.a.hosts;
  const [b1] = net.b.hosts;
  const discoveryPort = freshPort();
  const keys = ["a shared key of thirty-two bytes!"];
  const signal = AbortSignal.timeout(DEADLINE);
  // Without the key, a newcomer is charted by no one: it announces all along.
  await using stranger = peerOn(b1, {
    id: "4",
    ports: [9004],
    discoveryPort: freshPort(),
    seeds: [`${a1.address}:${discoveryPort}`],
  });
  await stranger.until((line) => line.type === "ready", signal);
  // p1 names no seed: it answers p3 only because a key vouches for p3.
  await using p1 = peerOn(a1, { id: "1", ports: [9001], discoveryPort, keys, stats: 100 });
  await p1.until((line) => line.type === "ready", signal);
  await using p3 = peerOn(b1, { id: "3", ports: [9003], discoveryPort, keys, seeds: [a1.address] });
  await Promise.all([p1.charts(["3"], signal), p3.charts(["1"], signal)]);
  assert.deepEqual(entryOf(p1, "3"), expected("3", b1, 9003));
  assert.deepEqual(entryOf(p3, "1"), expected("1", a1, 9001));
  // The stranger's announcements came, and were refused.
  await p1.until((line) => (line.counters?.dropped.unsigned ?? 0) > 0, signal);
  assert.equal(p1.charted.has("4"), false);
  assert.equal(stranger.charted.has("1"), false);
});

Deno.test("a chart closed while its seed name is being resolved reports nothing and leaves no timer", async () => {
  // A name server that never answers: each query would wait out its timeout.
  const silent = dgram.createSocket("udp4");
  const queried = new Promise<void>((resolve) => silent.once("message", () => resolve()));
  await new Promise<void>((resolve) => silent.bind(0, "127.0.0.1", resolve));
  try {
    const errors: Error[] = [];
    const chart = await new ChartBuilder()
      .withId(1)
      .withServicePort(9001)
      .withDiscoveryPort(freshPort())
      .localDiscovery(true)
      .withSeeds(["peers.lab"], { nameServer: `127.0.0.1:${silent.address().port}` })
      .withErrorHandler((error) => errors.push(error))
      .finish();
    const running = maintain(chart);
    await queried;
    // Closing cancels the queries under way: their end is no error to report,
    // and no retry is planned (the test's sanitizers fail it on a timer left).
    await chart.close();
    await running;
    assert.deepEqual(errors.map((error) => error.message), []);
  } finally {
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }
});
