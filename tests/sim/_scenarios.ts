/**
 * The scenarios the simulator runs: each builds a world, drives it through
 * starts, faults and departures, and returns what it measured. The tests
 * (scenarios_test.ts) assert the protocol's promises on small runs of
 * them; the report (report.ts) prints large ones.
 *
 * @module
 */

import { DEFAULT_MAX_ENTRIES } from "../../src/core/peers.ts";
import type { Limits } from "../../src/core/protocol.ts";
import { DEFAULT_HEADER, encodeAnnouncement } from "../../src/core/wire.ts";
import type { SimInstance } from "./_instance.ts";
import type { Link, LinkOptions, LossModel } from "./_network.ts";
import { World } from "./_sim.ts";

/** The longest interval of the default ramp, in ms: the unit of the convergence promise. */
export const INTERVAL = 1_000;
/** How long the default ramp takes, in ms. */
export const RAMP = 10_000;
/**
 * How late after its time-to-live a chart removes a quiet instance: its sweep
 * runs 1 ms after the first expiry, rounded up to the millisecond (expiry.ts).
 */
export const SWEEP_SLACK = 2;

/** Instances on one link, one per host, not started. */
export interface Crowd {
  world: World;
  link: Link;
  instances: SimInstance[];
}

/** How a crowd is made. */
export interface CrowdOptions {
  /** The seed. */
  seed: number;
  /** Its link. */
  link?: LinkOptions;
  /** Every chart's bounds. */
  limits?: Limits;
  /** Whether to keep a trace. */
  trace?: boolean;
  /** How late timers fire, in ms. */
  timerLateness?: number;
}

/**
 * Builds n instances, ids 1 to n, each on a host of its own on one link.
 *
 * @param n How many.
 * @param options How.
 * @returns The world, its link and the instances.
 */
export function crowd(n: number, options: CrowdOptions): Crowd {
  const { seed, trace, timerLateness } = options;
  const world = new World({ seed, trace, timerLateness });
  const link = world.addLink(options.link);
  const instances: SimInstance[] = [];
  for (let i = 1; i <= n; i++) instances.push(join(world, link, i, options.limits));
  return { world, link, instances };
}

/** Adds an instance on a host of its own. */
function join(world: World, link: Link, id: number, limits: Limits | undefined): SimInstance {
  return world.addInstance(world.addHost(`h${id}`, [link]), { id: BigInt(id), limits });
}

/** The pairs every chart holds when it holds all it can: all others, or as many as its bound. */
function fullPairs(world: World, limits: Limits | undefined): number {
  const running = world.running;
  return running * Math.min(running - 1, limits?.maxEntries ?? DEFAULT_MAX_ENTRIES);
}

/**
 * Records the first time, from some moment on, that every running chart
 * holds every running instance (or is full of them).
 */
class Convergence {
  since = Infinity;
  at: number | undefined;

  constructor(world: World, limits: Limits | undefined) {
    world.listen(() => {
      if (this.at === undefined && world.now >= this.since) {
        if (world.chartedPairs === fullPairs(world, limits)) this.at = world.now;
      }
    });
  }

  /** Watches again from now. */
  from(now: number): void {
    this.since = now;
    this.at = undefined;
  }
}

/** What was sent and received per instance and second over a window. */
export interface Rates {
  /** Datagrams sent. */
  packets: number;
  /** Bytes sent. */
  bytes: number;
  /** Datagrams received (handed to a running chart). */
  received: number;
}

interface Snapshot {
  at: number;
  sentPackets: number;
  sentBytes: number;
  delivered: number;
}

function snapshot(world: World): Snapshot {
  const { sentPackets, sentBytes, delivered } = world.stats;
  return { at: world.now, sentPackets, sentBytes, delivered };
}

function ratesBetween(a: Snapshot, b: Snapshot, instances: number): Rates {
  const per = instances * (b.at - a.at) / 1_000;
  return {
    packets: (b.sentPackets - a.sentPackets) / per,
    bytes: (b.sentBytes - a.sentBytes) / per,
    received: (b.delivered - a.delivered) / per,
  };
}

/** What a start of n instances at once, their steady state and a newcomer measured. */
export interface StartMeasurement {
  n: number;
  /** The most instances a chart holds. */
  maxEntries: number;
  /** From the start, when every chart first held every instance (or was full), in ms. */
  convergedAt: number | undefined;
  /** Traffic over the ramp, from the start. */
  ramp: Rates;
  /** Traffic over the steady window that follows. */
  steady: Rates;
  /** Answers each instance received over the ramp, on average. */
  rampAnswers: number;
  /** The most datagrams one instance sent in the steady window, per second. */
  steadyMostPackets: number;
  /** From the newcomer's start, when its chart first held everyone (or was full), in ms. */
  joinChartedAt: number | undefined;
  /** From the newcomer's start, when every chart had added it, in ms. */
  joinKnownAt: number | undefined;
  /** The answers the newcomer received over the join window. */
  answersPerJoin: number;
  /** Chart events over the steady window, per chart and second: churn of full charts. */
  steadyChartEvents: number;
  /** Over the whole run: datagrams handed to charts, and events run. */
  delivered: number;
  events: number;
  /** The world at the end, to inspect. */
  world: World;
}

/** The windows of a start measurement, in ms. */
export interface StartOptions extends CrowdOptions {
  /**
   * The ramp window, from the start.
   *
   * @default {RAMP}
   */
  ramp?: number;
  /**
   * The steady window, after the ramp.
   *
   * @default {5_000}
   */
  steady?: number;
  /**
   * How long the newcomer is watched.
   *
   * @default {2 * INTERVAL}
   */
  joinWindow?: number;
}

/**
 * Starts n instances at one moment, runs through the ramp and a steady
 * window, then starts a newcomer.
 *
 * @param n How many start together.
 * @param options How.
 * @returns What it measured.
 */
export function startTogether(n: number, options: StartOptions): StartMeasurement {
  const { ramp = RAMP, steady = 5_000, joinWindow = 2 * INTERVAL, limits } = options;
  const { world, link, instances } = crowd(n, options);
  const convergence = new Convergence(world, limits);
  convergence.from(0);
  let chartEvents = 0;
  world.listen(() => chartEvents++);
  for (const instance of instances) world.start(instance);
  const start = snapshot(world);
  world.run(ramp);
  const rampEnd = snapshot(world);
  const rampAnswers = world.stats.unicastsDelivered / n;
  const eventsBefore = chartEvents;
  const sentBefore = instances.map((i) => i.sentPackets);
  world.run(ramp + steady);
  const steadyEnd = snapshot(world);
  const steadyChartEvents = (chartEvents - eventsBefore) / n / (steady / 1_000);
  const steadyMostPackets = Math.max(...instances.map((i, k) => i.sentPackets - sentBefore[k])) /
    (steady / 1_000);

  const joinAt = world.now;
  const newcomer = join(world, link, n + 1, limits);
  const cap = Math.min(n, limits?.maxEntries ?? DEFAULT_MAX_ENTRIES);
  let joinChartedAt: number | undefined;
  let joinKnownAt: number | undefined;
  let knownBy = 0;
  world.listen((observer, event) => {
    if (event.type !== "added") return;
    if (observer === newcomer && joinChartedAt === undefined && newcomer.core!.size - 1 >= cap) {
      joinChartedAt = world.now - joinAt;
    }
    if (event.entry.id === newcomer.id && observer !== newcomer && ++knownBy === n) {
      joinKnownAt = world.now - joinAt;
    }
  });
  world.start(newcomer);
  world.run(joinAt + joinWindow);
  return {
    n,
    maxEntries: limits?.maxEntries ?? DEFAULT_MAX_ENTRIES,
    convergedAt: convergence.at,
    ramp: ratesBetween(start, rampEnd, n),
    steady: ratesBetween(rampEnd, steadyEnd, n),
    rampAnswers,
    steadyMostPackets,
    joinChartedAt,
    joinKnownAt,
    answersPerJoin: newcomer.unicastsReceived,
    steadyChartEvents,
    delivered: world.stats.delivered,
    events: world.stats.events,
    world,
  };
}

/** How far the first round of a start of n instances at once got. */
export interface FirstRoundMeasurement {
  n: number;
  /** The virtual time reached, in ms. */
  reached: number;
  /** Datagrams handed to charts, and sent. */
  delivered: number;
  sent: number;
  /** Answers handed to charts. */
  answers: number;
  /** Of the deliveries the first announcements of all make, the share made. */
  firstRoundShare: number;
  /** When every chart was first full (or held everyone), in ms. */
  fullAt: number | undefined;
  /** Chart events so far (added, and removed to make room). */
  chartEvents: number;
  /** The world, to inspect. */
  world: World;
}

/**
 * Starts n instances at one moment and runs, an event at a time, while the
 * caller wants: for crowds too large to run through.
 *
 * @param n How many.
 * @param options How, and whether to go on (asked before each event).
 * @returns How far it got.
 */
export function firstRound(
  n: number,
  options: CrowdOptions & { keepGoing: () => boolean },
): FirstRoundMeasurement {
  const { world, instances } = crowd(n, options);
  const convergence = new Convergence(world, options.limits);
  convergence.from(0);
  let chartEvents = 0;
  world.listen(() => chartEvents++);
  for (const instance of instances) world.start(instance);
  while (options.keepGoing() && world.step());
  const { delivered, sentPackets, unicastsDelivered } = world.stats;
  return {
    n,
    reached: world.now,
    delivered,
    sent: sentPackets,
    answers: unicastsDelivered,
    firstRoundShare: Math.min(1, (delivered - unicastsDelivered) / (n * (n - 1))),
    fullAt: convergence.at,
    chartEvents,
    world,
  };
}

/** What a run under loss measured. */
export interface LossMeasurement {
  n: number;
  loss: LossModel;
  /** Observer–peer pairs times time-to-lives watched. */
  pairTtls: number;
  /** "expired" removals of instances that ran and could be heard all along. */
  falseRemovals: number;
  /** Their rate per pair and time-to-live. */
  rate: number;
  /** The first of them, to replay. */
  first: { at: number; observer: string; peer: string } | undefined;
  /** Traffic over the watched window. */
  traffic: Rates;
  /** Probes and answers sent over the window, per instance and second. */
  probes: number;
  replies: number;
  /** Over the whole run: datagrams handed to charts. */
  delivered: number;
}

/** How long a run under loss lasts. */
export interface LossOptions extends CrowdOptions {
  /** The loss on the link. */
  loss: LossModel;
  /**
   * From the start to the watched window, in ms: past the ramp.
   *
   * @default {RAMP + 2 * INTERVAL}
   */
  warmup?: number;
  /** The watched window, in time-to-lives. */
  ttls: number;
}

/**
 * Runs n instances under loss and counts false removals past the warm-up.
 *
 * @param n How many.
 * @param options How.
 * @returns What it measured.
 */
export function underLoss(n: number, options: LossOptions): LossMeasurement {
  const { warmup = RAMP + 2 * INTERVAL, ttls, loss } = options;
  const { world, instances } = crowd(n, { ...options, link: { ...options.link, loss } });
  for (const instance of instances) world.start(instance);
  world.run(warmup);
  const falseBefore = world.falseRemovals.length;
  const counted = () =>
    instances.reduce((sum, i) => {
      const c = i.core!.counters;
      return { probes: sum.probes + c.probes, replies: sum.replies + c.replies };
    }, { probes: 0, replies: 0 });
  const before = counted();
  const start = snapshot(world);
  const ttl = instances[0].core!.ttl;
  world.run(warmup + ttls * ttl);
  const after = counted();
  const falseRemovals = world.falseRemovals.slice(falseBefore);
  const pairTtls = n * (n - 1) * ttls;
  const perSecond = n * ttls * ttl / 1_000;
  return {
    n,
    loss,
    pairTtls,
    falseRemovals: falseRemovals.length,
    rate: falseRemovals.length / pairTtls,
    first: falseRemovals[0],
    traffic: ratesBetween(start, snapshot(world), n),
    probes: (after.probes - before.probes) / perSecond,
    replies: (after.replies - before.replies) / perSecond,
    delivered: world.stats.delivered,
  };
}

/** How the charts let an instance go. */
export interface DepartureMeasurement {
  /** Its time-to-live, in ms. */
  ttl: number;
  /** The longest one-way delay, in ms. */
  maxDelay: number;
  /** Charts that had it when it went. */
  charts: number;
  /** For each chart that removed it: how long after it went, and why. */
  removals: { after: number; reason: string }[];
}

/**
 * Runs n instances to steady state, then ends one: a crash or a close.
 *
 * @param n How many.
 * @param how `"crash"` (no goodbye) or `"close"` (goodbye).
 * @param options How.
 * @returns How every other chart removed it.
 */
export function departure(
  n: number,
  how: "crash" | "close",
  options: CrowdOptions & { at?: number },
): DepartureMeasurement {
  const { at = RAMP + 2 * INTERVAL } = options;
  const { world, instances } = crowd(n, options);
  for (const instance of instances) world.start(instance);
  world.run(at);
  const leaver = instances[0];
  const charts = instances.filter((i) => i.core!.get(leaver.id)).length;
  const ttl = leaver.core!.ttl;
  const removals: DepartureMeasurement["removals"] = [];
  world.listen((_observer, event) => {
    if (event.type === "removed" && event.entry.id === leaver.id) {
      removals.push({ after: world.now - at, reason: event.reason });
    }
  });
  if (how === "crash") world.crash(leaver);
  else world.close(leaver);
  world.run(at + 2 * ttl);
  return { ttl, maxDelay: world.maxDelay, charts, removals };
}

/** What a flood of forged newcomers did to the charts. */
export interface FloodMeasurement {
  maxEntries: number;
  /** The most instances any chart held at any moment. */
  mostCharted: number;
  /** Genuine instances that some chart lost during the flood. */
  genuineLost: number;
  /** Forged ids sent. */
  forged: number;
}

/**
 * Floods n converged instances with announcements of `forged` new ids from
 * one host, each sent `repeat` times.
 *
 * @param n How many genuine instances.
 * @param options The bound, and the flood.
 * @returns What the charts held.
 */
export function flood(
  n: number,
  options: CrowdOptions & { maxEntries: number; forged: number; repeat: number; rate: number },
): FloodMeasurement {
  const { maxEntries, forged, repeat, rate } = options;
  const limits = { ...options.limits, maxEntries };
  const { world, link, instances } = crowd(n, { ...options, limits });
  for (const instance of instances) world.start(instance);
  let mostCharted = 0;
  let genuineLost = 0;
  world.listen((observer, event) => {
    mostCharted = Math.max(mostCharted, observer.core!.size - 1);
    if (event.type === "removed" && event.entry.id <= BigInt(n)) genuineLost++;
  });
  const floodAt = RAMP;
  world.run(floodAt);
  const flooder = world.addHost("flooder", [link]).attachments[0];
  for (let k = 0; k < forged * repeat; k++) {
    const id = BigInt(1_000_000 + (k % forged));
    const seq = Math.floor(k / forged) + 1;
    const data = encodeAnnouncement({
      header: DEFAULT_HEADER,
      id,
      ports: [9_000],
      reply: false,
      ttl: 3_300,
      incarnation: 1n,
      seq,
    });
    world.at(floodAt + k * 1_000 / rate, () => world.inject(flooder, 50_000, data));
  }
  world.run(floodAt + forged * repeat * 1_000 / rate + 2 * INTERVAL);
  return { maxEntries, mostCharted, genuineLost, forged };
}

/** How a restart went. */
export interface RestartMeasurement {
  ttl: number;
  /** Collisions any chart reported. */
  collisions: number;
  /** Removals of the restarted instance, with their reasons. */
  removals: string[];
  /** From the restart, when every chart had heard the new incarnation, in ms. */
  everywhereAt: number | undefined;
  /** From the restart, when every chart held it again after losing it, in ms. */
  backAt: number | undefined;
}

/**
 * Crashes an instance and starts it again: a new incarnation from its
 * host's wall clock, which may have jumped meanwhile.
 *
 * @param n How many.
 * @param options The time it is down, and the jump of its host's clock.
 * @returns What the charts did.
 */
export function restart(
  n: number,
  options: CrowdOptions & { downtime: number; clockJump?: number; watch?: number },
): RestartMeasurement {
  const { downtime, clockJump = 0, watch = 2 * INTERVAL } = options;
  const { world, instances } = crowd(n, options);
  for (const instance of instances) world.start(instance);
  const crashAt = RAMP + 2 * INTERVAL;
  world.run(crashAt);
  const restarted = instances[0];
  const ttl = restarted.core!.ttl;
  let collisions = 0;
  const removals: string[] = [];
  let backAt: number | undefined;
  let missing = 0;
  const restartAt = crashAt + downtime;
  world.listen((observer, event) => {
    if (event.type === "collision") collisions++;
    if (event.entry.id !== restarted.id || observer === restarted) return;
    if (event.type === "removed") {
      removals.push(event.reason);
      missing++;
    }
    if (event.type === "added" && world.now > restartAt && --missing === 0) {
      backAt = world.now - restartAt;
    }
  });
  world.crash(restarted);
  world.jumpClock(restarted.host, clockJump);
  world.run(restartAt);
  world.start(restarted);
  // Datagrams of the old incarnation have all landed by then: what is heard later is the new one.
  const newSince = Math.max(restartAt, crashAt + world.maxDelay);
  let everywhereAt: number | undefined;
  const others = instances.slice(1);
  for (let t = restartAt; t <= restartAt + watch; t += 10) {
    world.run(t);
    if (
      everywhereAt === undefined &&
      others.every((i) => (i.core!.lastHeard(restarted.id) ?? -Infinity) > newSince)
    ) everywhereAt = t - restartAt;
  }
  return { ttl, collisions, removals, everywhereAt, backAt };
}

/** How charts found each other again after a partition healed. */
export interface HealMeasurement {
  /** Pairs charted across the cut just before the heal (0 once they expired). */
  pairsAcrossBeforeHeal: number;
  /** From the heal, when every chart held every instance again, in ms. */
  convergedAt: number | undefined;
  /** False removals over the run. */
  falseRemovals: number;
}

/**
 * Splits a converged crowd (or cuts one host off) for a while, then heals.
 *
 * @param n How many.
 * @param how `"split"` the link in halves, or take one `"host"` down.
 * @param options The length of the cut.
 * @returns How the charts came back.
 */
export function partition(
  n: number,
  how: "split" | "host",
  options: CrowdOptions & { cut: number },
): HealMeasurement {
  const { world, link, instances } = crowd(n, options);
  const convergence = new Convergence(world, options.limits);
  for (const instance of instances) world.start(instance);
  const cutAt = RAMP + 2 * INTERVAL;
  world.run(cutAt);
  const hosts = instances.map((i) => i.host);
  if (how === "split") world.split(link, [hosts.slice(0, n >> 1), hosts.slice(n >> 1)]);
  else world.setHostUp(hosts[0], false);
  world.run(cutAt + options.cut);
  const pairsAcrossBeforeHeal = how === "split"
    ? instances.slice(0, n >> 1).reduce(
      (sum, a) => sum + instances.slice(n >> 1).filter((b) => a.core!.get(b.id)).length,
      0,
    )
    : instances.slice(1).filter((b) => b.core!.get(instances[0].id)).length;
  if (how === "split") world.heal(link);
  else world.setHostUp(hosts[0], true);
  convergence.from(world.now);
  const healAt = world.now;
  world.run(healAt + 3 * INTERVAL);
  return {
    pairsAcrossBeforeHeal,
    convergedAt: convergence.at === undefined ? undefined : convergence.at - healAt,
    falseRemovals: world.falseRemovals.length,
  };
}

/**
 * A short run through every fault the network and the processes know:
 * two links and a host on both, delay and jitter, independent and bursty
 * loss, a split and its heal, a host cut off and back, a crash, a clock
 * jump and a restart, a goodbye. For the determinism test: its trace.
 *
 * @param seed The seed.
 * @returns The world, run.
 */
export function faultTour(seed: number): World {
  const world = new World({ seed, trace: true });
  const wired = world.addLink({
    delay: 0.2,
    jitter: 0.3,
    loss: { kind: "independent", rate: 0.1 },
  });
  const radio = world.addLink({
    delay: 2,
    jitter: 3,
    loss: { kind: "bursty", meanGood: 2_000, meanBad: 300, lossGood: 0.02, lossBad: 0.9 },
  });
  const instances: SimInstance[] = [];
  for (let i = 1; i <= 8; i++) {
    const links = i === 1 ? [wired, radio] : i <= 5 ? [wired] : [radio];
    instances.push(world.addInstance(world.addHost(`h${i}`, links), { id: BigInt(i) }));
  }
  const [bridge, a, b, , , c] = instances;
  instances.forEach((instance, i) => world.at(i * 37, () => world.start(instance)));
  world.at(4_000, () => world.split(wired, [[a.host, b.host]]));
  world.at(9_000, () => world.heal(wired));
  world.at(10_000, () => world.setHostUp(c.host, false));
  world.at(14_000, () => world.setHostUp(c.host, true));
  world.at(15_000, () => world.crash(bridge));
  world.at(15_001, () => world.jumpClock(bridge.host, 60_000));
  world.at(15_500, () => world.start(bridge));
  world.at(18_000, () => world.close(b));
  world.run(20_000);
  return world;
}
