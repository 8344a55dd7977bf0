/**
 * The chart: who is out there, at which address, with which service data.
 *
 * @module
 */

import { MAX_TTL } from "./config.ts";
import { DiscoveryError } from "./errors.ts";
import { DEFAULT_EVENT_BUFFER, EventQueue } from "./events.ts";
import { toId } from "./ids.ts";
import type { InterfaceOptions } from "./io/interfaces.ts";
import { DEFAULT_RAMPDOWN, JITTER, nextInterval, type Rampdown } from "./core/interval.ts";
import { Keyring, type VerifyFailure } from "./core/keyring.ts";
import { ReplyLimiter, type ReplyLimits } from "./core/limiter.ts";
import type { Received } from "./io/process_bus.ts";
import { setImmediate } from "node:timers";
import { type Link, Links } from "./io/links.ts";
import type { TransportKind } from "./io/transport.ts";
import { resolveTransport } from "./io/transports.ts";
import {
  type Announcement,
  decodeAnnouncement,
  type DecodeResult,
  DROP_REASONS,
  type DropReason,
  encodeAnnouncement,
  encodeMsg,
  findSignature,
  type Layout,
  MAX_PAYLOAD_SIZE,
  MULTICAST_GROUP,
} from "./core/wire.ts";

/** A charted instance of a chart built with service ports. */
export interface PortEntry {
  /** The instance's id. */
  readonly id: bigint;
  /** The IPv4 address the instance was heard from. */
  readonly address: string;
  /** The instance's service ports, in the order it set them. */
  readonly ports: readonly number[];
}

/** A charted instance of a chart built with a custom message. */
export interface MsgEntry<M = unknown> {
  /** The instance's id. */
  readonly id: bigint;
  /** The IPv4 address the instance was heard from. */
  readonly address: string;
  /** The instance's message. */
  readonly msg: M;
}

/** A charted instance. */
export type Entry = PortEntry | MsgEntry<unknown>;

/** A service's address, ready for `Deno.connect`. */
export interface ServiceAddress {
  /** The IPv4 address. */
  hostname: string;
  /** The service port. */
  port: number;
}

/**
 * Why an instance left the chart: it said goodbye, it was not heard within
 * its time-to-live, `forget` dropped it, or a full chart made room for a
 * newcomer (only ever an unconfirmed one, heard once).
 */
export type RemoveReason = "goodbye" | "expired" | "forgotten" | "evicted";

/** A change to the chart, or a conflict it noticed. */
export type ChartEvent<E extends Entry = Entry> =
  | {
    /** A new instance was charted. */
    type: "added";
    /** The new instance. */
    entry: E;
  }
  | {
    /** A charted instance announced a new address or new data. */
    type: "updated";
    /** The instance as it is now. */
    entry: E;
    /** The instance as it was. */
    previous: E;
  }
  | {
    /** An instance left the chart. */
    type: "removed";
    /** The instance as it was last charted. */
    entry: E;
    /** Why it left. */
    reason: RemoveReason;
  }
  | {
    /**
     * Two live instances announce the same id: this one, or the one
     * charted, and another. The chart keeps the one it has (or us) and
     * reports each other instance once.
     */
    type: "collision";
    /** The other instance, as it announces itself. */
    entry: E;
    /** Whether the other instance has this chart's own id. */
    withUs: boolean;
  };

/** Options of {@linkcode Chart.prototype.events}. */
export interface EventsOptions {
  /** Ends the iterator when aborted. */
  signal?: AbortSignal;
  /**
   * The most unread events to buffer before the iterator fails with
   * {@linkcode EventOverflowError}.
   *
   * @default {256}
   */
  bufferSize?: number;
}

/** Why a datagram was dropped, beyond malformed ones. */
export type DropCounter = DropReason | VerifyFailure | "own" | "idle" | "stale" | "full";

/** What a chart has received, sent and dropped since it was built. */
export interface Counters {
  /** Datagrams received on the discovery port and the chart's own sockets. */
  received: number;
  /**
   * Datagrams dropped, by reason: the malformed ones by {@linkcode DropReason};
   * `own` our own announcements heard back; `idle` those that arrived while
   * neither maintain nor sniff ran and were not kept for when one starts (the
   * chart keeps the last one from each sender, up to its entry limit);
   * `stale` those older than what the chart already has from their sender
   * (an old incarnation, a lower sequence number, an instance that said
   * goodbye, a kept one whose time-to-live ran out); with keys, `unsigned`,
   * `unknown-key` and `bad-signature`; `full` newcomers turned away by a
   * full chart.
   */
  dropped: Record<DropCounter, number>;
  /** Multicast announcements sent (one per interface and round). */
  announcements: number;
  /** Unicast answers sent to newcomers and probes. */
  replies: number;
  /** Unicast probes sent to instances that went quiet. */
  probes: number;
  /**
   * Answers not sent: over a rate limit, larger than the datagram that asked
   * for them, or to a source on no directly connected subnet.
   */
  repliesSuppressed: number;
  /** Unconfirmed newcomers dropped to make room in a full chart. */
  evicted: number;
  /** Goodbyes sent. */
  goodbyes: number;
  /** Sends that failed. */
  sendErrors: number;
  /** Receives that failed. */
  receiveErrors: number;
}

/** How instances leave the chart when they go quiet. */
export interface ExpiryOptions {
  /**
   * Whether instances that are not heard within their time-to-live are
   * removed. Off, the chart only grows, as the Rust crate's does.
   *
   * @default {true}
   */
  enabled?: boolean;
  /**
   * The time-to-live of instances that announce none (the Rust crate's), in
   * milliseconds: three of its 1 s intervals, with 10% to spare.
   *
   * @default {3300}
   */
  bareTtl?: number;
}

/** The time-to-live of an instance that announces none (the Rust crate's), in milliseconds. */
export const DEFAULT_BARE_TTL = 3_300;
/** The most instances a chart holds unless told otherwise. */
export const DEFAULT_MAX_ENTRIES = 2_048;

/** Bounds on what a chart keeps and sends, against floods and reflection. */
export interface Limits {
  /**
   * The most instances charted at once. When full, a newcomer takes the
   * place of the newest unconfirmed one (heard only once); confirmed
   * instances are never evicted.
   *
   * @default {2048}
   */
  maxEntries?: number;
  /** How many answers to newcomers and probes may go out. */
  replies?: ReplyLimits;
}

/** What a chart is built from; made by the {@linkcode ChartBuilder}. */
export interface ChartConfig {
  /** Our id. */
  id: bigint;
  /** Our application's header. */
  header: bigint;
  /** The discovery port. */
  discoveryPort: number;
  /** Our service ports, or undefined for a custom message. */
  ports?: readonly number[];
  /** Our custom message, when there are no ports. */
  msg?: unknown;
  /**
   * How to read announcements; by default the layout of our own data. A chart
   * with neither ports nor msg only listens, with the `"any"` layout.
   */
  layout?: Layout;
  /** The announcement interval's ramp. */
  rampdown: Rampdown;
  /** Whether instances on this machine share the discovery port. */
  localDiscovery: boolean;
  /** The socket API. */
  transport: TransportKind;
  /** Which interfaces to use. */
  interfaces?: InterfaceOptions;
  /** How quiet instances leave the chart. */
  expiry?: ExpiryOptions;
  /** Shared keys: the first signs, all verify. Without keys nothing is signed. */
  keys?: readonly (string | Uint8Array)[];
  /** Bounds against floods and reflection. */
  limits?: Limits;
  /** Called with send and receive errors. */
  onError?: (error: Error) => void;
}

/** The ways discovery runs on a chart. */
export type DiscoveryMode = "maintain" | "sniff";

let openChartImpl: (config: ChartConfig) => Promise<Chart<Entry>>;
let runImpl: (chart: Chart<Entry>, mode: DiscoveryMode, signal?: AbortSignal) => Promise<void>;
let watchImpl: (chart: Chart<Entry>, onChange: () => void) => () => void;

/**
 * A chart that is never opened, made with the first chart of the process.
 *
 * V8 gives an instance of a class its shape (hidden class) field by field,
 * and keeps a shape only while some object has it. Once every chart of a
 * process has been collected, the shape goes, and with it V8's optimised code
 * for every chart method. A process that builds charts again after that runs
 * them unoptimised until V8 compiles them anew: measured over ten rounds of
 * 200 charts in one process, about 110 deoptimisations and rounds 2 to 3
 * times as long. This chart keeps the shape alive; it holds no socket, no
 * timer and no peer.
 */
let dormant: Chart<Entry> | undefined;

/**
 * Opens a chart's sockets; used by {@linkcode ChartBuilder.prototype.finish}.
 *
 * @param config What to build.
 * @returns The chart.
 * @throws {DiscoveryError} If the discovery port cannot be bound.
 */
export function openChart<E extends Entry>(config: ChartConfig): Promise<Chart<E>> {
  return openChartImpl(config) as Promise<Chart<E>>;
}

/**
 * Runs discovery on a chart until it is closed or the signal aborts; used by
 * {@linkcode maintain} and {@linkcode sniff}.
 *
 * @param chart The chart.
 * @param mode Whether to announce (`"maintain"`) or only listen (`"sniff"`).
 * @param signal Stops discovery when aborted.
 * @returns A promise that resolves when discovery stops.
 */
export function runDiscovery(
  chart: Chart<Entry>,
  mode: DiscoveryMode,
  signal?: AbortSignal,
): Promise<void> {
  return runImpl(chart, mode, signal);
}

/**
 * Calls `onChange` whenever an instance is added to the chart, and when it
 * closes; used by {@linkcode foundEveryone}, which needs no event of its own.
 *
 * @param chart The chart.
 * @param onChange What to call.
 * @returns A function that stops the calls.
 */
export function watchChart(chart: Chart<Entry>, onChange: () => void): () => void {
  return watchImpl(chart, onChange);
}

/**
 * The time-to-live a chart announces: three of its longest intervals,
 * jitter included.
 *
 * @param rampdown The chart's ramp.
 * @returns The time-to-live in milliseconds.
 */
export function announcedTtl(rampdown: Rampdown): number {
  // Rounded first, so that 3 × 300 × 1.1 gives 990 rather than 991.
  const exact = Math.round(3 * rampdown.max * (1 + JITTER) * 1000) / 1000;
  return Math.min(MAX_TTL, Math.ceil(exact));
}

/**
 * A new incarnation: the start time in milliseconds in the high bits, so that
 * a restarted instance's incarnation is greater than its last one, and
 * random low bits, so that two started in the same millisecond differ.
 *
 * @returns The incarnation.
 */
export function newIncarnation(): bigint {
  const random = BigInt(crypto.getRandomValues(new Uint32Array(1))[0] & 0xfffff);
  return (BigInt(Date.now()) << 20n) | random;
}

/**
 * Whether sequence number `a` comes after `b`, with wrap-around (RFC 1982).
 *
 * @param a A sequence number.
 * @param b Another.
 * @returns `true` when `a` is newer.
 */
export function seqAfter(a: number, b: number): boolean {
  const distance = (a - b) >>> 0;
  return distance !== 0 && distance < 0x8000_0000;
}

function newCounters(): Counters {
  const dropped = {
    own: 0,
    idle: 0,
    stale: 0,
    full: 0,
    unsigned: 0,
    "unknown-key": 0,
    "bad-signature": 0,
  } as Record<DropCounter, number>;
  for (const reason of DROP_REASONS) dropped[reason] = 0;
  return {
    received: 0,
    dropped,
    announcements: 0,
    replies: 0,
    probes: 0,
    repliesSuppressed: 0,
    evicted: 0,
    goodbyes: 0,
    sendErrors: 0,
    receiveErrors: 0,
  };
}

/** Whether an announcement carries the data an entry has. */
function announcesSame(entry: Entry, announcement: Announcement): boolean {
  const { ports } = announcement;
  if ("ports" in entry && ports) {
    return entry.ports.length === ports.length && entry.ports.every((port, i) => port === ports[i]);
  }
  if ("ports" in entry || ports) return false;
  return JSON.stringify((entry as MsgEntry).msg) === JSON.stringify(announcement.msg);
}

function freezeEntry<E extends Entry>(entry: E): E {
  if ("ports" in entry) Object.freeze(entry.ports);
  return Object.freeze(entry);
}

/** What the chart knows of a charted instance beyond its entry. */
interface PeerState<E> {
  entry: E;
  /** Absent for instances that announce bare (the Rust crate). */
  incarnation?: bigint;
  seq?: number;
  ttl: number;
  /** Monotonic milliseconds. */
  heardAt: number;
  addressHeardAt: number;
  /** The port its datagrams come from, where probes go. */
  port: number;
  probedAt: number;
  /** Heard more than once: a full chart never evicts it. */
  confirmed: boolean;
  /** The incarnation this one replaced, to tell a restart from a rival. */
  superseded?: { incarnation: bigint; seq?: number; reported: boolean };
}

/**
 * What the chart remembers of an instance that left: replayed or late
 * datagrams of its incarnation must not bring it back.
 */
interface Tombstone {
  incarnation: bigint;
  /** The last sequence number heard; only a newer one brings it back. */
  seq?: number;
  /** It said goodbye: nothing of that incarnation brings it back. */
  final: boolean;
  until: number;
}

/**
 * Probing starts when an instance was quiet for this share of its
 * time-to-live (1.3 of its intervals)...
 */
const PROBE_AFTER = 0.4;
/**
 * ...and repeats after this share of it (an eighth of an interval) until the
 * instance expires: some 15 probes, so that at 30% loss in each direction an
 * instance expires only if 3 announcements and every probe's round trip are
 * lost, about once in a million time-to-lives.
 */
const PROBE_EVERY = 0.04;
/** How long a departed incarnation is remembered without keys, in time-to-lives. */
const TOMBSTONE_TTLS = 10;
/** How long it is remembered with keys, where replays are the threat: an hour. */
const SIGNED_TOMBSTONE_TIME = 3_600_000;
/** The most probes one sweep sends. */
const PROBES_PER_SWEEP = 4;
/** Per instance charted, the shortest interval a large chart ramps down from, in ms. */
const CROWD_SPACING = 5;
/**
 * Slack on "it was listening when we announced", in ms. The estimate errs
 * only towards answering: a newcomer's listening time is read when its
 * datagram is handled, after transit and queueing, so it seems to have
 * started later than it did; the margin covers rounding to milliseconds.
 */
const TRANSIT_MARGIN = 2;
/** The most departed instances remembered at once. */
const MAX_TOMBSTONES = 4_096;

/**
 * The chart of discovered instances, built by {@linkcode ChartBuilder}.
 *
 * It is filled while {@linkcode maintain} or {@linkcode sniff} runs on it.
 * Instances leave it when they say goodbye or stay quiet past their
 * time-to-live. Close the chart (or let `await using` close it) to say
 * goodbye and free its sockets.
 *
 * @typeParam E The entries: {@linkcode PortEntry} or {@linkcode MsgEntry}.
 *
 * @example Follow the instances of a service
 * ```ts ignore
 * import { ChartBuilder, maintain } from "@x/instance-chart";
 *
 * await using chart = await new ChartBuilder()
 *   .withRandomId()
 *   .withServicePort(8042)
 *   .localDiscovery(true)
 *   .finish();
 * maintain(chart);
 * for await (const event of chart.events()) {
 *   console.log(event.type, event.entry.id, event.entry.address);
 * }
 * ```
 */
export class Chart<E extends Entry = PortEntry> implements AsyncDisposable {
  /** This instance's id. */
  readonly ourId: bigint;
  /** This application's header. */
  readonly header: bigint;
  /** The UDP port discovery runs on. */
  readonly discoveryPort: number;
  /** How long peers keep this instance charted without hearing it, in milliseconds. */
  readonly ttl: number;

  #config: ChartConfig;
  #layout: Layout;
  /**
   * How this chart reads datagrams, for sharing what it decodes with the
   * charts that read alike; only ports, which are frozen in the entries: a
   * custom msg is an object of each chart's own.
   */
  #decodeKey: string | undefined;
  #incarnation = newIncarnation();
  #seq = 0;
  #peers = new Map<bigint, PeerState<E>>();
  #tombstones = new Map<bigint, Tombstone>();
  /** Incarnations of other instances with our id, and whether they were reported. */
  #rivals = new Map<bigint, { seq?: number; reported: boolean }>();
  #subscribers = new Set<EventQueue<ChartEvent<E>>>();
  #watchers = new Set<() => void>();
  #counters = newCounters();
  #keyring: Keyring | undefined;
  #limiter: ReplyLimiter;
  /** Newcomers heard once, newest last: a full chart evicts from here. */
  #unconfirmed: bigint[] = [];
  #links: Links | undefined;
  #sending = new Set<Promise<void>>();
  #mode: DiscoveryMode | undefined;
  #announced = false;
  /**
   * Since when the chart has heard all that reached it, for a peer to judge
   * whether we need an answer (monotonic ms); Infinity while idle.
   */
  #listeningSince = Infinity;
  /**
   * While neither maintain nor sniff runs: the last datagram from each source
   * since the chart became idle, by `address:port`, charted when discovery
   * starts, as a socket's buffer would hold them until read.
   */
  #held = new Map<string, Received & { at: number }>();
  /** Since when the chart has held what it hears (monotonic ms), or Infinity once it turned one away. */
  #heldSince = Infinity;
  /** When the held datagrams are being charted: the time that happens, to tell which have expired. */
  #replayingAt: number | undefined;
  /** When this chart last multicast an announcement (monotonic ms). */
  #lastAnnounced = -Infinity;
  /** The jitter of the round under way, drawn once so that re-planning it keeps it. */
  #jitter = 0.5;
  #stopDiscovery: (() => void) | undefined;
  #announceTimer: ReturnType<typeof setTimeout> | undefined;
  #sweepTimer: ReturnType<typeof setTimeout> | undefined;
  #closing: Promise<void> | undefined;

  static {
    openChartImpl = async (config) => {
      dormant ??= new Chart<Entry>({
        id: 0n,
        header: 0n,
        discoveryPort: 0,
        ports: [],
        rampdown: DEFAULT_RAMPDOWN,
        localDiscovery: false,
        transport: "auto",
      });
      const chart = new Chart<Entry>(config);
      await chart.#open();
      return chart;
    };
    runImpl = (chart, mode, signal) => chart.#run(mode, signal);
    watchImpl = (chart, onChange) => {
      chart.#watchers.add(onChange);
      return () => chart.#watchers.delete(onChange);
    };
  }

  private constructor(config: ChartConfig) {
    this.#config = { ...config };
    this.ourId = config.id;
    this.header = config.header;
    this.discoveryPort = config.discoveryPort;
    this.ttl = announcedTtl(config.rampdown);
    this.#layout = config.layout ??
      (config.ports ? { kind: "ports", count: config.ports.length } : { kind: "msg" });
    if (this.#layout.kind === "ports") this.#decodeKey = `${this.header}/${this.#layout.count}`;
    if (config.keys) this.#keyring = new Keyring(config.keys);
    this.#limiter = new ReplyLimiter(config.limits?.replies ?? {}, performance.now());
  }

  /** The number of charted instances, this one included. */
  get size(): number {
    return this.#peers.size + 1;
  }

  /** Whether the chart is closed. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** A snapshot of what the chart has received, sent and dropped. */
  get counters(): Counters {
    return { ...this.#counters, dropped: { ...this.#counters.dropped } };
  }

  /**
   * The interfaces discovery uses now, by name and address.
   *
   * @returns The interfaces; `"*"` names the kernel's choice where
   *   interfaces cannot be listed.
   */
  interfaces(): Array<{ name: string; address: string }> {
    return (this.#links?.all ?? []).map(({ name, address }) => ({ name, address }));
  }

  /**
   * Returns this instance's service ports.
   *
   * @returns The ports set with `withServicePort` or `withServicePorts`.
   * @throws {TypeError} On a chart built with a custom message.
   */
  ourServicePorts(this: Chart<PortEntry>): readonly number[] {
    return this.#portsOrThrow();
  }

  /**
   * Returns this instance's (first) service port.
   *
   * @returns The port set with `withServicePort`, or the first of `withServicePorts`.
   * @throws {TypeError} On a chart built with a custom message.
   */
  ourServicePort(this: Chart<PortEntry>): number {
    return this.#portsOrThrow()[0];
  }

  /**
   * Returns this instance's custom message.
   *
   * @returns The message set with `customMsg`.
   * @throws {TypeError} On a chart built with service ports.
   */
  ourMsg<M>(this: Chart<MsgEntry<M>>): M {
    if (this.#config.ports) throw new TypeError("Cannot get our msg: this chart has service ports");
    return this.#config.msg as M;
  }

  /**
   * Returns every peer's address: its address with its (first) service port.
   *
   * @returns `[id, address]` pairs, in no particular order.
   * @throws {TypeError} On a chart built with a custom message.
   */
  addrVec(this: Chart<PortEntry>): Array<[bigint, ServiceAddress]> {
    return this.nthAddrVec(0);
  }

  /**
   * Returns every peer's list of addresses, one for each of its service ports.
   *
   * @returns `[id, addresses]` pairs, in no particular order.
   * @throws {TypeError} On a chart built with a custom message.
   */
  addrListsVec(this: Chart<PortEntry>): Array<[bigint, ServiceAddress[]]> {
    this.#portsOrThrow();
    return this.entries().map((entry) => [
      entry.id,
      entry.ports.map((port) => ({ hostname: entry.address, port })),
    ]);
  }

  /**
   * Returns every peer's address with its nth service port.
   *
   * @param n The index of the service port, from 0.
   * @returns `[id, address]` pairs, in no particular order.
   * @throws {TypeError} On a chart built with a custom message.
   * @throws {RangeError} If `n` is not the index of one of our service ports.
   */
  nthAddrVec(this: Chart<PortEntry>, n: number): Array<[bigint, ServiceAddress]> {
    this.#checkPortIndex(n);
    return this.entries().map((entry) => [
      entry.id,
      { hostname: entry.address, port: entry.ports[n] },
    ]);
  }

  /**
   * Returns one peer's address with its (first) service port.
   *
   * @param id The peer's id.
   * @returns Its address, or `undefined` when it is not charted.
   * @throws {TypeError} On a chart built with a custom message.
   */
  getAddr(this: Chart<PortEntry>, id: bigint | number): ServiceAddress | undefined {
    return this.getNthAddr(0, id);
  }

  /**
   * Returns one peer's addresses, one for each of its service ports.
   *
   * @param id The peer's id.
   * @returns Its addresses, or `undefined` when it is not charted.
   * @throws {TypeError} On a chart built with a custom message.
   */
  getAddrList(this: Chart<PortEntry>, id: bigint | number): ServiceAddress[] | undefined {
    this.#portsOrThrow();
    const entry = this.get(id);
    return entry?.ports.map((port) => ({ hostname: entry.address, port }));
  }

  /**
   * Returns one peer's address with its nth service port.
   *
   * @param n The index of the service port, from 0.
   * @param id The peer's id.
   * @returns Its address, or `undefined` when it is not charted.
   * @throws {TypeError} On a chart built with a custom message.
   * @throws {RangeError} If `n` is not the index of one of our service ports.
   */
  getNthAddr(this: Chart<PortEntry>, n: number, id: bigint | number): ServiceAddress | undefined {
    this.#checkPortIndex(n);
    const entry = this.get(id);
    return entry && { hostname: entry.address, port: entry.ports[n] };
  }

  /**
   * Returns every charted instance except this one, in no particular order.
   *
   * @returns The entries.
   */
  entries(): E[] {
    return [...this.#peers.values()].map((peer) => peer.entry);
  }

  /**
   * Returns the entry of one instance.
   *
   * @param id The instance's id.
   * @returns Its entry, or `undefined` when it is not charted (or is us).
   */
  get(id: bigint | number): E | undefined {
    return this.#peers.get(toId(id))?.entry;
  }

  /**
   * Returns when an instance was last heard: any datagram of it, not only
   * those that changed the chart.
   *
   * @param id The instance's id.
   * @returns The time on the clock of `performance.now()`, or `undefined`
   *   when it is not charted.
   */
  lastHeard(id: bigint | number): number | undefined {
    return this.#peers.get(toId(id))?.heardAt;
  }

  /**
   * Changes this instance's service ports and announces them at once; peers
   * report the change as `"updated"`.
   *
   * @param ports The new ports, as many as before, each 1 to 65535.
   * @throws {TypeError} On a chart built with a custom message.
   * @throws {RangeError} If the number of ports changes or a port is out of range.
   */
  setServicePorts(this: Chart<PortEntry>, ports: readonly number[]): void {
    const current = this.#portsOrThrow();
    if (!Array.isArray(ports) || ports.length !== current.length) {
      throw new RangeError(
        `Cannot set ${ports?.length} service ports: this chart announces ${current.length}`,
      );
    }
    for (const port of ports) {
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new RangeError(`Cannot use service port ${port}: not in 1..65535`);
      }
    }
    this.#config.ports = Object.freeze([...ports]);
    this.#announceChange();
  }

  /**
   * Changes this instance's custom message and announces it at once; peers
   * report the change as `"updated"`.
   *
   * @param msg Any JSON-serialisable value of at most 880 bytes as JSON.
   * @throws {TypeError} On a chart built with service ports, or if the value
   *   cannot be serialised to JSON.
   * @throws {RangeError} If its JSON does not fit in one datagram.
   */
  setMsg<M>(this: Chart<MsgEntry<M>>, msg: M): void {
    if (this.#config.ports || !("msg" in this.#config)) {
      throw new TypeError("Cannot set a msg: this chart has service ports");
    }
    const size = encodeMsg(msg).length;
    if (size > MAX_PAYLOAD_SIZE) {
      throw new RangeError(
        `Cannot use a custom msg of ${size} bytes: at most ${MAX_PAYLOAD_SIZE} fit in one datagram`,
      );
    }
    this.#config.msg = JSON.parse(JSON.stringify(msg));
    this.#announceChange();
  }

  /**
   * Replaces the shared keys at run time, to rotate them without a restart:
   * add the new key everywhere (second), then make it first everywhere, then
   * drop the old one. No peer is lost on the way.
   *
   * @param keys The keys, the one that signs first.
   * @throws {RangeError} If there is no key, or one is shorter than 16 bytes.
   */
  setKeys(keys: readonly (string | Uint8Array)[]): void {
    this.#keyring = new Keyring(keys);
  }

  /**
   * Removes an instance from the chart. If it is heard again, it is new again
   * (an `"added"` event).
   *
   * @param id The instance's id.
   * @returns Whether it was charted.
   */
  forget(id: bigint | number): boolean {
    const key = toId(id);
    const peer = this.#peers.get(key);
    if (!peer) return false;
    this.#remove(key, peer, "forgotten");
    return true;
  }

  /**
   * Subscribes to changes of the chart. The iterator ends when the chart
   * closes or the signal aborts. It buffers unread events; when more than
   * `bufferSize` are unread, it delivers those and then throws
   * {@linkcode EventOverflowError} rather than skip any.
   *
   * @param options A signal to stop, and the buffer size.
   * @returns An async iterator of events, subscribed from this call on.
   * @throws {RangeError} If `bufferSize` is not a positive integer.
   *
   * @example Log every newcomer
   * ```ts ignore
   * for await (const event of chart.events()) {
   *   if (event.type === "added") console.log(event.entry);
   * }
   * ```
   */
  events(options: EventsOptions = {}): AsyncIterableIterator<ChartEvent<E>> {
    const bufferSize = options.bufferSize ?? DEFAULT_EVENT_BUFFER;
    if (!Number.isInteger(bufferSize) || bufferSize < 1) {
      throw new RangeError(`Cannot buffer ${bufferSize} events: not a positive integer`);
    }
    const { signal } = options;
    const onAbort = () => queue.end();
    const queue: EventQueue<ChartEvent<E>> = new EventQueue(bufferSize, () => {
      this.#subscribers.delete(queue);
      signal?.removeEventListener("abort", onAbort);
    });
    if (this.closed || signal?.aborted) {
      queue.end();
    } else {
      this.#subscribers.add(queue);
      signal?.addEventListener("abort", onAbort, { once: true });
    }
    return queue;
  }

  /**
   * Closes the chart: discovery stops, a goodbye goes out (if this instance
   * announced itself) so that peers drop it at once, the sockets close
   * (leaving the multicast group and freeing the discovery port), and every
   * event iterator ends. Calling it again waits for the first call.
   *
   * @returns A promise that resolves once everything is closed.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#stopDiscovery?.();
      clearTimeout(this.#sweepTimer);
      this.#held.clear();
      if (this.#announced) {
        this.#counters.goodbyes++;
        this.#multicast(this.#datagram({ goodbye: true }));
      }
      await Promise.allSettled([...this.#sending]);
      for (const queue of [...this.#subscribers]) queue.end();
      for (const watcher of [...this.#watchers]) watcher();
      await this.#links?.close();
    })();
    return this.#closing;
  }

  /**
   * Closes the chart, for `await using`.
   *
   * @returns A promise that resolves once everything is closed.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #open(): Promise<void> {
    const { discoveryPort, localDiscovery, transport, interfaces = {} } = this.#config;
    const loopbackOnly = interfaces.loopbackOnly === true;
    const onError = (error: Error) => this.#config.onError?.(error);
    try {
      this.#links = await Links.open({
        discoveryPort,
        reuseAddress: localDiscovery || loopbackOnly,
        transport: resolveTransport(transport),
        // A transport of the user's own sees every datagram, to simulate the network.
        handOver: typeof transport !== "object",
        interfaces,
        localDiscovery: localDiscovery || loopbackOnly,
        onDatagram: (received) => this.#receive(received),
        onError: (error) => {
          this.#counters.receiveErrors++;
          onError(error);
        },
        onLinkUp: (link) => {
          // What was sent there before it came up did not reach us: those
          // who sent it answer the announcement that says so.
          if (this.#mode) this.#listeningSince = performance.now();
          else if (this.#heldSince !== Infinity) this.#heldSince = performance.now();
          // A new interface hears of us at once, not at the next round.
          if (this.#mode === "maintain") this.#announceOn(link);
        },
      });
    } catch (error) {
      throw bindError(discoveryPort, error as Error & { code?: string });
    }
    // In the group on every interface: from now on it hears all that is sent there.
    this.#heldSince = performance.now();
    if (this.#links.all.length === 0) {
      onError(
        new DiscoveryError(
          "No interface to discover on: none is up and multicast-capable" +
            (localDiscovery ? "" : "; enable localDiscovery(true) to use loopback"),
        ),
      );
    }
  }

  async #run(mode: DiscoveryMode, signal?: AbortSignal): Promise<void> {
    if (this.closed || signal?.aborted) return;
    if (this.#mode) {
      throw new Error(`Cannot ${mode} the chart: it already runs ${this.#mode}`);
    }
    const listenOnly = !this.#config.ports && !("msg" in this.#config);
    if (mode === "maintain" && listenOnly) {
      throw new TypeError("Cannot maintain a chart that has nothing to announce: sniff it");
    }
    this.#mode = mode;
    // Unless it turned one away, it has heard everything since it became idle.
    this.#listeningSince = Math.min(this.#heldSince, performance.now());
    // What the charts of this process announced before this one listened.
    this.#links!.replay();
    const held = [...this.#held.values()];
    this.#held.clear();
    // After this call, like the hand-overs: a caller that subscribes next sees it all.
    if (held.length > 0) setImmediate(() => this.#chartHeld(held));
    const stopped = new Promise<void>((resolve) => this.#stopDiscovery = resolve);
    const onAbort = () => this.#stopDiscovery?.();
    signal?.addEventListener("abort", onAbort, { once: true });
    if (mode === "maintain") this.#announce(performance.now());
    await stopped;
    signal?.removeEventListener("abort", onAbort);
    clearTimeout(this.#announceTimer);
    this.#announceTimer = undefined;
    this.#mode = undefined;
    this.#listeningSince = Infinity;
    this.#heldSince = performance.now();
    // A chart that no longer announces is not handed to charts that start later.
    this.#links?.withdraw();
    this.#stopDiscovery = undefined;
  }

  /** Announces on every link, then again after the next interval. */
  #announce(start: number, planned = false): void {
    if (planned) {
      // Instances heard since this round was planned widen the spacing: when
      // a crowd starts together, its second round does not come at once.
      const wait = this.#interval(start) - (performance.now() - this.#lastAnnounced);
      if (wait > 0) {
        this.#announceTimer = setTimeout(() => this.#announce(start, true), wait);
        return;
      }
    }
    this.#announced = true;
    for (const link of this.#links!.all) this.#announceOn(link);
    this.#jitter = Math.random();
    this.#announceTimer = setTimeout(() => this.#announce(start, true), this.#interval(start));
  }

  /** The interval after the last announcement, for the chart's size now. */
  #interval(start: number): number {
    const { rampdown } = this.#config;
    // A large chart slows its ramp, so that N instances do not send N² datagrams
    // ten times a second: never beyond the longest interval its ttl covers.
    const crowded = Math.min(rampdown.max, this.size * CROWD_SPACING);
    return nextInterval(
      { ...rampdown, min: Math.max(rampdown.min, crowded) },
      this.#lastAnnounced - start,
      this.#jitter,
    );
  }

  #announceOn(link: Link): void {
    this.#lastAnnounced = performance.now();
    this.#counters.announcements++;
    this.#send(link, this.#datagram({}), MULTICAST_GROUP, this.discoveryPort);
  }

  #announceChange(): void {
    if (this.#mode !== "maintain") return;
    for (const link of this.#links!.all) this.#announceOn(link);
  }

  #multicast(data: Uint8Array): void {
    for (const link of this.#links?.all ?? []) {
      this.#send(link, data, MULTICAST_GROUP, this.discoveryPort);
    }
  }

  /** Our announcement, with the next sequence number. */
  #datagram(flags: { reply?: boolean; probe?: boolean; goodbye?: boolean }): Uint8Array {
    this.#seq = (this.#seq + 1) >>> 0;
    const keyring = this.#keyring;
    const datagram = encodeAnnouncement({
      header: this.header,
      id: this.ourId,
      ports: this.#config.ports,
      msg: this.#config.msg,
      reply: flags.reply ?? false,
      probe: flags.probe,
      goodbye: flags.goodbye,
      ttl: this.ttl,
      incarnation: this.#incarnation,
      seq: this.#seq,
      listening: Math.min(
        0xffff_ffff,
        Math.max(0, Math.floor(performance.now() - this.#listeningSince)),
      ),
      signerId: keyring?.signerId,
    });
    keyring?.sign(datagram);
    return datagram;
  }

  /** Sends a datagram on a link; failures are counted and reported, never thrown. */
  #send(link: Link, data: Uint8Array, hostname: string, port: number): void {
    const sent = this.#links!.send(link, data, hostname, port).catch((error: Error) => {
      this.#counters.sendErrors++;
      this.#config.onError?.(error);
    }).finally(() => this.#sending.delete(sent));
    this.#sending.add(sent);
  }

  /** Sends a unicast datagram from the link on whose subnet its target is. */
  #unicast(data: Uint8Array, hostname: string, port: number): boolean {
    const link = this.#links?.linkFor(hostname);
    if (!link) return false;
    this.#send(link, data, hostname, port);
    return true;
  }

  #receive(received: Received): void {
    const counters = this.#counters;
    counters.received++;
    if (!this.#mode || this.closed) {
      // Handed over in the process: the charts that sent it hand it again when this one starts.
      if (received.at === undefined && !this.closed) this.#hold(received);
      else counters.dropped.idle++;
      return;
    }
    this.#handle(received);
  }

  /** Verifies, decodes and charts a datagram received while discovery runs. */
  #handle(received: Received): void {
    const { data, hostname, port, at } = received;
    const counters = this.#counters;
    if (this.#keyring) {
      // Nothing a key does not vouch for is decoded, let alone charted.
      const failure = this.#keyring.verify(data, findSignature(data));
      if (failure) {
        counters.dropped[failure]++;
        return;
      }
    }
    // The charts of a process that read alike decode a datagram once.
    let result: DecodeResult;
    const decodeKey = this.#decodeKey;
    if (decodeKey !== undefined && received.decoded?.key === decodeKey) {
      result = received.decoded.value as DecodeResult;
    } else {
      result = decodeAnnouncement(data, this.header, this.#layout);
      if (decodeKey !== undefined) {
        received.decoded = { key: decodeKey, value: result, entry: undefined };
      }
    }
    if (!result.ok) {
      counters.dropped[result.reason]++;
      return;
    }
    const announcement = result.announcement;
    if (announcement.id === this.ourId) {
      this.#heardOurId(announcement, hostname);
    } else if (announcement.goodbye) {
      this.#heardGoodbye(announcement);
    } else {
      const shared = decodeKey === undefined ? undefined : received.decoded;
      this.#heard(announcement, hostname, port, data.length, at, shared);
    }
  }

  /** Keeps the last datagram from each source while idle, within the chart's entry limit. */
  #hold(received: Received): void {
    const { data, hostname, port } = received;
    const key = `${hostname}:${port}`;
    const held = this.#held;
    if (!held.has(key) && held.size >= (this.#config.limits?.maxEntries ?? DEFAULT_MAX_ENTRIES)) {
      this.#counters.dropped.idle++;
      // It missed one: from now on, a peer may need to answer it.
      this.#heldSince = Infinity;
      return;
    }
    // Timed as heard when it arrived.
    held.set(key, {
      data: data.slice(),
      hostname,
      port,
      at: performance.now(),
      decoded: undefined,
    });
  }

  /** Charts what was held while idle, as heard when it arrived. */
  #chartHeld(held: Array<Received & { at: number }>): void {
    this.#replayingAt = performance.now();
    try {
      for (const received of held) {
        if (!this.#mode || this.closed) return;
        // Older than any time-to-live: nothing it says is alive.
        if (received.at + MAX_TTL <= this.#replayingAt) {
          this.#counters.dropped.stale++;
          continue;
        }
        this.#handle(received);
      }
    } finally {
      this.#replayingAt = undefined;
    }
  }

  /** Our own datagrams come back to us; another incarnation with our id is a rival. */
  #heardOurId(announcement: Announcement, hostname: string): void {
    const { incarnation, seq } = announcement;
    if (incarnation === this.#incarnation) {
      this.#counters.dropped.own++;
      return;
    }
    this.#counters.dropped.stale++;
    if (announcement.goodbye) return;
    // A bare announcement with our id can only come from another instance.
    const key = incarnation ?? -1n;
    const rival = this.#rivals.get(key);
    if (!rival) {
      if (this.#rivals.size < MAX_TOMBSTONES) this.#rivals.set(key, { seq, reported: false });
      return;
    }
    // Heard twice, with a newer sequence number: alive, not a stray datagram.
    const alive = seq === undefined || rival.seq === undefined || seqAfter(seq, rival.seq);
    rival.seq = seq;
    if (alive && !rival.reported) {
      rival.reported = true;
      this.#emit({ type: "collision", entry: this.#entryOf(announcement, hostname), withUs: true });
    }
  }

  #heardGoodbye(announcement: Announcement): void {
    const { id, incarnation } = announcement;
    if (incarnation === undefined) return;
    const peer = this.#peers.get(id);
    if (!peer || peer.incarnation !== incarnation) {
      // Not charted (or another incarnation): a late or replayed goodbye.
      this.#counters.dropped.stale++;
      if (!peer && !this.#tombstones.has(id)) {
        this.#bury(id, { incarnation, final: true }, this.ttl);
      }
      return;
    }
    this.#bury(id, { incarnation, final: true }, peer.ttl);
    this.#remove(id, peer, "goodbye");
  }

  #heard(
    announcement: Announcement,
    hostname: string,
    port: number,
    size: number,
    sentAt: number | undefined,
    shared: { entry?: unknown } | undefined,
  ): void {
    const { id, incarnation, seq } = announcement;
    // Handed over in this process: when it was sent is known exactly.
    const now = sentAt ?? performance.now();
    if (
      this.#replayingAt !== undefined &&
      now + Math.min(MAX_TTL, announcement.ttl || this.#bareTtl()) <= this.#replayingAt
    ) {
      // Held while idle for longer than it lives: its sender may be long gone.
      this.#counters.dropped.stale++;
      return;
    }
    const tombstone = this.#tombstones.get(id);
    if (tombstone && now < tombstone.until && incarnation !== undefined) {
      const replayed = incarnation < tombstone.incarnation ||
        (incarnation === tombstone.incarnation &&
          (tombstone.final || seq === undefined || tombstone.seq === undefined ||
            !seqAfter(seq, tombstone.seq)));
      if (replayed) {
        this.#counters.dropped.stale++;
        return;
      }
    }
    if (tombstone) this.#tombstones.delete(id);
    let peer = this.#peers.get(id);
    if (this.#replayingAt !== undefined && peer && now < peer.heardAt) {
      // Held while idle, and charted since from a later datagram.
      this.#counters.dropped.stale++;
      return;
    }
    let superseded: PeerState<E>["superseded"];
    if (peer && incarnation !== undefined && peer.incarnation !== undefined) {
      if (incarnation < peer.incarnation) {
        this.#heardOlder(peer, announcement, hostname);
        return;
      }
      if (incarnation > peer.incarnation) {
        // A restart, or a rival that a later word from the older one reveals.
        superseded = { incarnation: peer.incarnation, seq: peer.seq, reported: false };
      } else if (seq !== undefined && peer.seq !== undefined && !seqAfter(seq, peer.seq)) {
        this.#counters.dropped.stale++;
        return;
      }
    }

    const isNew = peer === undefined;
    if (isNew && !this.#makeRoom()) {
      this.#counters.dropped.full++;
      return;
    }
    // Answer before telling subscribers, so that a caller that closes the
    // chart on the news does not swallow the answer.
    // A newcomer in this process was handed our last announcement when it
    // started to listen: only one from elsewhere may need an answer.
    if (
      this.#mode === "maintain" && !announcement.reply &&
      (announcement.probe || (isNew && sentAt === undefined && !this.#heardUs(announcement, now)))
    ) {
      this.#reply(announcement, hostname, port, size, now);
    }

    const ttl = Math.min(MAX_TTL, announcement.ttl || this.#bareTtl());
    let address = hostname;
    if (peer && hostname !== peer.entry.address && now - peer.addressHeardAt < peer.ttl / 2) {
      // Heard on another path while the known one is alive: keep the address steady.
      address = peer.entry.address;
    }
    const previous = peer?.entry;
    // Most datagrams repeat what is charted: no new entry for those.
    const entry = previous?.address === address && announcesSame(previous, announcement)
      ? previous
      : this.#entryOf(announcement, address, shared);
    // Every field from the start: one object shape for every peer.
    peer ??= {
      entry,
      incarnation,
      seq,
      ttl,
      heardAt: now,
      addressHeardAt: now,
      port,
      probedAt: 0,
      confirmed: false,
      superseded: undefined,
    };
    if (!isNew) peer.confirmed = true;
    peer.incarnation = incarnation;
    peer.seq = seq;
    peer.ttl = ttl;
    peer.heardAt = now;
    peer.probedAt = 0;
    if (hostname === address) {
      peer.addressHeardAt = now;
      peer.port = port;
    }
    if (superseded) peer.superseded = superseded;
    if (isNew) {
      this.#peers.set(id, peer);
      this.#unconfirmed.push(id);
      this.#scheduleSweep();
      if (this.#subscribers.size > 0) this.#emit({ type: "added", entry });
      for (const watcher of this.#watchers) watcher();
    } else if (entry !== previous) {
      peer.entry = entry;
      this.#emit({ type: "updated", entry, previous: previous! });
    }
  }

  /**
   * Answers a newcomer or a probe: never with more bytes than it sent (a bare
   * Rust announcement gets a bare one back), only on a connected subnet, and
   * within the rate limits.
   */
  #reply(
    announcement: Announcement,
    hostname: string,
    port: number,
    size: number,
    now: number,
  ): void {
    const reply = announcement.incarnation === undefined && this.#config.ports && !this.#keyring
      ? encodeAnnouncement({
        header: this.header,
        id: this.ourId,
        ports: this.#config.ports,
        reply: false,
      })
      : this.#datagram({ reply: true });
    const link = this.#links?.linkFor(hostname);
    if (reply.length > size || !link || !this.#limiter.allow(hostname, now)) {
      this.#counters.repliesSuppressed++;
      return;
    }
    this.#send(link, reply, hostname, port);
    this.#counters.replies++;
  }

  /**
   * Whether a newcomer has surely heard our last announcement: it was already
   * listening when that went out. Then an answer would tell it nothing (when
   * instances start together, it would double the datagrams). A Rust peer
   * says nothing of the kind and is always answered.
   */
  #heardUs(announcement: Announcement, now: number): boolean {
    if (announcement.listening === undefined) return false;
    const listeningSince = now - announcement.listening;
    return this.#lastAnnounced > listeningSince + TRANSIT_MARGIN;
  }

  /**
   * Makes room for a newcomer in a full chart by evicting the newest
   * unconfirmed entry; returns whether there is room.
   */
  #makeRoom(): boolean {
    const max = this.#config.limits?.maxEntries ?? DEFAULT_MAX_ENTRIES;
    if (this.#peers.size < max) return true;
    while (this.#unconfirmed.length > 0) {
      const id = this.#unconfirmed.pop()!;
      const peer = this.#peers.get(id);
      if (peer && !peer.confirmed) {
        this.#peers.delete(id);
        this.#counters.evicted++;
        this.#emit({ type: "removed", entry: peer.entry, reason: "evicted" });
        return true;
      }
    }
    return false;
  }

  /** An older incarnation than the charted one: a stray datagram, or a rival. */
  #heardOlder(peer: PeerState<E>, announcement: Announcement, hostname: string): void {
    this.#counters.dropped.stale++;
    const { incarnation, seq } = announcement;
    const superseded = peer.superseded;
    if (!superseded || superseded.incarnation !== incarnation) {
      peer.superseded = { incarnation: incarnation!, seq, reported: false };
      return;
    }
    const alive = seq === undefined || superseded.seq === undefined ||
      seqAfter(seq, superseded.seq);
    superseded.seq = seq;
    if (alive && !superseded.reported) {
      superseded.reported = true;
      this.#emit({
        type: "collision",
        entry: this.#entryOf(announcement, hostname),
        withUs: false,
      });
    }
  }

  /** The entry of an announcement; `shared` holds the one charts that read it alike share. */
  #entryOf(announcement: Announcement, address: string, shared?: { entry?: unknown }): E {
    const sharedEntry = shared?.entry as E | undefined;
    if (sharedEntry?.address === address) return sharedEntry;
    const { id } = announcement;
    const entry = freezeEntry(
      (announcement.ports
        ? { id, address, ports: announcement.ports }
        : { id, address, msg: announcement.msg }) as E,
    );
    if (shared) shared.entry = entry;
    return entry;
  }

  #bareTtl(): number {
    return this.#config.expiry?.bareTtl ?? DEFAULT_BARE_TTL;
  }

  #remove(id: bigint, peer: PeerState<E>, reason: RemoveReason): void {
    this.#peers.delete(id);
    this.#emit({ type: "removed", entry: peer.entry, reason });
  }

  /** Remembers a departed incarnation, so that its late or replayed datagrams stay out. */
  #bury(id: bigint, tombstone: Omit<Tombstone, "until">, ttl: number): void {
    this.#tombstones.delete(id);
    if (this.#tombstones.size >= MAX_TOMBSTONES) {
      this.#tombstones.delete(this.#tombstones.keys().next().value!);
    }
    const keep = this.#keyring ? SIGNED_TOMBSTONE_TIME : TOMBSTONE_TTLS * ttl;
    this.#tombstones.set(id, { ...tombstone, until: performance.now() + keep });
  }

  #scheduleSweep(): void {
    if (this.#sweepTimer !== undefined || this.#config.expiry?.enabled === false) return;
    let shortest = Infinity;
    let firstExpiry = Infinity;
    for (const peer of this.#peers.values()) {
      shortest = Math.min(shortest, peer.ttl);
      firstExpiry = Math.min(firstExpiry, peer.heardAt + peer.ttl);
    }
    if (shortest === Infinity) return;
    // A round every so often for the probes, and one when a time-to-live runs
    // out: an instance expires then, not up to a round later.
    const period = Math.min(1_000, Math.max(5, shortest * PROBE_EVERY));
    const untilExpiry = Math.max(1, Math.ceil(firstExpiry - performance.now()) + 1);
    this.#sweepTimer = setTimeout(() => {
      this.#sweepTimer = undefined;
      this.#sweep();
      this.#scheduleSweep();
    }, Math.min(period, untilExpiry));
  }

  /** Removes instances quiet past their time-to-live; probes those going quiet. */
  #sweep(): void {
    const now = performance.now();
    const quiet: Array<PeerState<E>> = [];
    for (const [id, peer] of this.#peers) {
      const silence = now - peer.heardAt;
      if (silence > peer.ttl) {
        if (peer.incarnation !== undefined) {
          this.#bury(id, { incarnation: peer.incarnation, seq: peer.seq, final: false }, peer.ttl);
        }
        this.#remove(id, peer, "expired");
      } else if (
        this.#mode === "maintain" && peer.incarnation !== undefined &&
        silence > PROBE_AFTER * peer.ttl && now - peer.probedAt > PROBE_EVERY * peer.ttl
      ) {
        quiet.push(peer);
      }
    }
    // Lost announcements should not make a live instance flap: ask it. But an
    // overloaded chart, which misses many, must not add a storm of probes to
    // the load: the quietest few each round.
    quiet.sort((a, b) => a.heardAt - b.heardAt);
    for (const peer of quiet.slice(0, PROBES_PER_SWEEP)) {
      peer.probedAt = now;
      if (this.#unicast(this.#datagram({ probe: true }), peer.entry.address, peer.port)) {
        this.#counters.probes++;
      }
    }
  }

  #emit(event: ChartEvent<E>): void {
    for (const queue of this.#subscribers) queue.push(event);
  }

  #portsOrThrow(): readonly number[] {
    const { ports } = this.#config;
    if (!ports) throw new TypeError("Cannot get service addresses: this chart has a custom msg");
    return ports;
  }

  #checkPortIndex(n: number): void {
    const count = this.#portsOrThrow().length;
    if (!Number.isInteger(n) || n < 0 || n >= count) {
      throw new RangeError(`Cannot get service port ${n}: this chart has ${count} port(s)`);
    }
  }
}

function bindError(port: number, error: Error & { code?: string }): DiscoveryError {
  const reason = error.code === "EADDRINUSE"
    ? "address in use; enable localDiscovery(true) to share it with other instances on this " +
      "machine, or choose another port with withDiscoveryPort()"
    : error.code === "EACCES"
    ? "permission denied; choose another port with withDiscoveryPort()"
    : error.message;
  return new DiscoveryError(`Cannot bind discovery port ${port}: ${reason}`, { cause: error });
}
