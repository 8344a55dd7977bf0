/**
 * The shell around a chart's protocol core: it reads the clock, feeds the
 * core the datagrams its links receive, sends what the core wants sent,
 * arms one timer at the core's deadline, and hands the core's events to the
 * chart's subscribers.
 *
 * @module
 */

import type { ChartEvent, Entry, RemoveReason } from "./core/entry.ts";
import type { AddressFamily, InterfaceOptions } from "./io/interfaces.ts";
import { type DiscoveryMode, type Outbox, Protocol, type ProtocolConfig } from "./core/protocol.ts";
import { DEFAULT_MAX_ENTRIES } from "./core/peers.ts";
import { DiscoveryError } from "./errors.ts";
import type { EventQueue } from "./events.ts";
import { type Link, Links } from "./io/links.ts";
import { type Delivery, processCredit } from "./io/process_bus.ts";
import type { TransportKind } from "./io/transport.ts";
import { resolveTransport } from "./io/transports.ts";
import { newIncarnation } from "./clock.ts";
import { type Cancel, processTimer, socketTimer, type Timer } from "./io/timer.ts";
import { SeedSet } from "./core/seeds.ts";
import { type NameServer, type Seed, SeedResolver } from "./io/seeds.ts";

/** What a chart is built from; made by the {@linkcode ChartBuilder}. */
export interface ChartConfig extends Omit<ProtocolConfig, "incarnation" | "random" | "seeds"> {
  /** The discovery port. */
  discoveryPort: number;
  /** Whether instances on this machine share the discovery port. */
  localDiscovery: boolean;
  /** The socket API. */
  transport: TransportKind;
  /** Which interfaces to use. */
  interfaces?: InterfaceOptions;
  /** Which address families; both by default. */
  family?: AddressFamily;
  /** Called with send and receive errors, interfaces not set up, seeds unresolved or silent. */
  onError?: (error: Error) => void;
  /** Where to announce by unicast, besides the group. */
  seeds?: readonly Seed[];
  /** The name server that resolves the seeds; the system's resolver when absent. */
  nameServer?: NameServer;
}

/**
 * How long close waits for the goodbye to go out, at most, in ms: a send the
 * kernel holds up must not hold up close.
 */
const GOODBYE_GRACE = 100;

/** A send the core asked for, made once the core's call has returned. */
interface Transmit {
  /** The link to send from; none for an address on no connected subnet. */
  link: Link | undefined;
  data: Uint8Array;
  /** The address to send to; none for the multicast group. */
  hostname: string | undefined;
  port: number;
}

/**
 * Runs one chart's core over real sockets and real time.
 *
 * @typeParam E The entries.
 */
export class Driver<E extends Entry> implements Outbox<E, Link> {
  /** The protocol state. */
  readonly core: Protocol<E, Link>;
  /** The discovery port. */
  readonly discoveryPort: number;
  readonly #config: ChartConfig;
  #links: Links | undefined;
  readonly #subscribers = new Set<EventQueue<ChartEvent<E>>>();
  readonly #watchers = new Set<() => void>();
  /** The multicasts under way, and the goodbyes to seeds: close waits for the goodbyes. */
  readonly #sending = new Set<Promise<void>>();
  /** Set once close stops waiting: what is still under way fails as its socket closes. */
  #abandoned = false;
  /** What the core asked to send during the call under way. */
  #outgoing: Transmit[] = [];
  #cancelTimer: Cancel | undefined;
  /** The timer for the transport in use. */
  #timer: Timer = processTimer;
  /** The time the timer is armed for, Infinity when it is not. */
  #armedFor = Infinity;
  /** The core's count of plans when the timer was last looked at. */
  #replans = -1;
  #stopDiscovery: (() => void) | undefined;
  #closing: Promise<void> | undefined;
  /** While the core says goodbye: unicasts are waited for too. */
  #sayingGoodbye = false;
  /** What the seeds resolve to, when there are seeds. */
  readonly #seeds: SeedSet | undefined;
  #resolver: SeedResolver | undefined;

  private constructor(config: ChartConfig) {
    this.#config = config;
    this.discoveryPort = config.discoveryPort;
    const { family = "both" } = config;
    const families: Array<4 | 6> = family === "both" ? [4, 6] : family === "ipv4" ? [4] : [6];
    if (config.seeds && config.seeds.length > 0) {
      this.#seeds = new SeedSet(config.discoveryPort, families);
    }
    this.core = new Protocol<E, Link>(
      {
        ...config,
        families,
        seeds: this.#seeds,
        incarnation: newIncarnation(),
        random: Math.random,
        credit: processCredit,
      },
      performance.now(),
      this,
    );
  }

  /**
   * Binds the discovery port and opens the chart's links.
   *
   * @param config What to build.
   * @returns The driver.
   * @throws {DiscoveryError} If the discovery port cannot be bound.
   */
  static async open<E extends Entry>(config: ChartConfig): Promise<Driver<E>> {
    const driver = new Driver<E>(config);
    await driver.#open();
    return driver;
  }

  /** The most instances the chart can hold, this one included. */
  get capacity(): number {
    return (this.#config.limits?.maxEntries ?? DEFAULT_MAX_ENTRIES) + 1;
  }

  /** Whether the chart is closed. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Subscribes an event queue until it ends.
   *
   * @param queue The queue.
   */
  subscribe(queue: EventQueue<ChartEvent<E>>): void {
    this.#subscribers.add(queue);
  }

  /**
   * Unsubscribes an event queue.
   *
   * @param queue The queue.
   */
  unsubscribe(queue: EventQueue<ChartEvent<E>>): void {
    this.#subscribers.delete(queue);
  }

  /**
   * Calls `onChange` whenever an instance is added, and when the chart closes.
   *
   * @param onChange What to call.
   * @returns A function that stops the calls.
   */
  watch(onChange: () => void): () => void {
    this.#watchers.add(onChange);
    return () => this.#watchers.delete(onChange);
  }

  /**
   * Runs a call into the core with the time now, then sends what it asked
   * for and re-arms the timer.
   *
   * @param call The call.
   * @returns What the call returned.
   */
  act<T>(call: (core: Protocol<E, Link>, now: number) => T): T {
    try {
      return call(this.core, performance.now());
    } finally {
      this.#settle();
    }
  }

  /**
   * Runs discovery until the chart closes or the signal aborts.
   *
   * @param mode Whether to announce or only listen.
   * @param signal Stops discovery when aborted.
   * @returns A promise that resolves when discovery stops.
   * @throws {Error} If discovery already runs, synchronously: a second call
   *   is seldom awaited, and its rejection would go unhandled.
   * @throws {TypeError} To maintain a chart that has nothing to announce.
   */
  run(mode: DiscoveryMode, signal?: AbortSignal): Promise<void> {
    if (this.closed || signal?.aborted) return Promise.resolve();
    this.act((core, now) => core.start(mode, now));
    return this.#discover(signal);
  }

  /** Runs discovery, started, until the chart closes or the signal aborts. */
  async #discover(signal?: AbortSignal): Promise<void> {
    // What the charts of this process announced before this one listened.
    this.#links!.replay();
    // After this call, like the hand-overs: a caller that subscribes next sees it all.
    if (this.core.holding) setImmediate(() => this.act((core, now) => core.chartHeld(now)));
    const stopped = new Promise<void>((resolve) => this.#stopDiscovery = resolve);
    const onAbort = () => this.#stopDiscovery?.();
    signal?.addEventListener("abort", onAbort, { once: true });
    await stopped;
    signal?.removeEventListener("abort", onAbort);
    this.#stopDiscovery = undefined;
    this.act((core, now) => core.stop(now));
    // A chart that no longer announces is not handed to charts that start later.
    this.#links?.withdraw();
  }

  /**
   * Closes the chart: discovery stops, the goodbye goes out (waited for
   * 100 ms at most), the sockets close whatever is still under way, and
   * every event iterator ends. Idempotent.
   *
   * @returns A promise that resolves once everything is closed.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#stopDiscovery?.();
      this.#resolver?.close();
      this.#sayingGoodbye = true;
      this.act((core, now) => core.close(now));
      this.#sayingGoodbye = false;
      this.#cancelTimer?.();
      await settledWithin([...this.#sending], GOODBYE_GRACE, this.#timer);
      this.#abandoned = true;
      for (const queue of [...this.#subscribers]) queue.end();
      for (const watcher of [...this.#watchers]) watcher();
      await this.#links?.close();
    })();
    return this.#closing;
  }

  // The outbox: the core's calls.

  /** @returns The links in use. */
  links(): Link[] {
    return this.#links?.all ?? [];
  }

  /**
   * @param data The datagram.
   * @param link The link to multicast on.
   */
  multicast(data: Uint8Array, link: Link): void {
    this.#outgoing.push({ link, data, hostname: undefined, port: this.discoveryPort });
  }

  /**
   * @param address An address.
   * @returns Whether it is on the subnet of a link.
   */
  onSubnet(address: string): boolean {
    return this.#links?.linkFor(address) !== undefined;
  }

  /**
   * @param address An address.
   * @returns Whether it is this host's.
   */
  isHostAddress(address: string): boolean {
    return this.#links?.isHostAddress(address) ?? false;
  }

  /**
   * @param data The datagram.
   * @param address Where to.
   * @param port The port there.
   * @returns Whether a link reaches the address.
   */
  unicast(data: Uint8Array, address: string, port: number): boolean {
    if (!this.#links) return false;
    // On no connected subnet (the core allows that for seeds, and with keys): routed.
    const link = this.#links.linkFor(address);
    this.#outgoing.push({ link, data, hostname: address, port });
    return true;
  }

  /** @param entry The new entry. */
  added(entry: E): void {
    // An instance no seed named reached us from off the link: DNS may know it by now.
    if (this.#resolver && !this.#seeds!.has(entry.address) && !this.onSubnet(entry.address)) {
      this.#resolver.resolveSoon();
    }
    if (this.#subscribers.size > 0) this.#emit({ type: "added", entry });
    for (const watcher of this.#watchers) watcher();
  }

  /**
   * @param entry The entry now.
   * @param previous The entry before.
   */
  updated(entry: E, previous: E): void {
    if (this.#subscribers.size > 0) this.#emit({ type: "updated", entry, previous });
  }

  /**
   * @param entry The entry that left.
   * @param reason Why.
   * @param lastHeard When it was last heard.
   */
  removed(entry: E, reason: RemoveReason, lastHeard: number): void {
    if (this.#subscribers.size > 0) this.#emit({ type: "removed", entry, reason, lastHeard });
  }

  /**
   * @param entry The other instance.
   * @param withUs Whether it has our id.
   */
  collision(entry: E, withUs: boolean): void {
    if (this.#subscribers.size > 0) this.#emit({ type: "collision", entry, withUs });
  }

  #emit(event: ChartEvent<E>): void {
    for (const queue of this.#subscribers) queue.push(event);
  }

  async #open(): Promise<void> {
    const { discoveryPort, localDiscovery, transport, interfaces = {}, family = "both" } =
      this.#config;
    const loopbackOnly = interfaces.loopbackOnly === true;
    try {
      const resolved = resolveTransport(transport);
      // The built-in transports' sockets keep the process alive; a transport of the user's own may not.
      this.#timer = typeof transport === "object" ? processTimer : socketTimer;
      this.#links = await Links.open({
        discoveryPort,
        reuseAddress: localDiscovery || loopbackOnly,
        transport: resolved,
        timer: this.#timer,
        // A transport of the user's own sees every datagram, to simulate the network.
        handOver: typeof transport !== "object",
        interfaces,
        family,
        localDiscovery: localDiscovery || loopbackOnly,
        onDatagram: (arrival) => this.#receive(arrival),
        onReceiveError: (error) => {
          this.core.countError("receiveErrors");
          this.#config.onError?.(error);
        },
        // An interface or a group it could not set up is reported, not counted as a receive.
        onError: (error) => this.#config.onError?.(error),
        onLinkUp: (link) => this.act((core, now) => core.linkUp(now, link)),
      });
    } catch (error) {
      throw bindError(
        discoveryPort,
        localDiscovery || loopbackOnly,
        error as Error & { code?: string },
      );
    }
    // In the group on every interface: from now on it hears all that is sent there.
    this.core.joined(performance.now());
    const { seeds, nameServer, onError } = this.#config;
    if (this.#seeds && seeds) {
      this.#resolver = SeedResolver.start({
        seeds,
        discoveryPort,
        set: this.#seeds,
        nameServer,
        // Peers expire us after our ttl: a seed silent for as long is worth a word.
        silentAfter: this.core.ttl,
        onAdded: (added) => this.act((core, now) => core.seedsAdded(now, added)),
        onError: (error) => onError?.(error),
      });
    }
    if (this.#links.all.length === 0 && !this.#seeds) {
      this.#config.onError?.(
        new DiscoveryError(
          "No interface to discover on: none is up and multicast-capable" +
            (localDiscovery ? "" : "; enable localDiscovery(true) to use loopback"),
        ),
      );
    }
  }

  #receive(delivery: Delivery): void {
    // Stamped by the socket layer once for every chart it goes to: the clock is read once.
    this.#seeds?.heard(delivery.address, delivery.receivedAt);
    this.core.handle(delivery.receivedAt, delivery);
    this.#settle();
  }

  /** Sends what the core asked for, and arms the timer for its deadline. */
  #settle(): void {
    if (this.#outgoing.length > 0) {
      const outgoing = this.#outgoing;
      this.#outgoing = [];
      for (const transmit of outgoing) this.#send(transmit);
    }
    // Nothing planned anew: the deadline is no earlier than the one armed for.
    const replans = this.core.replans;
    if (replans === this.#replans) return;
    this.#replans = replans;
    const deadline = this.core.deadline();
    if (deadline >= this.#armedFor) return;
    // Only an earlier deadline re-arms: a later one is found when the timer fires.
    this.#cancelTimer?.();
    this.#armedFor = deadline;
    this.#cancelTimer = this.#timer(Math.ceil(deadline - performance.now()), () => {
      this.#cancelTimer = undefined;
      this.#armedFor = Infinity;
      // Unarmed now: the next look must arm for whatever is due.
      this.#replans = -1;
      this.act((core, now) => core.timeout(now));
    });
  }

  /**
   * Sends a datagram on a link; failures are counted and reported, never
   * thrown. A unicast the links drop, too many being in flight, is counted.
   */
  #send({ link, data, hostname, port }: Transmit): void {
    const links = this.#links!;
    const sent = hostname === undefined
      ? links.multicast(link!, data)
      : links.unicast(link, data, hostname, port);
    if (!sent) {
      this.core.countError("sendsDropped");
      return;
    }
    const reported = sent.catch((error: Error) => {
      if (this.#abandoned) return;
      this.core.countError("sendErrors");
      this.#config.onError?.(error);
    });
    if (hostname !== undefined && !this.#sayingGoodbye) return;
    const awaited = reported.finally(() => this.#sending.delete(awaited));
    this.#sending.add(awaited);
  }
}

/** Waits until the promises settle, or `ms` have passed. */
async function settledWithin(
  promises: Promise<unknown>[],
  ms: number,
  timer: Timer,
): Promise<void> {
  if (promises.length === 0) return;
  let cancel: Cancel | undefined;
  const timeout = new Promise<void>((resolve) => cancel = timer(ms, resolve));
  try {
    await Promise.race([Promise.allSettled(promises), timeout]);
  } finally {
    cancel!();
  }
}

/**
 * Why the discovery port could not be bound, and what to do, for what the
 * chart asked: a shared port is held by a program that does not share it;
 * an unshared one may be held by an instance that would share it.
 */
function bindError(
  port: number,
  shared: boolean,
  error: Error & { code?: string },
): DiscoveryError {
  const reason = error.code === "EADDRINUSE"
    ? shared
      ? "address in use by a program that does not share it (not this module with local " +
        "discovery: a Rust instance, say, or another program); choose another port with " +
        "withDiscoveryPort()"
      : "address in use; enable localDiscovery(true) to share it with other instances on this " +
        "machine, or choose another port with withDiscoveryPort()"
    : error.code === "EACCES"
    ? "permission denied; choose another port with withDiscoveryPort()"
    : error.message;
  return new DiscoveryError(`Cannot bind discovery port ${port}: ${reason}`, { cause: error });
}
