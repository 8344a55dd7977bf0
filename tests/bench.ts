/**
 * The benchmark: how fast instances find each other, against the floor of
 * raw sockets measured in the same run, what it costs, and how the Rust crate
 * and the targets of issue 6 compare. Run it with `deno task bench`, which
 * enters the lab first; `deno task bench --quick` runs a small version.
 *
 * Prints a Markdown report to stdout (progress goes to stderr) and writes it
 * to docs/bench_results.md with a plot in docs/bench_plot.svg (a quick run
 * writes files only when given `--out`).
 *
 * @module
 */

import "./_lab.ts";
import dgram from "node:dgram";
import { parseArgs } from "node:util";
import {
  ChartBuilder,
  DEFAULT_HEADER,
  DEFAULT_RAMPDOWN,
  foundEveryone,
  maintain,
  MULTICAST_GROUP,
  type Rampdown,
  sniff,
} from "../mod.ts";
import { encodeAnnouncement } from "../src/core/wire.ts";
import { type LabHost, LabNet } from "./_lab.ts";
import {
  closeKeeper,
  type Group,
  type GroupOptions,
  now,
  objectHeap,
  openGroup,
  sent,
  sleep,
  sumTotals,
  type Totals,
} from "./_bench_groups.ts";
import { BenchPeer, closePeers } from "./_bench_remote.ts";
import { freshSection, FULL_FRESH, QUICK_FRESH, renderFresh } from "./_bench_fresh.ts";
import { buildForNode, BUILT } from "./_node_package.ts";
import {
  type CodecRow,
  type CostRow,
  formatBytes,
  formatMs,
  formatNumber,
  type JoinPacketsRow,
  machine,
  median,
  renderMarkdown,
  renderSvg,
  type Report,
  type Series,
  type TimeRow,
  type TrafficRow,
  worst,
} from "./_bench_report.ts";

const USAGE = `Usage: deno task bench [--quick] [--out DIR] [--transport auto|deno|node]

Measures discovery in the lab and prints a Markdown report.

  --quick       a small run (3 trials, small N) for CI, in well under a minute
  --out DIR     write bench_results.md and bench_plot.svg to DIR
                (default: docs/ for a full run, nowhere for a quick run)
  --transport   the charts' socket API (default: auto, which is "deno" here)
`;

/** The sizes and counts of one run. */
export interface Plan {
  mode: "full" | "quick";
  trials: number;
  /** N for charts created together in this process. */
  convergence: number[];
  /** Processes on this host, one chart each. */
  processes: number;
  /** Lab hosts and charts on each, for convergence across hosts. */
  labHosts: number;
  labPerHost: number;
  /** Running instances a newcomer joins. */
  join: number[];
  /** Lab hosts the running instances are spread over; the newcomer has one more. */
  joinHosts: number;
  /** Milliseconds between joins: the least, and a random spread on top. */
  joinGap: [number, number];
  /** Traffic and cost: instances over processes on this host, the ramp, the steady window. */
  traffic: { processes: number; perProcess: number; rampdown: Rampdown; steady: number };
  /** One chart fed by this many peers announcing once a second: warm-up and window. */
  idle: { peers: number; warmup: number; window: number };
  /** Entries fed to one chart to weigh them. */
  entries: number;
  /** Instances (each in a process of its own) that leave with a goodbye, and as many killed. */
  leaving: number;
  /** Running instances a newcomer joins through seeds, across a router. */
  seedJoin: number[];
}

export const FULL: Plan = {
  mode: "full",
  trials: 10,
  convergence: [2, 10, 50, 200],
  processes: 50,
  labHosts: 4,
  labPerHost: 50,
  join: [10, 50, 200],
  joinHosts: 10,
  joinGap: [100, 900],
  traffic: { processes: 2, perProcess: 25, rampdown: { ...DEFAULT_RAMPDOWN }, steady: 5_000 },
  idle: { peers: 200, warmup: 2_500, window: 5_000 },
  entries: 10_000,
  leaving: 10,
  seedJoin: [10, 50],
};

/** A process that imports a module and prints when it was done (tests/_load_probe.mjs). */
const LOAD_PROBE = new URL("./_load_probe.mjs", import.meta.url).pathname;
/** The discovery port of the load rows' charts, which charts of no other row use. */
const LOAD_PORT = 25_999;

const QUICK: Plan = {
  mode: "quick",
  trials: 3,
  convergence: [2, 10],
  processes: 5,
  labHosts: 2,
  labPerHost: 5,
  join: [10],
  joinHosts: 3,
  joinGap: [100, 200],
  traffic: {
    processes: 2,
    perProcess: 10,
    rampdown: { min: 100, max: 1_000, rampdown: 2_000 },
    steady: 2_000,
  },
  idle: { peers: 200, warmup: 1_500, window: 2_000 },
  entries: 1_000,
  leaving: 3,
  seedJoin: [10],
};

/** Running instances announce at the steady-state interval from the start. */
const STEADY: Rampdown = { min: 1_000, max: 1_000, rampdown: 0 };
const CHART_TIMEOUT = 10_000;
/** The id of the chart that watches instances leave; theirs are small. */
const LEAVING_OBSERVER = 1_000_000;
const FLOOR_TIMEOUT = 5_000;
/** A scenario stops after this many failed trials in a row, so that a run stays bounded. */
const MAX_FAILURES_IN_A_ROW = 2;

const RUST_CONVERGENCE: Record<number, string> = { 10: "1.5 ms", 50: "17 ms", 200: "200 ms" };
const RUST_PROCESSES: Record<number, string> = { 10: "101 ms", 50: "125–139 ms" };
const RUST_JOIN_HOST: Record<number, string> = {
  10: "501 ms median",
  50: "991 ms median",
  200: "997 ms median",
};
const RUST_JOIN_LAB: Record<number, string> = { 10: "2.6–92 ms (10 hosts, 6 trials)" };
const FLOOR_TARGET = "≤ 5× floor";
const JOIN_TARGET = "≤ 10 ms median, ≤ 25 ms worst; " + FLOOR_TARGET;

const log = (line: string) =>
  console.error(`[bench ${(performance.now() / 1000).toFixed(1)} s] ${line}`);
const gc: () => void = (globalThis as { gc?: () => void }).gc ?? (() => {});

let nextPort = 30_000;
function freshPort(): number {
  return nextPort++;
}

function range(n: number, first = 1): number[] {
  return Array.from({ length: n }, (_, i) => first + i);
}

/** Where groups live: this process, or a benchmark peer (which has the same methods). */
interface Site {
  open(name: string, options: GroupOptions): Promise<void>;
  start(name: string): Promise<number>;
  complete(name: string): Promise<number>;
  totals(name: string): Promise<Totals>;
  knows(name: string, who: number, timeout: number): Promise<number>;
  forget(name: string, who: number): Promise<void>;
  close(name: string): Promise<void>;
}

class LocalSite implements Site {
  #groups = new Map<string, Group>();
  #get(name: string): Group {
    const group = this.#groups.get(name);
    if (!group) throw new Error(`no group ${name}`);
    return group;
  }
  async open(name: string, options: GroupOptions): Promise<void> {
    this.#groups.set(name, await openGroup(options));
  }
  start(name: string): Promise<number> {
    return Promise.resolve(this.#get(name).start());
  }
  complete(name: string): Promise<number> {
    return this.#get(name).complete;
  }
  totals(name: string): Promise<Totals> {
    return Promise.resolve(this.#get(name).totals());
  }
  knows(name: string, who: number, timeout: number): Promise<number> {
    return this.#get(name).knows(who, timeout);
  }
  forget(name: string, who: number): Promise<void> {
    this.#get(name).forget(who);
    return Promise.resolve();
  }
  async close(name: string): Promise<void> {
    const group = this.#groups.get(name);
    await group?.close();
    this.#groups.delete(name);
  }
}

/** Some instances of a scenario, at one site. */
interface Placement {
  site: Site;
  ids: number[];
}

type Kind = GroupOptions["kind"];

async function totalsOf(placements: Placement[], name: string): Promise<Totals> {
  return sumTotals(await Promise.all(placements.map(({ site }) => site.totals(name))));
}

/** Ids first..first+n-1 dealt round-robin over `sites`. */
function deal(sites: Site[], n: number, first = 1): Placement[] {
  const placements = sites.map((site) => ({ site, ids: [] as number[] }));
  for (let i = 0; i < n; i++) placements[i % sites.length].ids.push(first + i);
  return placements.filter((placement) => placement.ids.length > 0);
}

/** Closes a group at every site; says so when that is slow (a backlog of sends to flush). */
async function closeGroups(placements: Placement[], name: string, kind: Kind): Promise<void> {
  const start = now();
  await Promise.all(placements.map(({ site }) => site.close(name)));
  const seconds = (now() - start) / 1000;
  if (seconds > 2) log(`  closing the ${kind} took ${seconds.toFixed(1)} s`);
}

function failedInARow(trials: number[]): boolean {
  return trials.length >= MAX_FAILURES_IN_A_ROW &&
    trials.slice(-MAX_FAILURES_IN_A_ROW).every((value) => !Number.isFinite(value));
}

/** The pause after a convergence trial, in milliseconds. */
const SETTLE = 500;

/**
 * One convergence trial: every instance opens, then all start; the time from
 * the last start until the last instance is complete. Infinity on a timeout.
 */
async function convergenceTrial(
  placements: Placement[],
  kind: Kind,
  transport: GroupOptions["transport"],
  buildAtStart = false,
): Promise<number> {
  gc();
  const discoveryPort = freshPort();
  const name = `converge-${discoveryPort}`;
  const expect = placements.reduce((n, placement) => n + placement.ids.length, 0);
  const timeout = kind === "charts" ? CHART_TIMEOUT : FLOOR_TIMEOUT;
  await Promise.all(
    placements.map(({ site, ids }) =>
      site.open(name, { kind, discoveryPort, ids, expect, timeout, transport, buildAtStart })
    ),
  );
  try {
    const starts = await Promise.all(placements.map(({ site }) => site.start(name)));
    const completes = await Promise.all(placements.map(({ site }) => site.complete(name)));
    return Math.max(...completes) - Math.max(...starts);
  } catch (error) {
    log(`  ${kind} trial failed: ${(error as Error).message}`);
    return Infinity;
  } finally {
    await closeGroups(placements, name, kind);
    // Sockets finish closing in the background (the floor has 2 per
    // instance): the next trial starts on a quiet process.
    await sleep(SETTLE);
  }
}

/**
 * Convergence trials of charts, then of the floor. Not interleaved: a floor
 * trial (N² datagrams through N raw socket pairs) leaves the process slower
 * for whatever runs after it, even after a full GC and a pause; measured at
 * N = 200 in one process, chart trials that follow floor trials took 1.4 to
 * 2 times as long.
 */
async function convergence(
  plan: Plan,
  placements: Placement[],
  transport: GroupOptions["transport"],
  buildAtStart = false,
): Promise<Pick<TimeRow, "trials" | "floor" | "planned" | "note">> {
  const charts = await chartConvergence(plan, placements, transport, buildAtStart);
  return { ...charts, floor: await floorConvergence(plan, placements, transport) };
}

/** Convergence trials of charts, stopped after repeated timeouts. */
async function chartConvergence(
  plan: Plan,
  placements: Placement[],
  transport: GroupOptions["transport"],
  buildAtStart = false,
): Promise<Pick<TimeRow, "trials" | "planned" | "note">> {
  const trials: number[] = [];
  for (let t = 0; t < plan.trials && !failedInARow(trials); t++) {
    trials.push(await convergenceTrial(placements, "charts", transport, buildAtStart));
  }
  const note = trials.length < plan.trials
    ? `stopped after ${MAX_FAILURES_IN_A_ROW} timeouts (${CHART_TIMEOUT / 1000} s) in a row`
    : undefined;
  return { trials, planned: plan.trials, note };
}

/** Convergence trials of the floor. */
async function floorConvergence(
  plan: Plan,
  placements: Placement[],
  transport: GroupOptions["transport"],
): Promise<number[]> {
  const floor: number[] = [];
  for (let t = 0; t < plan.trials; t++) {
    floor.push(await convergenceTrial(placements, "floor", transport));
  }
  return floor;
}

interface JoinResult {
  times: number[];
  answers: number[];
  sentByRunning: number[];
  sentByNewcomer: number[];
  received: number[];
  note?: string;
}

/**
 * Newcomers joining `running` instances in steady state, one per trial: the
 * time from the newcomer's start until it knows every running instance, and
 * what was sent and received from just before its start until every running
 * instance knows it.
 */
async function join(
  plan: Plan,
  running: Placement[],
  newcomerSite: Site,
  kind: Kind,
  transport: GroupOptions["transport"],
): Promise<JoinResult> {
  const discoveryPort = freshPort();
  const name = `running-${discoveryPort}`;
  const n = running.reduce((count, placement) => count + placement.ids.length, 0);
  const result: JoinResult = {
    times: [],
    answers: [],
    sentByRunning: [],
    sentByNewcomer: [],
    received: [],
  };
  await Promise.all(running.map(({ site, ids }) =>
    site.open(name, {
      kind,
      discoveryPort,
      ids,
      // The floor's running instances only answer.
      expect: kind === "charts" ? n : 0,
      timeout: CHART_TIMEOUT,
      rampdown: STEADY,
      transport,
      announce: false,
    })
  ));
  try {
    await Promise.all(running.map(({ site }) => site.start(name)));
    try {
      await Promise.all(running.map(({ site }) => site.complete(name)));
    } catch (error) {
      log(`  running ${kind} never converged: ${(error as Error).message}`);
      result.note = `the ${n} running charts did not find each other within ` +
        `${CHART_TIMEOUT / 1000} s, so there was no steady state to join`;
      return result;
    }
    // Steady state: every chart complete, then quiet for more than one interval.
    if (kind === "charts") await sleep(STEADY.max * 1.2);
    for (let t = 0; t < plan.trials && !failedInARow(result.times); t++) {
      await sleep(plan.joinGap[0] + Math.random() * plan.joinGap[1]);
      gc();
      const who = 100_000 + t;
      const newcomer = `newcomer-${discoveryPort}-${t}`;
      const timeout = kind === "charts" ? CHART_TIMEOUT : FLOOR_TIMEOUT;
      await newcomerSite.open(newcomer, {
        kind,
        discoveryPort,
        ids: [who],
        expect: n + 1,
        timeout,
        transport,
      });
      try {
        const before = await totalsOf(running, name);
        const started = await newcomerSite.start(newcomer);
        let time = Infinity;
        try {
          time = (await newcomerSite.complete(newcomer)) - started;
        } catch (error) {
          log(`  ${kind} join failed: ${(error as Error).message}`);
        }
        result.times.push(time);
        await Promise.all(running.map(({ site }) => site.knows(name, who, timeout)))
          .catch((error) => log(`  running ${kind} did not all learn of the newcomer: ${error}`));
        const after = await totalsOf(running, name);
        const ours = await newcomerSite.totals(newcomer);
        result.answers.push(after.replies - before.replies);
        result.sentByRunning.push(sent(after) - sent(before));
        result.sentByNewcomer.push(sent(ours));
        result.received.push(after.received - before.received + ours.received);
      } finally {
        await newcomerSite.close(newcomer);
        await Promise.all(running.map(({ site }) => site.forget(name, who)));
      }
    }
    if (result.times.length < plan.trials) {
      result.note = `stopped after ${MAX_FAILURES_IN_A_ROW} failed joins in a row`;
    }
  } finally {
    await closeGroups(running, name, kind);
  }
  return result;
}

/** One join row of the time table and of the packets table, with its floor. */
async function joinRows(
  plan: Plan,
  scenario: string,
  series: Series,
  running: Placement[],
  newcomerSite: Site,
  transport: GroupOptions["transport"],
  rust: string,
): Promise<{ time: TimeRow; packets: JoinPacketsRow }> {
  const n = running.reduce((count, placement) => count + placement.ids.length, 0);
  const charts = await join(plan, running, newcomerSite, "charts", transport);
  const floor = await join(plan, running, newcomerSite, "floor", transport);
  return {
    time: {
      scenario,
      n,
      series,
      trials: charts.times,
      floor: floor.times,
      planned: plan.trials,
      note: charts.note,
      rust,
      target: JOIN_TARGET,
    },
    packets: {
      scenario,
      n,
      answers: charts.answers,
      sentByRunning: charts.sentByRunning,
      sentByNewcomer: charts.sentByNewcomer,
      received: charts.received,
    },
  };
}

async function startPeers(hosts: Array<LabHost | undefined>): Promise<BenchPeer[]> {
  const peers = hosts.map((host) => new BenchPeer(host));
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      Promise.all(peers.map((peer) => peer.ready())),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("benchmark peers did not start")), 120_000);
      }),
    ]);
  } catch (error) {
    await closePeers(peers);
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return peers;
}

/**
 * The times of joins through seeds across a router: `n` running instances in
 * one process on one host, each on a discovery port of its own and seeded
 * with the newcomer's address; a newcomer on the other subnet, seeded with
 * each of theirs. The router forwards no multicast: only the seeds' unicasts
 * cross it. Timed from the newcomer's start until it holds everyone.
 */
async function seedJoin(
  plan: Plan,
  kind: Kind,
  n: number,
  sites: { newcomer: Site; running: Site },
  hosts: { newcomer: LabHost; running: LabHost },
  transport: GroupOptions["transport"],
): Promise<{ times: number[]; note?: string }> {
  const ports = range(n).map(() => freshPort());
  const newcomerPort = freshPort();
  const name = `seeded-${newcomerPort}`;
  const times: number[] = [];
  const timeout = kind === "charts" ? CHART_TIMEOUT : FLOOR_TIMEOUT;
  await sites.running.open(name, {
    kind,
    discoveryPort: ports[0],
    discoveryPorts: ports,
    ids: range(n),
    // They need not know each other: only the newcomer is timed.
    expect: 0,
    timeout: CHART_TIMEOUT,
    rampdown: STEADY,
    transport,
    announce: false,
    seeds: [`${hosts.newcomer.address}:${newcomerPort}`],
  });
  try {
    await sites.running.start(name);
    await sites.running.complete(name);
    for (let t = 0; t < plan.trials && !failedInARow(times); t++) {
      await sleep(plan.joinGap[0] + Math.random() * plan.joinGap[1]);
      gc();
      const who = 100_000 + t;
      const newcomer = `${name}-newcomer-${t}`;
      await sites.newcomer.open(newcomer, {
        kind,
        discoveryPort: newcomerPort,
        ids: [who],
        expect: n + 1,
        timeout,
        transport,
        seeds: ports.map((port) => `${hosts.running.address}:${port}`),
      });
      try {
        const started = await sites.newcomer.start(newcomer);
        let time = Infinity;
        try {
          time = (await sites.newcomer.complete(newcomer)) - started;
        } catch (error) {
          log(`  ${kind} join through seeds failed: ${(error as Error).message}`);
        }
        times.push(time);
      } finally {
        await sites.newcomer.close(newcomer);
        await sites.running.forget(name, who);
      }
    }
  } finally {
    await sites.running.close(name);
  }
  return {
    times,
    note: times.length < plan.trials
      ? `stopped after ${MAX_FAILURES_IN_A_ROW} failed joins in a row`
      : undefined,
  };
}

/**
 * The rows of joins through seeds across a router, with their floor: raw
 * sockets that send one unicast announcement to each running instance and
 * get one answer from each.
 */
export async function seedJoinRows(
  plan: Plan,
  transport: GroupOptions["transport"],
): Promise<TimeRow[]> {
  await using a = await LabNet.create(1);
  await using b = await LabNet.create(1);
  await a.routeTo(b);
  const hosts = { newcomer: a.hosts[0], running: b.hosts[0] };
  const [newcomer, running] = await startPeers([hosts.newcomer, hosts.running]);
  const sites = { newcomer, running };
  const rows: TimeRow[] = [];
  try {
    for (const n of plan.seedJoin) {
      log(`join through seeds: a newcomer and ${n} running charts across a router`);
      const charts = await seedJoin(plan, "charts", n, sites, hosts, transport);
      const floor = await seedJoin(plan, "floor", n, sites, hosts, transport);
      rows.push({
        scenario: "Join through seeds across a router (running in one process, a port each)",
        n,
        series: "join-seeds",
        trials: charts.times,
        floor: floor.times,
        planned: plan.trials,
        note: charts.note,
        rust: "—",
        target: "—",
      });
    }
  } finally {
    await closePeers([newcomer, running]);
  }
  return rows;
}

/** Announcements a chart sends over the ramp, by the ramp's formula (the Rust crate's too). */
function rampAnnouncements(rampdown: Rampdown): number {
  const { min, max, rampdown: length } = rampdown;
  if (length <= 0 || max === min) return 1 + length / max;
  return 1 + length / (max - min) * Math.log(max / min);
}

/** A socket in the group on a discovery port that counts the multicast datagrams and bytes. */
async function openTap(discoveryPort: number) {
  const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
  await new Promise<void>((resolve) => socket.bind(discoveryPort, "0.0.0.0", resolve));
  socket.addMembership(MULTICAST_GROUP);
  const heard = { packets: 0, bytes: 0 };
  /** When the last announcement of each id arrived (ids below 2³²). */
  const lastAnnounced = new Map<number, number>();
  socket.on("message", (data: Uint8Array) => {
    heard.packets++;
    heard.bytes += data.byteLength;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (data.byteLength >= 16 && view.getBigUint64(0, true) === DEFAULT_HEADER) {
      lastAnnounced.set(view.getUint32(8, true), now());
    }
  });
  return {
    heard,
    lastAnnounced,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/**
 * How soon instances that leave drop out of a chart: instances in processes
 * of their own, in steady state, watched by a chart in this process. Half
 * close (a goodbye), one after another; the others are killed (SIGKILL: no
 * goodbye), at random moments of their interval. Each removal is timed from
 * the close call or the kill, and for a killed one also from its last
 * announcement, which a tap socket in the group hears.
 */
async function leaving(
  plan: Plan,
  transport: GroupOptions["transport"],
): Promise<CostRow[]> {
  const count = plan.leaving;
  const discoveryPort = freshPort();
  const name = `leaving-${discoveryPort}`;
  const peers = await startPeers(Array.from({ length: 2 * count }, () => undefined));
  const tap = await openTap(discoveryPort);
  const observer = await new ChartBuilder()
    .withId(LEAVING_OBSERVER)
    .withServicePort(9000)
    .withDiscoveryPort(discoveryPort)
    .localDiscovery(true)
    .withRampdown(STEADY)
    .withTransport(transport ?? "auto")
    .finish();
  const removed = new Map<bigint, { at: number; reason: string }>();
  const watching = (async () => {
    for await (const event of observer.events()) {
      if (event.type === "removed") {
        removed.set(event.entry.id, { at: now(), reason: event.reason });
      }
    }
  })();
  try {
    await Promise.all(peers.map((site, i) =>
      site.open(name, {
        kind: "charts",
        discoveryPort,
        ids: [i + 1],
        expect: 0,
        timeout: CHART_TIMEOUT,
        rampdown: STEADY,
        transport,
      })
    ));
    maintain(observer);
    await Promise.all(peers.map((site) => site.start(name)));
    await foundEveryone(observer, 2 * count + 1, { signal: AbortSignal.timeout(CHART_TIMEOUT) });
    // In steady state: every instance announces once a second.
    await sleep(1_500);
    const left = new Map<number, number>();
    for (let i = 0; i < count; i++) {
      left.set(i + 1, now());
      await peers[i].close(name);
    }
    const killed = new Map<number, number>();
    for (let i = count; i < 2 * count; i++) {
      // A random moment of the victim's interval.
      await sleep(100 + Math.random() * 900);
      killed.set(i + 1, now());
      peers[i].kill();
    }
    const deadline = now() + observer.ttl + 2_000;
    while (removed.size < 2 * count && now() < deadline) await sleep(10);
    const times = (from: Map<number, number>, reason: string) =>
      [...from].map(([id, at]) => {
        const removal = removed.get(BigInt(id));
        return removal?.reason === reason ? removal.at - at : Infinity;
      });
    const goodbye = times(left, "goodbye");
    const fromDeath = times(killed, "expired");
    const fromLast = times(
      new Map([...killed.keys()].map((id) => [id, tap.lastAnnounced.get(id) ?? Infinity])),
      "expired",
    );
    const ttl = (observer.ttl / 1000).toFixed(1);
    const summary = (values: number[], unit: "ms" | "s") => {
      const scale = unit === "s" ? 1 / 1000 : 1;
      const format = (value: number) =>
        Number.isFinite(value)
          ? unit === "s" ? (value * scale).toFixed(3) : formatMs(value)
          : "not removed";
      return `${format(median(values))} ${unit} median, ${format(worst(values))} ${unit} worst ` +
        `(${values.filter(Number.isFinite).length} of ${values.length} removed)`;
    };
    return [
      {
        measure: `An instance that closes (goodbye), in a process of its own: from the close ` +
          `call to its removal from a chart (${count} instances)`,
        value: summary(goodbye, "ms"),
        target: "—",
      },
      {
        measure: `An instance killed without a goodbye (SIGKILL), at a random moment of its ` +
          `1 s interval: from its last announcement to its removal (${count} instances)`,
        value: summary(fromLast, "s"),
        target: `≤ 3 of its longest intervals (its time-to-live, ${ttl} s)`,
      },
      {
        measure: "The same instances: from the kill to the removal",
        value: summary(fromDeath, "s"),
        target: "—",
      },
    ];
  } finally {
    await observer.close();
    await watching;
    await tap.close();
    await closePeers(peers);
  }
}

/**
 * Instances spread over processes on this host, with the plan's ramp:
 * traffic over the ramp and in steady state (sizes from a tap socket in the
 * group, which hears every multicast datagram), CPU and memory per instance
 * in steady state.
 */
async function trafficAndCost(
  plan: Plan,
  transport: GroupOptions["transport"],
): Promise<{ traffic: TrafficRow[]; cost: CostRow[] }> {
  const { processes, perProcess, rampdown, steady } = plan.traffic;
  const n = processes * perProcess;
  const discoveryPort = freshPort();
  const name = `traffic-${discoveryPort}`;
  const peers = await startPeers(Array.from({ length: processes }, () => undefined));
  const tap = await openTap(discoveryPort);
  const placements = deal(peers, n);
  try {
    const usage0 = await Promise.all(peers.map((peer) => peer.usage(true)));
    await Promise.all(placements.map(({ site, ids }) =>
      site.open(name, {
        kind: "charts",
        discoveryPort,
        ids,
        expect: 0,
        timeout: CHART_TIMEOUT,
        rampdown,
        transport,
      })
    ));
    const mark = async () => ({
      totals: await totalsOf(placements, name),
      heard: { ...tap.heard },
      at: now(),
    });
    const window = async (
      from: Awaited<ReturnType<typeof mark>>,
      phase: string,
      reference: string,
    ): Promise<TrafficRow> => {
      const to = await mark();
      const seconds = (to.at - from.at) / 1000;
      const packets = to.heard.packets - from.heard.packets;
      const bytes = to.heard.bytes - from.heard.bytes;
      const announcementSize = packets ? bytes / packets : 0;
      const unicast = to.totals.replies + to.totals.probes - from.totals.replies -
        from.totals.probes;
      const received = to.totals.received - from.totals.received;
      const perInstance = (value: number) => value / n / seconds;
      return {
        phase,
        n,
        packetsSent: perInstance(sent(to.totals) - sent(from.totals)),
        bytesSent: perInstance(bytes + unicast * announcementSize),
        packetsReceived: perInstance(received),
        bytesReceived: perInstance(received * announcementSize),
        // Every multicast datagram reaches every instance's discovery socket.
        delivered: received / (packets * n + unicast),
        reference,
      };
    };
    let from = await mark();
    await Promise.all(placements.map(({ site }) => site.start(name)));
    await sleep(rampdown.rampdown);
    const ramp = await window(
      from,
      `first ${rampdown.rampdown / 1000} s (ramp)`,
      `the Rust crate (same ramp): ${
        formatNumber(rampAnnouncements(rampdown) / (rampdown.rampdown / 1000))
      } announcements/s`,
    );
    // Past the ramp and its last interval, every instance announces once a second.
    await sleep(rampdown.max * 1.2);
    const usage1 = await Promise.all(peers.map((peer) => peer.usage(true)));
    from = await mark();
    await sleep(steady);
    const steadyRow = await window(
      from,
      `steady state (${steady / 1000} s)`,
      "target ≤ 1 announcement/s (the Rust crate: 1/s)",
    );
    const usage2 = await Promise.all(peers.map((peer) => peer.usage(false)));
    const usage3 = await Promise.all(peers.map((peer) => peer.usage(true)));
    const cores = usage2.reduce(
      (sum, u, i) => sum + (u.cpu - usage1[i].cpu) / 1000 / (u.at - usage1[i].at),
      0,
    );
    const memory = (key: "heap" | "rss") =>
      usage3.reduce((sum, u, i) => sum + u[key] - usage0[i][key], 0) / n;
    const where = `N = ${n} (${processes} processes × ${perProcess}), steady state`;
    return {
      traffic: [ramp, steadyRow],
      cost: [
        {
          measure: `CPU per instance, ${where}`,
          value: `${formatNumber(100 * cores / n)} % of one core`,
          target: "—",
        },
        {
          measure: `CPU of all ${n} instances`,
          value: `${formatNumber(100 * cores)} % of one core`,
          target: "—",
        },
        { measure: `Heap per instance, ${where}`, value: formatBytes(memory("heap")), target: "—" },
        { measure: `RSS per instance, ${where}`, value: formatBytes(memory("rss")), target: "—" },
      ],
    };
  } finally {
    await Promise.all(placements.map(({ site }) => site.close(name)));
    await tap.close();
    await closePeers(peers);
  }
}

/**
 * What one instance costs to keep a chart of many peers in steady state: a
 * chart (or, for the floor, a raw socket) alone in a process, fed by this
 * process with announcements of distinct peers, each once a second, with a
 * time-to-live and sequence numbers as charts send them. The CPU is in cores
 * (1 = one core busy); memory is what the process grew by (after a full GC)
 * for the chart alone, and for each of the second half of the peers.
 */
async function idleInstance(
  plan: Plan,
  kind: Kind,
  transport: GroupOptions["transport"],
): Promise<{ cores: number; heap: number; rss: number; heapPerPeer: number }> {
  const { peers: count, warmup, window } = plan.idle;
  const discoveryPort = freshPort();
  const name = `idle-${discoveryPort}`;
  const [peer] = await startPeers([undefined]);
  const feeder = dgram.createSocket({ type: "udp4" });
  await new Promise<void>((resolve) => feeder.bind(0, "0.0.0.0", resolve));
  feeder.setMulticastLoopback(true);
  let timer: ReturnType<typeof setInterval> | undefined;
  try {
    const empty = await peer.usage(true);
    await peer.open(name, {
      kind,
      discoveryPort,
      ids: [1],
      expect: 0,
      timeout: CHART_TIMEOUT,
      rampdown: STEADY,
      transport,
      announce: false,
    });
    await peer.start(name);
    await sleep(500);
    const alone = await peer.usage(true);
    // Ten rounds a second, each with a tenth of the active peers: half of
    // them first, so that the memory of the second half is free of one-off
    // costs (compiled code, first allocations) that the first half pays.
    let active = count / 2;
    let round = 0;
    timer = setInterval(() => {
      const seq = Math.floor(round / 10) + 1;
      for (let i = round % 10; i < active; i += 10) {
        const id = 2 + i;
        const datagram = encodeAnnouncement({
          header: DEFAULT_HEADER,
          id: BigInt(id),
          ports: [9000 + id],
          reply: false,
          ttl: 3 * STEADY.max,
          incarnation: BigInt(id),
          seq,
        });
        feeder.send(datagram, discoveryPort, MULTICAST_GROUP);
      }
      round++;
    }, 100);
    await sleep(warmup);
    await peer.knows(name, active + 1, 5_000);
    const half = await peer.usage(true);
    active = count;
    await sleep(warmup);
    await peer.knows(name, count + 1, 5_000);
    const before = await peer.usage(true);
    await sleep(window);
    const after = await peer.usage(false);
    return {
      cores: (after.cpu - before.cpu) / 1000 / (after.at - before.at),
      heap: alone.heap - empty.heap,
      rss: alone.rss - empty.rss,
      heapPerPeer: (before.objects - half.objects) / (count - count / 2),
    };
  } finally {
    clearInterval(timer);
    await peer.close(name).catch(() => {});
    await closePeers([peer]);
    await new Promise<void>((resolve) => feeder.close(() => resolve()));
  }
}

/**
 * The heap one chart entry takes: a sniffing chart (expiry off) fed distinct
 * crafted announcements from a raw socket, in batches it can take without loss.
 */
async function entryMemory(plan: Plan, transport: GroupOptions["transport"]): Promise<CostRow> {
  const discoveryPort = freshPort();
  const count = plan.entries;
  const datagrams = Array.from({ length: count }, (_, i) =>
    encodeAnnouncement({
      header: DEFAULT_HEADER,
      id: BigInt(i + 2),
      ports: [9000 + i % 50_000],
      reply: false,
    }));
  const raw = dgram.createSocket({ type: "udp4" });
  await new Promise<void>((resolve) => raw.bind(0, "0.0.0.0", resolve));
  raw.setMulticastLoopback(true);
  await using chart = await new ChartBuilder()
    .withId(1)
    .withServicePort(9000)
    .withDiscoveryPort(discoveryPort)
    .localDiscovery(true)
    .withExpiry({ enabled: false })
    .withLimits({ maxEntries: count + 1 })
    .withTransport(transport ?? "auto")
    .finish();
  sniff(chart);
  try {
    gc();
    const before = objectHeap();
    const batch = 100;
    for (let start = 0; start < count; start += batch) {
      const end = Math.min(count, start + batch);
      for (let attempt = 0; chart.size - 1 < end; attempt++) {
        if (attempt === 50) throw new Error(`chart took ${chart.size - 1} of ${end} entries`);
        for (let i = start; i < end; i++) {
          if (chart.get(i + 2) === undefined) {
            raw.send(datagrams[i], discoveryPort, MULTICAST_GROUP);
          }
        }
        const deadline = now() + 200;
        while (chart.size - 1 < end && now() < deadline) await sleep(1);
      }
    }
    gc();
    const after = objectHeap();
    return {
      measure: `Heap per chart entry (${formatNumber(count)} entries, one chart)`,
      value: formatBytes((after - before) / count),
      target: "< 1 KB",
    };
  } finally {
    await new Promise<void>((resolve) => raw.close(() => resolve()));
    datagrams.length = 0;
  }
}

/** Runs tests/codec_bench.ts with `deno bench --json` and reads ns per datagram. */
async function codec(): Promise<CodecRow[]> {
  const file = new URL("./codec_bench.ts", import.meta.url).pathname;
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["bench", "--json", file],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(`deno bench failed: ${new TextDecoder().decode(stderr)}`);
  const result = JSON.parse(new TextDecoder().decode(stdout)) as {
    benches: Array<{ name: string; group?: string; results: Array<{ ok?: { avg: number } }> }>;
  };
  const rows: CodecRow[] = result.benches.map((bench) => {
    const batch = Number(/\(per (\d+)\)$/.exec(bench.name)?.[1] ?? 1);
    const avg = bench.results[0]?.ok?.avg;
    const target = bench.group === "decode"
      ? "≥ 1,000,000/s"
      : bench.group === "verify"
      ? "≥ 100,000/s"
      : "—";
    return {
      operation: bench.name.replace(/ \(per \d+\)$/, ""),
      ns: avg === undefined ? undefined : avg / batch,
      missing: avg === undefined ? "failed" : undefined,
      target,
    };
  });
  if (!result.benches.some((bench) => bench.group === "verify")) {
    rows.push({
      operation: "verify: authenticated announcement",
      missing: "not yet: no authentication",
      target: "≥ 100,000/s",
    });
  }
  return rows;
}

/**
 * Formats a document (`md` or `svg`) as `deno fmt` does with this
 * repository's settings, so that the written results pass `deno fmt
 * --check`; unchanged if formatting fails.
 */
async function format(ext: "md" | "svg", text: string): Promise<string> {
  const config = new URL("../deno.json", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext", ext, "--config", config, "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { code, stdout } = await child.output();
  return code === 0 ? new TextDecoder().decode(stdout) : text;
}

function notes(plan: Plan, transport: string, hasGc: boolean): string[] {
  const { processes, perProcess } = plan.traffic;
  return [
    `Every figure comes from the lab (tests/enter_lab.sh): loopback in one network namespace, ` +
    `or lab hosts (namespaces on a bridge, tests/_lab.ts). Charts use the "${transport}" ` +
    `transport and the defaults otherwise (expiry on); ${plan.trials} trials per scenario, ` +
    `fewer when ${MAX_FAILURES_IN_A_ROW} in a row time out (${CHART_TIMEOUT / 1000} s).`,
    "Convergence: every instance is built first, then all start discovery; the time runs from " +
    "the last start until the last instance has everyone (foundEveryone), with times " +
    "(performance.timeOrigin + performance.now()) taken by the processes themselves. Separate " +
    "processes and lab hosts run tests/_bench_peer.ts, started once and reused: each trial " +
    "builds fresh charts on a fresh discovery port, so process start-up is not counted. A " +
    "chart keeps what it hears from the moment it is built, so one that starts after others " +
    "charts them without their answers. The row of processes that each build their chart as " +
    "it starts times from the last start of a build, as a process that builds its chart and " +
    "starts discovery at once: such a chart has heard nothing, and those that started before " +
    "it answer it. It shares the floor of the row above.",
    "Join: the running instances announce at the steady-state interval from the start " +
    "(withRampdown({ min: 1000, max: 1000, rampdown: 0 })), have found each other and then " +
    "run idle for 1.2 s; each trial starts one newcomer (default ramp) after a random pause, " +
    "times it until it has every running instance, then counts packets until every running " +
    "instance has it (periodic announcements falling in that window are counted too). Across " +
    "lab hosts the running instances are dealt over the hosts, the newcomer has a host of its own.",
    "Floor: the same number of instances as raw node:dgram socket pairs (one on the shared " +
    "discovery port, one of its own to send from, default receive buffers), each sending one " +
    "multicast announcement and answering the first announcement of each other instance with " +
    "one unicast datagram, reading only the sender's id. It runs where the charts ran: for " +
    "joins interleaved with them, for convergence after all chart trials of the scenario, and " +
    "in this process after those of every N (a floor trial slows what runs next in its " +
    "process: chart trials of 200 after floor trials took 1.4 to 2 times as long).",
    `Traffic: ${processes * perProcess} charts in ${processes} processes on one host, default ` +
    "ramp; packet counts from chart.counters (announcements, answers, probes); bytes are UDP " +
    "payload, from the sizes of the multicast datagrams a tap socket in the group heard " +
    "(answers and probes taken to be that size). Delivered: datagrams received over those the " +
    "sends should have delivered (a window edge can put it a little over 100 %).",
    "Cost of one chart of many peers: the chart alone in a process, fed from the harness with " +
    "announcements of distinct peers (each once a second, with time-to-live and sequence " +
    "numbers), so that only the chart's work is counted: process.cpuUsage() over the window, " +
    "Deno.memoryUsage() " + (hasGc ? "after a full GC" : "without forcing GC") +
    ". The floor is a raw socket fed the same. Heap per peer and per chart entry count the " +
    "V8 spaces that hold objects (new, old and large-object), not those of compiled code and " +
    "bytecode, which grow in lumps of 50 to 150 KiB as V8 compiles. Heap per chart entry: a " +
    "sniffing chart with expiry off fed distinct crafted announcements.",
    "Codec: deno bench tests/codec_bench.ts, batches of 1000 distinct datagrams, one core.",
    "Charts in one process share one discovery socket and hand each other what they send, so " +
    "in the one-process join the newcomer is handed the running charts' last announcements " +
    "when it starts: no answers, and its received count includes those hand-overs.",
    "Rust crate: the figures quoted in issue 6, measured on this kind of machine, not in this run.",
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean", default: false },
      out: { type: "string" },
      transport: { type: "string", default: "auto" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const transport = values.transport as GroupOptions["transport"];
  if (!["auto", "deno", "node"].includes(transport!)) {
    console.error(`Cannot use transport ${values.transport}: not auto, deno or node\n\n${USAGE}`);
    Deno.exit(2);
  }
  const plan = values.quick ? QUICK : FULL;
  const out = values.out ??
    (values.quick ? undefined : new URL("../docs/", import.meta.url).pathname);
  const report: Report = {
    machine: machine(),
    mode: `${plan.mode} (${plan.trials} trials)`,
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    times: [],
    joinPackets: [],
    traffic: [],
    cost: [],
    codec: [],
    notes: notes(plan, transport!, (globalThis as { gc?: unknown }).gc !== undefined),
  };
  const local = new LocalSite();
  // A scenario that fails (peers too overloaded to answer, say) is reported, and the run goes on.
  const scenario = async (what: string, run: () => Promise<void>) => {
    try {
      await run();
    } catch (error) {
      log(`${what} failed: ${(error as Error).stack ?? error}`);
      report.notes.unshift(`**${what} failed**: ${(error as Error).message}`);
    }
  };

  await scenario("codec", async () => {
    log("codec");
    report.codec = await codec();
  });

  // Every chart trial in this process before any floor trial, which would slow them.
  const floorsToRun: Array<{ row: TimeRow; placements: Placement[] }> = [];
  for (const n of plan.convergence) {
    await scenario(`convergence of ${n} in one process`, async () => {
      log(`convergence: ${n} charts in this process`);
      const placements = [{ site: local, ids: range(n) }];
      const row: TimeRow = {
        scenario: "Convergence, one process",
        n,
        series: "convergence",
        ...await chartConvergence(plan, placements, transport),
        floor: [],
        rust: RUST_CONVERGENCE[n] ?? "—",
        target: (n === 50 ? "≤ 10 ms; " : n === 200 ? "≤ 50 ms; " : "") + FLOOR_TARGET,
      };
      report.times.push(row);
      floorsToRun.push({ row, placements });
    });
  }

  await scenario("convergence in a fresh process", async () => {
    const n = Math.max(...plan.convergence);
    log(`convergence: ${n} charts in a fresh process, one per trial`);
    const trials: number[] = [];
    for (let t = 0; t < plan.trials && !failedInARow(trials); t++) {
      const peers = await startPeers([undefined]);
      try {
        trials.push(
          await convergenceTrial([{ site: peers[0], ids: range(n) }], "charts", transport),
        );
      } finally {
        await closePeers(peers);
      }
    }
    report.cost.push({
      measure: `Convergence of ${n} in one process that has run no chart before (a fresh ` +
        "process for each trial: none of the module's code is compiled yet)",
      value: `${formatMs(median(trials))} ms median, ${formatMs(worst(trials))} ms worst`,
      target: n === 200 ? "(≤ 50 ms for the scenario)" : "—",
    });
  });

  await scenario("module load in a fresh process", async () => {
    log("load: a fresh process imports the module");
    await buildForNode();
    const runtimes: Array<{ name: string; argv: string[]; module: string }> = [
      {
        name: "Deno, --unstable-net",
        argv: [Deno.execPath(), "run", "-A", "--unstable-net", LOAD_PROBE],
        module: new URL("../mod.ts", import.meta.url).href,
      },
      {
        name: "Deno, no --unstable-net",
        argv: [Deno.execPath(), "run", "-A", LOAD_PROBE],
        module: new URL("../mod.ts", import.meta.url).href,
      },
      {
        name: "Node.js, the npm build",
        argv: ["node", LOAD_PROBE],
        module: `file://${BUILT}/mod.js`,
      },
    ];
    for (const { name, argv, module } of runtimes) {
      const probe = async (args: string[]) => {
        const [command, ...rest] = [...argv, ...args];
        const { stdout } = await new Deno.Command(command, { args: rest, stdout: "piped" })
          .output();
        return new TextDecoder().decode(stdout).trim().split(" ").map(Number);
      };
      // The first run fills Deno's caches (transpiled code, code cache), as a deployment's does.
      await probe([module, `${LOAD_PORT}`]);
      const bare: number[] = [];
      const imported: number[] = [];
      const built: number[] = [];
      for (let t = 0; t < plan.trials; t++) {
        bare.push((await probe([]))[0]);
        const [at, builtAt] = await probe([module, `${LOAD_PORT}`]);
        imported.push(at);
        built.push(builtAt);
      }
      report.cost.push({
        measure: `A fresh process (${name}): from the runtime's start until the module is ` +
          "imported, and until its first chart is built (what the fresh-process joins leave out)",
        value: `${formatMs(median(imported))} and ${formatMs(median(built))} ms median ` +
          `(${formatMs(worst(imported))} and ${formatMs(worst(built))} worst; importing ` +
          `nothing: ${formatMs(median(bare))} ms)`,
        target: "—",
      });
    }
  });

  for (const { row, placements } of floorsToRun) {
    await scenario(`floor of convergence of ${row.n} in one process`, async () => {
      log(`convergence: the floor of ${row.n} in this process`);
      row.floor = await floorConvergence(plan, placements, transport);
    });
  }

  for (const n of plan.join) {
    await scenario(`join of ${n} in one process`, async () => {
      log(`join: a newcomer and ${n} running charts in this process`);
      const { time, packets } = await joinRows(
        plan,
        "Join, one host (one process)",
        "join-host",
        [{ site: local, ids: range(n) }],
        local,
        transport,
        RUST_JOIN_HOST[n] ?? "—",
      );
      report.times.push(time);
      report.joinPackets.push(packets);
    });
  }

  await scenario("memory per entry", async () => {
    log(`memory per entry: ${plan.entries} entries`);
    report.cost.push(await entryMemory(plan, transport));
  });
  await scenario("one chart of many peers", async () => {
    const { peers } = plan.idle;
    log(`cost: one chart of ${peers} peers`);
    const chart = await idleInstance(plan, "charts", transport);
    const floor = await idleInstance(plan, "floor", transport);
    const where = `one chart of ${peers} peers that each announce once a second ` +
      `(a process of its own, fed from another)`;
    report.cost.push(
      {
        measure: `CPU of ${where}`,
        value: `${formatNumber(100 * chart.cores)} % of one core`,
        target: "< 1 % of one core",
      },
      {
        measure: "CPU of a raw socket receiving the same datagrams (floor)",
        value: `${formatNumber(100 * floor.cores)} % of one core`,
        target: "—",
      },
      {
        measure: `Heap per peer of that chart (${peers} entries)`,
        value: formatBytes(chart.heapPerPeer),
        target: "< 1 KB",
      },
      {
        measure: "Heap of that chart before it charts anyone",
        value: formatBytes(chart.heap),
        target: "—",
      },
      {
        measure: "RSS of that chart before it charts anyone",
        value: formatBytes(chart.rss),
        target: "—",
      },
    );
  });
  await scenario("traffic", async () => {
    const { processes, perProcess } = plan.traffic;
    log(`traffic and cost: ${processes} processes × ${perProcess} charts`);
    const { traffic, cost } = await trafficAndCost(plan, transport);
    report.traffic = traffic;
    report.cost.push(...cost);
  });

  await scenario("leaving", async () => {
    log(`leaving: ${plan.leaving} instances close, ${plan.leaving} are killed`);
    report.cost.push(...await leaving(plan, transport));
  });

  await scenario(`convergence of ${plan.processes} processes`, async () => {
    log(`convergence: ${plan.processes} processes, starting them`);
    const peers = await startPeers(Array.from({ length: plan.processes }, () => undefined));
    try {
      log(`convergence: ${plan.processes} processes`);
      const placements = peers.map((site, i) => ({ site, ids: [i + 1] }));
      const target = (plan.processes === 50 ? "≤ 25 ms; " : "") + FLOOR_TARGET;
      const built = {
        scenario: "Convergence, separate processes, one host",
        n: plan.processes,
        series: "processes",
        ...await convergence(plan, placements, transport),
        rust: RUST_PROCESSES[plan.processes] ?? "—",
        target,
      } satisfies TimeRow;
      report.times.push(built);
      log(`convergence: ${plan.processes} processes, each building its chart as it starts`);
      report.times.push({
        scenario: "Convergence, separate processes, one host, each chart built as it starts",
        n: plan.processes,
        series: "processes-built-at-start",
        ...await chartConvergence(plan, placements, transport, true),
        // The same sockets exchanging the same datagrams: the floor of the row above.
        floor: built.floor,
        rust: RUST_PROCESSES[plan.processes] ?? "—",
        target,
      });
    } finally {
      await closePeers(peers);
    }
  });

  await scenario("lab", async () => {
    const hostCount = Math.max(plan.labHosts, plan.joinHosts + 1);
    log(`lab: ${hostCount} hosts`);
    await using lab = await LabNet.create(hostCount);
    const peers = await startPeers(lab.hosts);
    try {
      const n = plan.labHosts * plan.labPerHost;
      await scenario(`convergence on ${plan.labHosts} lab hosts`, async () => {
        log(`convergence: ${plan.labHosts} lab hosts × ${plan.labPerHost} charts`);
        report.times.push({
          scenario: `Convergence, ${plan.labHosts} lab hosts × ${plan.labPerHost}`,
          n,
          series: "lab",
          ...await convergence(plan, deal(peers.slice(0, plan.labHosts), n), transport),
          rust: "—",
          target: FLOOR_TARGET,
        });
      });
      for (const n of plan.join) {
        const hosts = Math.min(plan.joinHosts, n);
        await scenario(`join of ${n} on lab hosts`, async () => {
          log(`join: a newcomer and ${n} running charts on ${hosts} lab hosts`);
          const { time, packets } = await joinRows(
            plan,
            `Join across lab hosts (running on ${hosts}, newcomer on its own)`,
            "join-lab",
            deal(peers.slice(0, hosts), n),
            peers[plan.joinHosts],
            transport,
            RUST_JOIN_LAB[n] ?? "—",
          );
          report.times.push(time);
          report.joinPackets.push(packets);
        });
      }
    } finally {
      await closePeers(peers);
    }
  });

  await scenario("join through seeds across a router", async () => {
    report.times.push(...await seedJoinRows(plan, transport));
  });

  await scenario("fresh-process joins", async () => {
    report.lead = [
      renderFresh(await freshSection(plan.mode === "full" ? FULL_FRESH : QUICK_FRESH)),
    ];
  });

  const markdown = await format("md", renderMarkdown(report));
  console.log(markdown);
  if (out) {
    const dir = out.endsWith("/") ? out : `${out}/`;
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${dir}bench_results.md`, markdown);
    await Deno.writeTextFile(`${dir}bench_plot.svg`, await format("svg", renderSvg(report)));
    log(`wrote ${dir}bench_results.md and ${dir}bench_plot.svg`);
  }
  await closeKeeper();
  log("done");
}

if (import.meta.main) await main();
