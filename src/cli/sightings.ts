/**
 * What the CLI has seen of each instance: the chart's events, with when each
 * instance was first and last seen. Times are `performance.now()` readings, a
 * monotonic clock, so that durations stay right when the wall clock jumps.
 *
 * @module
 */

import type { ChartEvent, Entry } from "../../mod.ts";

/** A change to the chart: an instance was added, updated or removed. */
export type ChartChange = Extract<ChartEvent<Entry>, { type: "added" | "updated" | "removed" }>;

/** The last change the CLI saw to an instance. */
export type Change = ChartChange["type"];

/** One instance as the CLI has seen it. */
export interface Sighting {
  /** The instance as last charted. */
  readonly entry: Entry;
  /** When it was first charted. */
  readonly firstSeen: number;
  /** When it was last heard, or showed a change if the chart cannot say. */
  readonly lastSeen: number;
  /** Its last change. */
  readonly change: Change;
  /** When that change happened. */
  readonly changedAt: number;
  /** The instance before its last change, after an `"updated"`. */
  readonly previous?: Entry;
  /** Why it left the chart, after a `"removed"`. */
  readonly reason?: string;
}

/** Compares sightings by address (numerically), then by id. */
export function byAddress(a: Sighting, b: Sighting): number {
  return a.entry.address.localeCompare(b.entry.address, "en", { numeric: true }) ||
    (a.entry.id < b.entry.id ? -1 : a.entry.id > b.entry.id ? 1 : 0);
}

/** The sightings of every instance the CLI has seen, charted or gone. */
export class Sightings {
  #byId = new Map<bigint, Sighting>();
  #lastHeard: ((id: bigint) => number | undefined) | undefined;

  /**
   * Creates an empty record.
   *
   * @param lastHeard When the chart last heard an instance (`chart.lastHeard`),
   *   so that "last seen" counts every announcement, not only changes.
   */
  constructor(lastHeard?: (id: bigint) => number | undefined) {
    this.#lastHeard = lastHeard;
  }

  #fresh(sighting: Sighting): Sighting {
    if (sighting.change === "removed") return sighting;
    const heard = this.#lastHeard?.(sighting.entry.id);
    return heard !== undefined && heard > sighting.lastSeen
      ? { ...sighting, lastSeen: heard }
      : sighting;
  }

  /**
   * Records a change to the chart.
   *
   * @param event The change.
   * @param at When it arrived.
   * @returns The instance's sighting after the event.
   */
  record(event: ChartChange, at: number): Sighting {
    const { entry } = event;
    const known = this.#byId.get(entry.id);
    const firstSeen = known && known.change !== "removed" ? known.firstSeen : at;
    const sighting: Sighting = event.type === "removed"
      ? {
        entry,
        firstSeen,
        // The chart no longer has it: the event says when it was last heard.
        lastSeen: Math.max(event.lastHeard, known?.lastSeen ?? -Infinity),
        change: "removed",
        changedAt: at,
        reason: event.reason,
      }
      : event.type === "updated"
      ? {
        entry,
        firstSeen,
        lastSeen: at,
        change: "updated",
        changedAt: at,
        previous: event.previous,
      }
      : { entry, firstSeen, lastSeen: at, change: "added", changedAt: at };
    this.#byId.set(entry.id, sighting);
    return sighting;
  }

  /**
   * Returns the instances in the chart, sorted by address and id.
   *
   * @returns Their sightings.
   */
  charted(): Sighting[] {
    return [...this.#byId.values()].filter((s) => s.change !== "removed").map((s) => this.#fresh(s))
      .sort(byAddress);
  }

  /**
   * Returns every sighting, gone instances included, sorted by address and
   * id; forgets instances that left the chart before `goneSince`.
   *
   * @param goneSince Keeps instances removed at or after this time.
   * @returns The sightings.
   */
  recent(goneSince: number): Sighting[] {
    for (const [id, sighting] of this.#byId) {
      if (sighting.change === "removed" && sighting.changedAt < goneSince) this.#byId.delete(id);
    }
    return [...this.#byId.values()].map((s) => this.#fresh(s)).sort(byAddress);
  }
}
