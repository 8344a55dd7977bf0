/**
 * The small interface between a chart and its UDP sockets, so that the same
 * discovery loop runs over `Deno.listenDatagram`, `node:dgram`, or a
 * transport of the user's own (one that simulates loss, say).
 *
 * @module
 */

/** What a socket is opened with. */
export interface SocketOptions {
  /** The address to bind: `"0.0.0.0"` for every interface, or one interface's address. */
  hostname: string;
  /** The port to bind, 0 for one the system picks. */
  port: number;
  /** Whether other sockets (and this one) may bind the same port. */
  reuseAddress: boolean;
  /** Called with each datagram received; `data` may be reused after the call returns. */
  onDatagram(data: Uint8Array, hostname: string, port: number): void;
  /** Called when receiving fails; the socket keeps receiving. */
  onError(error: Error): void;
}

/** An open UDP socket. Multicast it sends loops back to this host. */
export interface DatagramSocket {
  /** The port the socket is bound to. */
  readonly port: number;
  /**
   * Sends one datagram. Multicast leaves on the interface whose address the
   * socket is bound to, or where the routing table says when it is bound to
   * `0.0.0.0`.
   */
  send(data: Uint8Array, hostname: string, port: number): Promise<void>;
  /** Joins a multicast group on the interface with the given address. */
  joinGroup(group: string, interfaceAddress: string): Promise<void>;
  /** Leaves a multicast group on the interface with the given address. */
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
