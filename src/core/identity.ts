/**
 * Who an instance is across time: incarnations (a new one each start),
 * sequence numbers (one more each datagram), tombstones of instances that
 * left, and rivals (another live instance with the same id).
 *
 * @module
 */

/** How long a departed incarnation is remembered without keys, in time-to-lives. */
export const TOMBSTONE_TTLS = 10;
/** How long it is remembered with keys, where replays are the threat: an hour. */
export const SIGNED_TOMBSTONE_TIME = 3_600_000;
/** The most departed instances (and rivals of our id) remembered at once. */
export const MAX_TOMBSTONES = 4_096;
/**
 * How long a goodbye without keys bars all of its incarnation, in ms: long
 * enough for the datagrams it sent just before to arrive, and shorter than
 * an interval, so that an instance that never left (anyone can forge its
 * goodbye) is charted again at its next announcement.
 */
export const IN_FLIGHT_TIME = 100;

/**
 * An incarnation: the wall-clock start time in milliseconds in the high
 * bits, so that a restarted instance's incarnation is greater than its last
 * one, and random low bits, so that two started in the same millisecond
 * differ.
 *
 * @param wallMs The wall-clock time, in milliseconds since the epoch.
 * @param random 20 random bits, as an integer in [0, 2^20).
 * @returns The incarnation.
 */
export function incarnationOf(wallMs: number, random: number): bigint {
  return (BigInt(Math.max(0, Math.floor(wallMs))) << 20n) | BigInt(random & 0xfffff);
}

/**
 * How far ahead of a chart's own clock another instance's start may be
 * before its incarnation is not trusted: a minute of clock skew.
 */
export const MAX_CLOCK_AHEAD = 60_000;
/**
 * How many words in a row, with none from the charted incarnation between
 * them, let a rival incarnation take a charted id: three, so that jitter
 * alone (two words in one interval of the other) never does.
 */
export const RECLAIM_WORDS = 3;

/**
 * The start time an incarnation claims: its high bits.
 *
 * @param incarnation The incarnation.
 * @returns Milliseconds since the epoch.
 */
export function startOf(incarnation: bigint): number {
  return Number(incarnation >> 20n);
}

/**
 * Whether an incarnation claims a start later than a clock allows. Such an
 * incarnation (one forged as 2^64-1, say) is not trusted to be newer than
 * the charted one: it would otherwise win every comparison for good.
 *
 * @param incarnation The incarnation heard.
 * @param wallNow The chart's own wall clock now, in ms since the epoch.
 * @returns `true` when it starts more than {@linkcode MAX_CLOCK_AHEAD} ahead.
 */
export function isFromFuture(incarnation: bigint, wallNow: number): boolean {
  return startOf(incarnation) > wallNow + MAX_CLOCK_AHEAD;
}

/**
 * Whether sequence number `a` comes after `b`, with wrap-around (RFC 1982).
 *
 * @param a A sequence number.
 * @param b Another.
 * @returns `true` when `a` is newer.
 */
export function seqAfter(a: number, b: number): boolean {
  const distance = (a - b) >>> 0;
  return distance !== 0 && distance < 0x8000_0000;
}

/**
 * Whether a datagram shows its sender alive rather than a stray or replayed
 * one: it has a newer sequence number than the last heard (or either has
 * none, as a bare announcement).
 *
 * @param seq The datagram's sequence number.
 * @param last The last one heard from that incarnation.
 * @returns `true` when it counts as a second live word.
 */
export function isNewer(seq: number | undefined, last: number | undefined): boolean {
  return seq === undefined || last === undefined || seqAfter(seq, last);
}

/**
 * How long a departed incarnation is remembered.
 *
 * @param ttl Its time-to-live, in milliseconds.
 * @param signed Whether the chart has keys.
 * @returns The time in milliseconds.
 */
export function tombstoneTime(ttl: number, signed: boolean): number {
  return signed ? SIGNED_TOMBSTONE_TIME : TOMBSTONE_TTLS * ttl;
}

/**
 * Forgets the entries at the front of a map whose time is up, in constant
 * time but for those it forgets, so that it can run for every datagram. The
 * map keeps them in the order they came (or were last heard), so with one
 * lifetime for all (as a chart's peers mostly share one ttl) the oldest are
 * at the front and every one goes in time; one of a short time behind one
 * of a long time waits for it, or for the map's bound. (A cursor kept to
 * look further would hold on to the map's old tables as it grows and
 * shrinks.)
 *
 * @param map The entries, each kept until its `until`.
 * @param now The time.
 */
function forgetLapsed<K, V extends { until: number }>(map: Map<K, V>, now: number): void {
  for (const [key, value] of map) {
    if (now < value.until) return;
    map.delete(key);
  }
}

/** What the chart remembers of an incarnation that left. */
export interface Tombstone {
  incarnation: bigint;
  /** The last sequence number heard; only a newer one brings it back. */
  seq: number | undefined;
  /** It said goodbye: nothing of that incarnation brings it back... */
  final: boolean;
  /** ...until then; after that, as if it had expired. */
  finalUntil: number;
  /** Until when it is remembered. */
  until: number;
}

/**
 * Departed incarnations, so that their late or replayed datagrams do not
 * bring them back; bounded, and forgotten once their time is up.
 */
export class Tombstones {
  readonly #stones = new Map<bigint, Tombstone>();
  readonly #max: number;

  /**
   * Creates an empty set.
   *
   * @param max The most remembered at once.
   */
  constructor(max: number = MAX_TOMBSTONES) {
    this.#max = max;
  }

  /** How many are remembered. */
  get size(): number {
    return this.#stones.size;
  }

  /**
   * Whether an id has a tombstone, live or not.
   *
   * @param id The instance's id.
   * @returns `true` if one is kept.
   */
  has(id: bigint): boolean {
    return this.#stones.has(id);
  }

  /**
   * Remembers a departed incarnation, replacing what the id had.
   *
   * @param id The instance's id.
   * @param incarnation The incarnation that left.
   * @param seq Its last sequence number.
   * @param final Whether it said goodbye.
   * @param until Until when to remember it.
   * @param finalUntil Until when its goodbye bars all of it, if not as long.
   */
  bury(
    id: bigint,
    incarnation: bigint,
    seq: number | undefined,
    final: boolean,
    until: number,
    finalUntil: number = until,
  ) {
    this.#stones.delete(id);
    if (this.#stones.size >= this.#max) this.#stones.delete(this.#stones.keys().next().value!);
    this.#stones.set(id, { incarnation, seq, final, finalUntil, until });
  }

  /**
   * Judges a datagram of an id: a replay of a departed incarnation is
   * refused; anything else ends the tombstone, since the id lives again.
   *
   * @param id The sender's id.
   * @param incarnation The datagram's incarnation, if it has one.
   * @param seq Its sequence number.
   * @param now The time it was heard.
   * @returns `true` when the datagram is a replay, to drop as stale.
   */
  refuses(id: bigint, incarnation: bigint | undefined, seq: number | undefined, now: number) {
    // Every datagram of another instance is judged: churn cannot fill the set.
    forgetLapsed(this.#stones, now);
    const stone = this.#stones.get(id);
    if (!stone) return false;
    if (now < stone.until && incarnation !== undefined) {
      const replayed = incarnation < stone.incarnation ||
        (incarnation === stone.incarnation &&
          ((stone.final && now < stone.finalUntil) || seq === undefined ||
            stone.seq === undefined || !seqAfter(seq, stone.seq)));
      if (replayed) return true;
    }
    this.#stones.delete(id);
    return false;
  }
}

/** Another incarnation heard with an id, and whether it was reported. */
export interface Rival {
  seq: number | undefined;
  reported: boolean;
}

/**
 * Records a word from a rival incarnation and says whether to report it
 * now: once, on its second word, so that a stray datagram is no collision.
 *
 * @param rival What is known of it.
 * @param seq The new word's sequence number.
 * @returns `true` when the collision is to be reported now.
 */
export function rivalSpoke(rival: Rival, seq: number | undefined): boolean {
  const alive = isNewer(seq, rival.seq);
  // Only a newer word moves the mark: stray old ones, even in order, are no second word.
  if (alive) rival.seq = seq;
  if (!alive || rival.reported) return false;
  rival.reported = true;
  return true;
}

/** A rival of our id as {@linkcode Rivals} keeps it: until when its last word lives. */
interface HeardRival extends Rival {
  until: number;
}

/**
 * Another incarnation of a charted id than the charted one: the one it
 * replaced, or one heard since.
 */
export interface Contender extends Rival {
  incarnation: bigint;
  /** Its words since the charted incarnation last spoke. */
  inARow: number;
}

/** What a word from a contender means: see {@linkcode contenderSpoke}. */
export type ContenderWord = "stale" | "heard" | "collision" | "takes";

/**
 * Records a word from a contender, for a chart without keys, where an
 * incarnation is only a claim, and says what it means: `"stale"` when it is
 * no newer than its last; `"collision"` once, when it speaks right after
 * the charted one did, so that both are alive; `"takes"` on its
 * {@linkcode RECLAIM_WORDS}th word in a row, when the charted incarnation
 * has gone silent (a restart, or a hijack that stopped); else `"heard"`.
 * The charted incarnation's words set `inARow` back to 0.
 *
 * @param contender What is known of it.
 * @param seq The word's sequence number.
 * @returns What the word means.
 */
export function contenderSpoke(contender: Contender, seq: number | undefined): ContenderWord {
  if (!isNewer(seq, contender.seq)) return "stale";
  contender.seq = seq;
  if (++contender.inARow >= RECLAIM_WORDS) return "takes";
  if (contender.inARow > 1 || contender.reported) return "heard";
  contender.reported = true;
  return "collision";
}

/**
 * Other instances that announce our own id, by incarnation (a bare one as
 * -1); bounded, the least recently heard going first, and forgotten once
 * their last word's time-to-live is up. So forged rivals push out only
 * each other: a real one is still reported unless more new ones than the
 * bound come between its first two words.
 */
export class Rivals {
  readonly #rivals = new Map<bigint, HeardRival>();
  readonly #max: number;

  /**
   * Creates an empty set.
   *
   * @param max The most remembered at once.
   */
  constructor(max: number = MAX_TOMBSTONES) {
    this.#max = max;
  }

  /** How many are remembered. */
  get size(): number {
    return this.#rivals.size;
  }

  /**
   * Records a word from another instance with our id.
   *
   * @param incarnation Its incarnation, if it has one.
   * @param seq Its sequence number.
   * @param ttl Its time-to-live, in milliseconds.
   * @param now The time it was heard.
   * @returns `true` when the collision is to be reported now.
   */
  heard(
    incarnation: bigint | undefined,
    seq: number | undefined,
    ttl: number,
    now: number,
  ): boolean {
    const rivals = this.#rivals;
    forgetLapsed(rivals, now);
    const key = incarnation ?? -1n;
    const rival = rivals.get(key);
    // One whose time is up, still kept behind one that lives longer, is new again.
    if (!rival || rival.until <= now) {
      rivals.delete(key);
      if (rivals.size >= this.#max) rivals.delete(rivals.keys().next().value!);
      rivals.set(key, { seq, reported: false, until: now + ttl });
      return false;
    }
    // The most recently heard last, so that it is the last to go.
    rivals.delete(key);
    rivals.set(key, rival);
    rival.until = Math.max(rival.until, now + ttl);
    return rivalSpoke(rival, seq);
  }
}
