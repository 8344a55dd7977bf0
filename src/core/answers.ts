/**
 * When a chart answers a datagram directly, and how: a newcomer that has
 * not heard us and a probe get an answer, never larger than what asked for
 * it, only on a connected subnet, and within the rate limits. A newcomer
 * whose answer is held back gets the chart's next round of announcements
 * early instead, at most once a second.
 *
 * @module
 */

import type { Announcement } from "./wire.ts";

/**
 * Whether a datagram asks us by name to answer it: a probe, or an
 * announcement whose asks (field 7) hold our id.
 *
 * @param announcement The datagram.
 * @param id Our id.
 * @returns `true` when it asks us.
 */
export function asksUs(announcement: Announcement, id: bigint): boolean {
  return announcement.probe === true || announcement.asks?.includes(id) === true;
}

/**
 * Whether a datagram asks for an answer: one that asks us (a probe, or an
 * announcement that names us) does, and so does a newcomer that came from
 * the network just now (not handed over in the process, where it was handed
 * our last announcement, nor kept while idle) and has not surely heard our
 * last announcement. A sniffing chart never sends, and an answer is never
 * answered.
 *
 * @param announcement The datagram.
 * @param asked Whether it asks us (see {@linkcode asksUs}).
 * @param maintaining Whether the chart is maintained.
 * @param isNew Whether the sender is new to the chart, or was and is still owed its answer.
 * @param live Whether the datagram came from the network just now.
 * @param heardUs Whether the sender had surely heard our last announcement.
 * @returns `true` when an answer is due (the limits still apply).
 */
export function wantsAnswer(
  announcement: Announcement,
  asked: boolean,
  maintaining: boolean,
  isNew: boolean,
  live: boolean,
  heardUs: boolean,
): boolean {
  if (!maintaining || announcement.reply) return false;
  return asked || (isNew && live && !heardUs);
}

/**
 * Whether an answer is to be the bare Rust announcement: to a bare
 * announcement (a Rust peer, whose datagrams are the smallest), from a chart
 * with ports and no keys.
 *
 * @param announcement The datagram answered.
 * @param hasPorts Whether the chart announces ports.
 * @param signed Whether the chart signs.
 * @returns `true` for a bare answer.
 */
export function answersBare(announcement: Announcement, hasPorts: boolean, signed: boolean) {
  return announcement.incarnation === undefined && hasPorts && !signed;
}

/**
 * Whether an answer may go: no larger than the datagram that asked (so
 * that no one can amplify through us), to a source on a connected subnet.
 *
 * @param answerSize The answer's size in bytes.
 * @param askedSize The size of the datagram that asked.
 * @param onSubnet Whether the source is on a directly connected subnet.
 * @returns `true` when the rate limits are the only check left.
 */
export function mayAnswer(answerSize: number, askedSize: number, onSubnet: boolean): boolean {
  return answerSize <= askedSize && onSubnet;
}

/**
 * The least time between two rounds of announcements a chart brings forward
 * to answer newcomers by multicast, in ms: mDNS (RFC 6762, section 6)
 * multicasts a record at most once a second on an interface. A round goes to
 * the group, not to the newcomer's source, so a forged source reflects
 * nothing at its victim; what it can cost the link is this: one round a
 * second per chart on top of its schedule, while a steady chart announces
 * one a second anyway.
 */
export const MULTICAST_ANSWER_GAP = 1_000;

/**
 * When a newcomer whose unicast answer was held back (by a rate limit, its
 * source's credit or its size) gets the chart's next round: only on a
 * connected subnet, where the group reaches it, and at most once every
 * {@linkcode MULTICAST_ANSWER_GAP}: now, or once the gap since the last
 * round brought forward is over. A round due by then goes anyway.
 *
 * @param onSubnet Whether the newcomer's source is on a directly connected subnet.
 * @param lastPulled When the chart last brought a round forward.
 * @param nextRound When its next round is due.
 * @param now The time.
 * @returns When the round goes, or Infinity when the next one in turn answers it.
 */
export function owedRoundAt(
  onSubnet: boolean,
  lastPulled: number,
  nextRound: number,
  now: number,
): number {
  const at = Math.max(now, lastPulled + MULTICAST_ANSWER_GAP);
  return onSubnet && at < nextRound ? at : Infinity;
}
