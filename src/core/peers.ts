/**
 * The peer table: charted instances with what the chart knows of each
 * beyond its entry, and which of them a full chart may evict.
 *
 * @module
 */

import type { Entry, MsgEntry } from "./entry.ts";
import type { Liveness } from "./expiry.ts";
import type { Rival } from "./identity.ts";
import type { Announcement } from "./wire.ts";

/** The most instances a chart holds unless told otherwise. */
export const DEFAULT_MAX_ENTRIES = 2_048;

/** What the chart knows of a charted instance. */
export interface Peer<E> extends Liveness {
  entry: E;
  /** Absent for instances that announce bare (the Rust crate). */
  incarnation: bigint | undefined;
  seq: number | undefined;
  /** When its address was last heard (as the source of a datagram). */
  addressHeardAt: number;
  /** The port its datagrams come from, where probes go. */
  port: number;
  /** Heard more than once: a full chart never evicts it. */
  confirmed: boolean;
  /** Whether its next probe was held back already, so that it counts as suppressed once. */
  probeHeld: boolean;
  /** Whether it was a newcomer whose answer could not go: its next datagram gets it. */
  answerOwed: boolean;
  /** The incarnation this one replaced (or a rival), to tell a restart from a rival. */
  superseded: (Rival & { incarnation: bigint }) | undefined;
}

/** Charted instances by id; newcomers heard once are the ones a full chart evicts. */
export class PeerTable<E extends Entry> {
  readonly #peers = new Map<bigint, Peer<E>>();
  /** Newcomers heard once, newest last (and some since confirmed or gone). */
  #unconfirmed: bigint[] = [];
  readonly #max: number;

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
    this.#unconfirmed.push(id);
    // Confirmed and departed ones stay in the list until it is compacted:
    // with churn it would otherwise grow with every id ever heard.
    if (this.#unconfirmed.length > 2 * this.#max) {
      this.#unconfirmed = this.#unconfirmed.filter((id) =>
        this.#peers.get(id)?.confirmed === false
      );
    }
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
   * Makes room in a full table by removing the newest unconfirmed instance.
   *
   * @returns The evicted peer, or `undefined` when every instance is confirmed.
   */
  evict(): Peer<E> | undefined {
    while (this.#unconfirmed.length > 0) {
      const id = this.#unconfirmed.pop()!;
      const peer = this.#peers.get(id);
      if (peer && !peer.confirmed) {
        this.#peers.delete(id);
        return peer;
      }
    }
    return undefined;
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
 * @returns The entry.
 */
export function entryOf<E extends Entry>(announcement: Announcement, address: string): E {
  const { id, ports } = announcement;
  if (ports) {
    Object.freeze(ports);
    return Object.freeze({ id, address, ports }) as E;
  }
  return Object.freeze({ id, address, msg: announcement.msg }) as E;
}
