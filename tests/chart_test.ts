import "./_lab.ts";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import {
  type Chart,
  ChartBuilder,
  type ChartEvent,
  DEFAULT_HEADER,
  DiscoveryError,
  EventOverflowError,
  foundEveryone,
  foundMajority,
  maintain,
  type MsgEntry,
  MULTICAST_GROUP,
  type PortEntry,
  sniff,
} from "../mod.ts";
import { encodeAnnouncement } from "../src/core/wire.ts";
import {
  Charts,
  collect,
  freshPort,
  portChart,
  sortedEntries,
  TRANSPORTS,
  until,
} from "./_charts.ts";

const DEADLINE = 20_000;
const deadline = () => AbortSignal.timeout(DEADLINE);

/**
 * A raw UDP socket speaking bytes the test crafts to the discovery port;
 * bound to `bindPort`, where it is in the multicast group.
 */
async function rawSocket(discoveryPort: number, bindPort = discoveryPort): Promise<{
  socket: dgram.Socket;
  received: Array<{ data: Uint8Array; port: number }>;
  send(data: Uint8Array): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}> {
  const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
  await new Promise<void>((resolve) => socket.bind(bindPort, "0.0.0.0", resolve));
  socket.addMembership(MULTICAST_GROUP);
  const received: Array<{ data: Uint8Array; port: number }> = [];
  socket.on(
    "message",
    (data, from) => received.push({ data: new Uint8Array(data), port: from.port }),
  );
  return {
    socket,
    received,
    send: (data) =>
      new Promise((resolve, reject) =>
        socket.send(
          data,
          discoveryPort,
          MULTICAST_GROUP,
          (error) => error ? reject(error) : resolve(),
        )
      ),
    [Symbol.asyncDispose]: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

for (const transport of TRANSPORTS) {
  Deno.test(`charts with several service ports give every address getter over ${transport}`, async () => {
    const discoveryPort = freshPort();
    const build = (id: number) =>
      new ChartBuilder().withId(id).withServicePorts([100 + id, 200 + id, 300 + id])
        .withDiscoveryPort(discoveryPort).localDiscovery(true).withTransport(transport).finish();
    await using a = await build(1);
    await using b = await build(2);
    await using c = await build(3);
    for (const chart of [a, b, c]) maintain(chart);
    await Promise.all([a, b, c].map((chart) => foundEveryone(chart, 3, { signal: deadline() })));

    assert.deepEqual(a.ourServicePorts(), [101, 201, 301]);
    assert.equal(a.ourServicePort(), 101);
    const host = "127.0.0.1";
    const byId = <T>(pairs: Array<[bigint, T]>) => new Map(pairs);
    assert.deepEqual(
      byId(a.addrListsVec()),
      new Map([
        [2n, [{ hostname: host, port: 102 }, { hostname: host, port: 202 }, {
          hostname: host,
          port: 302,
        }]],
        [3n, [{ hostname: host, port: 103 }, { hostname: host, port: 203 }, {
          hostname: host,
          port: 303,
        }]],
      ]),
    );
    assert.deepEqual(
      byId(a.nthAddrVec(2)),
      new Map([[2n, { hostname: host, port: 302 }], [3n, { hostname: host, port: 303 }]]),
    );
    assert.deepEqual(
      byId(a.addrVec()),
      new Map([[2n, { hostname: host, port: 102 }], [3n, { hostname: host, port: 103 }]]),
    );
    assert.deepEqual(a.getAddr(3), { hostname: host, port: 103 });
    assert.deepEqual(a.getNthAddr(1, 2n), { hostname: host, port: 202 });
    assert.deepEqual(a.getAddrList(3)?.map((address) => address.port), [103, 203, 303]);
    assert.equal(a.getAddr(1), undefined, "we are not in our own chart");
    assert.equal(a.getAddr(42), undefined);
    assert.throws(() => a.nthAddrVec(3), RangeError);
  });

  Deno.test(`charts with a custom msg share their messages over ${transport}`, async () => {
    const discoveryPort = freshPort();
    const build = (id: number, msg: { role: string; shard: number }) =>
      new ChartBuilder().withId(id).customMsg(msg).withDiscoveryPort(discoveryPort)
        .localDiscovery(true).withTransport(transport).finish();
    await using a = await build(1, { role: "db", shard: 1 });
    await using b = await build(2, { role: "cache", shard: 2 });
    maintain(a);
    maintain(b);
    await foundEveryone(a, 2, { signal: deadline() });
    await foundEveryone(b, 2, { signal: deadline() });
    assert.deepEqual(a.ourMsg(), { role: "db", shard: 1 });
    assert.deepEqual(a.entries(), [{
      id: 2n,
      address: "127.0.0.1",
      msg: { role: "cache", shard: 2 },
    }]);
    assert.deepEqual(b.get(1), { id: 1n, address: "127.0.0.1", msg: { role: "db", shard: 1 } });
    assert.throws(() => (a as unknown as Chart<PortEntry>).addrVec(), TypeError);
  });

  Deno.test(`charts with random ids find each other over ${transport}`, async () => {
    const discoveryPort = freshPort();
    const charts: Chart<PortEntry>[] = [];
    for (let i = 0; i < 5; i++) {
      charts.push(
        await new ChartBuilder().withRandomId().withServicePort(7000 + i)
          .withDiscoveryPort(discoveryPort).localDiscovery(true).withTransport(transport).finish(),
      );
    }
    try {
      assert.equal(new Set(charts.map((chart) => chart.ourId)).size, 5);
      for (const chart of charts) maintain(chart);
      await Promise.all(charts.map((chart) => foundEveryone(chart, 5, { signal: deadline() })));
      for (const chart of charts) {
        const expected = charts.filter((other) => other !== chart)
          .map((other) => [other.ourId, other.ourServicePort()]).sort();
        const seen = chart.entries().map((entry) => [entry.id, entry.ports[0]]).sort();
        assert.deepEqual(seen, expected);
      }
    } finally {
      await Promise.all(charts.map((chart) => chart.close()));
    }
  });
}

Deno.test("the event iterator reports every newcomer once, however often it announces", async () => {
  const discoveryPort = freshPort();
  await using watcher = await portChart(1, discoveryPort, "auto");
  const events = watcher.events();
  maintain(watcher);
  await using group = await Charts.start(0, "auto");
  for (let id = 2; id <= 5; id++) {
    const chart = await portChart(id, discoveryPort, "auto");
    group.charts.push(chart);
    maintain(chart);
  }
  const added = await collect(events, (seen) => seen.length === 4, deadline());
  assert.deepEqual(
    added.map((event) => [event.type, event.entry.id]).sort(),
    [["added", 2n], ["added", 3n], ["added", 4n], ["added", 5n]],
  );
  // Every peer announces again (the interval starts at 100 ms); none of it is news.
  const heard = watcher.counters.received;
  await until(() => watcher.counters.received >= heard + 4 * 5, deadline());
  await watcher.close();
  const rest = await collect(events, () => false, deadline()).catch((error) => error);
  assert.equal((rest as Error).message, "events ended after 0");
});

Deno.test("forget drops a peer, and hearing it again makes it new again", async () => {
  await using group = await Charts.start(2, "auto");
  const [a] = group.charts;
  await foundEveryone(a, 2, { signal: deadline() });
  const events = a.events();
  assert.equal(a.forget(2), true);
  assert.equal(a.forget(2), false, "a second forget finds nothing");
  assert.equal(a.size, 1);
  const [removed, added] = await collect(events, (seen) => seen.length === 2, deadline());
  assert.equal(removed.type, "removed");
  assert.equal(removed.type === "removed" && removed.reason, "forgotten");
  assert.equal(removed.entry.id, 2n);
  assert.equal(added.type, "added");
  assert.deepEqual(added.entry, { id: 2n, address: "127.0.0.1", ports: [9002] });
  await events.return?.();
});

Deno.test("sniff charts every instance but is never charted and never sends", async () => {
  await using group = await Charts.start(2, "auto");
  const discoveryPort = group.charts[0].discoveryPort;
  await using sniffer = await portChart(3, discoveryPort, "auto");
  sniff(sniffer);
  await foundEveryone(sniffer, 3, { signal: deadline() });
  assert.deepEqual(sortedEntries(sniffer).map((entry) => entry.id), [1n, 2n]);
  // Let the maintained charts hear several more rounds; the sniffer stays unknown.
  const [a, b] = group.charts;
  const heard = a.counters.received;
  await until(() => a.counters.received >= heard + 5, deadline());
  assert.deepEqual(a.entries().map((entry) => entry.id), [2n]);
  assert.deepEqual(b.entries().map((entry) => entry.id), [1n]);
  assert.equal(sniffer.counters.announcements, 0);
  assert.equal(sniffer.counters.replies, 0);
});

Deno.test("foundMajority resolves at ceil(n/2) instances and foundEveryone at n", async () => {
  const discoveryPort = freshPort();
  await using first = await portChart(1, discoveryPort, "auto");
  maintain(first);
  let majority = false;
  let everyone = false;
  const majorityFound = foundMajority(first, 5, { signal: deadline() }).then(() => majority = true);
  const everyoneFound = foundEveryone(first, 5, { signal: deadline() }).then(() => everyone = true);
  await using group = await Charts.start(0, "auto");
  const join = async (id: number) => {
    const chart = await portChart(id, discoveryPort, "auto");
    group.charts.push(chart);
    maintain(chart);
    await foundEveryone(first, id, { signal: deadline() });
  };
  await join(2);
  assert.equal(majority, false, "2 of 5 is no majority");
  await join(3);
  await majorityFound;
  assert.equal(everyone, false, "3 of 5 is not everyone");
  await join(4);
  assert.equal(everyone, false, "4 of 5 is not everyone");
  await join(5);
  await everyoneFound;
  assert.equal(first.size, 5);
});

Deno.test("waiting for instances fails with the signal's reason or when the chart closes", async () => {
  await using group = await Charts.start(1, "auto");
  const [chart] = group.charts;
  const controller = new AbortController();
  const aborted = assert.rejects(foundEveryone(chart, 3, { signal: controller.signal }), {
    message: "gave up",
  });
  controller.abort(new Error("gave up"));
  await aborted;
  const closed = assert.rejects(foundEveryone(chart, 3), DiscoveryError);
  await chart.close();
  await closed;
});

Deno.test("waiting for a cluster size that is not a positive integer rejects with RangeError", async () => {
  await using group = await Charts.start(1, "auto");
  const [chart] = group.charts;
  for (const n of [NaN, Infinity, 1.5, 0, -0, -3]) {
    // Rejected at once: before, NaN waited forever and 1.5 halved to a majority of 1.
    await assert.rejects(foundEveryone(chart, n), RangeError, `foundEveryone ${n}`);
    await assert.rejects(foundMajority(chart, n), RangeError, `foundMajority ${n}`);
  }
  await assert.rejects(foundEveryone(chart, "2" as unknown as number), TypeError);
  await assert.rejects(foundMajority(chart, 2n as unknown as number), TypeError);
  // A valid size is still awaited as before.
  await foundEveryone(chart, 1, { signal: deadline() });
  await foundMajority(chart, 2, { signal: deadline() });
});

Deno.test("waiting for more instances than the chart can hold rejects with RangeError", async () => {
  await using chart = await new ChartBuilder().withId(1).withServicePort(1)
    .withDiscoveryPort(freshPort()).localDiscovery(true).withLimits({ maxEntries: 2 }).finish();
  // Two others and this one: four would wait forever.
  await assert.rejects(foundEveryone(chart, 4), {
    name: "RangeError",
    message:
      "Cannot wait for 4 instances: the chart holds at most 3 (limits.maxEntries and this one)",
  });
  await assert.rejects(foundMajority(chart, 7), RangeError);
  await foundEveryone(chart, 1, { signal: deadline() });
  await foundMajority(chart, 6, { signal: AbortSignal.timeout(50) }).then(
    () => assert.fail("a majority of 6 is 3, more than this chart alone"),
    (error) => assert.equal(error.name, "TimeoutError"),
  );
});

Deno.test("the chart's setters reject sparse or malformed arguments and discovery goes on", async () => {
  await using group = await Charts.start(2, "auto");
  const [chart, peer] = group.charts;
  await foundEveryone(chart, 2, { signal: deadline() });
  // As many ports as the chart announces (one), but a hole where the port should be.
  const hole = new Array<number>(1);
  assert.throws(() => chart.setServicePorts(hole), { name: "TypeError", message: /sparse/ });
  for (const ports of [[NaN], [1.5], ["80"], [undefined]]) {
    assert.throws(() => chart.setServicePorts(ports as number[]), TypeError, String(ports));
  }
  assert.throws(() => chart.setServicePorts([0]), RangeError);
  for (const ports of ["8", 8, null, new Uint16Array([80])]) {
    assert.throws(() => chart.setServicePorts(ports as unknown as number[]), TypeError);
  }
  const key = "a key of sixteen bytes or more";
  // deno-lint-ignore no-sparse-arrays
  const keyHole = [key, , key] as unknown as string[];
  for (const keys of [keyHole, [key, 42], key, new TextEncoder().encode(key)]) {
    assert.throws(() => chart.setKeys(keys as string[]), TypeError, String(keys));
  }
  assert.throws(() => chart.events({ overflow: "drop" as "throw" }), RangeError);
  assert.throws(() => chart.events({ signal: {} as AbortSignal }), TypeError);
  // Nothing reached the chart: its peer still charts it with its first ports, and sees a change.
  const changes = peer.events();
  chart.setServicePorts([9500]);
  const [updated] = await collect(changes, (seen) => seen.length === 1, deadline());
  assert.equal(updated.type, "updated");
  assert.deepEqual(updated.entry.ports, [9500]);
  await changes.return?.();
});

/** An application loop that spends 2 ms on each event; its progress is read as it goes. */
function slowReader(events: AsyncIterable<unknown>) {
  const state: { read: number; error?: unknown; done?: Promise<void> } = { read: 0 };
  state.done = (async () => {
    try {
      for await (const _ of events) {
        state.read++;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    } catch (error) {
      state.error = error;
    }
  })();
  return state;
}

Deno.test("an event loop slower than 2,000 forged newcomers survives with overflow drop-oldest", async () => {
  const chart = await new ChartBuilder().withId(1).withServicePort(9001)
    .withDiscoveryPort(freshPort()).localDiscovery(true).withExpiry({ enabled: false }).finish();
  await using _closing = { [Symbol.asyncDispose]: () => chart.close() };
  maintain(chart);
  const count = 2_000;
  const throwing = slowReader(chart.events());
  const dropping = chart.events({ overflow: "drop-oldest" });
  const surviving = slowReader(dropping);
  await using attacker = await rawSocket(chart.discoveryPort);
  const start = chart.counters.received;
  for (let id = 1; id <= count; id++) {
    await attacker.send(
      encodeAnnouncement({
        header: DEFAULT_HEADER,
        id: BigInt(1_000 + id),
        ports: [1],
        reply: false,
      }),
    );
    // In batches the chart takes in, so that no socket buffer overflows.
    if (id % 200 === 0) await until(() => chart.counters.received - start >= id, deadline());
  }
  await until(() => chart.size === count + 1, deadline());
  // The default ends the loop: the flood left more than 256 events unread.
  await throwing.done;
  assert.ok(throwing.error instanceof EventOverflowError, `read ${throwing.read}`);
  // Dropping the oldest, the loop reads on: every newcomer was read or counted as dropped.
  await until(() => surviving.read + dropping.dropped === count, deadline());
  assert.ok(dropping.dropped > 0, "as far behind as the loop that threw, it dropped some");
  assert.equal(surviving.error, undefined);
  await chart.close();
  await surviving.done;
  assert.equal(surviving.error, undefined);
  assert.equal(surviving.read + dropping.dropped, count);
});

for (const transport of TRANSPORTS) {
  Deno.test(`closing frees the discovery port and ends every iterator over ${transport}`, async () => {
    const discoveryPort = freshPort();
    const build = () =>
      new ChartBuilder().withId(1).withServicePort(1).withDiscoveryPort(discoveryPort)
        .withTransport(transport).finish();
    let first: Chart<PortEntry>;
    const ended: Promise<IteratorResult<ChartEvent<PortEntry>>>[] = [];
    {
      await using chart = await build();
      first = chart;
      const running = maintain(chart);
      ended.push(chart.events().next(), chart.events().next());
      void running;
    }
    assert.equal(first.closed, true);
    for (const result of await Promise.all(ended)) assert.equal(result.done, true);
    await first.close(); // idempotent
    await using again = await build();
    assert.equal(again.discoveryPort, discoveryPort);
  });

  Deno.test(`a discovery port in use gives a DiscoveryError naming the port over ${transport}`, async () => {
    const discoveryPort = freshPort();
    const build = () =>
      new ChartBuilder().withId(1).withServicePort(1).withDiscoveryPort(discoveryPort)
        .withTransport(transport).finish();
    await using _holder = await build();
    await assert.rejects(build(), (error: Error) => {
      assert.ok(error instanceof DiscoveryError);
      assert.match(
        error.message,
        new RegExp(`^Cannot bind discovery port ${discoveryPort}: address in use`),
      );
      assert.match(error.message, /enable localDiscovery\(true\)/);
      return true;
    });
  });

  Deno.test(`a shared discovery port held unshared says so, not to share it, over ${transport}`, async () => {
    const discoveryPort = freshPort();
    await using _holder = await new ChartBuilder().withId(1).withServicePort(1)
      .withDiscoveryPort(discoveryPort).withTransport(transport).finish();
    await assert.rejects(
      new ChartBuilder().withId(2).withServicePort(1).withDiscoveryPort(discoveryPort)
        .localDiscovery(true).withTransport(transport).finish(),
      (error: Error) => {
        assert.ok(error instanceof DiscoveryError);
        assert.match(error.message, /address in use by a program that does not share it/);
        assert.doesNotMatch(error.message, /localDiscovery/);
        assert.match(error.message, /withDiscoveryPort\(\)/);
        return true;
      },
    );
  });
}

Deno.test("a peer speaking the Rust byte layout is charted and reads our announcements", async () => {
  const discoveryPort = freshPort();
  // As a Rust peer on another host: it receives on the discovery port and
  // gets replies on a port no other socket of this host shares.
  await using rust = await rawSocket(discoveryPort);
  await using rustSender = await rawSocket(discoveryPort, 0);
  await using chart = await new ChartBuilder().withId(3).withServicePorts([8042, 8043])
    .withDiscoveryPort(discoveryPort).localDiscovery(true).finish();
  const events = chart.events();
  maintain(chart);
  // DiscoveryMsg { header, id: 7, msg: [9042, 9043] } as bincode 1.x writes it.
  await rustSender.send(
    Uint8Array.fromHex("fbecb6deba94cd5c" + "0700000000000000" + "5223" + "5323"),
  );
  const [added] = await collect(events, (seen) => seen.length === 1, deadline());
  assert.deepEqual(added, {
    type: "added",
    entry: { id: 7n, address: "127.0.0.1", ports: [9042, 9043] },
  });
  // What a Rust receiver reads of our announcements: the first 16 + 2N bytes.
  // The rest is our extension (time-to-live, incarnation, sequence number).
  const ours = "fbecb6deba94cd5c" + "0300000000000000" + "6a1f" + "6b1f";
  await until(
    () =>
      rust.received.some(({ data }) => data.length > 20 && data.subarray(0, 20).toHex() === ours),
    deadline(),
  );
  // The answer to its bare announcement is bare too: exactly the Rust layout,
  // no larger than what asked for it. Only the answer reaches this port.
  await until(() => rustSender.received.length > 0, deadline());
  assert.deepEqual(rustSender.received.map(({ data }) => data.toHex()), [ours]);
  await events.return?.();
});

Deno.test("garbage datagrams are dropped and counted, and change nothing", async () => {
  await using group = await Charts.start(2, "auto");
  const [chart] = group.charts;
  await foundEveryone(chart, 2, { signal: deadline() });
  await using attacker = await rawSocket(chart.discoveryPort);
  const before = chart.counters;
  const valid = encodeAnnouncement({ header: DEFAULT_HEADER, id: 99n, ports: [1], reply: false });
  const garbage = [
    new Uint8Array(0),
    new Uint8Array(15),
    new Uint8Array(2000).fill(0xff),
    encodeAnnouncement({ header: 1n, id: 99n, ports: [1], reply: false }),
    valid.subarray(0, 17),
    Uint8Array.of(...valid, 1, 2, 3),
    Uint8Array.of(...valid, 0x69, 0x63, 1, 0, 1, 0xff, 0xff),
    encodeAnnouncement({ header: DEFAULT_HEADER, id: 99n, msg: "hi", reply: false }),
  ];
  for (const datagram of garbage) await attacker.send(datagram);
  await until(() => {
    const { dropped } = chart.counters;
    return dropped["too-short"] - before.dropped["too-short"] === 3 &&
      dropped["too-long"] - before.dropped["too-long"] === 1 &&
      dropped["other-header"] - before.dropped["other-header"] === 1 &&
      dropped["bad-extension"] - before.dropped["bad-extension"] === 2 &&
      dropped["wrong-layout"] - before.dropped["wrong-layout"] === 1;
  }, deadline());
  assert.deepEqual(chart.entries().map((entry) => entry.id), [2n]);
  // Still working: a new instance is found.
  const late = await portChart(3, chart.discoveryPort, "auto");
  group.charts.push(late);
  maintain(late);
  await foundEveryone(chart, 3, { signal: deadline() });
});

Deno.test("maintaining a chart twice throws at once, and a closed chart's discovery returns at once", async () => {
  await using group = await Charts.start(1, "auto");
  const [chart] = group.charts;
  // Synchronously: a second call nobody awaits must not become an unhandled rejection.
  assert.throws(() => maintain(chart), /already runs maintain/);
  assert.throws(() => sniff(chart), /already runs maintain/);
  assert.throws(
    () => maintain(chart, { signal: "soon" as unknown as AbortSignal }),
    { name: "TypeError", message: /not an AbortSignal/ },
  );
  // The first run goes on: a newcomer is still found.
  const late = await portChart(2, chart.discoveryPort, "auto");
  group.charts.push(late);
  maintain(late);
  await foundEveryone(chart, 2, { signal: deadline() });
  await chart.close();
  await maintain(chart);
  const msgChart: Chart<MsgEntry<number>> = await new ChartBuilder().withId(1).customMsg(5)
    .withDiscoveryPort(freshPort()).finish();
  await msgChart.close();
  assert.equal((await msgChart.events().next()).done, true);
});

Deno.test("a chart that grows while its next round is planned spaces the round by its crowd", async () => {
  await using crowd = await Charts.start(60, "deno");
  await Promise.all(crowd.charts.map((chart) => foundEveryone(chart, 60, { signal: deadline() })));
  // The default ramp: the second round would come 90-110 ms after the first.
  await using newcomer = await portChart(100, crowd.charts[0].discoveryPort, "deno");
  maintain(newcomer);
  const first = performance.now();
  await foundEveryone(newcomer, 61, { signal: deadline() });
  await until(() => newcomer.counters.announcements >= 2, deadline());
  // 60 instances charted, 5 ms each: 300 ms, less the 10% jitter.
  assert.ok(performance.now() - first >= 270, `${performance.now() - first} ms`);
});
