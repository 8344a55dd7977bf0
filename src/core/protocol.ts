/**
 * The protocol core: every decision a chart makes and all the state it
 * keeps, with no sockets, timers, clock or randomness of its own.
 *
 * Time comes in as a `now` argument to every entry point (milliseconds on
 * any monotonic clock), randomness through a source in the config. What it
 * wants sent and what happened go out through an {@linkcode Outbox} the
 * shell owns, and {@linkcode Protocol.prototype.deadline} says when it next
 * wants {@linkcode Protocol.prototype.timeout} called. The shell (driver.ts)
 * runs it over real sockets and one timer; the simulator (tests/sim/) runs
 * thousands of them on a virtual clock.
 *
 * @module
 */

import { familyOf } from "./address.ts";
import { answersBare, asksUs, mayAnswer, owedRoundAt, wantsAnswer } from "./answers.ts";
import { copyCounters, type Counters, newCounters } from "./counters.ts";
import { SourceCredit } from "./credit.ts";
import type { Entry, RemoveReason } from "./entry.ts";
import { DEFAULT_BARE_TTL, isExpired, isProbeDue, sweepDelay } from "./expiry.ts";
import { type HeldDatagram, IdleBuffer, isOutlived } from "./idle_buffer.ts";
import {
  contenderSpoke,
  IN_FLIGHT_TIME,
  isFromFuture,
  Rivals,
  rivalSpoke,
  seqAfter,
  startOf,
  Tombstones,
  tombstoneTime,
} from "./identity.ts";
import type { Rampdown } from "./interval.ts";
import { Keyring } from "./keyring.ts";
import { ReplyLimiter, type ReplyLimits } from "./limiter.ts";
import { announcesSame, DEFAULT_MAX_ENTRIES, entryOf, type Peer, PeerTable } from "./peers.ts";
import {
  addressesOf,
  chartedPath,
  notePath,
  type Path,
  PATH_WINDOW,
  sameAddresses,
} from "./paths.ts";
import { announcedTtl, heardUs, listeningFor, MAX_TTL, roundInterval } from "./schedule.ts";
import type { SeedAddress, SeedSet } from "./seeds.ts";
import {
  type Announcement,
  asksThatFit,
  decodeAnnouncement,
  type DecodeResult,
  encodeAnnouncement,
  findSignature,
  type Layout,
  MAX_ASKS,
} from "./wire.ts";

/** The ways discovery runs on a chart. */
export type DiscoveryMode = "maintain" | "sniff";

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

/** Bounds on what a chart keeps and sends, against floods and reflection. */
export interface Limits {
  /**
   * The most instances charted at once. When full, a newcomer takes the
   * place of the newest unconfirmed one (heard only once), or else of the
   * quietest confirmed one not heard within its ttl or 10 s; confirmed
   * instances heard since are never evicted.
   *
   * @default {2048}
   */
  maxEntries?: number;
  /**
   * How many answers to newcomers and probes may go out; the same rates
   * bound, apart, the chart's own probes.
   */
  replies?: ReplyLimits;
}

/** What a protocol core is made of. */
export interface ProtocolConfig {
  /** Our id. */
  id: bigint;
  /** Our application's header. */
  header: bigint;
  /** Our service ports; with neither ports nor `msg` the chart only listens. */
  ports?: readonly number[];
  /** Our custom message (the key present, even with an undefined value). */
  msg?: unknown;
  /** How to read announcements; by default the layout of our own data. */
  layout?: Layout;
  /** The announcement interval's ramp. */
  rampdown: Rampdown;
  /** How quiet instances leave the chart. */
  expiry?: ExpiryOptions;
  /** Shared keys: the first signs, all verify. */
  keys?: readonly (string | Uint8Array)[];
  /** Bounds against floods and reflection. */
  limits?: Limits;
  /**
   * What may be unicast to each source: shared by the charts of a process
   * (the shell's), so that together they send no source more than the
   * process received from it. By default the chart's own.
   */
  credit?: SourceCredit;
  /**
   * The address families in use; a datagram from another (the discovery
   * socket listens on both) is dropped. Both when absent.
   */
  families?: readonly (4 | 6)[];
  /**
   * The addresses our seeds resolve to, kept up to date by the shell: our
   * announcements and goodbye go to each by unicast, and they are answered
   * and probed even off the link.
   */
  seeds?: SeedSet;
  /**
   * Whether announcements and goodbyes go to the multicast group; without,
   * they go only to the seeds.
   *
   * @default {true}
   */
  multicast?: boolean;
  /**
   * This run's incarnation (see `incarnationOf`). Its start time is also the
   * chart's wall clock at construction, against which, without keys, other
   * incarnations' claimed starts are judged.
   */
  incarnation: bigint;
  /** The source of randomness: a number in [0, 1) each call. */
  random: () => number;
}

/**
 * What the shell does for the core: sends on its links, tells whether an
 * address is reachable, and passes on what happened. Calls are synchronous
 * and must not call back into the core; the shell may send later, but in
 * the order called.
 *
 * @typeParam E The entries.
 * @typeParam L The shell's links, opaque to the core.
 */
export interface Outbox<E extends Entry, L> {
  /** The links in use now. */
  links(): Iterable<L>;
  /** Sends a datagram to the multicast group on one link. */
  multicast(data: Uint8Array, link: L): void;
  /** Whether an address is on a directly connected subnet, so an answer can reach it. */
  onSubnet(address: string): boolean;
  /**
   * Whether an address is one of this host's own (loopback included): what
   * is sent there never leaves the host.
   */
  isHostAddress(address: string): boolean;
  /** Sends a datagram to an address; `false` when no link reaches it. */
  unicast(data: Uint8Array, address: string, port: number): boolean;
  /** A new instance was charted. */
  added(entry: E): void;
  /** A charted instance announced a new address or data. */
  updated(entry: E, previous: E): void;
  /** An instance left the chart; it was last heard at `lastHeard`. */
  removed(entry: E, reason: RemoveReason, lastHeard: number): void;
  /** Another live instance announces a charted id (or ours). */
  collision(entry: E, withUs: boolean): void;
}

/**
 * What charts that read datagrams alike (the same header and number of
 * ports) share of one datagram: it is decoded once, and its entry made once.
 */
export interface Reading {
  /** How it was read: header and layout. */
  readonly key: string;
  /** What decoding gave. */
  readonly result: DecodeResult;
  /** The entry made of it, for the address it came from. */
  entry: Entry | undefined;
}

/**
 * One datagram as the shell hands it to each core that hears it. The same
 * object goes to every chart of the process that shares the discovery
 * socket, so that they share its {@linkcode Reading}.
 */
export interface Arrival {
  /** Its bytes; they may be reused once the call that got them returns. */
  readonly data: Uint8Array;
  /** Where it came from. */
  readonly address: string;
  /** The port it came from. */
  readonly port: number;
  /**
   * When it was sent, for one handed over by another chart of this process;
   * `undefined` for one from the network.
   */
  readonly handedOverAt: number | undefined;
  /** Set by the first core that reads it, for the others. */
  reading: Reading | undefined;
}

/** What is known of the datagram being read, besides what it says. */
interface Facts {
  /** The time it is handled. */
  now: number;
  /** Where it came from. */
  address: string;
  /** The port it came from. */
  port: number;
  /** Its size in bytes: an answer to it is never larger. */
  size: number;
  /** When it was heard: sent, if handed over in the process; arrived, if kept while idle. */
  at: number;
  /** Whether it came from the network just now. */
  live: boolean;
  /** What charts that read alike share of it. */
  reading: Reading | undefined;
}

/**
 * The protocol state of one chart.
 *
 * @typeParam E The entries.
 * @typeParam L The shell's links.
 */
export class Protocol<E extends Entry = Entry, L = unknown> {
  /** Our id. */
  readonly id: bigint;
  /** Our application's header. */
  readonly header: bigint;
  /** How long peers keep us charted without hearing us, in ms. */
  readonly ttl: number;
  /** This run's incarnation. */
  readonly incarnation: bigint;

  readonly #out: Outbox<E, L>;
  readonly #rampdown: Rampdown;
  readonly #random: () => number;
  readonly #layout: Layout;
  /** How this core reads datagrams, for sharing with those that read alike; only ports. */
  readonly #readKey: string | undefined;
  readonly #expires: boolean;
  readonly #bareTtl: number;
  readonly #listenOnly: boolean;
  readonly #seeds: SeedSet | undefined;
  readonly #multicast: boolean;
  #ports: readonly number[] | undefined;
  #msg: unknown;
  #keyring: Keyring | undefined;
  readonly #limiter: ReplyLimiter;
  /** The same limits for probes, apart: a chart's probes do not crowd out its answers to others'. */
  readonly #probeLimiter: ReplyLimiter;
  readonly #credit: SourceCredit;
  /** The family of addresses whose datagrams are dropped: 0 for none. */
  readonly #foreignFamily: 0 | 4 | 6;
  readonly #peers: PeerTable<E>;
  /**
   * How many charted instances are on this host (charted at one of its
   * addresses, `onHost`): with this chart, those of the host that answer
   * what we answer. A count, not a set of ids: it changes with every entry.
   */
  #hostPeers = 0;
  /** Our header as it starts a datagram: those that start otherwise we never answer. */
  readonly #headerBytes: Uint8Array;
  readonly #tombstones = new Tombstones();
  readonly #rivals = new Rivals();
  readonly #idle: IdleBuffer;
  readonly #counters = newCounters();
  /** Our wall clock minus `now`: the core reads no clock, so it is worked out once. */
  readonly #wallOffset: number;
  #seq = 0;
  #mode: DiscoveryMode | undefined;
  #closed = false;
  #announced = false;
  /**
   * Since when the chart has heard all that reached it, for a peer to judge
   * whether we need an answer; Infinity while idle.
   */
  #listeningSince = Infinity;
  /** What was kept while idle, to chart once discovery started. */
  #held: HeldDatagram[] | undefined;
  /** While the kept datagrams are charted: the time that happens. */
  #replayingAt: number | undefined;
  /** When announcing started. */
  #startedAt = 0;
  /** Until the second round: a newcomer that started with the first heard it (see heardUs). */
  #firstRound = false;
  #lastAnnounced = -Infinity;
  /** When a round was last brought forward to answer a newcomer by multicast. */
  #lastPulled = -Infinity;
  /**
   * When a round is owed to newcomers whose answers were held back within a
   * second of the last one brought forward; Infinity when none is.
   */
  #pullAt = Infinity;
  /**
   * Quiet peers the credit does not let us probe, as the last sweep found
   * them, those named least first: our next round asks them to answer.
   */
  #asks: Peer<E>[] = [];
  /** The jitter of the round under way, drawn once so that re-planning it keeps it. */
  #jitter = 0.5;
  /** The next round's time, and the chart size it was worked out for (-1: not since a change). */
  #roundAt = 0;
  #roundFor = -1;
  #sweepAt = Infinity;
  /** How often a wake-up was planned anew (see {@linkcode replans}). */
  #replans = 0;
  /** The facts of the datagram being read: one object, refilled for each. */
  readonly #facts: Facts = {
    now: 0,
    address: "",
    port: 0,
    size: 0,
    at: 0,
    live: false,
    reading: undefined,
  };

  /**
   * Creates the core of a chart.
   *
   * @param config What the chart is.
   * @param now The time.
   * @param out Where sends and events go.
   * @throws {RangeError} If a key is too short.
   */
  constructor(config: ProtocolConfig, now: number, out: Outbox<E, L>) {
    this.id = config.id;
    this.header = config.header;
    this.ttl = announcedTtl(config.rampdown);
    this.incarnation = config.incarnation;
    this.#wallOffset = startOf(config.incarnation) - now;
    this.#out = out;
    this.#rampdown = config.rampdown;
    this.#random = config.random;
    this.#ports = config.ports;
    this.#msg = config.msg;
    this.#listenOnly = !config.ports && !("msg" in config);
    this.#seeds = config.seeds;
    this.#multicast = config.multicast !== false;
    this.#layout = config.layout ??
      (config.ports ? { kind: "ports", count: config.ports.length } : { kind: "msg" });
    if (this.#layout.kind === "ports") this.#readKey = `${this.header}/${this.#layout.count}`;
    this.#expires = config.expiry?.enabled !== false;
    this.#bareTtl = config.expiry?.bareTtl ?? DEFAULT_BARE_TTL;
    if (config.keys) this.#keyring = new Keyring(config.keys);
    this.#limiter = new ReplyLimiter(config.limits?.replies ?? {}, now);
    this.#probeLimiter = new ReplyLimiter(config.limits?.replies ?? {}, now);
    this.#credit = config.credit ?? new SourceCredit();
    const families = config.families ?? [4, 6];
    this.#foreignFamily = families.includes(4) ? families.includes(6) ? 0 : 6 : 4;
    const maxEntries = config.limits?.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.#peers = new PeerTable(maxEntries);
    this.#idle = new IdleBuffer(maxEntries);
    this.#headerBytes = new Uint8Array(8);
    new DataView(this.#headerBytes.buffer).setBigUint64(0, config.header, true);
  }

  /** The number of charted instances, this one included. */
  get size(): number {
    return this.#peers.size + 1;
  }

  /** How discovery runs now, if it does. */
  get mode(): DiscoveryMode | undefined {
    return this.#mode;
  }

  /** Whether the chart has closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Our service ports, if we announce ports. */
  get ports(): readonly number[] | undefined {
    return this.#ports;
  }

  /** Our custom message. */
  get msg(): unknown {
    return this.#msg;
  }

  /** A snapshot of the counters. */
  get counters(): Counters {
    return copyCounters(this.#counters);
  }

  /**
   * Counts a failed send or receive, or a send dropped, which only the shell sees.
   *
   * @param what Which.
   */
  countError(what: "sendErrors" | "sendsDropped" | "receiveErrors"): void {
    this.#counters[what]++;
  }

  /**
   * Returns every charted instance but us.
   *
   * @returns The entries, in no particular order.
   */
  entries(): E[] {
    const entries: E[] = [];
    for (const peer of this.#peers.values()) entries.push(peer.entry);
    return entries;
  }

  /**
   * Returns one charted instance.
   *
   * @param id Its id.
   * @returns Its entry, or `undefined`.
   */
  get(id: bigint): E | undefined {
    return this.#peers.get(id)?.entry;
  }

  /**
   * Returns when an instance was last heard.
   *
   * @param id Its id.
   * @returns The time, or `undefined` when it is not charted.
   */
  lastHeard(id: bigint): number | undefined {
    return this.#peers.get(id)?.heardAt;
  }

  /**
   * How many times the core has planned a wake-up anew. While it stays the
   * same, {@linkcode deadline} is no earlier than it was (a chart that grows
   * only spaces its rounds further), so a shell that already armed a timer
   * for it need not ask again.
   */
  get replans(): number {
    return this.#replans;
  }

  /**
   * The time at which the core next wants {@linkcode timeout} called.
   *
   * @returns The time, or Infinity when nothing is due.
   */
  deadline(): number {
    if (this.#closed) return Infinity;
    if (this.#mode !== "maintain") return this.#sweepAt;
    return Math.min(this.#sweepAt, this.#nextRound(), this.#pullAt);
  }

  /**
   * Does what is due: expiry and probes, and the next announcement.
   *
   * @param now The time.
   */
  timeout(now: number): void {
    if (this.#closed) return;
    if (this.#sweepAt <= now) {
      this.#sweepAt = Infinity;
      this.#sweep(now);
      this.#scheduleSweep(now);
    }
    // Instances heard since the round was planned widen the spacing: when a
    // crowd starts together, its second round does not come at once.
    if (this.#mode !== "maintain") return;
    if (now >= this.#nextRound()) {
      this.#firstRound = false;
      this.#round(now);
    } else if (now >= this.#pullAt) this.#pullRound(now);
  }

  /**
   * The shell is in the group on every interface: from now on the chart
   * keeps what it hears while idle.
   *
   * @param now The time.
   */
  joined(now: number): void {
    this.#idle.keepFrom(now);
  }

  /**
   * A link came into use. What was sent there before did not reach us:
   * those who sent it answer the announcement that says so; and a new link
   * hears of us at once, not at the next round.
   *
   * @param now The time.
   * @param link The link.
   */
  linkUp(now: number, link: L): void {
    if (this.#mode) this.#listeningSince = now;
    else this.#idle.widened(now);
    if (this.#mode === "maintain") this.#announceOn(link, now);
  }

  /**
   * Starts discovery: announcing and answering (`"maintain"`) or only
   * listening (`"sniff"`). What was kept while idle is charted by
   * {@linkcode chartHeld}.
   *
   * @param mode How.
   * @param now The time.
   * @throws {Error} If discovery already runs.
   * @throws {TypeError} To maintain a chart that has nothing to announce.
   */
  start(mode: DiscoveryMode, now: number): void {
    if (this.#mode) throw new Error(`Cannot ${mode} the chart: it already runs ${this.#mode}`);
    if (mode === "maintain" && this.#listenOnly) {
      throw new TypeError("Cannot maintain a chart that has nothing to announce: sniff it");
    }
    this.#mode = mode;
    // Unless it turned one away, it has heard everything since it became idle.
    this.#listeningSince = Math.min(this.#idle.since, now);
    const held = this.#idle.take();
    this.#held = held.length > 0 ? held : undefined;
    if (mode === "maintain") {
      this.#startedAt = now;
      this.#round(now);
      this.#firstRound = true;
    }
  }

  /** Whether datagrams kept while idle wait to be charted. */
  get holding(): boolean {
    return this.#held !== undefined;
  }

  /**
   * Charts what was kept while idle, each as heard when it arrived.
   *
   * @param now The time.
   */
  chartHeld(now: number): void {
    const held = this.#held;
    this.#held = undefined;
    if (!held) return;
    this.#replayingAt = now;
    try {
      for (const { data, address, port, at } of held) {
        if (!this.#mode || this.#closed) return;
        if (isOutlived(at, now)) {
          this.#counters.dropped.stale++;
          continue;
        }
        this.#read(now, data, address, port, at, false, undefined);
      }
    } finally {
      this.#replayingAt = undefined;
    }
  }

  /**
   * Stops discovery; the chart keeps what it hears from now on.
   *
   * @param now The time.
   */
  stop(now: number): void {
    this.#mode = undefined;
    this.#held = undefined;
    this.#listeningSince = Infinity;
    this.#idle.keepFrom(now);
  }

  /**
   * Closes the chart: a goodbye goes out if we announced, and nothing more
   * is charted or sent.
   *
   * @param now The time.
   */
  close(now: number): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#held = undefined;
    this.#idle.clear();
    this.#sweepAt = Infinity;
    if (!this.#announced) return;
    this.#counters.goodbyes++;
    const goodbye = this.#datagram(now, false, false, true);
    if (this.#multicast) {
      for (const link of this.#out.links()) {
        this.#out.multicast(goodbye, link);
      }
    }
    this.#sendToSeeds(goodbye, this.#seeds?.destinations());
  }

  /**
   * New seed addresses were resolved: while announcing, they hear of us at
   * once, not at the next round.
   *
   * @param now The time.
   * @param added The new addresses.
   */
  seedsAdded(now: number, added: Iterable<SeedAddress>): void {
    if (this.#mode !== "maintain" || this.#closed) return;
    this.#sendToSeeds(this.#datagram(now, false, false, false), added);
  }

  /**
   * Changes our service ports and announces them at once.
   *
   * @param ports The new ports (checked by the caller).
   * @param now The time.
   */
  setPorts(ports: readonly number[], now: number): void {
    this.#ports = ports;
    this.#announceChange(now);
  }

  /**
   * Changes our custom message and announces it at once.
   *
   * @param msg The new message (checked and copied by the caller).
   * @param now The time.
   */
  setMsg(msg: unknown, now: number): void {
    this.#msg = msg;
    this.#announceChange(now);
  }

  /**
   * Replaces the shared keys.
   *
   * @param keys The keys, the one that signs first.
   * @throws {RangeError} If there is no key, or one is too short.
   */
  setKeys(keys: readonly (string | Uint8Array)[]): void {
    this.#keyring = new Keyring(keys);
  }

  /**
   * Removes an instance; if it is heard again, it is new again.
   *
   * @param id Its id.
   * @returns Whether it was charted.
   */
  forget(id: bigint): boolean {
    const peer = this.#peers.get(id);
    if (!peer) return false;
    this.#remove(id, peer, "forgotten");
    return true;
  }

  /**
   * Takes a datagram: charts it while discovery runs, keeps it while idle.
   *
   * @param now The time it is handled.
   * @param arrival The datagram and what the shell knows of it.
   */
  handle(now: number, arrival: Arrival): void {
    const counters = this.#counters;
    counters.received++;
    if (this.#foreignFamily !== 0 && familyOf(arrival.address) === this.#foreignFamily) {
      // The discovery socket hears both families; this chart uses one.
      counters.dropped.family++;
      return;
    }
    // Whatever becomes of it, its bytes pay for what may be sent back.
    this.#credit.earn(arrival, now, this.#shareOf(arrival));
    const { handedOverAt } = arrival;
    if (!this.#mode || this.#closed) {
      // Handed over in the process: the charts that sent it hand it again when this one starts.
      if (handedOverAt !== undefined || this.#closed) counters.dropped.idle++;
      else if (!this.#idle.hold(arrival.data, arrival.address, arrival.port, now)) {
        counters.dropped.idle++;
      }
      return;
    }
    // Handed over in this process: when it was sent is known exactly.
    const at = handedOverAt ?? now;
    this.#read(
      now,
      arrival.data,
      arrival.address,
      arrival.port,
      at,
      handedOverAt === undefined,
      arrival,
    );
  }

  /**
   * The part of a datagram's bytes this chart earns for its source. Every
   * chart on this host that reads the datagram's header receives it, in this
   * process and in others, and may answer it: each earns one over the charts
   * of that header it knows on the host, so that the host sends the source no
   * more than it received. A datagram from the host itself earns nothing:
   * what is sent to the host is not charged (see `#unicast`).
   */
  #shareOf(arrival: Arrival): number {
    const { data } = arrival;
    const header = this.#headerBytes;
    if (data.length < 8) return 0;
    for (let i = 0; i < 8; i++) if (data[i] !== header[i]) return 0;
    const others = this.#hostPeers;
    if (others === 0) return 1;
    return this.#out.isHostAddress(arrival.address) ? 0 : 1 / (others + 1);
  }

  /** Notes whether an instance is charted at an address of this host. */
  #noteHost(peer: Peer<E>, address: string): void {
    const onHost = this.#out.isHostAddress(address);
    if (onHost === peer.onHost) return;
    peer.onHost = onHost;
    this.#hostPeers += onHost ? 1 : -1;
  }

  /** Verifies, decodes and charts a datagram received while discovery runs. */
  #read(
    now: number,
    data: Uint8Array,
    address: string,
    port: number,
    at: number,
    live: boolean,
    arrival: Arrival | undefined,
  ): void {
    const counters = this.#counters;
    if (this.#keyring) {
      // Nothing a key does not vouch for is decoded, let alone charted.
      const failure = this.#keyring.verify(data, findSignature(data));
      if (failure) {
        counters.dropped[failure]++;
        return;
      }
    }
    const reading = this.#readingOf(data, arrival);
    const result = reading?.result ?? decodeAnnouncement(data, this.header, this.#layout);
    if (!result.ok) {
      counters.dropped[result.reason]++;
      return;
    }
    const announcement = result.announcement;
    if (announcement.id === this.id) {
      this.#heardOurId(announcement, address, now);
    } else if (announcement.goodbye) {
      this.#heardGoodbye(announcement, now);
    } else {
      const facts = this.#facts;
      facts.now = now;
      facts.address = address;
      facts.port = port;
      facts.size = data.length;
      facts.at = at;
      facts.live = live;
      facts.reading = reading;
      this.#heard(announcement, facts);
      facts.reading = undefined;
    }
  }

  /** The charts of a process that read alike decode a datagram once. */
  #readingOf(data: Uint8Array, arrival: Arrival | undefined): Reading | undefined {
    const key = this.#readKey;
    if (key === undefined || arrival === undefined) return undefined;
    const shared = arrival.reading;
    if (shared?.key === key) return shared;
    const result = decodeAnnouncement(data, this.header, this.#layout);
    return arrival.reading = { key, result, entry: undefined };
  }

  /** Our own datagrams come back to us; another incarnation with our id is a rival. */
  #heardOurId(announcement: Announcement, address: string, now: number): void {
    const { incarnation, seq } = announcement;
    if (incarnation === this.incarnation) {
      this.#counters.dropped.own++;
      return;
    }
    this.#counters.dropped.stale++;
    if (announcement.goodbye) return;
    // A bare announcement with our id can only come from another instance.
    const ttl = Math.min(MAX_TTL, announcement.ttl || this.#bareTtl);
    if (this.#rivals.heard(incarnation, seq, ttl, now)) {
      this.#out.collision(entryOf(announcement, address), true);
    }
  }

  /**
   * A goodbye removes the incarnation it names. Without keys anyone can say
   * it, so it bars only what that incarnation sent before it: all of it for
   * a moment (what is still in flight), then what was heard. With keys it is
   * the instance's own word, and bars all of its incarnation.
   */
  #heardGoodbye(announcement: Announcement, now: number): void {
    const { id, incarnation } = announcement;
    if (incarnation === undefined) {
      // No incarnation, so nothing to say whose goodbye it is.
      this.#counters.dropped["bare-goodbye"]++;
      return;
    }
    const peer = this.#peers.get(id);
    if (!peer || peer.incarnation !== incarnation) {
      // Not charted (or another incarnation): a late or replayed goodbye, or
      // a forged one that would bar an instance yet to start.
      this.#counters.dropped.stale++;
      if (!peer && this.#keyring && !this.#tombstones.has(id)) {
        this.#bury(id, incarnation, undefined, true, this.ttl, now);
      }
      return;
    }
    this.#bury(id, incarnation, peer.seq, true, peer.ttl, now);
    this.#remove(id, peer, "goodbye");
  }

  /** Charts an announcement of another instance, heard at `at`. */
  #heard(announcement: Announcement, facts: Facts): void {
    const { id, incarnation, seq } = announcement;
    const { now, address, port, at, live, reading } = facts;
    const counters = this.#counters;
    const ttl = Math.min(MAX_TTL, announcement.ttl || this.#bareTtl);
    const replayingAt = this.#replayingAt;
    if (replayingAt !== undefined && at + ttl <= replayingAt) {
      // Kept while idle for longer than it lives: its sender may be long gone.
      counters.dropped.stale++;
      return;
    }
    if (this.#tombstones.refuses(id, incarnation, seq, at)) {
      counters.dropped.stale++;
      return;
    }
    let peer = this.#peers.get(id);
    if (replayingAt !== undefined && peer && at < peer.heardAt) {
      // Kept while idle, and charted since from a later datagram.
      counters.dropped.stale++;
      return;
    }
    let superseded: Peer<E>["superseded"];
    if (peer && incarnation !== undefined && peer.incarnation !== undefined) {
      if (incarnation !== peer.incarnation) {
        const newer = incarnation > peer.incarnation && !this.#untrusted(incarnation, at);
        if (!newer && !this.#heardRival(peer, announcement, address)) return;
        // A restart, a rival that a later word from the older one reveals, or
        // a rival taking the id back from a charted one gone silent.
        superseded = { incarnation: peer.incarnation, seq: peer.seq, reported: false, inARow: 0 };
      } else if (seq !== undefined && peer.seq !== undefined && !seqAfter(seq, peer.seq)) {
        // Of the same round, over another family or link: its address is alive.
        const behind = (peer.seq - seq) >>> 0;
        if (live && behind > 0 && behind < PATH_WINDOW) {
          const path = peer.paths.find((known) => known.address === address);
          if (path) path.heardAt = Math.max(path.heardAt, at);
        }
        counters.dropped.stale++;
        return;
      } else if (peer.superseded) {
        // The charted incarnation spoke: the other's words are no longer in a row.
        peer.superseded.inARow = 0;
      }
    }

    const isNew = peer === undefined;
    if (isNew && this.#peers.full) {
      const evicted = this.#peers.evict(now);
      if (!evicted) {
        counters.dropped.full++;
        return;
      }
      counters.evicted++;
      if (evicted.onHost) this.#hostPeers--;
      this.#out.removed(evicted.entry, "evicted", evicted.heardAt);
    }
    // Answer before telling subscribers, so that a caller that closes the
    // chart on the news does not swallow the answer.
    const maintaining = this.#mode === "maintain";
    // A newcomer whose answer could not go (the charts of a process share one
    // credit, which its first datagram may not cover for all of them) hears
    // our next round now, as a lost answer would be made up for by the next
    // round, or once a second since the last one brought forward is over;
    // and is answered at its next datagram, unless that one says it heard us.
    let owed = false;
    const asked = asksUs(announcement, this.id);
    if (
      wantsAnswer(
        announcement,
        asked,
        maintaining,
        isNew || peer!.answerOwed,
        live,
        // Off the link, only seeds hear our rounds.
        heardUs(announcement.listening, this.#lastAnnounced, at, this.#firstRound) &&
          this.#hearsRounds(address),
      )
    ) {
      owed = !this.#answer(announcement, facts) && !asked;
      if (owed) {
        const roundAt = owedRoundAt(
          this.#out.onSubnet(address),
          this.#lastPulled,
          this.#nextRound(),
          now,
        );
        if (roundAt === now) {
          this.#pullRound(now);
          owed = false;
        } else if (roundAt < this.#pullAt) {
          // It hears that round, or is answered at its next datagram if that comes first.
          this.#pullAt = roundAt;
          this.#replans++;
        }
      }
    }

    // Heard on another path while the known one is alive: the address stays steady.
    // Another run (a restart, or a rival that took the id) is heard afresh.
    let paths: Path[];
    if (peer && !superseded) {
      paths = peer.paths;
      notePath(paths, address, port, at, ttl);
    } else {
      // Sized to its one path: an array grown by push holds room for 17.
      paths = [{ address, port, heardAt: at }];
    }
    const kept = superseded ? undefined : peer?.entry;
    const chartedAt = chartedPath(paths, kept?.address, address, at, ttl);
    const charted = chartedAt.address;
    const addresses = addressesOf(paths, charted, kept?.addresses);
    const previous = peer?.entry;
    // Most datagrams repeat what is charted: no new entry for those.
    const entry = previous?.address === charted && sameAddresses(previous.addresses, addresses) &&
        announcesSame(previous, announcement)
      ? previous
      : this.#entryOf(announcement, charted, addresses, reading);
    // Every field from the start: one object shape for every peer.
    peer ??= {
      entry,
      incarnation,
      seq,
      ttl,
      heardAt: at,
      paths,
      port,
      probes: 0,
      confirmed: false,
      probeHeld: false,
      asked: 0,
      answerOwed: false,
      superseded: undefined,
      onHost: false,
    };
    if (!isNew) peer.confirmed = true;
    peer.incarnation = incarnation;
    peer.seq = seq;
    peer.ttl = ttl;
    peer.heardAt = at;
    peer.probes = 0;
    peer.probeHeld = false;
    peer.asked = 0;
    peer.answerOwed = owed;
    peer.paths = paths;
    peer.port = chartedAt.port;
    if (superseded) peer.superseded = superseded;
    if (isNew) this.#peers.add(id, peer);
    if (entry !== previous) this.#noteHost(peer, charted);
    this.#scheduleSweep(now, peer);
    if (isNew) {
      this.#out.added(entry);
    } else if (entry !== previous) {
      peer.entry = entry;
      this.#out.updated(entry, previous!);
    }
  }

  /** The entry of an announcement; the charts that read it alike share it. */
  #entryOf(
    announcement: Announcement,
    address: string,
    addresses: readonly string[] | undefined,
    reading: Reading | undefined,
  ): E {
    // Only an entry of one address is shared: the others are this chart's view.
    if (addresses) return entryOf<E>(announcement, address, addresses);
    const shared = reading?.entry as E | undefined;
    if (shared?.address === address && shared.addresses === undefined) return shared;
    const entry = entryOf<E>(announcement, address);
    if (reading) reading.entry = entry;
    return entry;
  }

  /**
   * Answers a newcomer or a probe: never with more bytes than it sent (a bare
   * Rust announcement gets a bare one back), only on a connected subnet, and
   * within the rate limits and its source's credit.
   *
   * @returns Whether it went.
   */
  #answer(announcement: Announcement, facts: Facts): boolean {
    const { address, port } = facts;
    const answer = answersBare(announcement, this.#ports !== undefined, this.#keyring !== undefined)
      ? encodeAnnouncement({ header: this.header, id: this.id, ports: this.#ports, reply: false })
      : this.#datagram(facts.now, true, false, false);
    if (
      !mayAnswer(answer.length, facts.size, this.#reaches(address)) ||
      this.#unicast(answer, address, port, facts.now, this.#limiter) !== "sent"
    ) {
      this.#counters.repliesSuppressed++;
      return false;
    }
    this.#counters.replies++;
    return true;
  }

  /**
   * Sends a datagram to a source within a limiter's rates and the source's
   * credit: whatever asked for it, what goes to an address is paid for by
   * what came from there. An address of this host is not charged: a source
   * there is not forged from afar (the kernel drops a datagram that claims a
   * host address from outside), and what goes there stays on the host, so
   * every chart of a process may answer a newcomer on the host by unicast.
   *
   * @returns `"sent"`, `"no-credit"`, or `"held"` by the limiter or the shell.
   */
  #unicast(
    data: Uint8Array,
    address: string,
    port: number,
    now: number,
    limiter: ReplyLimiter,
  ): "sent" | "no-credit" | "held" {
    const credit = this.#credit;
    const charged = !this.#out.isHostAddress(address);
    // The credit first: a source without it takes no token from the limiter.
    if (charged && !credit.covers(address, data.length, now)) return "no-credit";
    if (!limiter.allow(address, now) || !this.#out.unicast(data, address, port)) return "held";
    if (charged) credit.spend(address, data.length);
    return "sent";
  }

  /**
   * An incarnation that may not replace the charted one: an older one (a
   * stray datagram, a replay or a rival) or, without keys, one that claims
   * to start in the future.
   *
   * @returns `true` when it takes the id: without keys, a rival that spoke
   * three times in a row while the charted incarnation was silent.
   */
  #heardRival(peer: Peer<E>, announcement: Announcement, address: string): boolean {
    const { incarnation, seq } = announcement;
    const superseded = peer.superseded;
    const known = superseded !== undefined && superseded.incarnation === incarnation;
    if (this.#keyring) {
      // Signed incarnations are trusted, so an older one is a replay: unless
      // it is the one this chart saw replaced, speaking anew, then two key
      // holders announce one id.
      this.#counters.dropped.stale++;
      if (known && rivalSpoke(superseded, seq)) {
        this.#out.collision(entryOf(announcement, address), false);
      }
      return false;
    }
    // Without keys anyone can claim a newer incarnation: what is silent loses to what speaks.
    const word = known ? contenderSpoke(superseded, seq) : "heard";
    if (word === "takes") return true;
    this.#counters.dropped.stale++;
    if (!known) peer.superseded = { incarnation: incarnation!, seq, reported: false, inARow: 1 };
    if (word === "collision") this.#out.collision(entryOf(announcement, address), false);
    return false;
  }

  /** Without keys, an incarnation that starts in the future is not trusted to be newer. */
  #untrusted(incarnation: bigint, at: number): boolean {
    return this.#keyring === undefined && isFromFuture(incarnation, at + this.#wallOffset);
  }

  #remove(id: bigint, peer: Peer<E>, reason: RemoveReason): void {
    this.#peers.delete(id);
    if (peer.onHost) this.#hostPeers--;
    // The table's list of newcomers may hold it a while yet: not its addresses.
    peer.paths = [];
    this.#out.removed(peer.entry, reason, peer.heardAt);
  }

  /** Remembers a departed incarnation, so that its late or replayed datagrams stay out. */
  #bury(
    id: bigint,
    incarnation: bigint,
    seq: number | undefined,
    final: boolean,
    ttl: number,
    now: number,
  ): void {
    // A tombstone of a future incarnation would keep every real restart out.
    if (this.#untrusted(incarnation, now)) return;
    const signed = this.#keyring !== undefined;
    const until = now + tombstoneTime(ttl, signed);
    const finalUntil = signed ? until : now + IN_FLIGHT_TIME;
    this.#tombstones.bury(id, incarnation, seq, final, until, finalUntil);
  }

  /** Plans the next sweep, or brings the planned one forward for a peer just heard. */
  #scheduleSweep(now: number, heard?: Peer<E>): void {
    if (!this.#expires) return;
    if (this.#sweepAt !== Infinity) {
      // Planned without this word: a newcomer, or a shorter ttl, may need it sooner.
      if (heard) {
        const due = now + sweepDelay(heard.ttl, heard.heardAt + heard.ttl, now);
        if (due < this.#sweepAt) {
          this.#sweepAt = due;
          this.#replans++;
        }
      }
      return;
    }
    let shortest = Infinity;
    let firstExpiry = Infinity;
    for (const peer of this.#peers.values()) {
      shortest = Math.min(shortest, peer.ttl);
      firstExpiry = Math.min(firstExpiry, peer.heardAt + peer.ttl);
    }
    if (shortest === Infinity) return;
    this.#sweepAt = now + sweepDelay(shortest, firstExpiry, now);
    this.#replans++;
  }

  /** Removes instances quiet past their time-to-live; probes those going quiet. */
  #sweep(now: number): void {
    const quiet: Array<Peer<E>> = [];
    const probing = this.#mode === "maintain";
    for (const [id, peer] of this.#peers) {
      if (isExpired(peer, now)) {
        if (peer.incarnation !== undefined) {
          this.#bury(id, peer.incarnation, peer.seq, false, peer.ttl, now);
        }
        this.#remove(id, peer, "expired");
      } else if (probing && peer.incarnation !== undefined && isProbeDue(peer, now)) {
        quiet.push(peer);
      }
    }
    if (quiet.length === 0) return;
    // Lost announcements should not make a live instance flap: ask it. What
    // the limits and credits let through goes to those asked least, then the
    // quietest, so that no quiet peer waits for others' later probes; what
    // they hold back stays due for the next sweep. One the credit holds back
    // (it sent us too little) is named in our next round, which it answers.
    quiet.sort((a, b) => a.probes - b.probes || a.heardAt - b.heardAt);
    // One probe for all: the same words, and one signature.
    const probe = this.#datagram(now, false, true, false);
    const starved: Peer<E>[] = [];
    for (const peer of quiet) {
      const { address } = peer.entry;
      const sent = this.#reaches(address)
        ? this.#unicast(probe, address, peer.port, now, this.#probeLimiter)
        : "held";
      if (sent === "sent") {
        peer.probes++;
        peer.probeHeld = false;
        this.#counters.probes++;
        continue;
      }
      if (!peer.probeHeld) {
        peer.probeHeld = true;
        this.#counters.probesSuppressed++;
      }
      if (sent === "no-credit") starved.push(peer);
    }
    starved.sort((a, b) => a.asked - b.asked || a.heardAt - b.heardAt);
    if (starved.length > MAX_ASKS) starved.length = MAX_ASKS;
    this.#asks = starved;
  }

  /**
   * When the next round of announcements is due; worked out again only when
   * the chart's size or the last round changed, since the shell asks after
   * every datagram.
   */
  #nextRound(): number {
    const size = this.size;
    if (size !== this.#roundFor) {
      const elapsed = this.#lastAnnounced - this.#startedAt;
      this.#roundAt = this.#lastAnnounced +
        roundInterval(this.#rampdown, size, elapsed, this.#jitter);
      this.#roundFor = size;
    }
    return this.#roundAt;
  }

  /** Brings the next round forward, to newcomers whose answers were held back. */
  #pullRound(now: number): void {
    this.#lastPulled = now;
    this.#counters.multicastAnswers++;
    this.#round(now);
  }

  /**
   * Announces on every link and to every seed, asking the quiet peers the
   * credit did not let us probe to answer, and draws the next round's jitter.
   */
  #round(now: number): void {
    // Whoever was owed a round brought forward hears this one.
    this.#pullAt = Infinity;
    this.#announced = true;
    this.#announceAll(now, this.#asking(now));
    this.#jitter = this.#random();
    this.#roundFor = -1;
    this.#replans++;
  }

  /**
   * Those of the peers the credit did not let us probe that are still quiet
   * and unprobed, as many as fit beside our data; counted as asked.
   */
  #asking(now: number): bigint[] | undefined {
    if (this.#asks.length === 0) return undefined;
    const fit = asksThatFit(this.#fields(now, false, false, false));
    const asks: bigint[] = [];
    for (const peer of this.#asks) {
      // Heard, probed or gone since the sweep: not to be asked.
      if (asks.length === fit) break;
      if (!peer.probeHeld || this.#peers.get(peer.entry.id) !== peer) continue;
      peer.asked++;
      asks.push(peer.entry.id);
    }
    this.#asks = [];
    this.#counters.probesAsked += asks.length;
    return asks;
  }

  #announceOn(link: L, now: number, asks?: readonly bigint[]): void {
    this.#lastAnnounced = now;
    this.#roundFor = -1;
    this.#replans++;
    if (!this.#multicast) return;
    this.#counters.announcements++;
    this.#out.multicast(this.#datagram(now, false, false, false, asks), link);
  }

  #announceChange(now: number): void {
    if (this.#mode !== "maintain") return;
    this.#announceAll(now);
  }

  #announceAll(now: number, asks?: readonly bigint[]): void {
    for (const link of this.#out.links()) this.#announceOn(link, now, asks);
    const seeds = this.#seeds;
    if (seeds && seeds.size > 0) {
      this.#lastAnnounced = now;
      this.#sendToSeeds(this.#datagram(now, false, false, false, asks), seeds.destinations());
    }
  }

  /**
   * Unicasts an announcement or a goodbye to seeds: outside the credit and
   * the answer limits, since the user named them; one datagram each time.
   */
  #sendToSeeds(data: Uint8Array, seeds: Iterable<SeedAddress> | undefined): void {
    if (!seeds) return;
    for (const { address, port } of seeds) {
      if (this.#out.unicast(data, address, port)) this.#counters.seedAnnouncements++;
    }
  }

  /**
   * Whether answers and probes may go to an address: on a connected subnet
   * (the on-link rule, against reflection); a seed's, which the user named;
   * or, with keys, any whose datagrams a key vouched for. Without keys an
   * off-link source that is no seed is charted, not answered: a forged
   * multicast from it would make every chart on the link answer it.
   */
  #reaches(address: string): boolean {
    return this.#out.onSubnet(address) || this.#seeds?.has(address) === true ||
      this.#keyring !== undefined;
  }

  /** Whether an address hears our rounds: on a connected subnet, or a seed's. */
  #hearsRounds(address: string): boolean {
    return (this.#multicast && this.#out.onSubnet(address)) || this.#seeds?.has(address) === true;
  }

  /** Our announcement, with the next sequence number. */
  #datagram(
    now: number,
    reply: boolean,
    probe: boolean,
    goodbye: boolean,
    asks?: readonly bigint[],
  ): Uint8Array {
    const fields = this.#fields(now, reply, probe, goodbye);
    this.#seq = fields.seq!;
    if (asks !== undefined && asks.length > 0) fields.asks = asks;
    const datagram = encodeAnnouncement(fields);
    this.#keyring?.sign(datagram);
    return datagram;
  }

  /** The fields of our next datagram, which is to have the next sequence number. */
  #fields(now: number, reply: boolean, probe: boolean, goodbye: boolean): Announcement {
    return {
      header: this.header,
      id: this.id,
      ports: this.#ports,
      msg: this.#msg,
      reply,
      probe,
      goodbye,
      ttl: this.ttl,
      incarnation: this.incarnation,
      seq: (this.#seq + 1) >>> 0,
      listening: listeningFor(this.#listeningSince, now),
      signerId: this.#keyring?.signerId,
    };
  }
}
