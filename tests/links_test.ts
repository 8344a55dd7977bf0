import "./_lab.ts";
import assert from "node:assert/strict";
import {
  type Chart,
  ChartBuilder,
  type Counters,
  DEFAULT_HEADER,
  maintain,
  MULTICAST_GROUP,
  type PortEntry,
} from "../mod.ts";
import { encodeAnnouncement } from "../src/core/wire.ts";
import { MAX_CHART_UNICASTS, MAX_PROCESS_UNICASTS, unicastsInFlight } from "../src/io/links.ts";
import type { DatagramSocket, SocketOptions, Transport } from "../src/io/transport.ts";
import { freshPort } from "./_charts.ts";
import { type LabHost, LabNet } from "./_lab.ts";

/**
 * A transport in memory whose unicasts never leave, as those to an address
 * that does not resolve wait in the kernel, until their socket closes.
 */
class StuckTransport implements Transport {
  readonly opened: SocketOptions[] = [];
  multicasts = 0;
  unicasts = 0;

  open(options: SocketOptions): Promise<DatagramSocket> {
    this.opened.push(options);
    const port = 40_000 + this.opened.length;
    const stuck = new Set<() => void>();
    const socket: DatagramSocket = {
      port,
      send: (_data, hostname) => {
        if (hostname === MULTICAST_GROUP) {
          this.multicasts++;
          return Promise.resolve();
        }
        this.unicasts++;
        return new Promise<void>((_, reject) => {
          stuck.add(() => reject(new Error("send ECANCELED: the socket closed")));
        });
      },
      joinGroup: () => Promise.resolve(),
      leaveGroup: () => Promise.resolve(),
      close() {
        for (const cancel of stuck) cancel();
        stuck.clear();
        return Promise.resolve();
      },
    };
    return Promise.resolve(socket);
  }

  /**
   * Delivers datagrams that start with the charts' header and read as
   * nothing (their extension is junk) from the addresses newcomers come
   * from: what the charts of a process may send an address is paid for by
   * what came from it, and this pays for every chart's answer to every
   * newcomer.
   */
  credit(bytes: number): void {
    const junk = new Uint8Array(1_000).fill(0xff);
    new DataView(junk.buffer).setBigUint64(0, DEFAULT_HEADER, true);
    for (let sent = 0; sent < bytes; sent += junk.length) {
      for (let i = 0; i < 200; i++) this.opened[0].onDatagram(junk, `127.0.0.${2 + i}`, 5555);
    }
  }

  /** Delivers newcomers' announcements, each from a loopback address, to the discovery socket. */
  newcomers(n: number, firstId: number): void {
    for (let i = 0; i < n; i++) {
      const datagram = encodeAnnouncement({
        header: DEFAULT_HEADER,
        id: BigInt(firstId + i),
        ports: [1],
        reply: false,
      });
      this.opened[0].onDatagram(datagram, `127.0.0.${2 + (i % 200)}`, 5555);
    }
  }
}

function stuckChart(id: number, discoveryPort: number, transport: Transport) {
  return new ChartBuilder().withId(id).withServicePort(9000 + id)
    .withDiscoveryPort(discoveryPort).localDiscovery(true).withTransport(transport)
    .withLimits({ replies: { total: 100_000, perSource: 100_000 } }).finish();
}

/**
 * A transport in memory whose discovery socket opens and whose links do not
 * come up: their sockets cannot be opened, or their group cannot be joined.
 */
class FailingSetUp implements Transport {
  discovery: SocketOptions | undefined;

  constructor(readonly fails: "link sockets" | "group joins") {}

  open(options: SocketOptions): Promise<DatagramSocket> {
    // The discovery socket binds the discovery port; a link's sockets bind port 0.
    if (options.port === 0 && this.fails === "link sockets") {
      return Promise.reject(new Error("bind EACCES"));
    }
    if (options.port !== 0) this.discovery = options;
    return Promise.resolve({
      port: options.port || 40_000,
      send: () => Promise.resolve(),
      joinGroup: () =>
        this.fails === "group joins"
          ? Promise.reject(new Error("setsockopt ENODEV"))
          : Promise.resolve(),
      leaveGroup: () => Promise.resolve(),
      close: () => Promise.resolve(),
    });
  }
}

for (const fails of ["link sockets", "group joins"] as const) {
  Deno.test(`a chart whose ${fails} fail reports it, and counts only failed receives as receive errors`, async () => {
    const transport = new FailingSetUp(fails);
    const errors: string[] = [];
    await using chart = await new ChartBuilder().withId(1).withServicePort(9000)
      .withDiscoveryPort(freshPort()).localDiscovery(true).withTransport(transport)
      .withErrorHandler((error) => errors.push(error.message)).finish();
    assert.deepEqual(chart.interfaces(), []);
    const setUp = fails === "link sockets"
      ? /^Cannot open a socket on lo /
      : /^Cannot join .* on lo /;
    assert.match(errors[0], setUp);
    // With its only link down, it says so.
    assert.match(errors.at(-1)!, /^No interface to discover on/);
    assert.equal(chart.counters.receiveErrors, 0);

    transport.discovery!.onError(new Error("recvmsg ENOBUFS"));
    assert.equal(chart.counters.receiveErrors, 1);
    assert.equal(errors.at(-1), "recvmsg ENOBUFS");
  });
}

Deno.test("a chart whose answers are held up drops those beyond its bound and closes at once", async () => {
  const transport = new StuckTransport();
  const chart = await stuckChart(1, freshPort(), transport);
  maintain(chart);
  const announced = transport.multicasts;
  transport.newcomers(MAX_CHART_UNICASTS + 100, 1_000);

  assert.equal(chart.counters.replies, MAX_CHART_UNICASTS + 100);
  assert.equal(transport.unicasts, MAX_CHART_UNICASTS);
  assert.equal(chart.counters.sendsDropped, 100);
  assert.equal(unicastsInFlight(), MAX_CHART_UNICASTS);
  // Its goodbye goes out, and close does not wait for what is held up.
  const start = performance.now();
  await chart.close();
  const took = performance.now() - start;
  assert.ok(took < 1_000, `close took ${took} ms`);
  assert.equal(chart.counters.goodbyes, 1);
  assert.ok(transport.multicasts > announced, "the goodbye was sent");
  assert.equal(unicastsInFlight(), 0);
  assert.equal(chart.counters.sendErrors, 0, "abandoned sends are no errors");
});

Deno.test("the charts of a process together have a bounded number of unicasts in flight", async () => {
  const transport = new StuckTransport();
  const discoveryPort = freshPort();
  const n = Math.ceil(MAX_PROCESS_UNICASTS / MAX_CHART_UNICASTS) + 1;
  const charts: Chart<PortEntry>[] = [];
  for (let id = 1; id <= n; id++) charts.push(await stuckChart(id, discoveryPort, transport));
  try {
    for (const chart of charts) maintain(chart);
    // One discovery socket for them all: each chart hears, and answers, every newcomer.
    transport.credit(16_000);
    transport.newcomers(MAX_CHART_UNICASTS, 1_000);

    const sum = (count: (counters: Counters) => number) =>
      charts.reduce((total, chart) => total + count(chart.counters), 0);
    assert.equal(sum((counters) => counters.replies), n * MAX_CHART_UNICASTS);
    assert.equal(unicastsInFlight(), MAX_PROCESS_UNICASTS);
    assert.equal(transport.unicasts, MAX_PROCESS_UNICASTS);
    assert.equal(
      sum((counters) => counters.sendsDropped),
      n * MAX_CHART_UNICASTS - MAX_PROCESS_UNICASTS,
    );
  } finally {
    for (const chart of charts) await chart.close();
  }
  assert.equal(unicastsInFlight(), 0);
});

/** What `Links.isHostAddress` says of each address, asked in a lab host's namespace. */
async function hostAddressesOf(host: LabHost, asked: string[]): Promise<Record<string, boolean>> {
  const module = (path: string) => JSON.stringify(new URL(path, import.meta.url).href);
  const script = `
    import { Links } from ${module("../src/io/links.ts")};
    import { nodeTransport } from ${module("../src/io/transport_node.ts")};
    import { processTimer } from ${module("../src/io/timer.ts")};
    const links = await Links.open({
      discoveryPort: ${freshPort()}, reuseAddress: true, transport: nodeTransport, handOver: true,
      interfaces: {}, family: "both", localDiscovery: true,
      onDatagram() {}, onReceiveError(error) { throw error; }, onError(error) { throw error; },
      onLinkUp() {}, timer: processTimer,
    });
    console.log(JSON.stringify(${JSON.stringify(asked)}.map((a) => links.isHostAddress(a))));
    await links.close();`;
  const { code, stdout, stderr } = await new Deno.Command("ip", {
    args: ["netns", "exec", host.name, Deno.execPath(), "eval", script],
    env: { INSTANCE_CHART_LAB: "1" },
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const answers: boolean[] = JSON.parse(new TextDecoder().decode(stdout));
  return Object.fromEntries(asked.map((address, i) => [address, answers[i]]));
}

Deno.test("a chart's links take loopback and their own addresses as the host's, and no other", async () => {
  await using lab = await LabNet.create(3, [
    { ipv6: "ula" },
    { ipv6: "link-local" },
    { ipv6: "ula" },
  ]);
  const [global, linkLocal, neighbour] = lab.hosts;
  const others = {
    "127.0.0.1": true,
    "127.8.8.8": true,
    "::1": true,
    [neighbour.ipv4!]: false,
    [neighbour.ula!]: false,
    [neighbour.linkLocal!]: false,
  };
  // One IPv6 link per interface: its unique local address, not its link-local one.
  const expected: Record<string, boolean> = {
    [global.ipv4!]: true,
    [global.ula!]: true,
    [global.linkLocal!]: false,
    ...others,
  };
  assert.deepEqual(await hostAddressesOf(global, Object.keys(expected)), expected);
  // A link-local link: its address, with its zone or without.
  const bare = linkLocal.linkLocal!.replace(/%.*$/, "");
  const zoned = { [linkLocal.linkLocal!]: true, [bare]: true, [`${bare}%eth9`]: true, ...others };
  assert.deepEqual(await hostAddressesOf(linkLocal, Object.keys(zoned)), zoned);
});
