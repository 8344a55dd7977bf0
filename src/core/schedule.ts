/**
 * When a chart announces itself: the ramp from short intervals to long ones,
 * spaced further in a crowd, with jitter; and the time-to-live that the
 * schedule lets it promise.
 *
 * @module
 */

import { JITTER, nextInterval, type Rampdown } from "./interval.ts";

/** The longest time-to-live taken from an announcement: one hour. */
export const MAX_TTL = 3_600_000;
/** Per instance charted, the shortest interval a large chart ramps down from, in ms. */
export const CROWD_SPACING = 5;
/**
 * Slack on "it was listening when we announced", in ms. The estimate errs
 * only towards answering: a newcomer's listening time is read when its
 * datagram is handled, after transit and queueing, so it seems to have
 * started later than it did; the margin covers rounding to milliseconds.
 */
export const TRANSIT_MARGIN = 2;
/** The largest value of the listening field. */
const UINT32_MAX = 0xffff_ffff;

/**
 * The time-to-live a chart announces: three of its longest intervals,
 * jitter included.
 *
 * @param rampdown The chart's ramp.
 * @returns The time-to-live in milliseconds.
 */
export function announcedTtl(rampdown: Rampdown): number {
  // Rounded first, so that 3 × 300 × 1.1 gives 990 rather than 991.
  const exact = Math.round(3 * rampdown.max * (1 + JITTER) * 1000) / 1000;
  return Math.min(MAX_TTL, Math.ceil(exact));
}

/**
 * The interval after an announcement, for a chart of a given size. A large
 * chart slows its ramp, so that N instances do not send N² datagrams ten
 * times a second: never beyond the longest interval its time-to-live covers.
 *
 * @param rampdown The chart's ramp.
 * @param size The instances charted, this one included.
 * @param elapsed Milliseconds from the start of announcing to the last announcement.
 * @param jitter The round's random draw, in [0, 1).
 * @returns The interval in milliseconds.
 */
export function roundInterval(
  rampdown: Rampdown,
  size: number,
  elapsed: number,
  jitter: number,
): number {
  const crowded = Math.min(rampdown.max, size * CROWD_SPACING);
  if (crowded <= rampdown.min) return nextInterval(rampdown, elapsed, jitter);
  return nextInterval(
    { min: crowded, max: rampdown.max, rampdown: rampdown.rampdown },
    elapsed,
    jitter,
  );
}

/**
 * Whether a newcomer has surely heard our last announcement: it was already
 * listening when that went out. Then an answer would tell it nothing. A Rust
 * peer says nothing of the kind (`listening` undefined) and is always
 * answered.
 *
 * Our first announcement is the exception, where the doubt goes the other
 * way: a newcomer that began to listen within {@linkcode TRANSIT_MARGIN} of
 * it started with us, and is taken to have heard it. Instances that start at
 * one moment would otherwise all answer each other, N − 1 answers each (and
 * spend on them what each earned of the others' credit); one that did miss
 * it hears our second round within an interval.
 *
 * @param listening How long the newcomer says it has listened, in ms.
 * @param lastAnnounced When we last announced.
 * @param now When its datagram was heard.
 * @param first Whether our last announcement was our first.
 * @returns `true` when no answer is needed.
 */
export function heardUs(
  listening: number | undefined,
  lastAnnounced: number,
  now: number,
  first = false,
): boolean {
  if (listening === undefined) return false;
  const since = now - listening;
  return first ? lastAnnounced >= since - TRANSIT_MARGIN : lastAnnounced > since + TRANSIT_MARGIN;
}

/**
 * The listening field of our announcements: how long we have heard all
 * that reached us, in whole milliseconds.
 *
 * @param since Since when we have (Infinity while idle).
 * @param now The time of the announcement.
 * @returns The field's value, 0 while idle.
 */
export function listeningFor(since: number, now: number): number {
  return Math.min(UINT32_MAX, Math.max(0, Math.floor(now - since)));
}
