/**
 * Byte credit per source address: what may be sent to an address is paid
 * for by what was received from it, so that no forged source address turns
 * a chart, or a process of many charts, into an amplifier.
 *
 * Every datagram received earns its size for the address it came from;
 * every unicast sent there (answers and probes) spends its size. The credit
 * is capped, and lapses when its source is silent for an hour, the longest
 * time-to-live, so that what a departed peer sent long ago pays for nothing.
 * The charts of a process share one, which the shell owns: then they send
 * an address no more in all than the process received from it. Each chart
 * earns only its share of a datagram, so that the charts of other processes
 * on the host, which receive it too, leave the host's answers within it.
 *
 * @module
 */

import { MAX_TTL } from "./schedule.ts";

/** The most bytes of credit one source holds: 16 datagrams of the largest size read. */
export const CREDIT_CAP = 16_384;
/** How long a silent source keeps its credit, in ms: the longest time-to-live. */
export const CREDIT_LIFETIME: number = MAX_TTL;
/** The most sources kept; the one heard least recently goes first. */
const MAX_SOURCES = 4_096;

/** The credit of one source. */
interface Account {
  bytes: number;
  heardAt: number;
}

/** A datagram as the credit sees it: the bytes and the address they came from. */
export interface Received {
  /** Its bytes. */
  readonly data: Uint8Array;
  /** Where it came from. */
  readonly address: string;
}

/** What may be sent to each source address, earned by what came from it. */
export class SourceCredit {
  readonly #accounts = new Map<string, Account>();
  readonly #maxSources: number;
  /**
   * The datagram last counted: the charts that share this credit each
   * handle the same datagram, one after the other, and it counts once.
   */
  #last: Received | undefined;
  /** The part of the last datagram's bytes earned so far, at most 1. */
  #lastShare = 0;

  /**
   * Creates a credit with no source in it.
   *
   * @param maxSources The most sources kept.
   * @throws {RangeError} If `maxSources` is not a positive integer.
   */
  constructor(maxSources: number = MAX_SOURCES) {
    if (!Number.isInteger(maxSources) || maxSources < 1) {
      throw new RangeError(`Cannot keep credit for ${maxSources} sources: need a positive integer`);
    }
    this.#maxSources = maxSources;
  }

  /**
   * Counts a datagram received: a share of its size is credited to its
   * source, up to the cap. The same datagram again (handed to another chart
   * sharing this credit) adds its own share, and all of them together no
   * more than the datagram's size.
   *
   * @param datagram The datagram.
   * @param now The time, in ms of a monotonic clock.
   * @param share The part of its bytes to earn, from 0 to 1.
   */
  earn(datagram: Received, now: number, share = 1): void {
    if (datagram === this.#last) {
      share = Math.min(share, 1 - this.#lastShare);
    } else {
      this.#last = datagram;
      this.#lastShare = 0;
      share = Math.min(share, 1);
    }
    if (!(share > 0)) return;
    this.#lastShare += share;
    const source = datagram.address;
    const accounts = this.#accounts;
    let account = accounts.get(source);
    if (account) {
      // Heard now: it goes last, the latest to be dropped for a new source.
      accounts.delete(source);
      if (now - account.heardAt > CREDIT_LIFETIME) account.bytes = 0;
      account.heardAt = now;
    } else {
      if (accounts.size >= this.#maxSources) accounts.delete(accounts.keys().next().value!);
      account = { bytes: 0, heardAt: now };
    }
    account.bytes = Math.min(CREDIT_CAP, account.bytes + datagram.data.length * share);
    accounts.set(source, account);
  }

  /**
   * Whether a source has the credit for a datagram of some size.
   *
   * @param source The source's address.
   * @param bytes The datagram's size.
   * @param now The time, in ms of the same clock.
   * @returns `true` when {@linkcode spend} may take it.
   */
  covers(source: string, bytes: number, now: number): boolean {
    const account = this.#accounts.get(source);
    const balance = account && now - account.heardAt <= CREDIT_LIFETIME ? account.bytes : 0;
    return bytes <= balance;
  }

  /**
   * Spends credit for a datagram sent to a source, once
   * {@linkcode covers} said it has it.
   *
   * @param source The source's address.
   * @param bytes The datagram's size.
   */
  spend(source: string, bytes: number): void {
    const account = this.#accounts.get(source);
    if (account) account.bytes = Math.max(0, account.bytes - bytes);
  }
}
