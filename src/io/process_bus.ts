/**
 * The discovery socket, shared by the charts of one process that use the
 * same discovery port and transport.
 *
 * Every socket in the multicast group receives every announcement, so N
 * charts in one process with a socket each would receive N copies of each
 * one, N² datagrams a round, at tens of microseconds each. One shared socket
 * receives each announcement once and hands it to every chart.
 *
 * Over the built-in transports, the charts of a process also hand each other
 * what they send: a multicast reaches the others at once (it still goes out
 * for other processes, and its copy from the kernel goes to its sender
 * alone, which learns that multicast loops back), and a unicast to one of
 * them is handed over instead of sent. A chart that starts to listen is
 * handed the last announcement of every other. A transport of the user's own
 * sees everything, so that it can simulate loss between charts.
 *
 * @module
 */

import { SourceCredit } from "../core/credit.ts";
import type { Arrival } from "../core/protocol.ts";
import type { DatagramSocket, Transport } from "./transport.ts";
import { MULTICAST_GROUP, MULTICAST_GROUP_V6 } from "../core/wire.ts";
import { listInterfaces, withZone } from "./interfaces.ts";
import { isLinkLocal } from "../core/address.ts";

/**
 * The most handed-over datagrams one turn of the event loop delivers: a
 * chart gets at most one event from each, so that its event iterators, which
 * buffer 256 unread events by default, read in between.
 */
const HANDED_PER_TURN = 100;
/**
 * A turn takes no further datagram once it has this many deliveries (a
 * datagram to one chart) to make, and always takes one. A multicast reaches
 * every other chart of the process, so a crowd's announcements come some 40
 * a turn in a process of 200, and the turn stays short.
 */
const DELIVERIES_PER_TURN = 8_192;

/**
 * What the charts of this process may unicast to each source address, given
 * to every chart's core: each datagram the process receives counts once,
 * however many charts it reaches, and every answer and probe of every chart
 * spends from it. So the process sends no address more bytes than it
 * received from there, whatever a forged source makes its charts want.
 */
export const processCredit: SourceCredit = new SourceCredit();

/**
 * A datagram as the socket layer delivers it: what the protocol core reads,
 * and when it was received, read once for every chart it goes to.
 */
export interface Delivery extends Arrival {
  /** When it was received (monotonic ms): from the network, or handed over. */
  readonly receivedAt: number;
}

/**
 * A datagram just received from the network, stamped now.
 *
 * @param data Its bytes.
 * @param address Where it came from.
 * @param port The port it came from.
 * @returns The delivery.
 */
export function fromNetwork(data: Uint8Array, address: string, port: number): Delivery {
  return {
    data,
    address,
    port,
    handedOverAt: undefined,
    reading: undefined,
    receivedAt: performance.now(),
  };
}

/** A chart's use of a discovery socket. */
export interface DiscoveryListener {
  /** Called with every datagram the socket receives, and with those handed over in the process. */
  onDatagram(delivery: Delivery): void;
  /** Called with the errors the socket recovers from. */
  onError(error: Error): void;
}

/** What {@linkcode openDiscoverySocket} needs. */
export interface DiscoverySocketOptions {
  /** The socket API. */
  transport: Transport;
  /** The discovery port. */
  port: number;
  /**
   * `"0.0.0.0"` for IPv4, `"::"` for both families.
   *
   * @default {"0.0.0.0"}
   */
  hostname?: string;
  /**
   * Whether other sockets may share the port. Only then do the charts of the
   * process share one socket: without it, a second chart on the port fails
   * to bind, as a second process would.
   */
  reuseAddress: boolean;
  /** Whether the charts of the process hand each other what they send. */
  handOver: boolean;
}

/** One chart's hold on a discovery socket; the socket closes when the last hold does. */
export interface DiscoverySocket {
  /** Joins the multicast group on an interface, for as long as this hold needs it. */
  joinGroup(group: string, interfaceAddress: string): Promise<void>;
  /** Leaves what {@linkcode DiscoverySocket.joinGroup} joined. */
  leaveGroup(group: string, interfaceAddress: string): Promise<void>;
  /**
   * Registers a socket of this chart's own (one per interface), so that the
   * other charts of the process hand it their unicasts.
   */
  addEndpoint(address: string, port: number): void;
  /** Unregisters what {@linkcode DiscoverySocket.addEndpoint} registered. */
  removeEndpoint(address: string, port: number): void;
  /**
   * Hands a datagram this chart sends from one of its sockets to the charts
   * of the process it is for.
   *
   * @returns Whether it reached everyone it is for, so that it need not be sent.
   */
  handOver(data: Uint8Array, from: Endpoint, hostname: string, port: number): boolean;
  /**
   * Hands this hold the last multicast of each other chart's socket, for a
   * chart that starts to listen: then no chart of the process needs to
   * answer it.
   */
  replay(): void;
  /** Forgets this hold's last multicasts: its chart stopped announcing, so none is replayed. */
  withdraw(): void;
  /** Stops delivering datagrams to this hold, and leaves its groups; idempotent. */
  close(): Promise<void>;
}

/** A socket's address and port. */
export interface Endpoint {
  /** The address (a link-local IPv6 one with its zone). */
  address: string;
  /** The port. */
  port: number;
}

interface Handed {
  data: Uint8Array;
  from: Endpoint;
  at: number;
  /** The one chart a unicast is for; a multicast is for every chart. */
  to: DiscoveryListener | undefined;
  /** The chart that sent a multicast: it hears its own from the network, as a check of the path. */
  sender: DiscoveryListener | undefined;
  /** Set once delivered; until then, a chart that starts to listen gets it anyway. */
  delivered: boolean;
}

interface Membership {
  holds: number;
  joined: Promise<void>;
}

/** How endpoints are keyed: as the network reports a datagram's source. */
function endpointKey(address: string, port: number): string {
  return `${address}:${port}`;
}

function membershipKey(group: string, interfaceAddress: string): string {
  return `${group}/${interfaceAddress}`;
}

/** A socket and the charts that hold it. */
class SharedSocket {
  readonly listeners = new Set<DiscoveryListener>();
  /** Set when the last hold lets go: no new hold may take it. */
  closed = false;
  /** The charts' own sockets, by `address:port`, when they hand each other datagrams. */
  readonly endpoints = new Map<string, DiscoveryListener>();
  readonly #memberships = new Map<string, Membership>();
  readonly #socket: DatagramSocket;
  readonly #handOver: boolean;
  #handed: Handed[] = [];
  /** The last multicast from each endpoint, for charts that start to listen later. */
  readonly #lastMulticast = new Map<string, Handed>();

  constructor(socket: DatagramSocket, handOver: boolean) {
    this.#socket = socket;
    this.#handOver = handOver;
  }

  /** Delivers a datagram from the network to every chart. */
  deliver(data: Uint8Array, source: string, port: number): void {
    // A link-local source comes without its zone: it gets the interface's name.
    const hostname = source.startsWith("fe") && isLinkLocal(source)
      ? withZone(source, zoneInterfaces())
      : source;
    const arrival = fromNetwork(data, hostname, port);
    // The kernel's copy of a multicast that was handed over: only its sender
    // hears it, which tells that chart that multicast loops back.
    const sender = this.#handOver ? this.endpoints.get(endpointKey(hostname, port)) : undefined;
    if (sender) {
      this.#deliverTo(sender, arrival);
      return;
    }
    for (const listener of this.listeners) this.#deliverTo(listener, arrival);
  }

  handOver(
    data: Uint8Array,
    from: Endpoint,
    sender: DiscoveryListener,
    hostname: string,
    port: number,
    multicast: boolean,
  ): boolean {
    if (!this.#handOver) return false;
    if (!multicast) {
      const to = this.endpoints.get(endpointKey(hostname, port));
      if (!to) return false;
      this.#queue({ data, from, at: performance.now(), to, sender: undefined, delivered: false });
      return true;
    }
    const handed: Handed = {
      data,
      from,
      at: performance.now(),
      to: undefined,
      sender,
      delivered: false,
    };
    this.#lastMulticast.set(endpointKey(from.address, from.port), handed);
    // Alone in the process: there is no one to hand it to, only to replay it to later.
    if (this.listeners.size > 1) this.#queue(handed);
    else handed.delivered = true;
    // A multicast goes on to the network for the other processes.
    return false;
  }

  /** Hands `to` the last multicast from each endpoint but its own. */
  replay(to: DiscoveryListener): void {
    if (!this.#handOver) return;
    for (const { data, from, at, delivered, sender } of this.#lastMulticast.values()) {
      // Not yet delivered: it reaches the new chart anyway.
      if (delivered && sender !== to) {
        this.#queue({ data, from, at, to, sender: undefined, delivered: false });
      }
    }
  }

  forget(endpoint: string): void {
    this.endpoints.delete(endpoint);
    this.withdraw(endpoint);
  }

  withdraw(endpoint: string): void {
    this.#lastMulticast.delete(endpoint);
  }

  #queue(handed: Handed): void {
    // The global setImmediate, not node:timers': in Deno a node: import starts
    // the Node.js layer as this module loads (some 10 ms of a fresh process),
    // the global at its first call, which a process of one chart never makes.
    // Not setTimeout(fn, 0), which waits a millisecond or more each turn.
    if (this.#handed.length === 0) setImmediate(() => this.#flush());
    this.#handed.push(handed);
  }

  /**
   * Delivers what was handed over, after the code that sent it has run, some
   * datagrams a turn of the event loop: the charts' event iterators read in
   * between, so that a burst does not overflow their buffers, and other work
   * of the process gets its turn.
   */
  #flush(): void {
    const queue = this.#handed;
    let taken = 0;
    let deliveries = 0;
    while (taken < queue.length && taken < HANDED_PER_TURN && deliveries < DELIVERIES_PER_TURN) {
      deliveries += queue[taken].to ? 1 : this.listeners.size - 1;
      taken++;
    }
    const handed = queue.splice(0, taken);
    if (queue.length > 0) setImmediate(() => this.#flush());
    const receivedAt = performance.now();
    for (const item of handed) {
      item.delivered = true;
      const { data, from, at, to, sender } = item;
      const arrival: Delivery = {
        data,
        address: from.address,
        port: from.port,
        handedOverAt: at,
        reading: undefined,
        receivedAt,
      };
      if (to) {
        if (this.listeners.has(to)) this.#deliverTo(to, arrival);
      } else {
        for (const listener of this.listeners) {
          if (listener !== sender) this.#deliverTo(listener, arrival);
        }
      }
    }
  }

  #deliverTo(listener: DiscoveryListener, arrival: Delivery): void {
    try {
      listener.onDatagram(arrival);
    } catch (error) {
      // One chart's failure does not keep the datagram from the others.
      listener.onError(error as Error);
    }
  }

  fail(error: Error): void {
    for (const listener of this.listeners) listener.onError(error);
  }

  async join(group: string, interfaceAddress: string): Promise<void> {
    const key = membershipKey(group, interfaceAddress);
    let membership = this.#memberships.get(key);
    if (!membership) {
      membership = { holds: 0, joined: this.#socket.joinGroup(group, interfaceAddress) };
      this.#memberships.set(key, membership);
    }
    membership.holds++;
    try {
      await membership.joined;
    } catch (error) {
      if (--membership.holds === 0 && this.#memberships.get(key) === membership) {
        this.#memberships.delete(key);
      }
      throw error;
    }
  }

  async leave(group: string, interfaceAddress: string): Promise<void> {
    const key = membershipKey(group, interfaceAddress);
    const membership = this.#memberships.get(key);
    if (!membership || --membership.holds > 0) return;
    this.#memberships.delete(key);
    await membership.joined.then(() => this.#socket.leaveGroup(group, interfaceAddress));
  }

  close(): Promise<void> {
    return this.#socket.close();
  }
}

/** The interfaces a link-local source may have come in on. */
function zoneInterfaces(): ReturnType<typeof listInterfaces> {
  try {
    return listInterfaces();
  } catch {
    return [];
  }
}

/** The shared sockets of this process (promised while they open), by transport, address and port. */
const slots = new WeakMap<Transport, Map<string, Promise<SharedSocket>>>();

/**
 * Opens a discovery socket bound to `0.0.0.0` (or `::`) on the port, or
 * takes a hold on the one this process already has there.
 *
 * @param options The transport, port and whether the port is shared.
 * @param listener Where the datagrams and errors go.
 * @returns The hold on the socket.
 * @throws {Error} The transport's error when the port cannot be bound.
 */
export async function openDiscoverySocket(
  options: DiscoverySocketOptions,
  listener: DiscoveryListener,
): Promise<DiscoverySocket> {
  const { transport, port, hostname = "0.0.0.0", reuseAddress, handOver } = options;
  let ports = slots.get(transport);
  if (!ports) slots.set(transport, ports = new Map());
  const shareable = reuseAddress && port !== 0;
  const slotKey = `${hostname}/${port}`;
  let socket: SharedSocket;
  let slot: Promise<SharedSocket> | undefined;
  while (true) {
    slot = shareable ? ports.get(slotKey) : undefined;
    if (!slot) {
      const opening = slot = openShared(transport, hostname, port, reuseAddress, handOver);
      if (shareable) {
        ports.set(slotKey, opening);
        opening.catch(() => {
          if (ports.get(slotKey) === opening) ports.delete(slotKey);
        });
      }
    }
    socket = await slot;
    // The last hold may have let go of it while this one waited.
    if (!socket.closed) break;
  }
  socket.listeners.add(listener);

  /** The groups this hold joined, by membership key. */
  const groups = new Map<string, { group: string; interfaceAddress: string }>();
  const endpoints = new Set<string>();
  let closing: Promise<void> | undefined;
  return {
    async joinGroup(group, interfaceAddress) {
      const key = membershipKey(group, interfaceAddress);
      if (groups.has(key) || closing) return;
      await socket.join(group, interfaceAddress);
      groups.set(key, { group, interfaceAddress });
    },
    async leaveGroup(group, interfaceAddress) {
      if (!groups.delete(membershipKey(group, interfaceAddress))) return;
      await socket.leave(group, interfaceAddress);
    },
    addEndpoint(address, endpointPort) {
      const key = endpointKey(address, endpointPort);
      endpoints.add(key);
      socket.endpoints.set(key, listener);
    },
    removeEndpoint(address, endpointPort) {
      const key = endpointKey(address, endpointPort);
      if (endpoints.delete(key)) socket.forget(key);
    },
    handOver(data, from, hostname, toPort) {
      if (closing) return false;
      const multicast = (hostname === MULTICAST_GROUP || hostname === MULTICAST_GROUP_V6) &&
        toPort === port;
      return socket.handOver(data, from, listener, hostname, toPort, multicast);
    },
    replay() {
      if (!closing) socket.replay(listener);
    },
    withdraw() {
      for (const key of endpoints) socket.withdraw(key);
    },
    close() {
      closing ??= (async () => {
        for (const key of endpoints) socket.forget(key);
        endpoints.clear();
        socket.listeners.delete(listener);
        if (socket.listeners.size === 0) {
          // The last hold: a chart that opens from now on binds a socket of its own.
          socket.closed = true;
          if (ports.get(slotKey) === slot) ports.delete(slotKey);
          await socket.close();
          return;
        }
        const left = [...groups.values()].map(({ group, interfaceAddress }) =>
          // The interface or its address may be gone, and the membership with it.
          socket.leave(group, interfaceAddress).catch(() => {})
        );
        groups.clear();
        await Promise.all(left);
      })();
      return closing;
    },
  };
}

async function openShared(
  transport: Transport,
  hostname: string,
  port: number,
  reuseAddress: boolean,
  handOver: boolean,
): Promise<SharedSocket> {
  // Nothing arrives before the bind completes, so the socket is there for it.
  const target: { socket?: SharedSocket } = {};
  const datagramSocket = await transport.open({
    hostname,
    port,
    reuseAddress,
    onDatagram: (data, hostname, from) => target.socket?.deliver(data, hostname, from),
    onError: (error) => target.socket?.fail(error),
  });
  return target.socket = new SharedSocket(datagramSocket, handOver);
}
