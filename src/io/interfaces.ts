/**
 * The network interfaces discovery runs on.
 *
 * @module
 */

import { readdirSync, readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";

/**
 * Deno's own file API where there is one: on a fresh process's way to its
 * first announcement, node:fs's first reads cost Deno 0.5 to 0.6 ms, its own
 * 0.1 to 0.2 ms.
 */
const deno = (globalThis as { Deno?: typeof Deno }).Deno;

function readText(path: string): string {
  return deno ? deno.readTextFileSync(path) : readFileSync(path, "utf8");
}

function readNames(path: string): string[] {
  return deno ? Array.from(deno.readDirSync(path), (entry) => entry.name) : readdirSync(path);
}

/** An IPv4 interface. */
export interface NetInterface {
  /** Its name, such as `eth0`. */
  name: string;
  /** Its IPv4 address. */
  address: string;
  /** Its netmask. */
  netmask: string;
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
 * Lists this machine's IPv4 interfaces with their state. Where the kernel's
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
  for (const [name, addresses] of Object.entries(networkInterfaces())) {
    for (const info of addresses ?? []) {
      if (info.family !== "IPv4") continue;
      const flags = allFlags?.get(name);
      const loopback = flags === undefined ? info.internal : (flags & IFF_LOOPBACK) !== 0;
      found.push({
        name,
        address: info.address,
        netmask: info.netmask,
        loopback,
        up: flags === undefined ? true : (flags & IFF_UP) !== 0,
        multicast: flags === undefined ? !loopback : (flags & IFF_MULTICAST) !== 0,
        flagsKnown: flags !== undefined,
      });
    }
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
 * Picks the interfaces discovery uses: those that are up and can multicast,
 * loopback only with local discovery (where multicast works without the
 * flag), filtered by the options.
 *
 * @param all The machine's interfaces.
 * @param options Which to include or exclude.
 * @param localDiscovery Whether instances on this machine discover each other.
 * @returns The interfaces to use.
 */
export function selectInterfaces(
  all: readonly NetInterface[],
  options: InterfaceOptions,
  localDiscovery: boolean,
): NetInterface[] {
  return all.filter((iface) => {
    if (!iface.up) return false;
    if (options.include && !options.include.includes(iface.name)) return false;
    if (options.exclude?.includes(iface.name)) return false;
    if (iface.loopback) return localDiscovery || options.loopbackOnly === true;
    return !options.loopbackOnly && iface.multicast;
  });
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
 * Returns whether an address is on an interface's directly connected subnet.
 *
 * @param address An IPv4 address.
 * @param iface The interface.
 * @returns `true` when the address and the interface share their network part.
 */
export function onSubnet(
  address: string,
  iface: Pick<NetInterface, "address" | "netmask">,
): boolean {
  const mask = toNumber(iface.netmask);
  return ((toNumber(address) & mask) >>> 0) === ((toNumber(iface.address) & mask) >>> 0);
}
