import "./_lab.ts";
import assert from "node:assert/strict";
import { type DiscoveryListener, openDiscoverySocket } from "../src/discovery_socket.ts";
import type { DatagramSocket, SocketOptions, Transport } from "../src/transport.ts";
import { foundEveryone, MULTICAST_GROUP } from "../mod.ts";
import { Charts, freshPort, TRANSPORTS } from "./_charts.ts";

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
  receive(n: number, text: string): void {
    this.opened[n - 1].onDatagram(new TextEncoder().encode(text), "127.0.0.1", 1234);
  }
}

function listener(): DiscoveryListener & { heard: string[]; errors: Error[] } {
  const heard: string[] = [];
  const errors: Error[] = [];
  return {
    heard,
    errors,
    onDatagram: (data) => heard.push(new TextDecoder().decode(data)),
    onError: (error) => errors.push(error),
  };
}

Deno.test("holds on one shared port share one socket, which closes with the last", async () => {
  const transport = new RecordingTransport();
  const options = { transport, port: 7100, reuseAddress: true };
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
  const options = { transport, port: 7101, reuseAddress: true };
  const holds = await Promise.all([1, 2, 3].map(() => openDiscoverySocket(options, listener())));
  assert.equal(transport.opened.length, 1);
  await Promise.all(holds.map((hold) => hold.close()));
  assert.deepEqual(transport.calls, ["socket 1 close"]);
});

Deno.test("a port bound without reuse, another port or another transport is not shared", async () => {
  const transport = new RecordingTransport();
  const other = new RecordingTransport();
  const holds = [
    await openDiscoverySocket({ transport, port: 7102, reuseAddress: false }, listener()),
    await openDiscoverySocket({ transport, port: 7102, reuseAddress: false }, listener()),
    await openDiscoverySocket({ transport, port: 7103, reuseAddress: true }, listener()),
    await openDiscoverySocket({ transport: other, port: 7103, reuseAddress: true }, listener()),
  ];
  assert.equal(transport.opened.length, 3);
  assert.equal(other.opened.length, 1);
  for (const hold of holds) await hold.close();
});

Deno.test("a failed bind fails every hold waiting on it, and the next open tries again", async () => {
  const transport = new RecordingTransport();
  const options = { transport, port: 7104, reuseAddress: true };
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
  const options = { transport, port: 7105, reuseAddress: true };
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
  const options = { transport, port: 7106, reuseAddress: true };
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
  return Deno.readTextFileSync("/proc/net/udp").split("\n").slice(1)
    .filter((line) => line.trim().split(/\s+/)[1]?.endsWith(`:${hex}`)).length;
}

for (const transport of TRANSPORTS) {
  Deno.test(`[${transport}] 20 charts in one process bind the discovery port once`, async () => {
    await using group = await Charts.start(20, transport);
    const { discoveryPort } = group.charts[0];
    await Promise.all(
      group.charts.map((chart) => foundEveryone(chart, 20, { signal: deadline() })),
    );
    assert.equal(socketsOnPort(discoveryPort), 1);
    await Promise.all(group.charts.slice(1).map((chart) => chart.close()));
    assert.equal(socketsOnPort(discoveryPort), 1);
    await group.charts[0].close();
    assert.equal(socketsOnPort(discoveryPort), 0);
    assert.notEqual(freshPort(), discoveryPort);
  });
}
