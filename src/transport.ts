/**
 * The small interface between a chart and its UDP sockets, so that the same
 * discovery loop runs over `Deno.listenDatagram` or `node:dgram`.
 *
 * @module
 */

import { openDenoSocket } from "./transport_deno.ts";
import { openNodeSocket } from "./transport_node.ts";

/**
 * Which socket API a chart uses. `"auto"` picks `Deno.listenDatagram` where it
 * exists (Deno with `--unstable-net`) and `node:dgram` everywhere else.
 */
export type TransportKind = "auto" | "deno" | "node";

/** What a socket is opened with. */
export interface SocketOptions {
  /** The address to bind, `"0.0.0.0"` for every interface. */
  hostname: string;
  /** The port to bind, 0 for one the system picks. */
  port: number;
  /** Whether other sockets (and this one) may bind the same port. */
  reuseAddress: boolean;
  /** A multicast group to join, on the interface with the given address. */
  group?: { address: string; interfaceAddress: string };
  /** Called with each datagram received. */
  onDatagram(data: Uint8Array, hostname: string, port: number): void;
  /** Called when receiving fails; the socket keeps receiving. */
  onError(error: Error): void;
}

/** An open UDP socket. */
export interface UdpSocket {
  /** The port the socket is bound to. */
  readonly port: number;
  /** Sends one datagram; multicast leaves on the interface the routing table picks. */
  send(data: Uint8Array, hostname: string, port: number): Promise<void>;
  /** Closes the socket, leaving its group; idempotent. */
  close(): Promise<void>;
}

/**
 * Returns whether `Deno.listenDatagram` is available in this process.
 *
 * @returns `true` in Deno run with `--unstable-net`.
 */
export function hasDenoDatagram(): boolean {
  // deno-lint-ignore no-explicit-any
  const deno = (globalThis as any).Deno;
  return typeof deno?.listenDatagram === "function";
}

/**
 * Opens a UDP socket with the given API.
 *
 * @param kind The socket API.
 * @param options What to open.
 * @returns The open socket.
 * @throws {Error} The runtime's error (with its `code`, such as
 *   `EADDRINUSE`) when the socket cannot be opened.
 */
export function openSocket(kind: TransportKind, options: SocketOptions): Promise<UdpSocket> {
  if (kind === "auto") kind = hasDenoDatagram() ? "deno" : "node";
  if (kind === "deno") {
    if (!hasDenoDatagram()) {
      throw new TypeError(
        'Cannot use the "deno" transport: Deno.listenDatagram needs --unstable-net',
      );
    }
    return openDenoSocket(options);
  }
  return openNodeSocket(options);
}
