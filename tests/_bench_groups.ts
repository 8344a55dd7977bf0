/**
 * Groups of instances for the benchmark, in this process: charts, or the
 * floor (raw `node:dgram` sockets that exchange one multicast announcement
 * and one unicast answer each, and nothing else). The harness uses them
 * directly for one-process scenarios and through tests/_bench_peer.ts for
 * scenarios with several processes or lab hosts.
 *
 * Times are wall-clock milliseconds (`performance.timeOrigin +
 * performance.now()`), comparable between processes on one machine.
 *
 * @module
 */

import "./_lab.ts";
import dgram from "node:dgram";
import process from "node:process";
import v8 from "node:v8";
import {
  type Chart,
  ChartBuilder,
  DEFAULT_HEADER,
  foundEveryone,
  maintain,
  MULTICAST_GROUP,
  type PortEntry,
  type Rampdown,
} from "../mod.ts";
import { encodeAnnouncement } from "../src/core/wire.ts";

/**
 * The current wall-clock time in milliseconds, with sub-millisecond
 * precision, comparable between processes on one machine.
 *
 * @returns The time.
 */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Waits a number of milliseconds.
 *
 * @param ms How long.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** What a group of instances is opened with; plain JSON, so that it crosses to a peer process. */
export interface GroupOptions {
  /** Charts (`maintain`ed), or the floor's raw sockets. */
  kind: "charts" | "floor";
  /** The discovery port, shared by every instance of the run. */
  discoveryPort: number;
  /** The instances' ids, unique in the run; small integers. */
  ids: number[];
  /**
   * How many instances a complete instance knows, itself included; 0 when
   * completion does not matter (instances that only answer a newcomer).
   */
  expect: number;
  /** How long to wait for completion after start, in milliseconds. */
  timeout: number;
  /** Charts only: their announcement ramp; the default ramp when absent. */
  rampdown?: Rampdown;
  /** Charts only: the socket API. */
  transport?: "auto" | "deno" | "node";
  /**
   * Charts only: build the charts when the group starts, not when it opens,
   * as a process that builds its chart and starts discovery at once does:
   * then the chart has heard nothing before it starts.
   */
  buildAtStart?: boolean;
  /** Floor only: whether instances send their one announcement on start (else they only answer). */
  announce?: boolean;
  /**
   * Each instance's discovery port, in the order of `ids`, where they must
   * differ (so that a unicast to a host and port reaches one instance);
   * `discoveryPort` for all when absent.
   */
  discoveryPorts?: number[];
  /**
   * Where every instance also announces by unicast, as `address:port`: charts
   * get them as seeds; floor instances send their announcement there instead
   * of to the group.
   */
  seeds?: string[];
}

/** What a group has sent and received, summed over its instances. */
export interface Totals {
  /** Multicast announcements sent. */
  announcements: number;
  /** Unicast answers sent. */
  replies: number;
  /** Unicast probes sent to instances that went quiet. */
  probes: number;
  /** Datagrams received. */
  received: number;
}

/**
 * Adds up totals.
 *
 * @param totals The totals.
 * @returns Their sum.
 */
export function sumTotals(totals: readonly Totals[]): Totals {
  const sum: Totals = { announcements: 0, replies: 0, probes: 0, received: 0 };
  for (const t of totals) {
    sum.announcements += t.announcements;
    sum.replies += t.replies;
    sum.probes += t.probes;
    sum.received += t.received;
  }
  return sum;
}

/**
 * Everything sent: announcements, answers and probes.
 *
 * @param totals The totals.
 * @returns The packets sent.
 */
export function sent(totals: Totals): number {
  return totals.announcements + totals.replies + totals.probes;
}

/** Instances opened together in this process. */
export interface Group {
  /**
   * Starts every instance: charts begin `maintain`, floor instances send
   * their announcement.
   *
   * @returns When the last instance started.
   */
  start(): number;
  /**
   * Resolves when every instance is complete, with the time the last one
   * became so; rejects after the timeout. Only valid after `start`.
   */
  readonly complete: Promise<number>;
  /** Sums of what the instances sent and received. */
  totals(): Totals;
  /**
   * Waits until every instance knows the instance `id`.
   *
   * @returns When the last one learnt of it.
   */
  knows(id: number, timeout: number): Promise<number>;
  /** Makes every instance forget the instance `id`, so that it is new again. */
  forget(id: number): void;
  /** Closes every instance. */
  close(): Promise<void>;
}

/**
 * Opens a group of instances, not yet started.
 *
 * @param options What to open.
 * @returns The group.
 */
export function openGroup(options: GroupOptions): Promise<Group> {
  return options.kind === "charts" ? openCharts(options) : openFloor(options);
}

/** A service port for an id: any valid port does, peers only carry it. */
function servicePort(id: number): number {
  return 9000 + id % 50_000;
}

async function buildCharts(options: GroupOptions): Promise<Chart<PortEntry>[]> {
  const charts: Chart<PortEntry>[] = [];
  try {
    for (const [i, id] of options.ids.entries()) {
      let builder = new ChartBuilder()
        .withId(id)
        .withServicePort(servicePort(id))
        .withDiscoveryPort(options.discoveryPorts?.[i] ?? options.discoveryPort)
        .localDiscovery(true)
        .withTransport(options.transport ?? "auto");
      if (options.rampdown) builder = builder.withRampdown(options.rampdown);
      if (options.seeds) builder = builder.withSeeds(options.seeds);
      charts.push(await builder.finish());
    }
  } catch (error) {
    await Promise.all(charts.map((chart) => chart.close()));
    throw error;
  }
  return charts;
}

/**
 * Two charts per process that run, and know each other, for the life of the
 * process, on a discovery port no trial uses. V8 keeps a class's hidden
 * classes, and the optimised code built for them, only while some object has
 * them: once every chart of a trial has been collected, the next trial would
 * run deoptimised code. An application keeps its charts running; a benchmark
 * that closes them all keeps these, so that each trial measures warm code as
 * an application runs it. A chart that never started is not enough: the
 * objects of a running chart (its peers, its timer, its links) would still
 * die with each trial.
 */
let keepers: Promise<Chart<PortEntry>[]> | undefined;

/**
 * The discovery port of the kept charts: below the ports the trials take,
 * and one per process, so that the kept charts of the benchmark's processes
 * do not hear each other.
 */
const KEEPER_PORT = 20_000 + Deno.pid % 10_000;

/** The kept charts announce once a minute once they know each other. */
const KEEPER_RAMPDOWN: Rampdown = { min: 100, max: 60_000, rampdown: 1_000 };

async function keep(transport: GroupOptions["transport"]): Promise<Chart<PortEntry>[]> {
  const charts = await buildCharts({
    kind: "charts",
    discoveryPort: KEEPER_PORT,
    ids: [2_000_000_001, 2_000_000_002],
    expect: 2,
    timeout: 10_000,
    transport,
    rampdown: KEEPER_RAMPDOWN,
  });
  const both = charts.map((chart) =>
    foundEveryone(chart, 2, { signal: AbortSignal.timeout(10_000) })
  );
  for (const chart of charts) maintain(chart);
  await Promise.all(both);
  return charts;
}

/** Closes the kept charts, so that the process can end. */
export async function closeKeeper(): Promise<void> {
  const kept = keepers;
  keepers = undefined;
  await Promise.all((await kept ?? []).map((chart) => chart.close()));
}

async function openCharts(options: GroupOptions): Promise<Group> {
  keepers ??= keep(options.transport);
  await keepers;
  let charts: Chart<PortEntry>[] = options.buildAtStart ? [] : await buildCharts(options);
  let building: Promise<unknown> = Promise.resolve();
  const stop = new AbortController();
  let complete: Promise<number> = Promise.reject(new Error("group not started"));
  complete.catch(() => {});
  /** Starts discovery on every chart; resolves when each is complete. */
  const run = (signal: AbortSignal) => {
    // Subscribed before discovery runs, so that no event is missed.
    const done = charts.map((chart) =>
      options.expect > 0 ? foundEveryone(chart, options.expect, { signal }).then(now) : 0
    );
    for (const chart of charts) maintain(chart);
    return Promise.all(done);
  };
  return {
    start() {
      const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(options.timeout)]);
      const started = now();
      const times = options.buildAtStart
        ? (building = buildCharts(options)).then((built) => {
          charts = built;
          return run(signal);
        })
        : run(signal);
      complete = times.then(
        (times) => Math.max(started, ...times),
        (error) => {
          // Not built: the error says why.
          if (charts.length === 0) throw error;
          const sizes = charts.map((chart) => chart.size);
          throw new Error(
            `charts incomplete after ${options.timeout} ms: sizes ${Math.min(...sizes)} to ` +
              `${Math.max(...sizes)} of ${options.expect}`,
          );
        },
      );
      complete.catch(() => {});
      return started;
    },
    get complete() {
      return complete;
    },
    totals() {
      return sumTotals(charts.map(({ counters }) => ({
        announcements: counters.announcements,
        replies: counters.replies,
        probes: counters.probes,
        received: counters.received,
      })));
    },
    async knows(id, timeout) {
      const deadline = now() + timeout;
      while (!charts.every((chart) => chart.get(id) !== undefined)) {
        if (now() > deadline) throw new Error(`charts did not learn of ${id} within ${timeout} ms`);
        await sleep(1);
      }
      return now();
    },
    forget(id) {
      for (const chart of charts) chart.forget(id);
    },
    async close() {
      stop.abort();
      await building.catch(() => {});
      await Promise.all(charts.map((chart) => chart.close()));
    },
  };
}

function bindSocket(port: number, shared: boolean): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: "udp4", reuseAddr: shared });
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind({ address: "0.0.0.0", port }, () => {
      socket.off("error", reject);
      socket.setMulticastLoopback(true);
      // The default receive buffer: Deno's node:dgram receives ten times
      // slower with a 2 MiB one (setRecvBufferSize), so a floor with one would
      // not be a floor.
      resolve(socket);
    });
  });
}

interface FloorInstance {
  id: number;
  discovery: dgram.Socket;
  own: dgram.Socket;
  known: Set<number>;
  complete?: number;
}

/**
 * The floor: like a chart, each instance listens on the shared discovery port
 * and sends from a socket of its own (so that answers reach it although the
 * port is shared), but it sends one announcement, answers the first
 * announcement of each other instance, and only reads the sender's id.
 */
async function openFloor(options: GroupOptions): Promise<Group> {
  const instances: FloorInstance[] = [];
  const totals: Totals = { announcements: 0, replies: 0, probes: 0, received: 0 };
  const { promise: allComplete, resolve: resolveComplete } = Promise.withResolvers<void>();
  let pending = options.announce === false ? 0 : options.ids.length;
  const checkComplete = (instance: FloorInstance) => {
    if (instance.complete === undefined && instance.known.size + 1 >= options.expect) {
      instance.complete = now();
      if (--pending === 0) resolveComplete();
    }
  };
  const close = () =>
    Promise.all(
      instances.flatMap((instance) =>
        [instance.discovery, instance.own].map((socket) =>
          new Promise<void>((resolve) => socket.close(() => resolve()))
        )
      ),
    );
  try {
    for (const [i, id] of options.ids.entries()) {
      const discovery = await bindSocket(
        options.discoveryPorts?.[i] ?? options.discoveryPort,
        true,
      );
      discovery.addMembership(MULTICAST_GROUP);
      const own = await bindSocket(0, false);
      const instance: FloorInstance = { id, discovery, own, known: new Set() };
      instances.push(instance);
      const answer = encodeAnnouncement({
        header: DEFAULT_HEADER,
        id: BigInt(id),
        ports: [servicePort(id)],
        reply: true,
      });
      const onMessage = (data: Uint8Array, from: dgram.RemoteInfo) => {
        totals.received++;
        const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
        const other = view.getUint32(8, true);
        if (other === id) return;
        // An announcement is the bare 18 bytes; an answer carries the extension.
        // Like a chart, an instance answers only those it did not know.
        if (data.byteLength === 18 && !instance.known.has(other)) {
          totals.replies++;
          own.send(answer, from.port, from.address);
        }
        instance.known.add(other);
        if (options.expect > 0) checkComplete(instance);
      };
      discovery.on("message", onMessage);
      own.on("message", onMessage);
    }
  } catch (error) {
    await close();
    throw error;
  }
  if (options.expect <= 1) resolveComplete();

  const stop = new AbortController();
  let complete: Promise<number> = Promise.reject(new Error("group not started"));
  complete.catch(() => {});
  return {
    start() {
      const started = now();
      if (options.announce !== false) {
        for (const instance of instances) {
          const announcement = encodeAnnouncement({
            header: DEFAULT_HEADER,
            id: BigInt(instance.id),
            ports: [servicePort(instance.id)],
            reply: false,
          });
          if (!options.seeds) {
            totals.announcements++;
            instance.own.send(announcement, options.discoveryPort, MULTICAST_GROUP);
          }
          for (const seed of options.seeds ?? []) {
            const cut = seed.lastIndexOf(":");
            totals.announcements++;
            instance.own.send(announcement, Number(seed.slice(cut + 1)), seed.slice(0, cut));
          }
        }
      }
      const timeout = new Promise<never>((_, reject) => {
        const timer = setTimeout(() => {
          const sizes = instances.map((instance) => instance.known.size + 1);
          reject(
            new Error(
              `floor incomplete after ${options.timeout} ms (a datagram was lost): sizes ` +
                `${Math.min(...sizes)} to ${Math.max(...sizes)} of ${options.expect}`,
            ),
          );
        }, options.timeout);
        stop.signal.addEventListener("abort", () => clearTimeout(timer));
        allComplete.then(() => clearTimeout(timer));
      });
      complete = Promise.race([allComplete, timeout]).then(() =>
        Math.max(started, ...instances.map((instance) => instance.complete ?? 0))
      );
      complete.catch(() => {});
      return started;
    },
    get complete() {
      return complete;
    },
    totals() {
      return { ...totals };
    },
    async knows(id, timeout) {
      const deadline = now() + timeout;
      while (!instances.every((instance) => instance.known.has(id))) {
        if (now() > deadline) throw new Error(`floor did not learn of ${id} within ${timeout} ms`);
        await sleep(1);
      }
      return now();
    },
    forget(id) {
      for (const instance of instances) instance.known.delete(id);
    },
    async close() {
      stop.abort();
      await close();
    },
  };
}

/** What this process has used. */
export interface Usage {
  /** CPU time, user and system, in microseconds. */
  cpu: number;
  /** V8 heap in use, in bytes. */
  heap: number;
  /**
   * The part of it that holds objects, in bytes: the heap without the spaces
   * of compiled code and bytecode, which grow in lumps as V8 compiles, not
   * with what a chart holds.
   */
  objects: number;
  /** Resident set size, in bytes. */
  rss: number;
  /** When, in wall-clock milliseconds. */
  at: number;
}

/**
 * This process's CPU time and memory.
 *
 * @param gc Whether to collect garbage first (when the process runs with
 *   `--v8-flags=--expose-gc`), for a steady figure of memory in use.
 * @returns The usage.
 */
export function usage(gc: boolean): Usage {
  if (gc) (globalThis as { gc?: () => void }).gc?.();
  const { user, system } = process.cpuUsage();
  const { heapUsed, rss } = Deno.memoryUsage();
  return { cpu: user + system, heap: heapUsed, objects: objectHeap(), rss, at: now() };
}

/** The V8 spaces that hold a program's objects (not its code). */
const OBJECT_SPACES = new Set([
  "new_space",
  "old_space",
  "new_large_object_space",
  "large_object_space",
]);

/**
 * The bytes in use in the spaces that hold objects.
 *
 * @returns The size.
 */
export function objectHeap(): number {
  let used = 0;
  for (const space of v8.getHeapSpaceStatistics()) {
    if (OBJECT_SPACES.has(space.space_name)) used += space.space_used_size;
  }
  return used;
}
