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
 * time-to-live (1.3 of its intervals)...
 */
export const PROBE_AFTER = 0.4;
/**
 * ...and an instance gets at most this many probes between two datagrams
 * heard from it, spread evenly over the rest of its time-to-live. At 30%
 * loss in each direction a live instance expires only if 3 announcements
 * and all its probes' round trips are lost: 0.027 × 0.51¹⁰, about 3 in
 * 100,000 quiet spells (the simulator measures 4 in 100,000 time-to-lives;
 * with 3 probes, 7 in 1,000). Probes stop at the first answer, so under
 * loss a spell costs two or so whatever the cap; the cap is what an
 * instance that left without a word costs each chart.
 */
export const PROBES_PER_EXPIRY = 10;
/** The share of the time-to-live between two probes of one quiet spell. */
export const PROBE_GAP = (1 - PROBE_AFTER) / PROBES_PER_EXPIRY;
/** A sweep comes every this share of the shortest time-to-live (an eighth of an interval). */
export const SWEEP_EVERY = 0.04;
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
 * 0.4 of its time-to-live and then every {@linkcode PROBE_GAP} of it. A
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
  const untilExpiry = Math.max(1, Math.ceil(firstExpiry - now) + 1);
  return Math.min(period, untilExpiry);
}
