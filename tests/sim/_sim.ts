/**
 * The simulated world: a seed, a virtual clock, a network and the
 * instances on it, run event by event. Everything random is drawn from
 * streams of the one seed, and events due at the same time run in the order
 * they were scheduled, so one seed gives one trace, byte for byte.
 *
 * @module
 */

import type { ChartEvent, PortEntry } from "../../src/core/entry.ts";
import type { Arrival } from "../../src/core/protocol.ts";
import { seededRandom } from "../_random.ts";
import { EventQueue } from "./_events.ts";
import { type InstanceOptions, SimInstance, type Surroundings } from "./_instance.ts";
import {
  type Attachment,
  type DropCause,
  type Host,
  type Link,
  type LinkOptions,
  Network,
} from "./_network.ts";

/** A datagram on its way. */
interface Flight {
  kind: "multicast" | "unicast";
  from: Attachment;
  /** The segment the sender was in when it sent. */
  segment: number;
  /** The instance that sent it, if one did. */
  sender: SimInstance | undefined;
  /** The one object every receiver is handed. */
  arrival: Arrival;
  /** For a unicast, where to. */
  address: string;
  port: number;
}

interface Wake {
  kind: "wake";
  instance: SimInstance;
  timer: number;
}

interface Action {
  kind: "action";
  run: () => void;
}

type Event = Flight | Wake | Action;

/** An "expired" removal of an instance that ran and could be heard all through its time-to-live. */
export interface FalseRemoval {
  at: number;
  observer: string;
  peer: string;
}

/** What the world counts. */
export interface WorldStats {
  /** Datagrams sent, by any instance or injector. */
  sentPackets: number;
  sentBytes: number;
  /** Datagrams handed to a running core. */
  delivered: number;
  /** Of those, the unicast ones (answers and probes). */
  unicastsDelivered: number;
  /** Datagrams that reached no core, by cause (a multicast counts once per instance missed). */
  dropped: Record<DropCause, number>;
  /** Events run. */
  events: number;
}

/** How a world is made. */
export interface WorldOptions {
  /** The seed of every random draw. */
  seed: number;
  /**
   * Whether to keep the trace: a line per send, delivery, drop, chart event
   * and fault. Off, nothing of it is even formatted.
   *
   * @default {false}
   */
  trace?: boolean;
  /**
   * How late every timer fires after the core's deadline, in ms. At 0 the
   * core wakes exactly then, as nothing real does: a real timer fires late,
   * and time passes while the core runs.
   *
   * @default {0}
   */
  timerLateness?: number;
}

/** A listener to every chart's events. */
export type ChartListener = (observer: SimInstance, event: ChartEvent<PortEntry>) => void;

/** Streams: 0 delays, 1 losses, 2 + i instance i. */
function streamSeed(seed: number, stream: number): number {
  // The murmur3 finaliser, so that nearby seeds and streams give unrelated sequences.
  let h = (seed ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/** A 32-bit FNV-1a hash of a datagram, to name it in the trace. */
function fingerprint(data: Uint8Array): string {
  let h = 0x811c9dc5;
  for (const byte of data) h = Math.imul(h ^ byte, 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}

/** Hosts, links, instances and the virtual clock that runs them. */
export class World implements Surroundings {
  readonly seed: number;
  /** The virtual time, in ms. */
  now = 0;
  readonly network: Network;
  readonly instances: SimInstance[] = [];
  /** The trace, when kept. */
  readonly trace: string[] | undefined;
  readonly stats: WorldStats = {
    sentPackets: 0,
    sentBytes: 0,
    delivered: 0,
    unicastsDelivered: 0,
    dropped: {
      loss: 0,
      "link-down": 0,
      "host-down": 0,
      partition: 0,
      "no-process": 0,
      "no-route": 0,
      "no-host": 0,
    },
    events: 0,
  };
  /** Ordered pairs of running instances where the first charts the second. */
  chartedPairs = 0;
  /** How many instances run. */
  running = 0;
  readonly falseRemovals: FalseRemoval[] = [];
  readonly #queue = new EventQueue<Event>();
  readonly #byId = new Map<bigint, SimInstance>();
  /** The instances on each host, by host. */
  readonly #onHost = new Map<Host, SimInstance[]>();
  readonly #listeners: ChartListener[] = [];
  readonly #timerLateness: number;

  /**
   * Creates an empty world.
   *
   * @param options Its seed, and whether to trace.
   */
  constructor(options: WorldOptions) {
    this.seed = options.seed;
    this.network = new Network(
      seededRandom(streamSeed(options.seed, 0)),
      seededRandom(streamSeed(options.seed, 1)),
    );
    if (options.trace) this.trace = [];
    this.#timerLateness = options.timerLateness ?? 0;
  }

  /**
   * Adds a link.
   *
   * @param options What it is like.
   * @returns The link.
   */
  addLink(options?: LinkOptions): Link {
    return this.network.addLink(options);
  }

  /**
   * Adds a host.
   *
   * @param name Its name.
   * @param links The links it is on.
   * @returns The host.
   */
  addHost(name: string, links: readonly Link[]): Host {
    const host = this.network.addHost(name, links);
    this.#onHost.set(host, []);
    return host;
  }

  /**
   * Adds an instance to a host; it starts when told.
   *
   * @param host Its host.
   * @param options What it is.
   * @returns The instance.
   * @throws {Error} If another instance has its id.
   */
  addInstance(host: Host, options: InstanceOptions): SimInstance {
    if (this.#byId.has(options.id)) throw new Error(`Cannot add instance ${options.id}: taken`);
    const index = this.instances.length;
    const instance = new SimInstance(
      this,
      `i${options.id}`,
      host,
      options,
      seededRandom(streamSeed(this.seed, 2 + index)),
    );
    this.instances.push(instance);
    this.#byId.set(options.id, instance);
    this.#onHost.get(host)!.push(instance);
    return instance;
  }

  /**
   * The instance with an id.
   *
   * @param id The id.
   * @returns The instance, or `undefined`.
   */
  instance(id: bigint): SimInstance | undefined {
    return this.#byId.get(id);
  }

  /**
   * Listens to every chart's events.
   *
   * @param listener What to call.
   */
  listen(listener: ChartListener): void {
    this.#listeners.push(listener);
  }

  /**
   * Runs something at a virtual time.
   *
   * @param at The time (not before now).
   * @param run What to run.
   */
  at(at: number, run: () => void): void {
    this.#queue.push(Math.max(at, this.now), { kind: "action", run });
  }

  /**
   * Runs every event due until a time, and sets the clock to it.
   *
   * @param until The time.
   */
  run(until: number): void {
    while (this.#queue.nextAt <= until) this.step();
    this.now = Math.max(this.now, until);
  }

  /**
   * Runs the next event, whenever it is due.
   *
   * @returns `false` when none was left.
   */
  step(): boolean {
    const queue = this.#queue;
    if (queue.size === 0) return false;
    this.now = queue.nextAt;
    const event = queue.pop()!;
    this.stats.events++;
    switch (event.kind) {
      case "wake":
        event.instance.wake(this.now, event.timer);
        break;
      case "multicast":
        this.#fanOut(event);
        break;
      case "unicast":
        this.#deliverUnicast(event);
        break;
      case "action":
        event.run();
        break;
    }
    return true;
  }

  // Processes.

  /**
   * Starts an instance's process (again, after a crash: a new incarnation).
   *
   * @param instance The instance.
   */
  start(instance: SimInstance): void {
    instance.host.disruptedAt = this.now;
    this.running++;
    // Charts that still hold its id hold a running instance again.
    for (const other of this.instances) {
      if (other !== instance && other.core?.get(instance.id)) this.chartedPairs++;
    }
    instance.boot(this.now);
    if (this.trace) this.#log(`start ${instance.name} incarnation ${instance.core!.incarnation}`);
  }

  /**
   * Ends an instance's process with no goodbye.
   *
   * @param instance The instance.
   */
  crash(instance: SimInstance): void {
    this.#stopped(instance);
    instance.kill();
    if (this.trace) this.#log(`crash ${instance.name}`);
  }

  /**
   * Closes an instance's chart, which says goodbye, and ends its process.
   *
   * @param instance The instance.
   */
  close(instance: SimInstance): void {
    if (this.trace) this.#log(`close ${instance.name}`);
    this.#stopped(instance);
    instance.close(this.now);
  }

  /**
   * Moves a host's wall clock; only the incarnations of later starts see it.
   *
   * @param host The host.
   * @param by How far, in ms (negative: back).
   */
  jumpClock(host: Host, by: number): void {
    host.wallOffset += by;
    if (this.trace) this.#log(`clock ${host.name} ${by > 0 ? "+" : ""}${by}`);
  }

  // Faults of the network, traced.

  /**
   * Takes a link down or up.
   *
   * @param link The link.
   * @param up Up or down.
   */
  setLinkUp(link: Link, up: boolean): void {
    this.network.setLinkUp(link, up, this.now);
    if (this.trace) this.#log(`link L${link.index} ${up ? "up" : "down"}`);
  }

  /**
   * Cuts a host off its links, or connects it again.
   *
   * @param host The host.
   * @param up Connected or not.
   */
  setHostUp(host: Host, up: boolean): void {
    this.network.setHostUp(host, up, this.now);
    if (this.trace) this.#log(`host ${host.name} ${up ? "up" : "down"}`);
  }

  /**
   * Splits a link into groups that hear only each other.
   *
   * @param link The link.
   * @param groups The groups.
   */
  split(link: Link, groups: readonly (readonly Host[])[]): void {
    this.network.split(link, groups, this.now);
    if (this.trace) this.#log(`split L${link.index} ${groups.map((g) => g.length).join("/")}`);
  }

  /**
   * Joins a split link again.
   *
   * @param link The link.
   */
  heal(link: Link): void {
    this.network.heal(link, this.now);
    if (this.trace) this.#log(`heal L${link.index}`);
  }

  /**
   * Sends a datagram that no instance made (a flood, a forgery).
   *
   * @param from The interface it leaves from.
   * @param port The port it comes from.
   * @param data Its bytes.
   */
  inject(from: Attachment, port: number, data: Uint8Array): void {
    this.#send("multicast", from, port, undefined, data, "", 0);
  }

  // The surroundings of instances.

  /**
   * @param from The sender.
   * @param attachment Its interface.
   * @param data The datagram.
   */
  multicast(from: SimInstance, attachment: Attachment, data: Uint8Array): void {
    this.#send("multicast", attachment, from.port, from, data, "", 0);
  }

  /**
   * @param from The sender.
   * @param attachment Its interface.
   * @param data The datagram.
   * @param address Where to.
   * @param port The port there.
   */
  unicast(
    from: SimInstance,
    attachment: Attachment,
    data: Uint8Array,
    address: string,
    port: number,
  ): void {
    this.#send("unicast", attachment, from.port, from, data, address, port);
  }

  /**
   * @param instance The instance.
   * @param at When its timer is due.
   */
  wake(instance: SimInstance, at: number): void {
    const due = Math.max(at, this.now) + this.#timerLateness;
    this.#queue.push(due, { kind: "wake", instance, timer: instance.timer });
  }

  /**
   * @param observer The chart's instance.
   * @param event What it reports.
   */
  chartEvent(observer: SimInstance, event: ChartEvent<PortEntry>): void {
    const peer = this.#byId.get(event.entry.id);
    if (event.type === "added") {
      if (peer?.running) this.chartedPairs++;
    } else if (event.type === "removed") {
      if (peer?.running) this.chartedPairs--;
      if (event.reason === "expired" && peer && this.#heardAllAlong(observer, peer)) {
        this.falseRemovals.push({ at: this.now, observer: observer.name, peer: peer.name });
      }
    }
    if (this.trace) {
      const { entry } = event;
      const detail = event.type === "removed"
        ? ` ${event.reason}`
        : event.type === "collision"
        ? ` withUs=${event.withUs}`
        : "";
      this.#log(`${observer.name} ${event.type} i${entry.id} ${entry.address}${detail}`);
    }
    for (const listener of this.#listeners) listener(observer, event);
  }

  /** The longest one-way delay of any link, in ms. */
  get maxDelay(): number {
    let longest = 0;
    for (const link of this.network.links) longest = Math.max(longest, link.delay + link.jitter);
    return longest;
  }

  /**
   * Whether an observer could hear a peer all through the peer's
   * time-to-live: both ran and nothing cut the path between them.
   */
  #heardAllAlong(observer: SimInstance, peer: SimInstance): boolean {
    const core = peer.core;
    if (!core) return false;
    const since = this.now - core.ttl - this.maxDelay;
    return observer.host.disruptedAt < since && peer.host.disruptedAt < since &&
      this.network.reachable(observer.host, peer.host);
  }

  #stopped(instance: SimInstance): void {
    const core = instance.core;
    if (!core) return;
    instance.host.disruptedAt = this.now;
    for (const entry of core.entries()) {
      if (this.#byId.get(entry.id)?.running) this.chartedPairs--;
    }
    for (const other of this.instances) {
      if (other !== instance && other.core?.get(instance.id)) this.chartedPairs--;
    }
    this.running--;
  }

  #send(
    kind: "multicast" | "unicast",
    from: Attachment,
    port: number,
    sender: SimInstance | undefined,
    data: Uint8Array,
    address: string,
    toPort: number,
  ): void {
    const stats = this.stats;
    stats.sentPackets++;
    stats.sentBytes += data.length;
    if (this.trace) {
      const to = kind === "multicast" ? `L${from.link.index}` : `${address}:${toPort}`;
      const name = sender?.name ?? `${from.address}:${port}`;
      this.#log(`send ${name} ${to} ${data.length}B ${fingerprint(data)}`);
    }
    const cause = !from.link.up ? "link-down" : !from.up ? "host-down" : undefined;
    if (cause) {
      stats.dropped[cause]++;
      if (this.trace) this.#log(`drop ${cause} at the sender ${fingerprint(data)}`);
      return;
    }
    const arrival: Arrival = {
      data,
      address: from.address,
      port,
      handedOverAt: undefined,
      reading: undefined,
    };
    const flight: Flight = {
      kind,
      from,
      segment: from.segment,
      sender,
      arrival,
      address,
      port: toPort,
    };
    this.#queue.push(this.now + this.network.delayOn(from.link), flight);
  }

  /** A multicast reaches every instance on its link's segment but the sender. */
  #fanOut(flight: Flight): void {
    const { from, segment, sender } = flight;
    const network = this.network;
    for (const to of from.link.attachments) {
      const instances = this.#onHost.get(to.host)!;
      if (instances.length === 0) continue;
      // The sender's own host hears it on loopback, past any fault of the wire.
      if (to.host !== from.host) {
        const cause = network.blocked(segment, to) ??
          (network.lost(to, this.now) ? "loss" : undefined);
        if (cause) {
          for (const instance of instances) this.#drop(cause, instance, flight);
          continue;
        }
      }
      for (const instance of instances) {
        if (instance !== sender) this.#deliver(instance, flight);
      }
    }
  }

  #deliverUnicast(flight: Flight): void {
    const to = this.network.attachmentAt(flight.address);
    if (!to) {
      this.stats.dropped["no-host"]++;
      if (this.trace) {
        this.#log(`drop no-host ${flight.address} ${fingerprint(flight.arrival.data)}`);
      }
      return;
    }
    const instance = this.#onHost.get(to.host)!.find((i) => i.port === flight.port);
    if (!instance) {
      this.stats.dropped["no-process"]++;
      if (this.trace) this.#log(`drop no-process ${flight.address}:${flight.port}`);
      return;
    }
    if (to.host !== flight.from.host) {
      const network = this.network;
      const cause = to.link !== flight.from.link
        ? "no-route"
        : network.blocked(flight.segment, to) ?? (network.lost(to, this.now) ? "loss" : undefined);
      if (cause) {
        this.#drop(cause, instance, flight);
        return;
      }
    }
    if (this.#deliver(instance, flight)) {
      this.stats.unicastsDelivered++;
      instance.unicastsReceived++;
    }
  }

  #deliver(instance: SimInstance, flight: Flight): boolean {
    const core = instance.core;
    if (!core) {
      this.#drop("no-process", instance, flight);
      return false;
    }
    this.stats.delivered++;
    instance.received++;
    if (this.trace) this.#log(`recv ${instance.name} ${fingerprint(flight.arrival.data)}`);
    core.handle(this.now, flight.arrival);
    instance.settle();
    return true;
  }

  #drop(cause: DropCause, instance: SimInstance, flight: Flight): void {
    this.stats.dropped[cause]++;
    if (this.trace) this.#log(`drop ${cause} ${instance.name} ${fingerprint(flight.arrival.data)}`);
  }

  /** Adds a line to the trace; callers make the line only when a trace is kept. */
  #log(line: string): void {
    this.trace?.push(`${this.now} ${line}`);
  }
}
