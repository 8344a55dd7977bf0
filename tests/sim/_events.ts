/**
 * The simulator's event queue: a binary heap ordered by virtual time, then
 * by insertion, so that events due at the same moment run in the order
 * they were scheduled and a run never depends on how the heap breaks ties.
 *
 * @module
 */

/** Events by time, first in first out among equal times. */
export class EventQueue<T> {
  // Parallel arrays: no node object per event, which the big runs schedule by the million.
  readonly #times: number[] = [];
  readonly #ranks: number[] = [];
  readonly #items: T[] = [];
  #inserted = 0;

  /** How many events wait. */
  get size(): number {
    return this.#items.length;
  }

  /** When the first event is due, or Infinity when none waits. */
  get nextAt(): number {
    return this.#items.length > 0 ? this.#times[0] : Infinity;
  }

  /**
   * Schedules an event.
   *
   * @param at Its virtual time.
   * @param item The event.
   */
  push(at: number, item: T): void {
    const times = this.#times, ranks = this.#ranks, items = this.#items;
    const rank = this.#inserted++;
    let i = items.length;
    times.push(at);
    ranks.push(rank);
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (times[parent] < at || (times[parent] === at && ranks[parent] < rank)) break;
      times[i] = times[parent];
      ranks[i] = ranks[parent];
      items[i] = items[parent];
      i = parent;
    }
    times[i] = at;
    ranks[i] = rank;
    items[i] = item;
  }

  /**
   * Takes the first event; read its time from {@linkcode nextAt} before.
   *
   * @returns The event, or `undefined` when none waits.
   */
  pop(): T | undefined {
    const times = this.#times, ranks = this.#ranks, items = this.#items;
    const n = items.length - 1;
    if (n < 0) return undefined;
    const first = items[0];
    const at = times[n], rank = ranks[n], item = items[n];
    times.pop();
    ranks.pop();
    items.pop();
    if (n === 0) return first;
    let i = 0;
    while (true) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (
        right < n &&
        (times[right] < times[child] ||
          (times[right] === times[child] && ranks[right] < ranks[child]))
      ) child = right;
      if (at < times[child] || (at === times[child] && rank < ranks[child])) break;
      times[i] = times[child];
      ranks[i] = ranks[child];
      items[i] = items[child];
      i = child;
    }
    times[i] = at;
    ranks[i] = rank;
    items[i] = item;
    return first;
  }
}
