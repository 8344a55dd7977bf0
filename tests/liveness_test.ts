import "./_lab.ts";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import {
  type Chart,
  ChartBuilder,
  type ChartEvent,
  DEFAULT_HEADER,
  foundEveryone,
  maintain,
  type MsgEntry,
  MULTICAST_GROUP,
  type PortEntry,
  type Transport,
} from "../mod.ts";
import { nodeTransport } from "../src/io/transport_node.ts";
import { encodeAnnouncement } from "../src/core/wire.ts";
import { collect, freshPort, record, until } from "./_charts.ts";
import { seededRandom } from "./_random.ts";

const DEADLINE = 20_000;
const deadline = () => AbortSignal.timeout(DEADLINE);
/** A fast ramp, so that several time-to-lives pass in a test: ttl 660 ms. */
const FAST = { min: 50, max: 200, rampdown: 500 };
/** Scheduling slack on a loaded two-core machine, on top of protocol deadlines. */
const SLACK = 1_000;

function fastChart(id: number, discoveryPort: number, transport: Transport | "auto" = "auto") {
  return new ChartBuilder().withId(id).withServicePort(9000 + id).withDiscoveryPort(discoveryPort)
    .localDiscovery(true).withRampdown(FAST).withTransport(transport).finish();
}

/**
 * The node transport with faults injected in-process: each received datagram
 * is dropped with probability `loss`, and nothing is sent while `muted`.
 */
class FaultyTransport implements Transport {
  muted = false;
  sendFailures = 0;
  readonly #loss: number;
  readonly #random: () => number;

  constructor(loss: number, seed: number) {
    this.#loss = loss;
    this.#random = seededRandom(seed);
  }

  async open(options: Parameters<Transport["open"]>[0]) {
    const socket = await nodeTransport.open({
      ...options,
      onDatagram: (data, hostname, port) => {
        if (this.#random() >= this.#loss) options.onDatagram(data, hostname, port);
      },
    });
    return {
      ...socket,
      port: socket.port,
      send: (data: Uint8Array, hostname: string, port: number) => {
        if (this.sendFailures > 0) {
          this.sendFailures--;
          return Promise.reject(
            Object.assign(new Error("send ENETUNREACH"), { code: "ENETUNREACH" }),
          );
        }
        return this.muted ? Promise.resolve() : socket.send(data, hostname, port);
      },
    };
  }
}

Deno.test("a chart that closes says goodbye and its peers drop it at once", async () => {
  const discoveryPort = freshPort();
  // A long time-to-live (33 s): only the goodbye can remove it in time.
  const slow = { min: 100, max: 10_000, rampdown: 1_000 };
  const build = (id: number) =>
    new ChartBuilder().withId(id).withServicePort(9000 + id).withDiscoveryPort(discoveryPort)
      .localDiscovery(true).withRampdown(slow).finish();
  await using a = await build(1);
  const b = await build(2);
  maintain(a);
  maintain(b);
  await foundEveryone(a, 2, { signal: deadline() });
  const events = a.events();
  const heardBefore = a.lastHeard(2n)!;
  await b.close();
  const [removed] = await collect(events, (seen) => seen.length === 1, deadline());
  assert(removed.type === "removed");
  const { lastHeard, ...rest } = removed;
  assert.deepEqual(rest, {
    type: "removed",
    entry: { id: 2n, address: "127.0.0.1", ports: [9002] },
    reason: "goodbye",
  });
  // Its last announcement, which the goodbye does not change.
  assert.ok(lastHeard >= heardBefore && lastHeard <= performance.now());
  assert.equal(b.counters.goodbyes, 1);
  await events.return?.();
});

Deno.test("an instance that falls silent expires within its ttl plus one interval", async () => {
  const discoveryPort = freshPort();
  const faulty = new FaultyTransport(0, 1);
  await using a = await fastChart(1, discoveryPort);
  await using b = await fastChart(2, discoveryPort, faulty);
  maintain(a);
  maintain(b);
  await foundEveryone(a, 2, { signal: deadline() });
  const events = a.events();
  // Like a crash: no goodbye, nothing more from it.
  faulty.muted = true;
  const silentSince = performance.now();
  const [removed] = await collect(events, (seen) => seen.length === 1, deadline());
  const after = performance.now() - silentSince;
  assert(removed.type === "removed");
  const { lastHeard, ...rest } = removed;
  assert.deepEqual(rest, {
    type: "removed",
    entry: { id: 2n, address: "127.0.0.1", ports: [9002] },
    reason: "expired",
  });
  // Expired for having been silent since it was last heard.
  assert.ok(
    performance.now() - lastHeard >= b.ttl,
    `removed ${performance.now() - lastHeard} ms after it was last heard`,
  );
  // Its last announcement went out at most one interval (with jitter) before it fell silent.
  assert.ok(after > b.ttl - FAST.max * 1.1, `expired after ${after} ms, before its ttl`);
  assert.ok(after < b.ttl + FAST.max * 1.1 + SLACK, `expired after ${after} ms`);
  await events.return?.();
});

/** A socket that speaks the Rust crate's bare layout. */
async function rustPeer(discoveryPort: number) {
  const socket = dgram.createSocket({ type: "udp4" });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const bytes = encodeAnnouncement({ header: DEFAULT_HEADER, id: 7n, ports: [9007], reply: false });
  return {
    announce: () =>
      new Promise<void>((resolve) =>
        socket.send(bytes, discoveryPort, MULTICAST_GROUP, () => resolve())
      ),
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

Deno.test("a Rust peer expires after the bare ttl, and expiry can be switched off", async () => {
  const discoveryPort = freshPort();
  const build = (id: number, enabled: boolean) =>
    new ChartBuilder().withId(id).withServicePort(9000 + id).withDiscoveryPort(discoveryPort)
      .localDiscovery(true).withExpiry({ enabled, bareTtl: 300 }).finish();
  await using expiring = await build(1, true);
  await using keeping = await build(2, false);
  const events = expiring.events();
  maintain(expiring);
  maintain(keeping);
  await using rust = await rustPeer(discoveryPort);
  await rust.announce();
  const seen = await collect(
    events,
    (seen) => seen.some((event) => event.type === "removed" && event.entry.id === 7n),
    deadline(),
  );
  assert.deepEqual(
    seen.filter((event) => event.entry.id === 7n).map((
      event,
    ) => [event.type, "reason" in event && event.reason]),
    [["added", false], ["removed", "expired"]],
  );
  assert.deepEqual(keeping.get(7), { id: 7n, address: "127.0.0.1", ports: [9007] });
  await events.return?.();
});

Deno.test("an instance expires when its time-to-live runs out, not a sweep later", async () => {
  // A bare ttl of 5 s: the chart's rounds for probes come every 200 ms, so
  // removals made only at rounds would come up to 200 ms late. Four Rust
  // peers heard 50 ms apart expire 50 ms apart, each at its own ttl.
  const bareTtl = 5_000;
  const discoveryPort = freshPort();
  await using chart = await new ChartBuilder().withId(1).withServicePort(9001)
    .withDiscoveryPort(discoveryPort).localDiscovery(true).withExpiry({ bareTtl }).finish();
  const added = new Map<bigint, number>();
  const removed = new Map<bigint, number>();
  const events = chart.events();
  const watching = (async () => {
    for await (const event of events) {
      if (event.type === "added") added.set(event.entry.id, performance.now());
      if (event.type === "removed") removed.set(event.entry.id, performance.now());
    }
  })();
  maintain(chart);
  const socket = dgram.createSocket({ type: "udp4" });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  try {
    for (const id of [11n, 12n, 13n, 14n]) {
      const bytes = encodeAnnouncement({ header: DEFAULT_HEADER, id, ports: [9000], reply: false });
      await new Promise<void>((resolve) =>
        socket.send(bytes, discoveryPort, MULTICAST_GROUP, () => resolve())
      );
      await until(() => added.has(id), deadline());
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await until(() => removed.size === 4, deadline());
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
  for (const [id, at] of added) {
    const lived = removed.get(id)! - at;
    // Removed after its ttl (the event trails the datagram by a moment), and
    // within scheduling slack of it: less than a round of probes.
    assert.ok(lived > bareTtl - 5, `${id} removed after ${lived.toFixed(1)} ms, before its ttl`);
    assert.ok(lived < bareTtl + 100, `${id} removed ${(lived - bareTtl).toFixed(1)} ms late`);
  }
  await events.return?.();
  await watching;
});

Deno.test("updated ports propagate to every peer as an update", async () => {
  const discoveryPort = freshPort();
  await using a = await fastChart(1, discoveryPort);
  await using b = await fastChart(2, discoveryPort);
  await using c = await fastChart(3, discoveryPort);
  for (const chart of [a, b, c]) maintain(chart);
  await Promise.all([a, b, c].map((chart) => foundEveryone(chart, 3, { signal: deadline() })));
  const watching = [b, c].map((chart) => chart.events());
  a.setServicePorts([7777]);
  assert.deepEqual(a.ourServicePorts(), [7777]);
  for (const events of watching) {
    const [updated] = await collect(events, (seen) => seen.length === 1, deadline());
    assert.deepEqual(updated, {
      type: "updated",
      entry: { id: 1n, address: "127.0.0.1", ports: [7777] },
      previous: { id: 1n, address: "127.0.0.1", ports: [9001] },
    });
    await events.return?.();
  }
  assert.throws(() => a.setServicePorts([1, 2]), RangeError);
});

Deno.test("an updated custom msg propagates", async () => {
  const discoveryPort = freshPort();
  const build = (id: number, msg: { v: number }) =>
    new ChartBuilder().withId(id).customMsg(msg).withDiscoveryPort(discoveryPort)
      .localDiscovery(true).finish();
  await using a: Chart<MsgEntry<{ v: number }>> = await build(1, { v: 1 });
  await using b = await build(2, { v: 1 });
  maintain(a);
  maintain(b);
  await foundEveryone(b, 2, { signal: deadline() });
  const events = b.events();
  a.setMsg({ v: 2 });
  const [updated] = await collect(events, (seen) => seen.length === 1, deadline());
  assert.equal(updated.type, "updated");
  assert.deepEqual(updated.entry, { id: 1n, address: "127.0.0.1", msg: { v: 2 } });
  await events.return?.();
});

Deno.test("two live instances with one id are reported, and the chart never flips between them", async () => {
  const discoveryPort = freshPort();
  await using observer = await fastChart(1, discoveryPort);
  const observed = record(observer.events());
  maintain(observer);
  await using first = await fastChart(7, discoveryPort);
  const firstBuilt = Date.now();
  const firstEvents = first.events();
  maintain(first);
  await foundEveryone(observer, 2, { signal: deadline() });
  // Incarnations order starts by the millisecond: the second must start in a later one.
  await until(() => Date.now() > firstBuilt, deadline());
  await using second = await new ChartBuilder().withId(7).withServicePort(9999)
    .withDiscoveryPort(discoveryPort).localDiscovery(true).withRampdown(FAST).finish();
  const secondEvents = second.events();
  maintain(second);

  const isCollision = (event: ChartEvent<PortEntry>) => event.type === "collision";
  // Each of the two hears the other within two of its intervals (plus slack).
  const within = () => AbortSignal.timeout(2 * FAST.max * 1.1 + SLACK);
  const toFirst = (await collect(firstEvents, (seen) => seen.some(isCollision), within()))
    .filter(isCollision);
  assert.deepEqual(toFirst, [{
    type: "collision",
    entry: { id: 7n, address: "127.0.0.1", ports: [9999] },
    withUs: true,
  }]);
  const toSecond = (await collect(secondEvents, (seen) => seen.some(isCollision), within()))
    .filter(isCollision);
  assert.deepEqual(toSecond, [{
    type: "collision",
    entry: { id: 7n, address: "127.0.0.1", ports: [9007] },
    withUs: true,
  }]);
  await until(() => observed.some(isCollision), within());
  // The newer incarnation replaced the first, as a restart would; the first
  // speaking again reveals the collision. Many more rounds from both: it is
  // reported once, and the chart keeps the newer one.
  const heard = observer.counters.received;
  await until(() => observer.counters.received > heard + 40, deadline());
  const about7 = observed.filter((event) => event.entry.id === 7n);
  assert.deepEqual(about7.map((event) => event.type), ["added", "updated", "collision"]);
  assert.deepEqual(about7[2].entry, { id: 7n, address: "127.0.0.1", ports: [9007] });
  assert.deepEqual(observer.get(7), { id: 7n, address: "127.0.0.1", ports: [9999] });
  for (const events of [firstEvents, secondEvents]) await events.return?.();
});

Deno.test("under 30% loss the charts still converge and never flap", async () => {
  const discoveryPort = freshPort();
  const charts: Chart<PortEntry>[] = [];
  try {
    for (let id = 1; id <= 3; id++) {
      charts.push(await fastChart(id, discoveryPort, new FaultyTransport(0.3, id)));
    }
    const events = charts.map((chart) => record(chart.events()));
    for (const chart of charts) maintain(chart);
    await Promise.all(charts.map((chart) => foundEveryone(chart, 3, { signal: deadline() })));
    // Some 6 time-to-lives at 30% loss: a lost announcement must not remove anyone.
    const heard = charts[0].counters.received;
    await until(() => charts[0].counters.received > heard + 60, deadline());
    for (const [i, seen] of events.entries()) {
      assert.deepEqual(seen.map((event) => event.type), ["added", "added"], `chart ${i + 1}`);
    }
    assert.ok(charts.some((chart) => chart.counters.probes > 0), "quiet peers were probed");
  } finally {
    for (const chart of charts) await chart.close();
  }
});

Deno.test("a failing send is reported and discovery goes on", async () => {
  const discoveryPort = freshPort();
  const faulty = new FaultyTransport(0, 2);
  faulty.sendFailures = 3;
  const errors: Error[] = [];
  await using a = await new ChartBuilder().withId(1).withServicePort(1).withDiscoveryPort(
    discoveryPort,
  )
    .localDiscovery(true).withRampdown(FAST).withTransport(faulty)
    .withErrorHandler((error) => errors.push(error)).finish();
  await using b = await fastChart(2, discoveryPort);
  maintain(a);
  maintain(b);
  await foundEveryone(b, 2, { signal: deadline() });
  await foundEveryone(a, 2, { signal: deadline() });
  assert.equal(a.counters.sendErrors, 3);
  assert.deepEqual(errors.slice(0, 3).map((error) => error.message), [
    "send ENETUNREACH",
    "send ENETUNREACH",
    "send ENETUNREACH",
  ]);
});

Deno.test("an error handler that throws ends nothing: the throw goes to stderr", async () => {
  const discoveryPort = freshPort();
  const faulty = new FaultyTransport(0, 2);
  faulty.sendFailures = 2;
  let calls = 0;
  const printed: unknown[][] = [];
  const realError = console.error;
  console.error = (...data: unknown[]) => printed.push(data);
  try {
    await using a = await new ChartBuilder().withId(1).withServicePort(1).withDiscoveryPort(
      discoveryPort,
    )
      .localDiscovery(true).withRampdown(FAST).withTransport(faulty)
      .withErrorHandler(() => {
        calls++;
        throw new Error("the handler's own bug");
      }).finish();
    await using b = await fastChart(2, discoveryPort);
    maintain(a);
    maintain(b);
    await foundEveryone(a, 2, { signal: deadline() });
    await foundEveryone(b, 2, { signal: deadline() });
  } finally {
    console.error = realError;
  }
  assert.equal(calls, 2);
  const throws = printed.filter(([first]) => first === "instance-chart: the error handler threw");
  assert.equal(throws.length, 2);
  assert.equal((throws[0][1] as Error).message, "the handler's own bug");
  assert.equal((throws[0][3] as Error).message, "send ENETUNREACH");
});

Deno.test("a jump of the wall clock changes nothing", async () => {
  const discoveryPort = freshPort();
  await using a = await fastChart(1, discoveryPort);
  await using b = await fastChart(2, discoveryPort);
  maintain(a);
  maintain(b);
  await foundEveryone(a, 2, { signal: deadline() });
  const seen = record(a.events());
  const realNow = Date.now;
  try {
    for (const jump of [3_600_000, -7_200_000]) {
      Date.now = () => realNow() + jump;
      const heard = a.counters.received;
      // Two time-to-lives pass on the monotonic clock.
      await until(() => a.counters.received > heard + 12, deadline());
    }
  } finally {
    Date.now = realNow;
  }
  assert.deepEqual(seen, []);
  assert.equal(a.size, 2);
});
