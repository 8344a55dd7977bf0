/**
 * One simulated process: a protocol core and the outbox it sends through,
 * on a host of the simulated network. It can start, crash (no goodbye),
 * close (goodbye) and start again with a new incarnation, drawn from its
 * host's wall clock.
 *
 * @module
 */

import type { ChartEvent, PortEntry, RemoveReason } from "../../src/core/entry.ts";
import { incarnationOf } from "../../src/core/identity.ts";
import { DEFAULT_RAMPDOWN, type Rampdown } from "../../src/core/interval.ts";
import { type Limits, type Outbox, Protocol } from "../../src/core/protocol.ts";
import { DEFAULT_HEADER } from "../../src/core/wire.ts";
import type { Attachment, Host } from "./_network.ts";

/** The wall clock of every host at virtual time 0, before any jump: 2026-01-01. */
export const EPOCH = Date.UTC(2026, 0, 1);

/** What an instance needs of the world it runs in. */
export interface Surroundings {
  /** Sends a datagram to the group on one of the instance's interfaces. */
  multicast(from: SimInstance, attachment: Attachment, data: Uint8Array): void;
  /** Sends a datagram to an address on the subnet of one of its interfaces. */
  unicast(
    from: SimInstance,
    attachment: Attachment,
    data: Uint8Array,
    address: string,
    port: number,
  ): void;
  /** Arms the instance's timer for a time. */
  wake(instance: SimInstance, at: number): void;
  /** Takes what the instance's chart reports. */
  chartEvent(instance: SimInstance, event: ChartEvent<PortEntry>): void;
}

/** What a simulated instance is. */
export interface InstanceOptions {
  /** Its id. */
  id: bigint;
  /**
   * Its ramp.
   *
   * @default {DEFAULT_RAMPDOWN}
   */
  rampdown?: Rampdown;
  /** Its chart's bounds. */
  limits?: Limits;
}

/** A process running one chart. */
export class SimInstance implements Outbox<PortEntry, Attachment> {
  /** Its name in the trace. */
  readonly name: string;
  readonly host: Host;
  readonly id: bigint;
  /** The port its datagrams come from. */
  readonly port: number;
  /** Its chart while the process runs. */
  core: Protocol<PortEntry, Attachment> | undefined;
  /** When the current run started. */
  startedAt = NaN;
  /** How many times it started. */
  runs = 0;
  /** The time its timer is armed for, Infinity when it is not. */
  armedFor = Infinity;
  /** Which arming of the timer is the live one; a crash or an earlier deadline ends the others. */
  timer = 0;
  sentPackets = 0;
  sentBytes = 0;
  received = 0;
  unicastsReceived = 0;
  readonly #world: Surroundings;
  readonly #random: () => number;
  readonly #options: InstanceOptions;

  /**
   * Creates a process that has not started.
   *
   * @param world Where it runs.
   * @param name Its name in the trace.
   * @param host Its host.
   * @param options What it is.
   * @param random Its source of randomness.
   */
  constructor(
    world: Surroundings,
    name: string,
    host: Host,
    options: InstanceOptions,
    random: () => number,
  ) {
    this.#world = world;
    this.name = name;
    this.host = host;
    this.id = options.id;
    this.port = host.nextPort++;
    this.#options = options;
    this.#random = random;
  }

  /** Whether its process runs. */
  get running(): boolean {
    return this.core !== undefined;
  }

  /** Its host's wall clock at a virtual time, in ms since the epoch. */
  wallClock(now: number): number {
    return EPOCH + now + this.host.wallOffset;
  }

  /**
   * Starts the process: a new core with a new incarnation, in the group at
   * once, announcing.
   *
   * @param now The time.
   * @throws {Error} If it runs.
   */
  boot(now: number): void {
    if (this.core) throw new Error(`Cannot start ${this.name}: it runs`);
    const incarnation = incarnationOf(this.wallClock(now), Math.floor(this.#random() * 0x100000));
    const { id, rampdown = DEFAULT_RAMPDOWN, limits } = this.#options;
    const core = new Protocol<PortEntry, Attachment>(
      {
        id,
        header: DEFAULT_HEADER,
        ports: [9_000],
        rampdown,
        limits,
        incarnation,
        random: this.#random,
      },
      now,
      this,
    );
    this.core = core;
    this.startedAt = now;
    this.runs++;
    core.joined(now);
    core.start("maintain", now);
    if (core.holding) core.chartHeld(now);
    this.settle();
  }

  /** Ends the process with no goodbye: its timer and whatever reaches it die with it. */
  kill(): void {
    this.core = undefined;
    this.armedFor = Infinity;
    this.timer++;
  }

  /**
   * Closes the chart, which says goodbye, and ends the process.
   *
   * @param now The time.
   */
  close(now: number): void {
    this.core?.close(now);
    this.kill();
  }

  /**
   * Runs the core's timeout, if this arming of the timer is the live one.
   *
   * @param now The time.
   * @param timer The arming.
   */
  wake(now: number, timer: number): void {
    if (timer !== this.timer || !this.core) return;
    this.armedFor = Infinity;
    this.core.timeout(now);
    this.settle();
  }

  /** Arms the timer for the core's deadline, as the driver does: only an earlier one re-arms. */
  settle(): void {
    // A listener may have ended the process during the call.
    if (!this.core) return;
    const deadline = this.core.deadline();
    if (deadline >= this.armedFor) return;
    this.armedFor = deadline;
    this.timer++;
    this.#world.wake(this, deadline);
  }

  // The outbox.

  /** @returns Its interfaces. */
  links(): Iterable<Attachment> {
    return this.host.attachments;
  }

  /**
   * @param data The datagram.
   * @param link The interface.
   */
  multicast(data: Uint8Array, link: Attachment): void {
    this.sentPackets++;
    this.sentBytes += data.length;
    this.#world.multicast(this, link, data);
  }

  /**
   * @param address An address.
   * @returns Whether one of its interfaces is on that subnet.
   */
  onSubnet(address: string): boolean {
    return this.host.attachmentFor(address) !== undefined;
  }

  /**
   * @param address An address.
   * @returns Whether it is one of its host's.
   */
  isHostAddress(address: string): boolean {
    return this.host.attachments.some((attachment) => attachment.address === address);
  }

  /**
   * @param data The datagram.
   * @param address Where to.
   * @param port The port there.
   * @returns Whether an interface reaches the address.
   */
  unicast(data: Uint8Array, address: string, port: number): boolean {
    const attachment = this.host.attachmentFor(address);
    if (!attachment) return false;
    this.sentPackets++;
    this.sentBytes += data.length;
    this.#world.unicast(this, attachment, data, address, port);
    return true;
  }

  /** @param entry The new entry. */
  added(entry: PortEntry): void {
    this.#world.chartEvent(this, { type: "added", entry });
  }

  /**
   * @param entry The entry now.
   * @param previous The entry before.
   */
  updated(entry: PortEntry, previous: PortEntry): void {
    this.#world.chartEvent(this, { type: "updated", entry, previous });
  }

  /**
   * @param entry The entry that left.
   * @param reason Why.
   * @param lastHeard When it was last heard.
   */
  removed(entry: PortEntry, reason: RemoveReason, lastHeard: number): void {
    this.#world.chartEvent(this, { type: "removed", entry, reason, lastHeard });
  }

  /**
   * @param entry The other instance.
   * @param withUs Whether it has our id.
   */
  collision(entry: PortEntry, withUs: boolean): void {
    this.#world.chartEvent(this, { type: "collision", entry, withUs });
  }
}
