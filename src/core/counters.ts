/**
 * What a chart counts: datagrams received, sent and dropped, by reason.
 *
 * @module
 */

import type { VerifyFailure } from "./keyring.ts";
import { DROP_REASONS, type DropReason } from "./wire.ts";

/** Why a datagram was dropped, beyond malformed ones. */
export type DropCounter =
  | DropReason
  | VerifyFailure
  | "own"
  | "idle"
  | "stale"
  | "full"
  | "bare-goodbye"
  | "family";

/** What a chart has received, sent and dropped since it was built. */
export interface Counters {
  /** Datagrams received on the discovery port and the chart's own sockets. */
  received: number;
  /**
   * Datagrams dropped, by reason: the malformed ones by {@linkcode DropReason};
   * `own` our own announcements heard back; `idle` those that arrived while
   * neither maintain nor sniff ran and were not kept for when one starts (the
   * chart keeps the last one from each sender, up to its entry limit);
   * `stale` those older than what the chart already has from their sender
   * (an old incarnation, a lower sequence number, an instance that said
   * goodbye, a kept one whose time-to-live ran out); with keys, `unsigned`,
   * `unknown-key` and `bad-signature`; `full` newcomers turned away by a
   * full chart; `bare-goodbye` goodbyes that name no incarnation, which
   * could be no instance's own; `family` datagrams from an address family
   * the chart does not use (`withFamily`).
   */
  dropped: Record<DropCounter, number>;
  /** Multicast announcements sent (one per interface and round). */
  announcements: number;
  /** Announcements and goodbyes unicast to seeds (one per seed address and round). */
  seedAnnouncements: number;
  /**
   * Unicast answers sent to newcomers and probes; those the shell dropped
   * unsent are counted in `sendsDropped` too.
   */
  replies: number;
  /**
   * Rounds of announcements brought forward, to the group on every link, for
   * a newcomer whose unicast answer was held back (see `repliesSuppressed`):
   * at most one a second. The charts of a process share what they may unicast
   * to a source, and a newcomer's first datagram pays for one answer, so the
   * others answer it this way.
   */
  multicastAnswers: number;
  /** Unicast probes sent to instances that went quiet. */
  probes: number;
  /**
   * Quiet instances named in a round of announcements (field 7) because the
   * bytes received from their address did not pay for a probe: a probe to
   * the group, which only they answer, by unicast paid by what we sent them.
   */
  probesAsked: number;
  /**
   * Answers not sent: over a rate limit, larger than the datagram that asked
   * for them, to a source on no directly connected subnet, or beyond the
   * bytes received from that source (its credit).
   */
  repliesSuppressed: number;
  /**
   * Probes held back when due, over a rate limit or beyond the bytes
   * received from their address; each counts once, however many sweeps
   * hold it back before it goes or its instance is heard or expires.
   */
  probesSuppressed: number;
  /** Unconfirmed newcomers, or quiet confirmed instances, dropped to make room in a full chart. */
  evicted: number;
  /** Goodbyes sent. */
  goodbyes: number;
  /**
   * Unicasts (answers and probes) dropped unsent because too many were in
   * flight, held up in the kernel: 256 for the chart, or 2,048 for the
   * process. Announcements and goodbyes are never dropped for them.
   */
  sendsDropped: number;
  /** Sends that failed. */
  sendErrors: number;
  /** Receives that failed. */
  receiveErrors: number;
}

/**
 * Returns counters at zero.
 *
 * @returns The counters.
 */
export function newCounters(): Counters {
  const dropped = {
    own: 0,
    idle: 0,
    stale: 0,
    full: 0,
    "bare-goodbye": 0,
    family: 0,
    unsigned: 0,
    "unknown-key": 0,
    "bad-signature": 0,
  } as Record<DropCounter, number>;
  for (const reason of DROP_REASONS) dropped[reason] = 0;
  return {
    received: 0,
    dropped,
    announcements: 0,
    seedAnnouncements: 0,
    replies: 0,
    multicastAnswers: 0,
    probes: 0,
    probesAsked: 0,
    repliesSuppressed: 0,
    probesSuppressed: 0,
    evicted: 0,
    goodbyes: 0,
    sendsDropped: 0,
    sendErrors: 0,
    receiveErrors: 0,
  };
}

/**
 * Returns a copy of counters that later counting does not change.
 *
 * @param counters The counters.
 * @returns The copy.
 */
export function copyCounters(counters: Counters): Counters {
  return { ...counters, dropped: { ...counters.dropped } };
}
