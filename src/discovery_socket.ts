/**
 * The discovery socket, shared by the charts of one process that use the
 * same discovery port and transport.
 *
 * Every socket in the multicast group receives every announcement, so N
 * charts in one process with a socket each would receive N copies of each
 * one, N² datagrams a round, at tens of microseconds each. One shared socket
 * receives each announcement once and hands it to every chart.
 *
 * @module
 */

import type { DatagramSocket, Transport } from "./transport.ts";

/** A chart's use of a discovery socket. */
export interface DiscoveryListener {
  /** Called with every datagram the socket receives; `data` may be reused after the call. */
  onDatagram(data: Uint8Array, hostname: string, port: number): void;
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
   * Whether other sockets may share the port. Only then do the charts of the
   * process share one socket: without it, a second chart on the port fails
   * to bind, as a second process would.
   */
  reuseAddress: boolean;
}

/** One chart's hold on a discovery socket; the socket closes when the last hold does. */
export interface DiscoverySocket {
  /** Joins the multicast group on an interface, for as long as this hold needs it. */
  joinGroup(group: string, interfaceAddress: string): Promise<void>;
  /** Leaves what {@linkcode DiscoverySocket.joinGroup} joined. */
  leaveGroup(group: string, interfaceAddress: string): Promise<void>;
  /** Stops delivering datagrams to this hold, and leaves its groups; idempotent. */
  close(): Promise<void>;
}

interface Membership {
  holds: number;
  joined: Promise<void>;
}

/** A socket and the charts that hold it. */
class SharedSocket {
  readonly listeners = new Set<DiscoveryListener>();
  /** Set when the last hold lets go: no new hold may take it. */
  closed = false;
  readonly #memberships = new Map<string, Membership>();
  readonly #socket: DatagramSocket;

  constructor(socket: DatagramSocket) {
    this.#socket = socket;
  }

  deliver(data: Uint8Array, hostname: string, port: number): void {
    for (const listener of this.listeners) {
      try {
        listener.onDatagram(data, hostname, port);
      } catch (error) {
        // One chart's failure does not keep the datagram from the others.
        listener.onError(error as Error);
      }
    }
  }

  fail(error: Error): void {
    for (const listener of this.listeners) listener.onError(error);
  }

  async join(group: string, interfaceAddress: string): Promise<void> {
    const key = `${group}/${interfaceAddress}`;
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
    const key = `${group}/${interfaceAddress}`;
    const membership = this.#memberships.get(key);
    if (!membership || --membership.holds > 0) return;
    this.#memberships.delete(key);
    await membership.joined.then(() => this.#socket.leaveGroup(group, interfaceAddress));
  }

  close(): Promise<void> {
    return this.#socket.close();
  }
}

/** A shared socket, or the promise of one while it opens. */
interface Slot {
  opened: Promise<SharedSocket>;
}

/** The shared sockets of this process, by transport and port. */
const slots = new WeakMap<Transport, Map<number, Slot>>();

/**
 * Opens a discovery socket bound to `0.0.0.0` on the port, or takes a hold on
 * the one this process already has there.
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
  const { transport, port, reuseAddress } = options;
  let ports = slots.get(transport);
  if (!ports) slots.set(transport, ports = new Map());
  const shareable = reuseAddress && port !== 0;
  let socket: SharedSocket;
  let slot: Slot | undefined;
  while (true) {
    slot = shareable ? ports.get(port) : undefined;
    if (!slot) {
      slot = { opened: openShared(transport, port, reuseAddress) };
      if (shareable) {
        const opening = slot;
        ports.set(port, opening);
        opening.opened.catch(() => {
          if (ports.get(port) === opening) ports.delete(port);
        });
      }
    }
    socket = await slot.opened;
    // The last hold may have let go of it while this one waited.
    if (!socket.closed) break;
  }
  socket.listeners.add(listener);

  const groups = new Set<string>();
  let closing: Promise<void> | undefined;
  return {
    async joinGroup(group, interfaceAddress) {
      const key = `${group}\n${interfaceAddress}`;
      if (groups.has(key) || closing) return;
      await socket.join(group, interfaceAddress);
      groups.add(key);
    },
    async leaveGroup(group, interfaceAddress) {
      const key = `${group}\n${interfaceAddress}`;
      if (!groups.delete(key)) return;
      await socket.leave(group, interfaceAddress);
    },
    close() {
      closing ??= (async () => {
        socket.listeners.delete(listener);
        if (socket.listeners.size === 0) {
          // The last hold: a chart that opens from now on binds a socket of its own.
          socket.closed = true;
          if (ports.get(port) === slot) ports.delete(port);
          await socket.close();
          return;
        }
        const left = [...groups].map((key) => {
          const [group, interfaceAddress] = key.split("\n");
          // The interface or its address may be gone, and the membership with it.
          return socket.leave(group, interfaceAddress).catch(() => {});
        });
        groups.clear();
        await Promise.all(left);
      })();
      return closing;
    },
  };
}

async function openShared(
  transport: Transport,
  port: number,
  reuseAddress: boolean,
): Promise<SharedSocket> {
  // Nothing arrives before the bind completes, so the socket is there for it.
  const target: { socket?: SharedSocket } = {};
  const datagramSocket = await transport.open({
    hostname: "0.0.0.0",
    port,
    reuseAddress,
    onDatagram: (data, hostname, from) => target.socket?.deliver(data, hostname, from),
    onError: (error) => target.socket?.fail(error),
  });
  return target.socket = new SharedSocket(datagramSocket);
}
