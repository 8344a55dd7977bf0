/**
 * Where a chart listens and sends: the discovery socket (shared with the
 * other charts of the process on the same port), in the multicast group on
 * every interface in use, and one socket of its own per interface, which
 * sends there and receives the answers.
 *
 * @module
 */

import {
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
import { MULTICAST_GROUP } from "../core/wire.ts";

/** One interface in use. */
export interface Link {
  /** The interface's name, or `"*"` where interfaces cannot be listed. */
  name: string;
  /** The interface's address: the source of everything sent on the link. */
  address: string;
  /** The interface's netmask. */
  netmask: string;
  /** The socket bound to the interface's address. */
  socket: DatagramSocket;
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
  /** Whether instances on this machine discover each other (loopback is used). */
  localDiscovery: boolean;
  /** Called with every datagram received, on any socket, and with those handed over in the process. */
  onDatagram(delivery: Delivery): void;
  /** Called with errors the links recover from. */
  onError(error: Error): void;
  /** Called when an interface comes into use. */
  onLinkUp(link: Link): void;
}

const DEFAULT_RESCAN_INTERVAL = 1_000;

/**
 * Where others see a link's datagrams come from; none for a link of the
 * default route, bound to `0.0.0.0`, whose source the kernel picks.
 */
function endpointOf(link: Link): Endpoint | undefined {
  return link.name === "*" ? undefined : { address: link.address, port: link.socket.port };
}

/** The links of one chart. */
export class Links {
  readonly #options: LinksOptions;
  readonly #discovery: DiscoverySocket;
  #links = new Map<string, Link>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #scanning: Promise<void> = Promise.resolve();
  #closed = false;
  #listingFailed = false;

  private constructor(options: LinksOptions, discovery: DiscoverySocket) {
    this.#options = options;
    this.#discovery = discovery;
  }

  /**
   * Binds the discovery port and opens a link on every interface in use.
   *
   * @param options What to open.
   * @returns The links.
   * @throws {Error} The transport's error when the discovery port cannot be bound.
   */
  static async open(options: LinksOptions): Promise<Links> {
    const discovery = await openDiscoverySocket(
      {
        transport: options.transport,
        port: options.discoveryPort,
        reuseAddress: options.reuseAddress,
        handOver: options.handOver,
      },
      { onDatagram: options.onDatagram, onError: options.onError },
    );
    const links = new Links(options, discovery);
    await links.#scan();
    links.#schedule();
    return links;
  }

  /** The links in use. */
  get all(): Link[] {
    return [...this.#links.values()];
  }

  /**
   * Returns the link on whose subnet an address is.
   *
   * @param address An IPv4 address.
   * @returns The link, or `undefined` when the address is on no connected subnet.
   */
  linkFor(address: string): Link | undefined {
    for (const link of this.#links.values()) {
      if (link.name === "*" || onSubnet(address, link)) return link;
    }
    return undefined;
  }

  /**
   * Sends a datagram from a link, or hands it to the chart of this process
   * it is for.
   *
   * @param link The link to send from.
   * @param data The datagram.
   * @param hostname Where to: an address or the multicast group.
   * @param port The port there.
   * @returns A promise that resolves once the datagram is sent.
   */
  send(link: Link, data: Uint8Array, hostname: string, port: number): Promise<void> {
    const from = endpointOf(link);
    if (from && this.#discovery.handOver(data, from, hostname, port)) return Promise.resolve();
    return link.socket.send(data, hostname, port);
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
    clearTimeout(this.#timer);
    await this.#scanning;
    await Promise.all([...this.#links.values()].map((link) => link.socket.close()));
    this.#links.clear();
    await this.#discovery.close();
  }

  #schedule(): void {
    const interval = this.#options.interfaces.rescanInterval ?? DEFAULT_RESCAN_INTERVAL;
    this.#timer = setTimeout(() => {
      this.#scanning = this.#scan().finally(() => {
        if (!this.#closed) this.#schedule();
      });
    }, interval);
  }

  /** Brings the links in line with the interfaces that are up now. */
  async #scan(): Promise<void> {
    const wanted = this.#wantedInterfaces();
    const key = (iface: Pick<NetInterface, "name" | "address">) => `${iface.name}/${iface.address}`;
    const wantedKeys = new Set(wanted.map(key));
    for (const [linkKey, link] of this.#links) {
      if (wantedKeys.has(linkKey) || this.#closed) continue;
      this.#links.delete(linkKey);
      const endpoint = endpointOf(link);
      if (endpoint) this.#discovery.removeEndpoint(endpoint.address, endpoint.port);
      await this.#leave(link.address);
      await link.socket.close();
    }
    for (const iface of wanted) {
      if (this.#links.has(key(iface)) || this.#closed) continue;
      const link = await this.#openLink(iface);
      if (!link) continue;
      if (this.#closed) {
        await link.socket.close();
        return;
      }
      this.#links.set(key(iface), link);
      const endpoint = endpointOf(link);
      if (endpoint) this.#discovery.addEndpoint(endpoint.address, endpoint.port);
      this.#options.onLinkUp(link);
    }
  }

  #wantedInterfaces(): Array<Pick<NetInterface, "name" | "address" | "netmask">> {
    const { interfaces, localDiscovery, onError } = this.#options;
    try {
      return selectInterfaces(listInterfaces(), interfaces, localDiscovery);
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
      return [{ name: "*", address: "0.0.0.0", netmask: "0.0.0.0" }];
    }
  }

  async #openLink(
    iface: Pick<NetInterface, "name" | "address" | "netmask">,
  ): Promise<Link | undefined> {
    const { transport, onDatagram, onError } = this.#options;
    let socket: DatagramSocket;
    try {
      socket = await transport.open({
        hostname: iface.address,
        port: 0,
        reuseAddress: false,
        onDatagram: (data, hostname, port) => onDatagram(fromNetwork(data, hostname, port)),
        onError,
      });
    } catch (error) {
      onError(
        new Error(`Cannot open a socket on ${iface.name} (${iface.address}): ${error}`, {
          cause: error,
        }),
      );
      return undefined;
    }
    try {
      await this.#discovery.joinGroup(MULTICAST_GROUP, iface.address);
    } catch (error) {
      await socket.close();
      onError(
        new Error(`Cannot join ${MULTICAST_GROUP} on ${iface.name} (${iface.address}): ${error}`, {
          cause: error,
        }),
      );
      return undefined;
    }
    return { ...iface, socket };
  }

  async #leave(address: string): Promise<void> {
    try {
      await this.#discovery.leaveGroup(MULTICAST_GROUP, address);
    } catch {
      // The interface or its address is gone, and the membership with it.
    }
  }
}
