/**
 * What a chart holds of an instance, and the changes it reports.
 *
 * @module
 */

/** A charted instance of a chart built with service ports. */
export interface PortEntry {
  /** The instance's id. */
  readonly id: bigint;
  /**
   * The address the instance was heard from: IPv4 when it was heard over
   * IPv4, else IPv6 (a global address before a link-local one, which
   * carries its zone: `fe80::1%eth0`). It stays the same while the
   * instance is heard there. Ready for `Deno.connect` and Node's `net.connect`.
   */
  readonly address: string;
  /**
   * Every address the instance was heard from within its time-to-live,
   * `address` first: present only when there is more than one (an instance
   * heard over IPv4 and IPv6, or on two links), so that an instance heard at
   * one address has the entry it always had.
   */
  readonly addresses?: readonly string[];
  /** The instance's service ports, in the order it set them. */
  readonly ports: readonly number[];
}

/** A charted instance of a chart built with a custom message. */
export interface MsgEntry<M = unknown> {
  /** The instance's id. */
  readonly id: bigint;
  /**
   * The address the instance was heard from: IPv4 when it was heard over
   * IPv4, else IPv6 (a global address before a link-local one, which
   * carries its zone: `fe80::1%eth0`). It stays the same while the
   * instance is heard there. Ready for `Deno.connect` and Node's `net.connect`.
   */
  readonly address: string;
  /**
   * Every address the instance was heard from within its time-to-live,
   * `address` first: present only when there is more than one (an instance
   * heard over IPv4 and IPv6, or on two links), so that an instance heard at
   * one address has the entry it always had.
   */
  readonly addresses?: readonly string[];
  /** The instance's message. */
  readonly msg: M;
}

/** A charted instance. */
export type Entry = PortEntry | MsgEntry<unknown>;

/**
 * Why an instance left the chart: it said goodbye, it was not heard within
 * its time-to-live, `forget` dropped it, or a full chart made room for a
 * newcomer (an unconfirmed one, heard once, or one quiet for 10 s or its ttl).
 */
export type RemoveReason = "goodbye" | "expired" | "forgotten" | "evicted";

/** A change to the chart, or a conflict it noticed. */
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
    /**
     * When it was last heard, on the clock of `performance.now()` (as
     * `chart.lastHeard` gives it while the instance is charted).
     */
    lastHeard: number;
  }
  | {
    /**
     * Two live instances announce the same id: this one, or the one
     * charted, and another. The chart keeps the one it has (or us) and
     * reports each other instance once.
     */
    type: "collision";
    /** The other instance, as it announces itself. */
    entry: E;
    /** Whether the other instance has this chart's own id. */
    withUs: boolean;
  };
