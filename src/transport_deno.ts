/**
 * The UDP transport over `Deno.listenDatagram` (needs `--unstable-net`).
 *
 * @module
 */

import type { SocketOptions, UdpSocket } from "./transport.ts";

/**
 * Opens a UDP socket with `Deno.listenDatagram`; an async-iterator loop
 * receives its datagrams until it is closed.
 *
 * @param options What to open.
 * @returns The open socket.
 */
export async function openDenoSocket(options: SocketOptions): Promise<UdpSocket> {
  const conn = Deno.listenDatagram({
    transport: "udp",
    hostname: options.hostname,
    port: options.port,
    reuseAddress: options.reuseAddress,
    loopback: true,
  });
  let membership: Deno.MulticastV4Membership | undefined;
  try {
    if (options.group) {
      membership = await conn.joinMulticastV4(
        options.group.address,
        options.group.interfaceAddress,
      );
    }
  } catch (error) {
    conn.close();
    throw error;
  }

  let closed = false;
  const receiving = (async () => {
    while (!closed) {
      try {
        for await (const [data, from] of conn) {
          const { hostname, port } = from as Deno.NetAddr;
          options.onDatagram(data, hostname, port);
        }
        return;
      } catch (error) {
        if (closed) return;
        options.onError(error as Error);
      }
    }
  })();

  return {
    port: (conn.addr as Deno.NetAddr).port,
    async send(data, hostname, port) {
      await conn.send(data, { transport: "udp", hostname, port });
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await membership?.leave();
      } catch {
        // The group is left with the socket anyway.
      }
      conn.close();
      await receiving;
    },
  };
}
