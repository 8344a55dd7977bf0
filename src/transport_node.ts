/**
 * The UDP transport over `node:dgram`, which works in Deno without
 * `--unstable-net`, in Node.js and in Bun.
 *
 * @module
 */

import dgram from "node:dgram";
import type { SocketOptions, UdpSocket } from "./transport.ts";

/**
 * Opens a UDP socket with `node:dgram`.
 *
 * @param options What to open.
 * @returns The open socket.
 */
export async function openNodeSocket(options: SocketOptions): Promise<UdpSocket> {
  const socket = dgram.createSocket({ type: "udp4", reuseAddr: options.reuseAddress });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind({ address: options.hostname, port: options.port }, () => {
      socket.off("error", reject);
      resolve();
    });
  }).catch((error) => {
    socket.close();
    throw error;
  });
  try {
    socket.setMulticastLoopback(true);
    if (options.group) {
      const { address, interfaceAddress } = options.group;
      if (interfaceAddress === "0.0.0.0") socket.addMembership(address);
      else socket.addMembership(address, interfaceAddress);
    }
  } catch (error) {
    socket.close();
    throw error;
  }
  socket.on("message", (data, from) => options.onDatagram(data, from.address, from.port));
  socket.on("error", (error) => options.onError(error));

  let closing: Promise<void> | undefined;
  return {
    port: socket.address().port,
    send(data, hostname, port) {
      return new Promise((resolve, reject) => {
        socket.send(data, port, hostname, (error) => error ? reject(error) : resolve());
      });
    },
    close() {
      closing ??= new Promise((resolve) => socket.close(() => resolve()));
      return closing;
    },
  };
}
