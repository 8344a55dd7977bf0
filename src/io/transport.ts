/**
 * The small interface between a chart and its UDP sockets, so that the same
 * discovery loop runs over `Deno.listenDatagram`, `node:dgram`, or a
 * transport of the user's own (one that simulates loss, say).
 *
 * @module
 */

/** What a socket is opened with. */
export interface SocketOptions {
  /**
   * The address to bind: `"0.0.0.0"` for every interface, `"::"` for every
   * interface of both families (IPv4 sources then show as IPv4 addresses,
   * never as IPv4-mapped IPv6 ones), or one interface's address (a
   * link-local IPv6 one with its zone, the interface's name: `fe80::1%eth0`).
   */
  hostname: string;
  /** The port to bind, 0 for one the system picks. */
  port: number;
  /** Whether other sockets (and this one) may bind the same port. */
  reuseAddress: boolean;
  /**
   * Called with each datagram received; `data` may be reused after the call
   * returns. An IPv6 source is in canonical form (RFC 5952), without a zone.
   */
  onDatagram(data: Uint8Array, hostname: string, port: number): void;
  /** Called when receiving fails; the socket keeps receiving. */
  onError(error: Error): void;
}

/** An open UDP socket. Multicast it sends loops back to this host. */
export interface DatagramSocket {
  /** The port the socket is bound to. */
  readonly port: number;
  /**
   * Sends one datagram. IPv4 multicast leaves on the interface whose address
   * the socket is bound to, or where the routing table says when it is bound
   * to `0.0.0.0`; IPv6 multicast leaves on the interface its destination
   * names as its zone (`ff02::fb%eth0`), and a link-local destination has
   * its zone too (`fe80::1%eth0`).
   */
  send(data: Uint8Array, hostname: string, port: number): Promise<void>;
  /**
   * Joins a multicast group on the interface with the given address; for an
   * IPv6 group, the address carries the interface's name as its zone
   * (`fd00::1%eth0`), since IPv6 joins by interface.
   */
  joinGroup(group: string, interfaceAddress: string): Promise<void>;
  /** Leaves a multicast group on the interface with the given address (as for joining). */
  leaveGroup(group: string, interfaceAddress: string): Promise<void>;
  /**
   * Closes the socket, leaving its groups; idempotent. It does not wait for
   * the sends under way, which may be dropped: one to an address that does
   * not resolve can wait in the kernel for seconds.
   */
  close(): Promise<void>;
}

/**
 * A way to open UDP sockets. The built-in ones are `"deno"` and `"node"`;
 * any object with an `open` method can stand in, for example one that
 * drops datagrams to test an application under loss.
 */
export interface Transport {
  /**
   * Opens a socket.
   *
   * @throws {Error} The runtime's error, with its `code` (such as
   *   `EADDRINUSE`), when the socket cannot be bound.
   */
  open(options: SocketOptions): Promise<DatagramSocket>;
}

/**
 * Which socket API a chart uses: `"deno"` (`Deno.listenDatagram`, needs
 * `--unstable-net`), `"node"` (`node:dgram`), `"auto"` (the first of those
 * two that is available), or a {@linkcode Transport} of your own.
 */
export type TransportKind = "auto" | "deno" | "node" | Transport;
