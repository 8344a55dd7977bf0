/**
 * Where a chart listens and sends: the discovery socket (shared with the
 * other charts of the process on the same port), in the multicast group on
 * every interface in use, and two sockets of its own per interface: one
 * announces there and receives the answers, the other sends the answers and
 * probes.
 *
 * @module
 */

import {
  type AddressFamily,
  type InterfaceOptions,
  listInterfaces,
  type NetInterface,
  onSubnet,
  selectInterfaces,
} from "./interfaces.ts";
import {
  type Delivery,
  type DiscoverySocket,
  type Endpoint,
  fromNetwork,
  openDiscoverySocket,
} from "./process_bus.ts";
import type { DatagramSocket, Transport } from "./transport.ts";
import type { Cancel, Timer } from "./timer.ts";
import { MULTICAST_GROUP, MULTICAST_GROUP_V6 } from "../core/wire.ts";
import { familyOf, isLinkLocal, isLoopback, withoutZone } from "../core/address.ts";

/** One interface in use, for one address family. */
export interface Link {
  /** The interface's name, or `"*"` where interfaces cannot be listed. */
  name: string;
  /** 4 or 6. */
  family: 4 | 6;
  /**
   * The interface's address: the source of everything sent on the link (a
   * link-local IPv6 one with its zone).
   */
  address: string;
  /** The interface's netmask. */
  netmask: string;
  /** The socket bound to the interface's address that multicasts the announcements. */
  socket: DatagramSocket;
  /**
   * A second socket bound there, that sends the unicasts (answers and
   * probes). One to an address that does not resolve waits in the kernel for
   * seconds, and holds up the sends of its socket after it: never the
   * announcements.
   */
  unicastSocket: DatagramSocket;
}

/** What {@linkcode Links.open} needs. */
export interface LinksOptions {
  /** The discovery port. */
  discoveryPort: number;
  /** Whether other sockets of this machine may share the discovery port. */
  reuseAddress: boolean;
  /** The socket API. */
  transport: Transport;
  /** Whether charts of this process on the same port hand each other what they send. */
  handOver: boolean;
  /** Which interfaces to use. */
  interfaces: InterfaceOptions;
  /** Which address families. */
  family: AddressFamily;
  /** Whether instances on this machine discover each other (loopback is used). */
  localDiscovery: boolean;
  /** Called with every datagram received, on any socket, and with those handed over in the process. */
  onDatagram(delivery: Delivery): void;
  /** Called when a socket's receive fails (the socket goes on receiving). */
  onReceiveError(error: Error): void;
  /** Called when an interface, a socket or a group cannot be set up: the links go on without it. */
  onError(error: Error): void;
  /** Called when an interface comes into use. */
  onLinkUp(link: Link): void;
  /** The timer of the rescans. */
  timer: Timer;
}

const DEFAULT_RESCAN_INTERVAL = 1_000;

/**
 * The most unicasts one chart has handed to its sockets and not yet seen
 * sent. A flood of forged sources that do not resolve holds each of its
 * answers in the kernel for seconds; beyond this many, unicasts are dropped,
 * so that they cannot pile up in memory.
 */
export const MAX_CHART_UNICASTS = 256;
/** The most unicasts in flight for all the charts of the process together. */
export const MAX_PROCESS_UNICASTS = 2_048;
let processUnicasts = 0;

/**
 * Returns how many unicasts the charts of this process have in flight.
 *
 * @returns The number, at most {@linkcode MAX_PROCESS_UNICASTS}.
 */
export function unicastsInFlight(): number {
  return processUnicasts;
}

/**
 * Where others see a socket of a link send from; none for a link of the
 * default route, bound to `0.0.0.0`, whose source the kernel picks.
 */
function endpointOf(link: Link, socket: DatagramSocket): Endpoint | undefined {
  return link.name === "*" ? undefined : { address: link.address, port: socket.port };
}

/** The multicast group of a link's family. */
function groupOf(link: Pick<Link, "family">): string {
  return link.family === 6 ? MULTICAST_GROUP_V6 : MULTICAST_GROUP;
}

/** How a link joins its group: IPv6 joins by interface, named as the address's zone. */
function memberOf(iface: Pick<Link, "family" | "address" | "name">): string {
  if (iface.family === 4 || iface.address.includes("%")) return iface.address;
  return `${iface.address}%${iface.name}`;
}

/** The links of one chart. */
export class Links {
  readonly #options: LinksOptions;
  readonly #discovery: DiscoverySocket;
  /** Whether the discovery socket takes IPv6: IPv6 links only then. */
  readonly #v6: boolean;
  #links = new Map<string, Link>();
  /** The addresses of the links, without zones: asked of every answer's address. */
  #hostAddresses = new Set<string>();
  #stopRescans: Cancel | undefined;
  #scanning: Promise<void> = Promise.resolve();
  #closed = false;
  #listingFailed = false;
  /** The unicasts of this chart in flight. */
  #unicasts = 0;
  /**
   * A socket per family bound to no address, opened at the first send to an
   * address on no connected subnet (a seed across a router): the kernel
   * routes what it sends and picks its source address.
   */
  readonly #routed = new Map<4 | 6, Promise<DatagramSocket | undefined>>();

  private constructor(options: LinksOptions, discovery: DiscoverySocket, v6: boolean) {
    this.#options = options;
    this.#discovery = discovery;
    this.#v6 = v6;
  }

  /**
   * Binds the discovery port and opens a link on every interface in use.
   *
   * @param options What to open.
   * @returns The links.
   * @throws {Error} The transport's error when the discovery port cannot be bound.
   */
  static async open(options: LinksOptions): Promise<Links> {
    const { family } = options;
    const open = (hostname: string) =>
      openDiscoverySocket(
        {
          transport: options.transport,
          port: options.discoveryPort,
          hostname,
          reuseAddress: options.reuseAddress,
          handOver: options.handOver,
        },
        { onDatagram: options.onDatagram, onError: options.onReceiveError },
      );
    let discovery: DiscoverySocket;
    let v6 = family !== "ipv4";
    if (!v6) discovery = await open("0.0.0.0");
    else {
      try {
        discovery = await open("::");
      } catch (error) {
        // Without IPv6 in the kernel (or in a transport of the user's own), both is IPv4.
        const code = (error as { code?: string }).code;
        if (family === "ipv6" || code === "EADDRINUSE" || code === "EACCES") throw error;
        discovery = await open("0.0.0.0");
        v6 = false;
      }
    }
    const links = new Links(options, discovery, v6);
    await links.#scan();
    links.#schedule();
    return links;
  }

  /** The links in use. */
  get all(): Link[] {
    return [...this.#links.values()];
  }

  /**
   * Returns the link on whose subnet an address is: a link-local IPv6
   * address is on the link its zone names.
   *
   * @param address An address of either family.
   * @returns The link, or `undefined` when the address is on no connected subnet.
   */
  linkFor(address: string): Link | undefined {
    for (const link of this.#links.values()) {
      if ((link.name === "*" && !address.includes(":")) || onSubnet(address, link)) return link;
    }
    return undefined;
  }

  /**
   * Returns whether an address is one of this host's: a loopback address, or
   * the address of a link in use.
   *
   * @param address An address of either family, with or without a zone.
   * @returns `true` when what is sent there stays on the host.
   */
  isHostAddress(address: string): boolean {
    // The links' own first: every chart on loopback asks it of 127.0.0.1, which isLoopback parses.
    return this.#hostAddresses.has(withoutZone(address)) || isLoopback(address);
  }

  /**
   * Multicasts an announcement or a goodbye from a link, and hands it to the
   * other charts of this process.
   *
   * @param link The link to send from.
   * @param data The datagram.
   * @returns A promise that resolves once the datagram is sent.
   */
  multicast(link: Link, data: Uint8Array): Promise<void> {
    const { discoveryPort } = this.#options;
    const from = endpointOf(link, link.socket);
    const group = groupOf(link);
    if (from) this.#discovery.handOver(data, from, group, discoveryPort);
    // IPv6 leaves by the route, whatever address the socket is bound to,
    // unless the group names its interface.
    const to = link.family === 6 && link.name !== "*" ? `${group}%${link.name}` : group;
    return link.socket.send(data, to, discoveryPort);
  }

  /**
   * Sends an answer, a probe or an announcement to a seed from a link, or
   * hands it to the chart of this process it is for; drops it when too many
   * are in flight. Without a link (an address on no connected subnet), it
   * goes from a socket the kernel routes.
   *
   * @param link The link to send from, if one is on the address's subnet.
   * @param data The datagram.
   * @param hostname The address to send to.
   * @param port The port there.
   * @returns A promise that resolves once the datagram is sent, or
   *   `undefined` when it was dropped.
   */
  unicast(
    link: Link | undefined,
    data: Uint8Array,
    hostname: string,
    port: number,
  ): Promise<void> | undefined {
    const from = link && endpointOf(link, link.unicastSocket);
    if (from && this.#discovery.handOver(data, from, hostname, port)) return Promise.resolve();
    if (this.#unicasts >= MAX_CHART_UNICASTS || processUnicasts >= MAX_PROCESS_UNICASTS) {
      return undefined;
    }
    const sent = link
      ? link.unicastSocket.send(data, hostname, port)
      : this.#routedSocket(familyOf(hostname)).then((socket) => socket?.send(data, hostname, port));
    this.#unicasts++;
    processUnicasts++;
    return sent.finally(() => {
      this.#unicasts--;
      processUnicasts--;
    });
  }

  /**
   * Hands this chart the last announcement of each chart of the process
   * that shares its discovery socket, as if it had listened all along.
   */
  replay(): void {
    this.#discovery.replay();
  }

  /** Stops replaying this chart's announcements to charts that start later. */
  withdraw(): void {
    this.#discovery.withdraw();
  }

  /** Closes every socket. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stopRescans?.();
    await this.#scanning;
    await Promise.all([...this.#links.values()].map(closeSockets));
    this.#links.clear();
    this.#hostAddresses.clear();
    for (const routed of this.#routed.values()) await (await routed)?.close();
    this.#routed.clear();
    await this.#discovery.close();
  }

  /** The routed socket of a family; one that cannot be opened is reported once. */
  #routedSocket(family: 4 | 6): Promise<DatagramSocket | undefined> {
    let routed = this.#routed.get(family);
    if (!routed) {
      const { transport, onDatagram, onReceiveError, onError } = this.#options;
      const hostname = family === 4 ? "0.0.0.0" : "::";
      routed = transport.open({
        hostname,
        port: 0,
        reuseAddress: false,
        onDatagram: (data, hostname, port) => onDatagram(fromNetwork(data, hostname, port)),
        onError: onReceiveError,
      }).then(async (socket) => {
        // Closed while it opened.
        if (!this.#closed) return socket;
        await socket.close();
        return undefined;
      }, (error) => {
        onError(
          new Error(`Cannot open a socket on ${hostname} to reach seeds off the link: ${error}`, {
            cause: error,
          }),
        );
        return undefined;
      });
      this.#routed.set(family, routed);
    }
    return routed;
  }

  #schedule(): void {
    const interval = this.#options.interfaces.rescanInterval ?? DEFAULT_RESCAN_INTERVAL;
    this.#stopRescans = this.#options.timer(interval, () => {
      this.#scanning = this.#scan().finally(() => {
        if (!this.#closed) this.#schedule();
      });
    });
  }

  /** Brings the links in line with the interfaces that are up now. */
  async #scan(): Promise<void> {
    const wanted = this.#wantedInterfaces();
    const key = (iface: Pick<NetInterface, "name" | "address">) => `${iface.name}/${iface.address}`;
    const wantedKeys = new Set(wanted.map(key));
    for (const [linkKey, link] of this.#links) {
      if (wantedKeys.has(linkKey) || this.#closed) continue;
      this.#links.delete(linkKey);
      this.#noteAddresses();
      for (const socket of [link.socket, link.unicastSocket]) {
        const endpoint = endpointOf(link, socket);
        if (endpoint) this.#discovery.removeEndpoint(endpoint.address, endpoint.port);
      }
      await this.#leave(link);
      await closeSockets(link);
    }
    for (const iface of wanted) {
      if (this.#links.has(key(iface)) || this.#closed) continue;
      const link = await this.#openLink(iface);
      if (!link) continue;
      if (this.#closed) {
        await closeSockets(link);
        return;
      }
      this.#links.set(key(iface), link);
      this.#noteAddresses();
      // Either socket may be where a chart of this process sends to us.
      for (const socket of [link.socket, link.unicastSocket]) {
        const endpoint = endpointOf(link, socket);
        if (endpoint) this.#discovery.addEndpoint(endpoint.address, endpoint.port);
      }
      this.#options.onLinkUp(link);
    }
  }

  #noteAddresses(): void {
    this.#hostAddresses = new Set(
      [...this.#links.values()].map((link) => withoutZone(link.address)),
    );
  }

  #wantedInterfaces(): Array<Pick<NetInterface, "name" | "family" | "address" | "netmask">> {
    const { interfaces, localDiscovery, family, onError } = this.#options;
    try {
      const wanted = selectInterfaces(listInterfaces(), interfaces, localDiscovery, family);
      return this.#v6 ? wanted : wanted.filter((iface) => iface.family === 4);
    } catch (error) {
      // Without the right to list interfaces, the kernel picks one.
      if (!this.#listingFailed) {
        this.#listingFailed = true;
        onError(
          new Error(`Cannot list network interfaces, using the default route: ${error}`, {
            cause: error,
          }),
        );
      }
      return [{ name: "*", family: 4, address: "0.0.0.0", netmask: "0.0.0.0" }];
    }
  }

  async #openLink(
    iface: Pick<NetInterface, "name" | "family" | "address" | "netmask">,
  ): Promise<Link | undefined> {
    const { transport, onDatagram, onReceiveError, onError } = this.#options;
    // What comes to a link's own sockets came in on its interface.
    const zone = iface.family === 6 ? `%${iface.name}` : "";
    const open = () =>
      transport.open({
        hostname: iface.address,
        port: 0,
        reuseAddress: false,
        onDatagram: (data, hostname, port) =>
          onDatagram(
            fromNetwork(data, zone && isLinkLocal(hostname) ? hostname + zone : hostname, port),
          ),
        onError: onReceiveError,
      });
    // The announcements' socket, then the unicasts'.
    const sockets: DatagramSocket[] = [];
    try {
      while (sockets.length < 2) sockets.push(await open());
    } catch (error) {
      await Promise.all(sockets.map((socket) => socket.close()));
      onError(
        new Error(`Cannot open a socket on ${iface.name} (${iface.address}): ${error}`, {
          cause: error,
        }),
      );
      return undefined;
    }
    const [socket, unicastSocket] = sockets;
    const link = { ...iface, socket, unicastSocket };
    const group = groupOf(iface);
    try {
      await this.#discovery.joinGroup(group, memberOf(iface));
    } catch (error) {
      await closeSockets(link);
      onError(
        new Error(`Cannot join ${group} on ${iface.name} (${iface.address}): ${error}`, {
          cause: error,
        }),
      );
      return undefined;
    }
    return link;
  }

  async #leave(link: Link): Promise<void> {
    try {
      await this.#discovery.leaveGroup(groupOf(link), memberOf(link));
    } catch {
      // The interface or its address is gone, and the membership with it.
    }
  }
}

/** Closes both sockets of a link. */
async function closeSockets(link: Link): Promise<void> {
  await Promise.all([link.socket.close(), link.unicastSocket.close()]);
}
