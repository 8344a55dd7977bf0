/**
 * Seeds: the addresses a chart announces to by unicast, besides the
 * multicast group, so that instances find each other where multicast does
 * not reach (across routers, in container and cloud networks, over VPNs).
 *
 * The user names them (addresses, or DNS names the shell resolves); this
 * module keeps what they resolve to, says which of them to send to (not our
 * own discovery socket), which addresses the answer policy may reach off the
 * link, which seeds have been silent, and when to resolve names again. Pure:
 * time is passed in, and nothing is resolved here.
 *
 * @module
 */

import { canonicalAddress, familyOf } from "./address.ts";

/** Where a seed's datagrams go: an address (canonical) and a port. */
export interface SeedAddress {
  /** The address. */
  readonly address: string;
  /** The port: the seed's own, an SRV record's, or the discovery port. */
  readonly port: number;
}

/** The most seeds a chart is given. */
export const MAX_SEEDS = 256;
/** The most addresses all the seeds of a chart resolve to, together. */
export const MAX_SEED_ADDRESSES = 1_024;
/** The shortest time between two resolutions of a name, in ms, whatever its records' TTL. */
export const MIN_RESOLVE_PERIOD = 5_000;
/** The longest time between two resolutions of a name, in ms, whatever its records' TTL. */
export const MAX_RESOLVE_PERIOD = 60_000;
/**
 * How often a name is resolved when the resolver gives no TTL (Deno's
 * `Deno.resolveDns` gives none), in ms: members that join or leave DNS are
 * followed within this.
 */
export const UNTIMED_RESOLVE_PERIOD = 10_000;

/**
 * When to resolve a name again after it resolved.
 *
 * @param ttl The shortest TTL of its records, in seconds; `undefined` when
 *   the resolver gives none.
 * @returns The delay, in ms: the TTL within {@linkcode MIN_RESOLVE_PERIOD}
 *   and {@linkcode MAX_RESOLVE_PERIOD}.
 */
export function resolveDelay(ttl: number | undefined): number {
  if (ttl === undefined || !Number.isFinite(ttl)) return UNTIMED_RESOLVE_PERIOD;
  return Math.min(MAX_RESOLVE_PERIOD, Math.max(MIN_RESOLVE_PERIOD, ttl * 1000));
}

/**
 * When to try a name again after it failed to resolve: the shortest period,
 * doubled with each failure in a row, up to the longest.
 *
 * @param failures The failures in a row, 1 or more.
 * @returns The delay, in ms.
 */
export function retryDelay(failures: number): number {
  const doublings = Math.min(Math.max(0, failures - 1), 8);
  return Math.min(MAX_RESOLVE_PERIOD, MIN_RESOLVE_PERIOD * 2 ** doublings);
}

/** Whether an address is a loopback address: 127.0.0.0/8 or ::1. */
function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address === "::1";
}

/**
 * Whether a seed is our own discovery socket: one of our addresses (or
 * loopback) with our discovery port. Another port on our own address is
 * another instance, and stays a seed.
 *
 * @param seed The seed.
 * @param own Our addresses, canonical.
 * @param discoveryPort Our discovery port.
 * @returns `true` for a seed to skip.
 */
export function isOwnSeed(
  seed: SeedAddress,
  own: ReadonlySet<string>,
  discoveryPort: number,
): boolean {
  return seed.port === discoveryPort && (isLoopback(seed.address) || own.has(seed.address));
}

/** What the seed set knows of one destination. */
interface Destination extends SeedAddress {
  /** Since when it has been a seed, or when it was last heard from. */
  since: number;
  /** Whether its silence since `since` was reported. */
  reported: boolean;
  /** How many seeds resolve to it. */
  holds: number;
}

/** What {@linkcode SeedSet.set} changed. */
export interface SeedChange {
  /** Destinations that are new, less our own discovery socket. */
  added: SeedAddress[];
  /** Destinations that are gone. */
  removed: SeedAddress[];
  /** Addresses dropped because the set held {@linkcode MAX_SEED_ADDRESSES} already. */
  overflow: number;
}

function keyOf(address: string, port: number): string {
  return `${address}|${port}`;
}

/**
 * The addresses a chart's seeds resolve to: each seed (as the user wrote
 * it) has its own list, replaced whenever it resolves anew, and a
 * destination named by several seeds is sent to once.
 */
export class SeedSet {
  readonly #discoveryPort: number;
  /** Each seed's addresses, by the seed's text. */
  readonly #bySeed = new Map<string, SeedAddress[]>();
  /** Every destination, once. */
  readonly #destinations = new Map<string, Destination>();
  /** How many destinations each address has, for the answer policy. */
  readonly #addresses = new Map<string, number>();
  #own: ReadonlySet<string> = new Set();
  readonly #families: ReadonlySet<4 | 6>;

  /**
   * Creates an empty set.
   *
   * @param discoveryPort Our discovery port: a seed on it at our own address is skipped.
   * @param families The address families in use: an address of another is
   *   left out, so that a chart on IPv6 alone sends nothing over IPv4 (a
   *   name's A records) and one on IPv4 alone nothing over IPv6.
   */
  constructor(discoveryPort: number, families: Iterable<4 | 6> = [4, 6]) {
    this.#discoveryPort = discoveryPort;
    this.#families = new Set(families);
  }

  /** How many destinations there are, our own included. */
  get size(): number {
    return this.#destinations.size;
  }

  /**
   * Replaces what one seed resolves to.
   *
   * @param seed The seed, as the user wrote it.
   * @param addresses What it resolves to now; empty when it left DNS.
   * @param now The time.
   * @returns What changed.
   */
  set(seed: string, addresses: readonly SeedAddress[], now: number): SeedChange {
    const change: SeedChange = { added: [], removed: [], overflow: 0 };
    const before = this.#bySeed.get(seed) ?? [];
    const kept: SeedAddress[] = [];
    const seen = new Set<string>();
    // The new list is held before the old one is let go: what stays keeps its history.
    for (const given of addresses) {
      const address = canonicalAddress(given.address);
      if (address === undefined || !this.#families.has(familyOf(address))) continue;
      const key = keyOf(address, given.port);
      if (seen.has(key)) continue;
      if (!this.#destinations.has(key) && this.#destinations.size >= MAX_SEED_ADDRESSES) {
        change.overflow++;
        continue;
      }
      seen.add(key);
      kept.push({ address, port: given.port });
      this.#hold(address, given.port, now, change);
    }
    for (const { address, port } of before) this.#release(address, port, change);
    if (kept.length > 0) this.#bySeed.set(seed, kept);
    else this.#bySeed.delete(seed);
    return change;
  }

  /**
   * Sets our own addresses, so that our own discovery socket is no destination.
   *
   * @param addresses Our addresses.
   */
  setOwn(addresses: Iterable<string>): void {
    const own = new Set<string>();
    for (const address of addresses) own.add(canonicalAddress(address) ?? address);
    this.#own = own;
  }

  /**
   * Whether an address is a seed's: the user named it (or a name that
   * resolves to it), so it is answered and probed even off the link.
   *
   * @param address The address, as the network reports it.
   * @returns `true` for a seed's address.
   */
  has(address: string): boolean {
    return this.#addresses.has(address);
  }

  /**
   * The destinations to announce to: every seed's, less our own discovery socket.
   *
   * @returns The destinations.
   */
  *destinations(): IterableIterator<SeedAddress> {
    for (const destination of this.#destinations.values()) {
      if (!isOwnSeed(destination, this.#own, this.#discoveryPort)) yield destination;
    }
  }

  /**
   * Notes a datagram from an address: a seed there is not silent.
   *
   * @param address Where it came from.
   * @param now The time.
   */
  heard(address: string, now: number): void {
    if (!this.#addresses.has(address)) return;
    for (const destination of this.#destinations.values()) {
      if (destination.address !== address) continue;
      destination.since = now;
      destination.reported = false;
    }
  }

  /**
   * Returns the destinations not heard from for `after` ms, since they
   * became seeds or were last heard, and not yet reported; each is returned
   * once per silence.
   *
   * @param now The time.
   * @param after How long a seed may be silent.
   * @returns The destinations newly silent.
   */
  silent(now: number, after: number): SeedAddress[] {
    const silent: SeedAddress[] = [];
    for (const destination of this.#destinations.values()) {
      if (destination.reported || now - destination.since < after) continue;
      if (isOwnSeed(destination, this.#own, this.#discoveryPort)) continue;
      destination.reported = true;
      silent.push({ address: destination.address, port: destination.port });
    }
    return silent;
  }

  #hold(address: string, port: number, now: number, change: SeedChange): void {
    const key = keyOf(address, port);
    const destination = this.#destinations.get(key);
    if (destination) {
      // Held by another seed too: one more reason to keep it.
      destination.holds++;
      return;
    }
    this.#destinations.set(key, { address, port, since: now, reported: false, holds: 1 });
    this.#addresses.set(address, (this.#addresses.get(address) ?? 0) + 1);
    const added = { address, port };
    // New, but our own: nothing goes there.
    if (!isOwnSeed(added, this.#own, this.#discoveryPort)) change.added.push(added);
  }

  #release(address: string, port: number, change: SeedChange): void {
    const key = keyOf(address, port);
    const destination = this.#destinations.get(key);
    if (!destination) return;
    if (--destination.holds > 0) return;
    this.#destinations.delete(key);
    const count = (this.#addresses.get(address) ?? 1) - 1;
    if (count > 0) this.#addresses.set(address, count);
    else this.#addresses.delete(address);
    change.removed.push({ address, port });
  }
}
