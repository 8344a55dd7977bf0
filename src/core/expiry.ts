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
 * ...and repeats after this share of it (an eighth of an interval) until the
 * instance expires: some 15 probes, so that at 30% loss in each direction an
 * instance expires only if 3 announcements and every probe's round trip are
 * lost, about once in a million time-to-lives.
 */
export const PROBE_EVERY = 0.04;
/** The most probes one sweep sends. */
export const PROBES_PER_SWEEP = 4;
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
  /** When it was last probed, 0 for not since it was heard. */
  probedAt: number;
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
 * Whether a quiet instance is due a probe: quiet for a good share of its
 * time-to-live, and not probed for a while.
 *
 * @param peer The instance.
 * @param now The time.
 * @returns `true` when a probe is due.
 */
export function isProbeDue(peer: Liveness, now: number): boolean {
  // Due again at the sweep that comes PROBE_EVERY after the last probe: the
  // same sum as the sweep's time, so that an exact clock finds it due too.
  return now - peer.heardAt > PROBE_AFTER * peer.ttl &&
    now >= peer.probedAt + PROBE_EVERY * peer.ttl;
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
  const period = Math.min(LONGEST_SWEEP, Math.max(SHORTEST_SWEEP, shortestTtl * PROBE_EVERY));
  const untilExpiry = Math.max(1, Math.ceil(firstExpiry - now) + 1);
  return Math.min(period, untilExpiry);
}
