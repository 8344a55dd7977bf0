/**
 * The peer table: charted instances with what the chart knows of each
 * beyond its entry, and which of them a full chart may evict.
 *
 * @module
 */

import type { Entry, MsgEntry } from "./entry.ts";
import type { Liveness } from "./expiry.ts";
import type { Contender } from "./identity.ts";
import type { Path } from "./paths.ts";
import type { Announcement } from "./wire.ts";

/** The most instances a chart holds unless told otherwise. */
export const DEFAULT_MAX_ENTRIES = 2_048;
/**
 * The longest a confirmed instance is kept from eviction without being
 * heard, in ms, whatever ttl it announced: being heard twice is cheap, so
 * fakes that claim an hour must be sent again every 10 s to keep their place.
 */
export const MAX_PROTECTION = 10_000;
/** After a scan for a confirmed instance to evict found none, the least time to the next, in ms. */
const RESCAN_AFTER = 100;

/** What the chart knows of a charted instance. */
export interface Peer<E> extends Liveness {
  entry: E;
  /** Absent for instances that announce bare (the Rust crate). */
  incarnation: bigint | undefined;
  seq: number | undefined;
  /** The addresses it was heard from, and when (see paths.ts). */
  paths: Path[];
  /** The port its datagrams come from at the charted address, where probes go. */
  port: number;
  /** Heard more than once: a full chart evicts it only once quiet (see {@linkcode isProtected}). */
  confirmed: boolean;
  /** Whether its next probe was held back already, so that it counts as suppressed once. */
  probeHeld: boolean;
  /** How many of our rounds named it (its probe held back for credit) since it was last heard. */
  asked: number;
  /** Whether it was a newcomer whose answer could not go: its next datagram gets it. */
  answerOwed: boolean;
  /** The incarnation this one replaced (or a rival), to tell a restart from a rival. */
  superseded: Contender | undefined;
  /** Whether it is charted at one of this host's addresses: one of the host's charts. */
  onHost: boolean;
}

/**
 * Whether a full chart keeps an instance rather than evict it for a
 * newcomer: it was heard more than once, the last time within its ttl and
 * within {@linkcode MAX_PROTECTION}.
 *
 * @param peer The instance.
 * @param now The time.
 * @returns `true` when it is not to be evicted.
 */
export function isProtected(peer: Peer<unknown>, now: number): boolean {
  return peer.confirmed && now - peer.heardAt <= Math.min(peer.ttl, MAX_PROTECTION);
}

/**
 * Charted instances by id; newcomers heard once are the ones a full chart
 * evicts first, then confirmed ones gone quiet.
 */
export class PeerTable<E extends Entry> {
  readonly #peers = new Map<bigint, Peer<E>>();
  /**
   * Newcomers heard once, newest last (and some since confirmed or gone): the
   * peers, not their ids, so that an id charted again is not kept twice.
   */
  #unconfirmed: Peer<E>[] = [];
  readonly #max: number;
  /** No confirmed instance loses its protection before then (see {@linkcode evict}). */
  #lapsesAt = -Infinity;

  /**
   * Creates an empty table.
   *
   * @param max The most instances charted at once.
   */
  constructor(max: number) {
    this.#max = max;
  }

  /** The number of instances charted. */
  get size(): number {
    return this.#peers.size;
  }

  /**
   * Returns what is known of an instance.
   *
   * @param id Its id.
   * @returns The peer, or `undefined`.
   */
  get(id: bigint): Peer<E> | undefined {
    return this.#peers.get(id);
  }

  /**
   * Iterates over the charted instances.
   *
   * @returns The peers.
   */
  values(): IterableIterator<Peer<E>> {
    return this.#peers.values();
  }

  /**
   * Iterates over the charted instances with their ids.
   *
   * @returns `[id, peer]` pairs.
   */
  [Symbol.iterator](): IterableIterator<[bigint, Peer<E>]> {
    return this.#peers[Symbol.iterator]();
  }

  /**
   * Charts a newcomer, unconfirmed.
   *
   * @param id Its id.
   * @param peer What is known of it.
   */
  add(id: bigint, peer: Peer<E>): void {
    this.#peers.set(id, peer);
    this.#unconfirmed.push(peer);
    // Confirmed and departed ones stay in the list until it is compacted:
    // with churn it would otherwise grow with every id ever heard.
    if (this.#unconfirmed.length > 2 * this.#max) {
      this.#unconfirmed = this.#unconfirmed.filter((peer) => this.#isUnconfirmed(peer));
    }
  }

  /** Whether a peer of the list is still charted, and heard only once. */
  #isUnconfirmed(peer: Peer<E>): boolean {
    return !peer.confirmed && this.#peers.get(peer.entry.id) === peer;
  }

  /**
   * Removes an instance.
   *
   * @param id Its id.
   */
  delete(id: bigint): void {
    this.#peers.delete(id);
  }

  /** Whether the table is at its bound. */
  get full(): boolean {
    return this.#peers.size >= this.#max;
  }

  /**
   * Makes room in a full table by removing the newest unconfirmed instance,
   * or else the quietest confirmed one that is no longer protected.
   *
   * @param now The time.
   * @returns The evicted peer, or `undefined` when every instance is protected.
   */
  evict(now: number): Peer<E> | undefined {
    while (this.#unconfirmed.length > 0) {
      const peer = this.#unconfirmed.pop()!;
      if (this.#isUnconfirmed(peer)) {
        this.#peers.delete(peer.entry.id);
        return peer;
      }
    }
    // A flood of newcomers into a chart of live peers must not cost a scan each,
    // nor one each time the first of 2,048 peers heard in turn lapses.
    if (now < this.#lapsesAt) return undefined;
    let quietest: [bigint, Peer<E>] | undefined;
    let lapsesAt = Infinity;
    for (const pair of this.#peers) {
      const peer = pair[1];
      if (isProtected(peer, now)) {
        lapsesAt = Math.min(lapsesAt, peer.heardAt + Math.min(peer.ttl, MAX_PROTECTION));
      } else if (!quietest || peer.heardAt < quietest[1].heardAt) quietest = pair;
    }
    if (!quietest) {
      // One confirmed since may lapse sooner: it is evicted late, by MAX_PROTECTION at most.
      this.#lapsesAt = Math.max(lapsesAt, now + RESCAN_AFTER);
      return undefined;
    }
    this.#peers.delete(quietest[0]);
    return quietest[1];
  }
}

/**
 * Whether an announcement carries the data an entry has.
 *
 * @param entry The charted entry.
 * @param announcement The announcement.
 * @returns `true` when ports (or msg) are the same.
 */
export function announcesSame(entry: Entry, announcement: Announcement): boolean {
  const { ports } = announcement;
  if ("ports" in entry && ports) {
    return entry.ports.length === ports.length && entry.ports.every((port, i) => port === ports[i]);
  }
  if ("ports" in entry || ports) return false;
  return JSON.stringify((entry as MsgEntry).msg) === JSON.stringify(announcement.msg);
}

/**
 * The frozen entry of an announcement heard from an address.
 *
 * @param announcement The announcement.
 * @param address Its address.
 * @param addresses All of the instance's addresses, when it has more than one.
 * @returns The entry.
 */
export function entryOf<E extends Entry>(
  announcement: Announcement,
  address: string,
  addresses?: readonly string[],
): E {
  const { id, ports } = announcement;
  if (addresses) Object.freeze(addresses);
  if (ports) {
    Object.freeze(ports);
    return Object.freeze(
      addresses ? { id, address, addresses, ports } : { id, address, ports },
    ) as E;
  }
  const { msg } = announcement;
  return Object.freeze(addresses ? { id, address, addresses, msg } : { id, address, msg }) as E;
}
