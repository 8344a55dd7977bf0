/**
 * The chart: who is out there, at which address, with which service data.
 * A facade over the chart's driver (driver.ts), which runs its protocol
 * core (core/protocol.ts) over the sockets.
 *
 * @module
 */

import { checkMsg, checkServicePorts } from "./config.ts";
import type { Counters } from "./core/counters.ts";
import type { ChartEvent, Entry, MsgEntry, PortEntry } from "./core/entry.ts";
import type { Protocol } from "./core/protocol.ts";
import { type ChartConfig, Driver } from "./driver.ts";
import { DEFAULT_EVENT_BUFFER, EventQueue, type OverflowPolicy } from "./events.ts";
import { toId } from "./ids.ts";
import type { Link } from "./io/links.ts";

/** A service's address, ready for `Deno.connect`. */
export interface ServiceAddress {
  /** The IPv4 address. */
  hostname: string;
  /** The service port. */
  port: number;
}

/** Options of {@linkcode Chart.prototype.events}. */
export interface EventsOptions {
  /** Ends the iterator when aborted. */
  signal?: AbortSignal;
  /**
   * The most unread events to buffer before the iterator fails with
   * {@linkcode EventOverflowError}, or drops the oldest (see `overflow`).
   *
   * @default {256}
   */
  bufferSize?: number;
  /**
   * What the iterator does when more than `bufferSize` events are unread:
   * `"throw"` delivers the buffered events, then fails with
   * {@linkcode EventOverflowError} and ends; `"drop-oldest"` drops the
   * oldest unread event to make room, counts it in the iterator's
   * `dropped`, and goes on. A loop that must
   * survive a flood (forged newcomers, say) takes `"drop-oldest"` and reads
   * `chart.entries()` whenever `dropped` grew, since what it missed is gone.
   *
   * @default {"throw"}
   */
  overflow?: OverflowPolicy;
}

/**
 * The iterator of {@linkcode Chart.prototype.events}: the chart's events,
 * and a count of those it dropped.
 *
 * @typeParam E The entries.
 */
export interface ChartEvents<E extends Entry> extends AsyncIterableIterator<ChartEvent<E>> {
  /**
   * How many unread events were dropped to make room for newer ones, with
   * `overflow: "drop-oldest"`; always 0 with `"throw"`.
   */
  readonly dropped: number;
}

/**
 * Opens a chart's sockets; used by {@linkcode ChartBuilder.prototype.finish}
 * and the CLI.
 *
 * @param config What to build.
 * @returns The chart.
 * @throws {DiscoveryError} If the discovery port cannot be bound.
 */
export async function openChart<E extends Entry>(config: ChartConfig): Promise<Chart<E>> {
  return new Chart<E>(await Driver.open<E>(config), "msg" in config && !config.ports);
}

/** The driver of each chart, for the functions of discovery.ts. */
const drivers = new WeakMap<object, Driver<Entry>>();

/**
 * Returns the driver of a chart, for {@linkcode maintain}, {@linkcode sniff}
 * and {@linkcode foundEveryone}.
 *
 * @param chart The chart.
 * @returns Its driver.
 * @throws {TypeError} If `chart` is not a chart built by the ChartBuilder.
 */
export function driverOf(chart: Chart<Entry>): Driver<Entry> {
  const driver = drivers.get(chart);
  if (!driver) {
    throw new TypeError(`Cannot run discovery on ${chart}: not a chart built by ChartBuilder`);
  }
  return driver;
}

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

  readonly #driver: Driver<E>;
  readonly #core: Protocol<E, Link>;
  readonly #hasMsg: boolean;

  /**
   * @ignore Charts are built by the ChartBuilder.
   * @param driver The chart's driver.
   * @param hasMsg Whether the chart announces a custom message.
   */
  constructor(driver: Driver<E>, hasMsg: boolean) {
    this.#driver = driver;
    this.#core = driver.core;
    this.#hasMsg = hasMsg;
    this.ourId = driver.core.id;
    this.header = driver.core.header;
    this.discoveryPort = driver.discoveryPort;
    this.ttl = driver.core.ttl;
    drivers.set(this, driver as Driver<Entry>);
  }

  /** The number of charted instances, this one included. */
  get size(): number {
    return this.#core.size;
  }

  /** Whether the chart is closed. */
  get closed(): boolean {
    return this.#driver.closed;
  }

  /** A snapshot of what the chart has received, sent and dropped. */
  get counters(): Counters {
    return this.#core.counters;
  }

  /**
   * The interfaces discovery uses now, by name and address.
   *
   * @returns The interfaces; `"*"` names the kernel's choice where
   *   interfaces cannot be listed.
   */
  interfaces(): Array<{ name: string; address: string }> {
    return this.#driver.links().map(({ name, address }) => ({ name, address }));
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
    if (this.#core.ports) throw new TypeError("Cannot get our msg: this chart has service ports");
    return this.#core.msg as M;
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
    return this.#core.entries();
  }

  /**
   * Returns the entry of one instance.
   *
   * @param id The instance's id.
   * @returns Its entry, or `undefined` when it is not charted (or is us).
   */
  get(id: bigint | number): E | undefined {
    return this.#core.get(toId(id));
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
    return this.#core.lastHeard(toId(id));
  }

  /**
   * Changes this instance's service ports and announces them at once; peers
   * report the change as `"updated"`.
   *
   * @param ports The new ports, as many as before, each 1 to 65535.
   * @throws {TypeError} On a chart built with a custom message, if the list is
   *   not an array or has a hole, or if a port is not an integer.
   * @throws {RangeError} If the number of ports changes or a port is out of range.
   */
  setServicePorts(this: Chart<PortEntry>, ports: readonly number[]): void {
    const current = this.#portsOrThrow();
    if (!Array.isArray(ports)) throw new TypeError("Cannot set service ports: not an array");
    if (ports.length !== current.length) {
      throw new RangeError(
        `Cannot set ${ports.length} service ports: this chart announces ${current.length}`,
      );
    }
    const checked = checkServicePorts(ports);
    this.#driver.act((core, now) => core.setPorts(checked, now));
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
    if (this.#core.ports || !this.#hasMsg) {
      throw new TypeError("Cannot set a msg: this chart has service ports");
    }
    const copy = checkMsg(msg);
    this.#driver.act((core, now) => core.setMsg(copy, now));
  }

  /**
   * Replaces the shared keys at run time, to rotate them without a restart:
   * add the new key everywhere (second), then make it first everywhere, then
   * drop the old one. No peer is lost on the way.
   *
   * @param keys The keys, the one that signs first.
   * @throws {TypeError} If the list is not an array, or a key (a hole
   *   included) is neither a string nor a Uint8Array.
   * @throws {RangeError} If there is no key, or one is shorter than 16 bytes.
   */
  setKeys(keys: readonly (string | Uint8Array)[]): void {
    this.#core.setKeys(keys);
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
    return this.#driver.act((core) => core.forget(key));
  }

  /**
   * Subscribes to changes of the chart. The iterator ends when the chart
   * closes or the signal aborts. It buffers unread events; when more than
   * `bufferSize` are unread, by default it delivers those and then throws
   * {@linkcode EventOverflowError} rather than skip any; with
   * `overflow: "drop-oldest"` it drops the oldest unread event instead,
   * counts it in `dropped`, and never throws.
   *
   * @param options A signal to stop, the buffer size, and what to do when it overflows.
   * @returns An async iterator of events, subscribed from this call on.
   * @throws {TypeError} If `signal` is not an AbortSignal.
   * @throws {RangeError} If `bufferSize` is not a positive integer, or
   *   `overflow` is neither `"throw"` nor `"drop-oldest"`.
   *
   * @example Log every newcomer
   * ```ts ignore
   * for await (const event of chart.events()) {
   *   if (event.type === "added") console.log(event.entry);
   * }
   * ```
   *
   * @example Survive a flood of events, and resynchronise after one
   * ```ts ignore
   * const events = chart.events({ overflow: "drop-oldest" });
   * let dropped = 0;
   * for await (const event of events) {
   *   if (events.dropped > dropped) {
   *     dropped = events.dropped;
   *     console.log("missed some events; the chart now:", chart.entries());
   *   }
   *   console.log(event.type, event.entry.id);
   * }
   * ```
   */
  events(options: EventsOptions = {}): ChartEvents<E> {
    const bufferSize = options.bufferSize ?? DEFAULT_EVENT_BUFFER;
    if (!Number.isInteger(bufferSize) || bufferSize < 1) {
      throw new RangeError(`Cannot buffer ${bufferSize} events: not a positive integer`);
    }
    const overflow = options.overflow ?? "throw";
    if (overflow !== "throw" && overflow !== "drop-oldest") {
      throw new RangeError(
        `Cannot use overflow ${String(overflow)}: not "throw" or "drop-oldest"`,
      );
    }
    const { signal } = options;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new TypeError(`Cannot stop events on ${String(signal)}: not an AbortSignal`);
    }
    const onAbort = () => queue.end();
    const queue: EventQueue<ChartEvent<E>> = new EventQueue(bufferSize, () => {
      this.#driver.unsubscribe(queue);
      signal?.removeEventListener("abort", onAbort);
    }, overflow);
    if (this.closed || signal?.aborted) {
      queue.end();
    } else {
      this.#driver.subscribe(queue);
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
    return this.#driver.close();
  }

  /**
   * Closes the chart, for `await using`.
   *
   * @returns A promise that resolves once everything is closed.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #portsOrThrow(): readonly number[] {
    const { ports } = this.#core;
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
