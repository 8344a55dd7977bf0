/**
 * How charted instances go: expiry when quiet past their time-to-live, and
 * the probes that ask a quiet one before that, so that lost announcements
 * do not make a live instance flap.
 *
 * @module
 */

/** The time-to-live of an instance that announces none (the Rust crate's), in milliseconds. */
export const DEFAULT_BARE_TTL = 3_300;
/**
 * Probing starts when an instance was quiet for this share of its
 * time-to-live: 2.1 of its intervals, past two intervals and their jitter
 * (2.2 at most), so that it takes two announcements lost in a row, not one.
 * From 0.4 (one lost), a chart of 1,000 at 30% loss sent 568 datagrams a
 * second, and each probe lost spent what the peer had earned of the
 * chart's credit, which its later probes then lacked (the simulator).
 */
export const PROBE_AFTER = 0.7;
/**
 * ...and an instance gets at most this many probes between two datagrams
 * heard from it, spread evenly over the rest of its time-to-live. At 30%
 * loss in each direction a live instance expires only if 3 announcements
 * and all its probes' round trips are lost: 0.027 × 0.51¹⁵, about 1 in
 * 30,000,000 quiet spells, if its credit pays for them all (with 10, 3 in
 * 100,000). Probes stop at the first answer, so under loss a spell costs
 * two or so whatever the cap; the cap is what an instance that left
 * without a word costs each chart.
 */
export const PROBES_PER_EXPIRY = 15;
/**
 * The share of the time-to-live between two probes of one quiet spell: the
 * last is due a gap before the end, so that a sweep a gap late still sends
 * it in time for its answer.
 */
export const PROBE_GAP = (1 - PROBE_AFTER) / (PROBES_PER_EXPIRY + 1);
/** A sweep comes every this share of the shortest time-to-live (some 16 an interval). */
export const SWEEP_EVERY: number = PROBE_GAP;
/** The longest time between sweeps, in ms. */
const LONGEST_SWEEP = 1_000;
/** The shortest time between sweeps, in ms. */
const SHORTEST_SWEEP = 5;

/** How long an instance has been quiet, and what it promised. */
export interface Liveness {
  /** Its time-to-live, in ms. */
  ttl: number;
  /** When it was last heard. */
  heardAt: number;
  /** How many probes it was sent since it was last heard. */
  probes: number;
}

/**
 * Whether an instance has expired: quiet for longer than its time-to-live.
 *
 * @param peer The instance.
 * @param now The time.
 * @returns `true` when it is to be removed.
 */
export function isExpired(peer: Liveness, now: number): boolean {
  return now - peer.heardAt > peer.ttl;
}

/**
 * Whether a quiet instance is due a probe: its next one of the spell, at
 * 0.7 of its time-to-live and then every {@linkcode PROBE_GAP} of it. A
 * probe that could not go (a limit, no credit) stays due, so that the next
 * sweep sends it before the later ones of others.
 *
 * @param peer The instance.
 * @param now The time.
 * @returns `true` when a probe is due.
 */
export function isProbeDue(peer: Liveness, now: number): boolean {
  return peer.probes < PROBES_PER_EXPIRY &&
    now - peer.heardAt > (PROBE_AFTER + peer.probes * PROBE_GAP) * peer.ttl;
}

/**
 * The time until the next sweep: a round every so often for the probes,
 * and one just after the first time-to-live runs out, so that an instance
 * expires then and not up to a round later.
 *
 * @param shortestTtl The shortest time-to-live charted.
 * @param firstExpiry When the first time-to-live runs out.
 * @param now The time.
 * @returns The delay in milliseconds, at least 1.
 */
export function sweepDelay(shortestTtl: number, firstExpiry: number, now: number): number {
  const period = Math.min(LONGEST_SWEEP, Math.max(SHORTEST_SWEEP, shortestTtl * SWEEP_EVERY));
  // At the whole millisecond after the first expiry, whatever the sweeps' phase.
  const untilExpiry = Math.max(1, Math.ceil(firstExpiry) + 1 - now);
  return Math.min(period, untilExpiry);
}
