/**
 * The UDP transport over `node:dgram`, which works in Deno without
 * `--unstable-net`, in Node.js and in Bun.
 *
 * @module
 */

import dgram from "node:dgram";
import type { DatagramSocket, SocketOptions, Transport } from "./transport.ts";

/** Opens sockets with `node:dgram`. */
export const nodeTransport: Transport = {
  async open(options: SocketOptions): Promise<DatagramSocket> {
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
      if (options.hostname !== "0.0.0.0") socket.setMulticastInterface(options.hostname);
    } catch (error) {
      socket.close();
      throw error;
    }
    socket.on("message", (data, from) => options.onDatagram(data, from.address, from.port));
    socket.on("error", (error) => options.onError(error));

    // node:dgram drops a datagram still queued when its socket closes, so
    // close waits for the sends under way.
    const sending = new Set<Promise<void>>();
    let closing: Promise<void> | undefined;
    return {
      port: socket.address().port,
      send(data, hostname, port) {
        const sent = new Promise<void>((resolve, reject) => {
          socket.send(data, port, hostname, (error) => error ? reject(error) : resolve());
        });
        const settled = sent.then(() => {}, () => {}).finally(() => sending.delete(settled));
        sending.add(settled);
        return sent;
      },
      joinGroup(group, interfaceAddress) {
        // A throw inside the executor rejects the promise.
        return new Promise((resolve) => {
          socket.addMembership(
            group,
            interfaceAddress === "0.0.0.0" ? undefined : interfaceAddress,
          );
          resolve();
        });
      },
      leaveGroup(group, interfaceAddress) {
        return new Promise((resolve) => {
          socket.dropMembership(
            group,
            interfaceAddress === "0.0.0.0" ? undefined : interfaceAddress,
          );
          resolve();
        });
      },
      close() {
        closing ??= Promise.all(sending).then(() =>
          new Promise<void>((resolve) => socket.close(() => resolve()))
        );
        return closing;
      },
    };
  },
};
