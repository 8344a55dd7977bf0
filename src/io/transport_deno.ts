/**
 * The UDP transport over `Deno.listenDatagram` (needs `--unstable-net`).
 *
 * @module
 */

import type { DatagramSocket, SocketOptions, Transport } from "./transport.ts";
import { MAX_DATAGRAM_SIZE } from "../core/wire.ts";
import { sourceAddress } from "../core/address.ts";

const MAX_BACKOFF = 1_000;
/** One byte more than the largest datagram a chart reads, so that longer ones show as such. */
const BUFFER_SIZE = MAX_DATAGRAM_SIZE + 1;

/**
 * Opens sockets with `Deno.listenDatagram`; a loop receives each socket's
 * datagrams until it is closed. A socket bound to an interface's address
 * sends multicast on that interface (Linux picks the interface by the source
 * address when none is set).
 */
export const denoTransport: Transport = {
  open(options: SocketOptions): Promise<DatagramSocket> {
    // A synchronous throw (the port in use) becomes a rejection.
    return new Promise((resolve) => resolve(openSocket(options)));
  },
};

/**
 * The index of the interface a zone names (`eth0`, or already `2`): Deno
 * binds and joins IPv6 by index.
 */
function zoneIndex(zone: string): number {
  if (/^\d+$/.test(zone)) return Number(zone);
  // A link-local address carries it; loopback's ::1 does not, nor a global one.
  const found = Deno.networkInterfaces().find((info) =>
    info.name === zone && info.family === "IPv6" && info.scopeid
  );
  if (found) return found.scopeid!;
  try {
    // Linux lists every IPv6 address with its interface's index (hex) and name.
    for (const line of Deno.readTextFileSync("/proc/net/if_inet6").split("\n")) {
      const fields = line.trim().split(/\s+/);
      if (fields[5] === zone) return Number.parseInt(fields[1], 16);
    }
  } catch {
    // Not Linux, or not allowed to read it.
  }
  throw new Error(`Cannot find the index of interface ${zone}`);
}

function openSocket(options: SocketOptions): DatagramSocket {
  const zone = options.hostname.indexOf("%");
  // Deno's `"::"` is a dual-stack socket: it receives IPv4 as mapped addresses.
  const conn = Deno.listenDatagram({
    transport: "udp",
    hostname: zone === -1
      ? options.hostname
      : `${options.hostname.slice(0, zone)}%${zoneIndex(options.hostname.slice(zone + 1))}`,
    port: options.port,
    reuseAddress: options.reuseAddress,
    loopback: true,
  });
  const memberships = new Map<string, Deno.MulticastV4Membership | Deno.MulticastV6Membership>();
  let closed = false;
  const receiving = (async () => {
    // One buffer that each datagram reuses: `DatagramConn`'s own iterator
    // allocates 64 KiB for every datagram, which costs more than its handling.
    // A plain loop, not an async generator: each datagram wakes the process,
    // and a generator's extra promise per datagram costs some 10% of the wake.
    const buffer = new Uint8Array(BUFFER_SIZE);
    let backoff = 0;
    while (!closed) {
      try {
        while (true) {
          const [data, from] = await conn.receive(buffer);
          backoff = 0;
          const { hostname, port } = from as Deno.NetAddr;
          options.onDatagram(data, sourceAddress(hostname), port);
        }
      } catch (error) {
        if (closed) return;
        options.onError(error as Error);
        // A socket that keeps failing is not retried in a hot loop.
        backoff = Math.min(MAX_BACKOFF, backoff * 2 || 10);
        await new Promise((resolve) => setTimeout(resolve, backoff));
      }
    }
  })();

  return {
    port: (conn.addr as Deno.NetAddr).port,
    async send(data, hostname, port) {
      await conn.send(data, { transport: "udp", hostname, port });
    },
    async joinGroup(group, interfaceAddress) {
      const key = `${group}/${interfaceAddress}`;
      if (memberships.has(key)) return;
      if (!group.includes(":")) {
        memberships.set(key, await conn.joinMulticastV4(group, interfaceAddress));
        return;
      }
      const zone = interfaceAddress.indexOf("%");
      if (zone === -1) throw new Error(`Cannot join ${group}: no interface in ${interfaceAddress}`);
      const index = zoneIndex(interfaceAddress.slice(zone + 1));
      memberships.set(key, await conn.joinMulticastV6(group, index));
    },
    async leaveGroup(group, interfaceAddress) {
      const key = `${group}/${interfaceAddress}`;
      const membership = memberships.get(key);
      memberships.delete(key);
      await membership?.leave();
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const membership of memberships.values()) {
        // The groups are left with the socket anyway.
        await membership.leave().catch(() => {});
      }
      conn.close();
      await receiving;
    },
  };
}
