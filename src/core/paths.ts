/**
 * The addresses a charted instance is heard from: one per family on each
 * link it shares with us, as a dual-stack instance announces over IPv4 and
 * IPv6 alike. Which of them is the entry's `address`, and which its
 * `addresses`.
 *
 * @module
 */

import { isLinkLocal } from "./address.ts";

/** An address an instance was heard from. */
export interface Path {
  /** The address (a link-local IPv6 one with its zone). */
  address: string;
  /** The port its datagrams came from there, where probes go. */
  port: number;
  /** When it was last heard there. */
  heardAt: number;
}

/** The most addresses kept for one instance: two families on two links. */
export const MAX_PATHS = 4;

/**
 * How far behind the last sequence number a datagram may be and still show
 * its address alive: an instance numbers its announcements of one round in
 * turn, one per link and family, and they may arrive in any order.
 */
export const PATH_WINDOW = 16;

/**
 * How an address ranks as the entry's `address`: IPv4 first (so that
 * nothing changes for IPv4 users), then a global IPv6 address, then a
 * link-local one.
 *
 * @param address The address.
 * @returns 0, 1 or 2.
 */
export function rankOf(address: string): number {
  if (!address.includes(":")) return 0;
  return isLinkLocal(address) ? 2 : 1;
}

/**
 * Notes that an instance was heard from an address: its path is refreshed
 * or added, and paths not heard within `ttl` are dropped, the oldest too
 * when there are more than {@linkcode MAX_PATHS}.
 *
 * @param paths The instance's paths, changed in place.
 * @param address Where it was heard.
 * @param port The port it came from.
 * @param at When.
 * @param ttl The instance's time-to-live.
 */
export function notePath(
  paths: Path[],
  address: string,
  port: number,
  at: number,
  ttl: number,
): void {
  let path = paths.find((known) => known.address === address);
  if (path) {
    path.port = port;
    path.heardAt = Math.max(path.heardAt, at);
  } else {
    path = { address, port, heardAt: at };
    paths.push(path);
  }
  for (let i = paths.length - 1; i >= 0; i--) {
    if (paths[i] !== path && at - paths[i].heardAt > ttl) paths.splice(i, 1);
  }
  while (paths.length > MAX_PATHS) {
    let oldest = 0;
    for (let i = 1; i < paths.length; i++) {
      if (paths[i].heardAt < paths[oldest].heardAt) oldest = i;
    }
    paths.splice(oldest, 1);
  }
}

/**
 * Which path is the entry's `address`: among those heard within half the
 * time-to-live, the best ranked (see {@linkcode rankOf}); of those, the one
 * charted (an address stays steady while it is alive), else the one just
 * heard, else the latest heard.
 *
 * @param paths The instance's paths, the one just heard among them.
 * @param charted The address charted until now, if any.
 * @param heard The address just heard.
 * @param at When.
 * @param ttl The instance's time-to-live.
 * @returns The path to chart.
 */
export function chartedPath(
  paths: readonly Path[],
  charted: string | undefined,
  heard: string,
  at: number,
  ttl: number,
): Path {
  if (paths.length === 1) return paths[0];
  const alive = (path: Path) => path.address === heard || at - path.heardAt < ttl / 2;
  let bestRank = Infinity;
  for (const path of paths) if (alive(path)) bestRank = Math.min(bestRank, rankOf(path.address));
  let chosen: Path | undefined;
  for (const path of paths) {
    if (!alive(path) || rankOf(path.address) !== bestRank) continue;
    if (path.address === charted) return path;
    if (
      !chosen || path.address === heard ||
      (chosen.address !== heard && path.heardAt > chosen.heardAt)
    ) {
      chosen = path;
    }
  }
  return chosen!;
}

/**
 * The entry's `addresses`: the charted address, then one of the other
 * family, if the instance was heard over both (the best ranked, the one
 * listed until now while it is heard, else the latest heard). Several
 * addresses of one family add nothing: an IPv4 instance heard on two links
 * has one address, as it always had.
 *
 * @param paths The instance's paths.
 * @param charted The charted address.
 * @param listed The entry's `addresses` until now, if any.
 * @returns The addresses, or `undefined` when the instance was heard over one family.
 */
export function addressesOf(
  paths: readonly Path[],
  charted: string,
  listed: readonly string[] | undefined,
): string[] | undefined {
  if (paths.length < 2) return undefined;
  const v6 = charted.includes(":");
  let other: Path | undefined;
  for (const path of paths) {
    if (path.address.includes(":") === v6) continue;
    const rank = rankOf(path.address);
    const otherRank = other ? rankOf(other.address) : Infinity;
    if (
      rank < otherRank ||
      (rank === otherRank && other!.address !== listed?.[1] &&
        (path.address === listed?.[1] || path.heardAt > other!.heardAt))
    ) {
      other = path;
    }
  }
  return other && [charted, other.address];
}

/**
 * Whether two lists of addresses are the same.
 *
 * @param a One list, or `undefined` for none.
 * @param b The other.
 * @returns `true` when both are absent or equal.
 */
export function sameAddresses(
  a: readonly string[] | undefined,
  b: readonly string[] | undefined,
): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((address, i) => address === b[i]);
}
