/**
 * The network interfaces discovery runs on.
 *
 * @module
 */

import type * as NodeFs from "node:fs";
import type * as NodeOs from "node:os";
import {
  canonicalAddress,
  isLinkLocal,
  isLoopback,
  prefixLength,
  sharesPrefix,
  withoutZone,
} from "../core/address.ts";

/**
 * Deno's own APIs where there are some. In Deno, node:fs costs 28 ms to load
 * (a fresh process that imports it is ready after 42 ms, after 14 without
 * it; measured), its first reads 0.5 to 0.6 ms against Deno's own 0.1 to
 * 0.2, and any node: module at all starts Deno's Node.js layer, some 10 ms.
 * Node.js and Bun hand node:fs and node:os over as this module loads, with
 * no import.
 */
const deno = (globalThis as { Deno?: typeof Deno }).Deno;
const fs = deno ? undefined : builtin<typeof NodeFs>("node:fs");
const os = deno ? undefined : builtin<typeof NodeOs>("node:os");

/** A module of Node.js (20.16 on) or Bun, from the runtime: `process.getBuiltinModule`. */
function builtin<T>(name: string): T {
  const { process } = globalThis as unknown as { process: { getBuiltinModule(id: string): T } };
  return process.getBuiltinModule(name);
}

function readText(path: string): string {
  return deno ? deno.readTextFileSync(path) : fs!.readFileSync(path, "utf8");
}

function readNames(path: string): string[] {
  return deno ? Array.from(deno.readDirSync(path), (entry) => entry.name) : fs!.readdirSync(path);
}

/** An address of an interface, as the runtime lists it. */
export interface ListedAddress {
  /** The interface's name. */
  name: string;
  /** `"IPv4"` or `"IPv6"` (4 or 6 in some versions of Node.js). */
  family: string | number;
  /** The address; a link-local IPv6 one may carry its zone. */
  address: string;
  netmask: string;
  /** The interface's index, for IPv6 addresses where the runtime says it. */
  scopeid?: number | null;
  /** Whether it is a loopback address, where the runtime says (Node.js and Bun do, Deno not). */
  internal?: boolean;
}

/**
 * Every address of every interface, from the runtime: `Deno.networkInterfaces`
 * in Deno, node:os elsewhere.
 *
 * @returns The addresses.
 * @throws {Error} Where listing interfaces is not permitted (Deno without `--allow-sys`).
 */
export function listAddresses(): ListedAddress[] {
  if (deno) return deno.networkInterfaces();
  return Object.entries(os!.networkInterfaces()).flatMap(([name, infos]) =>
    (infos ?? []).map((info) => ({ ...info, name }))
  );
}

/**
 * Which address families discovery uses: IPv4, IPv6, or both (IPv6 on the
 * interfaces that have an IPv6 address).
 */
export type AddressFamily = "ipv4" | "ipv6" | "both";

/** An address of an interface. */
export interface NetInterface {
  /** Its name, such as `eth0`. */
  name: string;
  /** 4 or 6. */
  family: 4 | 6;
  /**
   * The address, canonical (RFC 5952 for IPv6); a link-local IPv6 address
   * carries its zone, the interface's name: `fe80::1%eth0`.
   */
  address: string;
  /** Its netmask. */
  netmask: string;
  /** The interface's index (its IPv6 scope id); 0 where unknown. */
  index: number;
  /** Whether it is a loopback interface. */
  loopback: boolean;
  /** Whether it is up. */
  up: boolean;
  /** Whether it can multicast. */
  multicast: boolean;
  /** Whether `up` and `multicast` come from the kernel, rather than assumed. */
  flagsKnown: boolean;
}

/** Which interfaces discovery uses. */
export interface InterfaceOptions {
  /** Only interfaces with these names; all of them when absent. */
  include?: readonly string[];
  /** Never interfaces with these names. */
  exclude?: readonly string[];
  /**
   * Only the loopback interface: discovery stays on this machine, and
   * instances on it share the discovery port.
   *
   * @default {false}
   */
  loopbackOnly?: boolean;
  /**
   * How often to look for interfaces that came or went, in milliseconds.
   *
   * @default {1000}
   */
  rescanInterval?: number;
}

// The kernel's interface flags, as `ip` names them (linux/if.h).
/** The flag of an interface that is up. */
export const IFF_UP = 0x1;
/** The flag of a loopback interface. */
export const IFF_LOOPBACK = 0x8;
/** The flag of an interface that can multicast. */
export const IFF_MULTICAST = 0x1000;

/**
 * Lists this machine's interface addresses, of both families, with their state. Where the kernel's
 * flags cannot be read (outside Linux, or where `/sys` shows another network
 * namespace), interfaces count as up and, but for loopback, multicast-capable.
 *
 * @returns The interfaces.
 * @throws {Error} Where listing interfaces is not permitted (Deno without `--allow-sys`).
 */
export function listInterfaces(): NetInterface[] {
  // Every chart of a process rescans each second: they share one listing.
  const now = performance.now();
  if (cached && now - cached.at < LISTING_TTL) return cached.interfaces;
  const interfaces = readInterfaces();
  cached = { at: now, interfaces };
  return interfaces;
}

/** How long one listing of the interfaces serves every chart of the process, in ms. */
const LISTING_TTL = 250;
let cached: { at: number; interfaces: NetInterface[] } | undefined;

function readInterfaces(): NetInterface[] {
  const allFlags = namespaceFlags();
  const found: NetInterface[] = [];
  for (const info of listAddresses()) {
    const { name } = info;
    // Node says "IPv4" or "IPv6"; some versions said 4 or 6.
    const family = String(info.family).endsWith("6") ? 6 : 4;
    const canonical = canonicalAddress(withoutZone(info.address));
    if (!canonical) continue;
    const flags = allFlags?.get(name);
    // Deno does not say it; parsed only without the kernel's flags, since every chart's start lists.
    const loopback = flags === undefined
      ? info.internal ?? isLoopback(canonical)
      : (flags & IFF_LOOPBACK) !== 0;
    found.push({
      name,
      family,
      address: family === 6 && isLinkLocal(canonical) ? `${canonical}%${name}` : canonical,
      netmask: info.netmask,
      index: info.scopeid ?? 0,
      loopback,
      up: flags === undefined ? true : (flags & IFF_UP) !== 0,
      multicast: flags === undefined ? !loopback : (flags & IFF_MULTICAST) !== 0,
      flagsKnown: flags !== undefined,
    });
  }
  return found;
}

/**
 * The kernel's flags of each interface, from `/sys/class/net`, when `/sys`
 * shows this process's network namespace: a process moved into another one
 * (a test lab, a container without its own `/sys`) sees the interfaces of
 * the namespace `/sys` was mounted in, which `/proc/self/net/dev` tells apart.
 */
function namespaceFlags(): Map<string, number> | undefined {
  try {
    const ours = readText("/proc/self/net/dev").split("\n").slice(2)
      .map((line) => line.split(":")[0].trim()).filter(Boolean).sort();
    const shown = readNames("/sys/class/net").sort();
    if (ours.join() !== shown.join()) return undefined;
    return new Map(ours.map((name) => [
      name,
      Number.parseInt(readText(`/sys/class/net/${name}/flags`).trim(), 16),
    ]));
  } catch {
    return undefined;
  }
}

/**
 * Picks the interface addresses discovery uses: on interfaces that are up
 * and can multicast, loopback only with local discovery (where multicast
 * works without the flag), filtered by the options; of each family in use,
 * one address per interface.
 *
 * IPv6 takes an interface's first global (or unique local) address, else its
 * link-local one: one link per interface, so that peers hear each
 * announcement once per family. Loopback is IPv4 only: Linux does not loop
 * IPv6 multicast back on it, and instances on this machine hear each other
 * over IPv6 on any other interface, where multicast loops back.
 *
 * @param all The machine's interface addresses.
 * @param options Which to include or exclude.
 * @param localDiscovery Whether instances on this machine discover each other.
 * @param family Which address families.
 * @returns The interface addresses to use.
 */
export function selectInterfaces(
  all: readonly NetInterface[],
  options: InterfaceOptions,
  localDiscovery: boolean,
  family: AddressFamily = "both",
): NetInterface[] {
  const usable = all.filter((iface) => {
    if (!iface.up) return false;
    if (family === "ipv4" && iface.family === 6) return false;
    if (family === "ipv6" && iface.family === 4) return false;
    if (options.include && !options.include.includes(iface.name)) return false;
    if (options.exclude?.includes(iface.name)) return false;
    if (iface.loopback) {
      if (iface.family === 6) return false;
      return localDiscovery || options.loopbackOnly === true;
    }
    return !options.loopbackOnly && iface.multicast;
  });
  const v6 = new Map<string, NetInterface>();
  for (const iface of usable) {
    if (iface.family !== 6) continue;
    const chosen = v6.get(iface.name);
    if (!chosen || (isLinkLocal(chosen.address) && !isLinkLocal(iface.address))) {
      v6.set(iface.name, iface);
    }
  }
  return usable.filter((iface) => iface.family === 4 || v6.get(iface.name) === iface);
}

/**
 * A link-local IPv6 source with its zone. The runtimes do not say on which
 * interface a datagram arrived, so a source heard on the shared discovery
 * socket gets the first interface that is up with a link-local IPv6
 * address: the one, on most hosts (see the README's Limits).
 *
 * @param address The source address, as the transport reports it.
 * @param interfaces The interfaces it may have come in on.
 * @returns The address, with a zone when it is link-local IPv6 and had none.
 */
export function withZone(address: string, interfaces: Iterable<NetInterface>): string {
  if (address.includes("%") || !address.includes(":") || !isLinkLocal(address)) return address;
  for (const iface of interfaces) {
    if (iface.family === 6 && iface.up && isLinkLocal(iface.address)) {
      return `${address}%${iface.name}`;
    }
  }
  return address;
}

/** A dotted IPv4 address as a number; read without allocating, since every answer asks. */
function toNumber(address: string): number {
  let value = 0;
  let part = 0;
  for (let i = 0; i < address.length; i++) {
    const code = address.charCodeAt(i);
    if (code === 0x2e) {
      value = value * 256 + part;
      part = 0;
    } else {
      part = part * 10 + code - 0x30;
    }
  }
  return (value * 256 + part) >>> 0;
}

/**
 * Returns whether an address is on an interface's directly connected
 * subnet. A link-local IPv6 address is on the link its zone names (or any,
 * without a zone).
 *
 * @param address An address of either family.
 * @param iface The interface.
 * @returns `true` when the address and the interface share their network part.
 */
export function onSubnet(
  address: string,
  iface: Pick<NetInterface, "address" | "netmask"> & { name?: string },
): boolean {
  if (address.includes(":") || iface.address.includes(":")) {
    if (!address.includes(":") || !iface.address.includes(":")) return false;
    if (isLinkLocal(address)) {
      const zone = address.indexOf("%");
      return zone === -1 || iface.name === undefined || address.slice(zone + 1) === iface.name;
    }
    const prefix = prefixLength(iface.netmask, 6);
    return prefix !== undefined && sharesPrefix(address, iface.address, prefix);
  }
  const mask = toNumber(iface.netmask);
  return ((toNumber(address) & mask) >>> 0) === ((toNumber(iface.address) & mask) >>> 0);
}
