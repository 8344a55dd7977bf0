import "./_lab.ts";
import assert from "node:assert/strict";
import {
  type Delivery,
  type DiscoveryListener,
  openDiscoverySocket,
} from "../src/io/process_bus.ts";
import type { DatagramSocket, SocketOptions, Transport } from "../src/io/transport.ts";
import {
  ChartBuilder,
  foundEveryone,
  maintain,
  MULTICAST_GROUP,
  sniff,
  type TransportKind,
} from "../mod.ts";
import { Charts, collect, freshPort, portChart, TRANSPORTS, until } from "./_charts.ts";

const deadline = () => AbortSignal.timeout(20_000);

/** A transport in memory that records what its sockets are asked to do. */
class RecordingTransport implements Transport {
  readonly opened: SocketOptions[] = [];
  readonly calls: string[] = [];
  failNextOpen: Error | undefined;

  open(options: SocketOptions): Promise<DatagramSocket> {
    this.opened.push(options);
    const n = this.opened.length;
    if (this.failNextOpen) {
      const error = this.failNextOpen;
      this.failNextOpen = undefined;
      return Promise.reject(error);
    }
    const calls = this.calls;
    return Promise.resolve({
      port: options.port,
      send: () => Promise.resolve(),
      joinGroup(group, address) {
        calls.push(`socket ${n} join ${group} ${address}`);
        return Promise.resolve();
      },
      leaveGroup(group, address) {
        calls.push(`socket ${n} leave ${group} ${address}`);
        return Promise.resolve();
      },
      close() {
        calls.push(`socket ${n} close`);
        return Promise.resolve();
      },
    });
  }

  /** Delivers a datagram as socket `n` (from 1) would. */
  receive(n: number, text: string, hostname = "127.0.0.1", port = 1234): void {
    this.opened[n - 1].onDatagram(encode(text), hostname, port);
  }
}

function encode(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** A listener that records what it gets: `heard` as "text from host:port". */
function listener(): DiscoveryListener & {
  heard: string[];
  received: Delivery[];
  errors: Error[];
} {
  const heard: string[] = [];
  const received: Delivery[] = [];
  const errors: Error[] = [];
  return {
    heard,
    received,
    errors,
    onDatagram: (datagram) => {
      received.push(datagram);
      const text = new TextDecoder().decode(datagram.data);
      heard.push(
        datagram.port === 1234 ? text : `${text} from ${datagram.address}:${datagram.port}`,
      );
    },
    onError: (error) => errors.push(error),
  };
}

Deno.test("holds on one shared port share one socket, which closes with the last", async () => {
  const transport = new RecordingTransport();
  const options = { transport, port: 7100, reuseAddress: true, handOver: false };
  const [a, b] = [listener(), listener()];
  const holdA = await openDiscoverySocket(options, a);
  const holdB = await openDiscoverySocket(options, b);
  assert.equal(transport.opened.length, 1);
  transport.receive(1, "one");
  assert.deepEqual([a.heard, b.heard], [["one"], ["one"]]);

  await holdA.close();
  transport.receive(1, "two");
  assert.deepEqual([a.heard, b.heard], [["one"], ["one", "two"]]);
  assert.deepEqual(transport.calls, []);

  await holdB.close();
  assert.deepEqual(transport.calls, ["socket 1 close"]);
  // Nothing holds the port now: the next hold binds it again.
  await (await openDiscoverySocket(options, listener())).close();
  assert.equal(transport.opened.length, 2);
});

Deno.test("holds that open together wait for one bind", async () => {
  const transport = new RecordingTransport();
  const options = { transport, port: 7101, reuseAddress: true, handOver: false };
  const holds = await Promise.all([1, 2, 3].map(() => openDiscoverySocket(options, listener())));
  assert.equal(transport.opened.length, 1);
  await Promise.all(holds.map((hold) => hold.close()));
  assert.deepEqual(transport.calls, ["socket 1 close"]);
});

Deno.test("a port bound without reuse, another port or another transport is not shared", async () => {
  const transport = new RecordingTransport();
  const other = new RecordingTransport();
  const holds = [
    await openDiscoverySocket(
      { transport, port: 7102, reuseAddress: false, handOver: false },
      listener(),
    ),
    await openDiscoverySocket(
      { transport, port: 7102, reuseAddress: false, handOver: false },
      listener(),
    ),
    await openDiscoverySocket(
      { transport, port: 7103, reuseAddress: true, handOver: false },
      listener(),
    ),
    await openDiscoverySocket(
      { transport: other, port: 7103, reuseAddress: true, handOver: false },
      listener(),
    ),
  ];
  assert.equal(transport.opened.length, 3);
  assert.equal(other.opened.length, 1);
  for (const hold of holds) await hold.close();
});

Deno.test("a failed bind fails every hold waiting on it, and the next open tries again", async () => {
  const transport = new RecordingTransport();
  const options = { transport, port: 7104, reuseAddress: true, handOver: false };
  transport.failNextOpen = Object.assign(new Error("bind EADDRINUSE"), { code: "EADDRINUSE" });
  const results = await Promise.allSettled(
    [1, 2].map(() => openDiscoverySocket(options, listener())),
  );
  assert.deepEqual(results.map((result) => result.status), ["rejected", "rejected"]);
  assert.equal(transport.opened.length, 1);
  await (await openDiscoverySocket(options, listener())).close();
  assert.equal(transport.opened.length, 2);
});

Deno.test("the group is joined once per interface and left when no hold needs it", async () => {
  const transport = new RecordingTransport();
  const options = { transport, port: 7105, reuseAddress: true, handOver: false };
  const holdA = await openDiscoverySocket(options, listener());
  const holdB = await openDiscoverySocket(options, listener());
  const holdC = await openDiscoverySocket(options, listener());
  await holdA.joinGroup(MULTICAST_GROUP, "127.0.0.1");
  await holdB.joinGroup(MULTICAST_GROUP, "127.0.0.1");
  await holdB.joinGroup(MULTICAST_GROUP, "198.18.0.1");
  assert.deepEqual(transport.calls, [
    `socket 1 join ${MULTICAST_GROUP} 127.0.0.1`,
    `socket 1 join ${MULTICAST_GROUP} 198.18.0.1`,
  ]);
  transport.calls.length = 0;
  await holdA.leaveGroup(MULTICAST_GROUP, "127.0.0.1");
  assert.deepEqual(transport.calls, []);
  // Closing a hold leaves what it joined.
  await holdB.close();
  assert.deepEqual(transport.calls, [
    `socket 1 leave ${MULTICAST_GROUP} 127.0.0.1`,
    `socket 1 leave ${MULTICAST_GROUP} 198.18.0.1`,
  ]);
  await holdA.close();
  await holdC.close();
});

Deno.test("a listener that throws is told, and the others still get the datagram", async () => {
  const transport = new RecordingTransport();
  const options = { transport, port: 7106, reuseAddress: true, handOver: false };
  const failing = listener();
  failing.onDatagram = () => {
    throw new Error("listener failed");
  };
  const healthy = listener();
  const holds = [
    await openDiscoverySocket(options, failing),
    await openDiscoverySocket(options, healthy),
  ];
  transport.receive(1, "one");
  assert.deepEqual(failing.errors.map((error) => error.message), ["listener failed"]);
  assert.deepEqual(healthy.heard, ["one"]);
  for (const hold of holds) await hold.close();
});

/** The UDP sockets of this network namespace bound to `port`, from /proc/net/udp. */
function socketsOnPort(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  return ["/proc/net/udp", "/proc/net/udp6"].flatMap((table) =>
    Deno.readTextFileSync(table).split("\n").slice(1)
      .filter((line) => line.trim().split(/\s+/)[1]?.endsWith(`:${hex}`))
  ).length;
}

for (const transport of TRANSPORTS) {
  Deno.test(`[${transport}] 20 charts in one process bind the discovery port once`, async () => {
    await using group = await Charts.start(20, transport);
    const { discoveryPort } = group.charts[0];
    await Promise.all(
      group.charts.map((chart) => foundEveryone(chart, 20, { signal: deadline() })),
    );
    // Both families: Deno's socket on `::` is dual-stack; node:dgram's are one of each.
    const once = transport === "node" ? 2 : 1;
    assert.equal(socketsOnPort(discoveryPort), once);
    await Promise.all(group.charts.slice(1).map((chart) => chart.close()));
    assert.equal(socketsOnPort(discoveryPort), once);
    await group.charts[0].close();
    assert.equal(socketsOnPort(discoveryPort), 0);
    assert.notEqual(freshPort(), discoveryPort);
  });
}

Deno.test("a multicast is handed to the other holds at once; its kernel copy goes to its sender", async () => {
  const transport = new RecordingTransport();
  const options = { transport, port: 7107, reuseAddress: true, handOver: true };
  const [a, b] = [listener(), listener()];
  const holdA = await openDiscoverySocket(options, a);
  const holdB = await openDiscoverySocket(options, b);
  holdA.addEndpoint("127.0.0.1", 5001);
  const from = { address: "127.0.0.1", port: 5001 };
  const before = performance.now();
  // Still sent: the other processes need it.
  assert.equal(holdA.handOver(encode("hello"), from, MULTICAST_GROUP, 7107), false);
  await until(() => b.received.length === 1, deadline());
  assert.deepEqual(b.heard, ["hello from 127.0.0.1:5001"]);
  assert.ok(
    b.received[0].handedOverAt! >= before && b.received[0].handedOverAt! <= performance.now(),
  );
  // The sender is not handed its own: it hears the kernel's copy, which
  // shows that multicast loops back; no other chart hears that copy.
  assert.deepEqual(a.heard, []);
  transport.receive(1, "hello", "127.0.0.1", 5001);
  transport.receive(1, "other", "127.0.0.1", 5002);
  assert.deepEqual(a.heard, ["hello from 127.0.0.1:5001", "other from 127.0.0.1:5002"]);
  assert.deepEqual(b.heard, ["hello from 127.0.0.1:5001", "other from 127.0.0.1:5002"]);
  assert.equal(a.received[0].handedOverAt, undefined);
  await holdA.close();
  await holdB.close();
});

Deno.test("a unicast to a chart of the process is handed to it alone, not sent", async () => {
  const transport = new RecordingTransport();
  const options = { transport, port: 7108, reuseAddress: true, handOver: true };
  const [a, b, c] = [listener(), listener(), listener()];
  const holds = [
    await openDiscoverySocket(options, a),
    await openDiscoverySocket(options, b),
    await openDiscoverySocket(options, c),
  ];
  holds[1].addEndpoint("127.0.0.1", 5002);
  const from = { address: "127.0.0.1", port: 5001 };
  assert.equal(holds[0].handOver(encode("answer"), from, "127.0.0.1", 5002), true);
  assert.equal(holds[0].handOver(encode("away"), from, "198.18.0.9", 5002), false);
  await until(() => b.received.length === 1, deadline());
  assert.deepEqual([a.heard, b.heard, c.heard], [[], ["answer from 127.0.0.1:5001"], []]);
  // Once its socket is gone, a unicast to it goes to the network.
  holds[1].removeEndpoint("127.0.0.1", 5002);
  assert.equal(holds[0].handOver(encode("late"), from, "127.0.0.1", 5002), false);
  for (const hold of holds) await hold.close();
});

Deno.test("a chart that starts to listen is handed the last multicast of every other", async () => {
  const transport = new RecordingTransport();
  const options = { transport, port: 7109, reuseAddress: true, handOver: true };
  const [a, b, late] = [listener(), listener(), listener()];
  const holdA = await openDiscoverySocket(options, a);
  const holdB = await openDiscoverySocket(options, b);
  holdA.addEndpoint("127.0.0.1", 5001);
  holdB.addEndpoint("127.0.0.1", 5002);
  const fromA = { address: "127.0.0.1", port: 5001 };
  holdA.handOver(encode("a1"), fromA, MULTICAST_GROUP, 7109);
  holdA.handOver(encode("a2"), fromA, MULTICAST_GROUP, 7109);
  holdB.handOver(encode("b1"), { address: "127.0.0.1", port: 5002 }, MULTICAST_GROUP, 7109);
  await until(() => a.received.length === 1 && b.received.length === 2, deadline());
  const holdLate = await openDiscoverySocket(options, late);
  holdLate.replay();
  await until(() => late.received.length === 2, deadline());
  assert.deepEqual(late.heard, ["a2 from 127.0.0.1:5001", "b1 from 127.0.0.1:5002"]);
  // A chart that left is not replayed.
  await holdB.close();
  holdA.replay();
  holdLate.replay();
  await until(() => late.received.length === 3, deadline());
  assert.deepEqual(late.heard.slice(2), ["a2 from 127.0.0.1:5001"]);
  // A replays nothing to itself: it has nobody else's.
  assert.deepEqual(a.heard, ["b1 from 127.0.0.1:5002"]);
  await holdA.close();
  await holdLate.close();
});

Deno.test("a transport of the user's own gets no hand-over: it sees every datagram", async () => {
  const transport = new RecordingTransport();
  const options = { transport, port: 7110, reuseAddress: true, handOver: false };
  const [a, b] = [listener(), listener()];
  const holdA = await openDiscoverySocket(options, a);
  const holdB = await openDiscoverySocket(options, b);
  holdA.addEndpoint("127.0.0.1", 5001);
  holdB.addEndpoint("127.0.0.1", 5002);
  const from = { address: "127.0.0.1", port: 5001 };
  assert.equal(holdA.handOver(encode("m"), from, MULTICAST_GROUP, 7110), false);
  assert.equal(holdA.handOver(encode("u"), from, "127.0.0.1", 5002), false);
  holdB.replay();
  // The kernel's copy is what arrives.
  transport.receive(1, "m", "127.0.0.1", 5001);
  assert.deepEqual(b.heard, ["m from 127.0.0.1:5001"]);
  await holdA.close();
  await holdB.close();
});

/** An interval far longer than any deadline here: only an answer or a hand-over is in time. */
const SLOW = { min: 30_000, max: 30_000, rampdown: 1 };

function slowChart(id: number, discoveryPort: number, transport: TransportKind) {
  return new ChartBuilder().withId(id).withServicePort(9000 + id).withDiscoveryPort(discoveryPort)
    .localDiscovery(true).withRampdown(SLOW).withTransport(transport).finish();
}

Deno.test("a chart opened long before it starts charts what it heard meanwhile, unanswered", async () => {
  const discoveryPort = freshPort();
  // Two socket APIs: two discovery sockets, so the kernel carries everything.
  await using a = await slowChart(1, discoveryPort, "node");
  await using b = await slowChart(2, discoveryPort, "deno");
  // The scenario: b opened well before a announces (beyond any transit margin).
  await new Promise((resolve) => setTimeout(resolve, 100));
  maintain(a);
  await until(() => b.counters.received > 0, deadline());
  maintain(b);
  await foundEveryone(b, 2, { signal: deadline() });
  await foundEveryone(a, 2, { signal: deadline() });
  // b says it has listened since it opened, so a need not answer it.
  assert.equal(a.counters.replies, 0);
  assert.equal(b.counters.dropped.idle, 0);
  // Received once, when it arrived: a's announcement, then b's own heard back.
  await until(() => b.counters.dropped.own > 0, deadline());
  assert.equal(b.counters.received, 2);
});

Deno.test("a chart that turned a datagram away while idle is answered", async () => {
  const discoveryPort = freshPort();
  await using a = await slowChart(1, discoveryPort, "node");
  // Room to hold one source while idle.
  await using b = await new ChartBuilder().withId(2).withServicePort(9002)
    .withDiscoveryPort(discoveryPort).localDiscovery(true).withRampdown(SLOW)
    .withLimits({ maxEntries: 1 }).finish();
  // Something else on the port takes that room first.
  const stranger = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  try {
    await stranger.send(new Uint8Array([1, 2, 3]), {
      transport: "udp",
      hostname: MULTICAST_GROUP,
      port: discoveryPort,
    });
  } finally {
    stranger.close();
  }
  await until(() => b.counters.received > 0, deadline());
  maintain(a);
  await until(() => b.counters.dropped.idle > 0, deadline());
  maintain(b);
  await foundEveryone(b, 2, { signal: deadline() });
  assert.equal(a.counters.replies, 1);
  assert.equal(b.counters.dropped["too-short"], 1);
});

Deno.test("what a chart held while idle is not charted once its time-to-live is over", async () => {
  const discoveryPort = freshPort();
  const fast = { min: 20, max: 20, rampdown: 1 };
  await using a = await new ChartBuilder().withId(1).withServicePort(9001)
    .withDiscoveryPort(discoveryPort).localDiscovery(true).withRampdown(fast)
    .withTransport("node").finish();
  await using b = await slowChart(2, discoveryPort, "deno");
  const stop = new AbortController();
  const discovery = maintain(a, { signal: stop.signal });
  await until(() => b.counters.received > 0, deadline());
  // a stops announcing without a goodbye, as if it died.
  stop.abort();
  await discovery;
  // Past the time-to-live of a's last announcement: it said a would be gone by now.
  await new Promise((resolve) => setTimeout(resolve, a.ttl + 50));
  sniff(b);
  await until(() => b.counters.dropped.stale > 0, deadline());
  assert.equal(b.size, 1);
  assert.equal(b.get(1), undefined);
});

Deno.test("a chart of the process that starts late is handed what the others announced", async () => {
  const discoveryPort = freshPort();
  await using a = await slowChart(1, discoveryPort, "deno");
  await using b = await slowChart(2, discoveryPort, "deno");
  maintain(a);
  await until(() => b.counters.dropped.idle > 0, deadline());
  maintain(b);
  await foundEveryone(b, 2, { signal: AbortSignal.timeout(10_000) });
  await foundEveryone(a, 2, { signal: deadline() });
  assert.equal(a.counters.replies, 0);
  assert.equal(b.counters.replies, 0);
});

Deno.test("a chart that stopped announcing is not handed to charts that start later", async () => {
  const discoveryPort = freshPort();
  await using stopped = await slowChart(1, discoveryPort, "deno");
  await using running = await slowChart(2, discoveryPort, "deno");
  await using late = await slowChart(3, discoveryPort, "deno");
  const stop = new AbortController();
  const discovery = maintain(stopped, { signal: stop.signal });
  maintain(running);
  await foundEveryone(running, 2, { signal: deadline() });
  stop.abort();
  await discovery;
  maintain(late);
  // Both last announcements would be handed over in one turn: once it has the one, it had both.
  await foundEveryone(late, 2, { signal: deadline() });
  assert.equal(late.get(1), undefined);
  assert.deepEqual(late.get(2), { id: 2n, address: "127.0.0.1", ports: [9002] });
});

Deno.test("300 charts starting together in one process overflow no event iterator", async () => {
  const discoveryPort = freshPort();
  const charts = [];
  try {
    for (let id = 1; id <= 300; id++) charts.push(await portChart(id, discoveryPort, "deno"));
    // The default buffer holds 256 events; each chart hears of 299 others at once.
    const added = collect(
      charts[0].events(),
      (seen) => seen.filter((event) => event.type === "added").length === 299,
      deadline(),
    );
    for (const chart of charts) maintain(chart);
    assert.equal((await added).length, 299);
  } finally {
    await Promise.all(charts.map((chart) => chart.close()));
  }
});
