/**
 * The chart: who is out there, at which address, with which service data.
 *
 * @module
 */

import { DiscoveryError } from "./errors.ts";
import { DEFAULT_EVENT_BUFFER, EventQueue } from "./events.ts";
import { nextInterval, type Rampdown } from "./interval.ts";
import { openSocket, type TransportKind, type UdpSocket } from "./transport.ts";
import {
  type Announcement,
  decodeAnnouncement,
  DROP_REASONS,
  type DropReason,
  encodeAnnouncement,
  isUint64,
  type Layout,
  MULTICAST_GROUP,
} from "./wire.ts";

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

/** Why an instance left the chart. */
export type RemoveReason = "forgotten";

/** A change to the chart. */
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

/** What a chart has received, sent and dropped since it was built. */
export interface Counters {
  /** Datagrams received on the discovery and the reply socket. */
  received: number;
  /** Datagrams dropped, by reason. `own` are our own announcements heard back; `idle` arrived while neither maintain nor sniff ran. */
  dropped: Record<DropReason | "own" | "idle", number>;
  /** Multicast announcements sent. */
  announcements: number;
  /** Unicast replies sent to newcomers. */
  replies: number;
  /** Sends that failed. */
  sendErrors: number;
  /** Receives that failed. */
  receiveErrors: number;
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
  /** Called with send and receive errors. */
  onError?: (error: Error) => void;
}

/** The ways discovery runs on a chart. */
export type DiscoveryMode = "maintain" | "sniff";

let openChartImpl: (config: ChartConfig) => Promise<Chart<Entry>>;
let runImpl: (chart: Chart<Entry>, mode: DiscoveryMode, signal?: AbortSignal) => Promise<void>;

/**
 * Opens a chart's sockets; used by {@linkcode ChartBuilder.prototype.finish}.
 *
 * @param config What to build.
 * @returns The chart.
 * @throws {DiscoveryError} If the discovery port cannot be bound or the group joined.
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
 * Converts an id given as a bigint or a safe integer to a bigint.
 *
 * @param id The id.
 * @returns The id as a bigint.
 * @throws {TypeError} If the id is neither a bigint nor an integer number.
 * @throws {RangeError} If the id is not an unsigned 64-bit integer, or a number
 *   beyond `Number.MAX_SAFE_INTEGER`.
 */
export function toId(id: bigint | number): bigint {
  if (typeof id === "number") {
    if (!Number.isInteger(id)) throw new TypeError(`Cannot use id ${id}: not an integer`);
    if (!Number.isSafeInteger(id)) {
      throw new RangeError(`Cannot use id ${id}: beyond Number.MAX_SAFE_INTEGER, pass a bigint`);
    }
    id = BigInt(id);
  }
  if (typeof id !== "bigint") throw new TypeError(`Cannot use id ${id}: not a bigint or number`);
  if (!isUint64(id)) throw new RangeError(`Cannot use id ${id}: not an unsigned 64-bit integer`);
  return id;
}

function newCounters(): Counters {
  const dropped = { own: 0, idle: 0 } as Record<DropReason | "own" | "idle", number>;
  for (const reason of DROP_REASONS) dropped[reason] = 0;
  return { received: 0, dropped, announcements: 0, replies: 0, sendErrors: 0, receiveErrors: 0 };
}

function sameData(a: Entry, b: Entry): boolean {
  if ("ports" in a && "ports" in b) {
    return a.ports.length === b.ports.length && a.ports.every((port, i) => port === b.ports[i]);
  }
  return JSON.stringify((a as MsgEntry).msg) === JSON.stringify((b as MsgEntry).msg);
}

function freezeEntry<E extends Entry>(entry: E): E {
  if ("ports" in entry) Object.freeze(entry.ports);
  return Object.freeze(entry);
}

/**
 * The chart of discovered instances, built by {@linkcode ChartBuilder}.
 *
 * It is filled while {@linkcode maintain} or {@linkcode sniff} runs on it. An
 * instance in the chart was heard at some point; that is no proof it is still
 * up. Close the chart (or let `await using` close it) to free its sockets.
 *
 * @typeParam E The entries: {@linkcode PortEntry} or {@linkcode MsgEntry}.
 *
 * @example Find the peers of a service
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
 *   if (event.type === "added") console.log("found", event.entry.id, event.entry.address);
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

  #config: ChartConfig;
  #layout: Layout;
  #entries = new Map<bigint, E>();
  #subscribers = new Set<EventQueue<ChartEvent<E>>>();
  #counters = newCounters();
  #discoverySocket!: UdpSocket;
  #replySocket!: UdpSocket;
  #announcement: Uint8Array | undefined;
  #reply: Uint8Array | undefined;
  #mode: DiscoveryMode | undefined;
  #stopDiscovery: (() => void) | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closing: Promise<void> | undefined;

  static {
    openChartImpl = async (config) => {
      const chart = new Chart<Entry>(config);
      await chart.#open();
      return chart;
    };
    runImpl = (chart, mode, signal) => chart.#run(mode, signal);
  }

  private constructor(config: ChartConfig) {
    this.#config = config;
    this.ourId = config.id;
    this.header = config.header;
    this.discoveryPort = config.discoveryPort;
    const listenOnly = !config.ports && !("msg" in config);
    this.#layout = config.layout ??
      (config.ports ? { kind: "ports", count: config.ports.length } : { kind: "msg" });
    if (!listenOnly) {
      const ours = { header: config.header, id: config.id, ports: config.ports, msg: config.msg };
      this.#announcement = encodeAnnouncement({ ...ours, reply: false });
      this.#reply = encodeAnnouncement({ ...ours, reply: true });
    }
  }

  /** The number of charted instances, this one included. */
  get size(): number {
    return this.#entries.size + 1;
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
   * Returns every charted instance except this one, in no particular order.
   *
   * @returns The entries.
   */
  entries(): E[] {
    return [...this.#entries.values()];
  }

  /**
   * Returns the entry of one instance.
   *
   * @param id The instance's id.
   * @returns Its entry, or `undefined` when it is not charted (or is us).
   */
  get(id: bigint | number): E | undefined {
    return this.#entries.get(toId(id));
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
   * Removes an instance from the chart. If it is heard again, it is new again
   * (an `"added"` event).
   *
   * @param id The instance's id.
   * @returns Whether it was charted.
   */
  forget(id: bigint | number): boolean {
    const key = toId(id);
    const entry = this.#entries.get(key);
    if (!entry) return false;
    this.#entries.delete(key);
    this.#emit({ type: "removed", entry, reason: "forgotten" });
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
   * Closes the chart: discovery stops, its sockets close (leaving the
   * multicast group and freeing the discovery port), and every event iterator
   * ends. Calling it again waits for the first call.
   *
   * @returns A promise that resolves once everything is closed.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#stopDiscovery?.();
      for (const queue of [...this.#subscribers]) queue.end();
      await Promise.all([this.#discoverySocket?.close(), this.#replySocket?.close()]);
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
    const { discoveryPort, localDiscovery, transport } = this.#config;
    const onDatagram = (data: Uint8Array, hostname: string, port: number) =>
      this.#receive(data, hostname, port);
    const onError = (error: Error) => {
      this.#counters.receiveErrors++;
      this.#config.onError?.(error);
    };
    try {
      this.#discoverySocket = await openSocket(transport, {
        hostname: "0.0.0.0",
        port: discoveryPort,
        reuseAddress: localDiscovery,
        group: { address: MULTICAST_GROUP, interfaceAddress: "0.0.0.0" },
        onDatagram,
        onError,
      });
    } catch (error) {
      throw bindError(discoveryPort, error as Error & { code?: string });
    }
    // Announcements and replies leave from a socket of our own, so that the
    // answers they draw reach this chart even when the discovery port is shared.
    try {
      this.#replySocket = await openSocket(transport, {
        hostname: "0.0.0.0",
        port: 0,
        reuseAddress: false,
        onDatagram,
        onError,
      });
    } catch (error) {
      await this.#discoverySocket.close();
      throw new DiscoveryError(`Cannot open reply socket: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  async #run(mode: DiscoveryMode, signal?: AbortSignal): Promise<void> {
    if (this.closed || signal?.aborted) return;
    if (this.#mode) {
      throw new Error(`Cannot ${mode} the chart: it already runs ${this.#mode}`);
    }
    if (mode === "maintain" && !this.#announcement) {
      throw new TypeError("Cannot maintain a chart that has nothing to announce: sniff it");
    }
    this.#mode = mode;
    const stopped = new Promise<void>((resolve) => this.#stopDiscovery = resolve);
    const onAbort = () => this.#stopDiscovery?.();
    signal?.addEventListener("abort", onAbort, { once: true });
    if (mode === "maintain") this.#announce(performance.now());
    await stopped;
    signal?.removeEventListener("abort", onAbort);
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#mode = undefined;
    this.#stopDiscovery = undefined;
  }

  #announce(start: number): void {
    this.#send(this.#announcement!, MULTICAST_GROUP, this.discoveryPort, "announcements");
    const delay = nextInterval(this.#config.rampdown, performance.now() - start, Math.random());
    this.#timer = setTimeout(() => this.#announce(start), delay);
  }

  #send(
    data: Uint8Array,
    hostname: string,
    port: number,
    counter: "announcements" | "replies",
  ): void {
    this.#counters[counter]++;
    this.#replySocket.send(data, hostname, port).catch((error: Error) => {
      this.#counters.sendErrors++;
      this.#config.onError?.(error);
    });
  }

  #receive(data: Uint8Array, hostname: string, port: number): void {
    const counters = this.#counters;
    counters.received++;
    if (!this.#mode) {
      counters.dropped.idle++;
      return;
    }
    const result = decodeAnnouncement(data, this.header, this.#layout);
    if (!result.ok) {
      counters.dropped[result.reason]++;
      return;
    }
    const { announcement } = result;
    if (announcement.id === this.ourId) {
      counters.dropped.own++;
      return;
    }
    const added = this.#chart(announcement, hostname);
    if (added && this.#mode === "maintain" && !announcement.reply) {
      this.#send(this.#reply!, hostname, port, "replies");
    }
  }

  /** Charts an announcement; returns whether its instance is new. */
  #chart(announcement: Announcement, address: string): boolean {
    const { id } = announcement;
    const entry = freezeEntry(
      (announcement.ports
        ? { id, address, ports: announcement.ports }
        : { id, address, msg: announcement.msg }) as E,
    );
    const previous = this.#entries.get(id);
    if (previous && previous.address === address && sameData(previous, entry)) return false;
    this.#entries.set(id, entry);
    this.#emit(previous ? { type: "updated", entry, previous } : { type: "added", entry });
    return previous === undefined;
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
