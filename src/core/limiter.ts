/**
 * Token buckets that bound the answers a chart sends: in total, and to each
 * source address, so that forged announcements cannot make it flood anyone.
 *
 * @module
 */

/** How many answers a chart may send. */
export interface ReplyLimits {
  /**
   * Answers per second in all, and the burst allowed at once.
   *
   * @default {1000}
   */
  total?: number;
  /**
   * Answers per second to one source address; twice that at once. Loopback
   * sources (this machine's own instances) are bound only by the total.
   *
   * @default {50}
   */
  perSource?: number;
}

/** The default answers per second in all. */
export const DEFAULT_TOTAL_REPLIES = 1_000;
/** The default answers per second to one source. */
export const DEFAULT_SOURCE_REPLIES = 50;
const MAX_SOURCES = 4_096;
/** A source's bucket holds twice its rate: unused for two seconds, it is full again. */
const REFILL_TIME = 2_000;

interface Bucket {
  tokens: number;
  at: number;
}

/** A token bucket that holds `burst` tokens and gains `rate` per second. */
function take(bucket: Bucket, rate: number, burst: number, now: number): boolean {
  bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * rate);
  bucket.at = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

/** The limits on one chart's answers. */
export class ReplyLimiter {
  readonly #total: number;
  readonly #perSource: number;
  readonly #all: Bucket;
  readonly #sources = new Map<string, Bucket>();

  /**
   * Creates full buckets.
   *
   * @param limits The rates.
   * @param now The time, in milliseconds of a monotonic clock.
   */
  constructor(limits: ReplyLimits, now: number) {
    this.#total = limits.total ?? DEFAULT_TOTAL_REPLIES;
    this.#perSource = limits.perSource ?? DEFAULT_SOURCE_REPLIES;
    this.#all = { tokens: this.#total, at: now };
  }

  /**
   * Takes a token for an answer to a source, if both buckets have one.
   *
   * @param source The source's IPv4 address.
   * @param now The time, in milliseconds of the same clock.
   * @returns Whether the answer may be sent.
   */
  allow(source: string, now: number): boolean {
    if (!source.startsWith("127.")) {
      const sources = this.#sources;
      // Sources are kept in the order of their last answer: a bucket unused
      // for its refill time is full, the same as none, so those go first.
      for (const [address, bucket] of sources) {
        if (now - bucket.at < REFILL_TIME) break;
        sources.delete(address);
      }
      let bucket = sources.get(source);
      if (!bucket) {
        // The least recently answered source goes first when too many are tracked.
        if (sources.size >= MAX_SOURCES) sources.delete(sources.keys().next().value!);
        bucket = { tokens: 2 * this.#perSource, at: now };
        sources.set(source, bucket);
      }
      if (bucket.tokens + ((now - bucket.at) / 1000) * this.#perSource < 1) return false;
      if (this.#all.tokens + ((now - this.#all.at) / 1000) * this.#total < 1) return false;
      take(bucket, this.#perSource, 2 * this.#perSource, now);
      sources.delete(source);
      sources.set(source, bucket);
    }
    return take(this.#all, this.#total, this.#total, now);
  }

  /** How many sources are tracked: those answered within their refill time, at most 4,096. */
  get sources(): number {
    return this.#sources.size;
  }
}
