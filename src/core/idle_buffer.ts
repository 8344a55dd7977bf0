/**
 * What a chart keeps while neither maintain nor sniff runs: the last
 * datagram from each source, as a socket's buffer would hold them until
 * read, charted when discovery starts.
 *
 * @module
 */

import { MAX_TTL } from "./schedule.ts";

/** A datagram kept while idle. */
export interface HeldDatagram {
  /** A copy of its bytes. */
  data: Uint8Array;
  /** Where it came from. */
  address: string;
  /** The port it came from. */
  port: number;
  /** When it arrived. */
  at: number;
}

/** The last datagram from each source since the chart became idle, up to a bound. */
export class IdleBuffer {
  readonly #held = new Map<string, HeldDatagram>();
  readonly #max: number;
  /** Since when everything that reached the chart is kept; Infinity once one was turned away. */
  #since = Infinity;

  /**
   * Creates an empty buffer.
   *
   * @param max The most sources kept.
   */
  constructor(max: number) {
    this.#max = max;
  }

  /** How many datagrams are kept. */
  get size(): number {
    return this.#held.size;
  }

  /** Since when everything that reached the chart is kept, or Infinity. */
  get since(): number {
    return this.#since;
  }

  /**
   * Starts keeping: from `now` on, nothing that reaches the chart is lost.
   *
   * @param now The time.
   */
  keepFrom(now: number): void {
    this.#since = now;
  }

  /**
   * A new interface came into use: what was sent there before did not reach
   * the chart, so it has kept all only from now on (if it had so far).
   *
   * @param now The time.
   */
  widened(now: number): void {
    if (this.#since !== Infinity) this.#since = now;
  }

  /**
   * Keeps a datagram in place of its source's last one.
   *
   * @param data Its bytes, copied.
   * @param address Where it came from.
   * @param port The port it came from.
   * @param now When it arrived.
   * @returns `false` when the buffer is full of other sources and it was turned away.
   */
  hold(data: Uint8Array, address: string, port: number, now: number): boolean {
    const key = `${address}:${port}`;
    const held = this.#held;
    // Kept in the order they arrived: those older than any ttl, which
    // charting would drop, go first and make room.
    for (const [source, datagram] of held) {
      if (!isOutlived(datagram.at, now)) break;
      held.delete(source);
    }
    if (!held.delete(key) && held.size >= this.#max) {
      // It missed one: from now on, a peer may need to answer it.
      this.#since = Infinity;
      return false;
    }
    held.set(key, { data: data.slice(), address, port, at: now });
    return true;
  }

  /**
   * Empties the buffer.
   *
   * @returns What it held, in the order it arrived.
   */
  take(): HeldDatagram[] {
    const held = [...this.#held.values()];
    this.#held.clear();
    return held;
  }

  /** Forgets what is held. */
  clear(): void {
    this.#held.clear();
  }
}

/**
 * Whether a kept datagram is older than any time-to-live, so that nothing
 * it says is alive.
 *
 * @param at When it arrived.
 * @param now The time it is charted.
 * @returns `true` when it is to be dropped as stale.
 */
export function isOutlived(at: number, now: number): boolean {
  return at + MAX_TTL <= now;
}
