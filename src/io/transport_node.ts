/**
 * The UDP transport over `node:dgram`, which works in Deno without
 * `--unstable-net`, in Node.js and in Bun.
 *
 * @module
 */

import dgram from "node:dgram";
import { isIP } from "node:net";
import type { DatagramSocket, SocketOptions, Transport } from "./transport.ts";

type LookupCallback = (error: Error | null, address: string, family: number) => void;

/**
 * Resolves the addresses a socket binds and sends to, which are addresses
 * already: without it, node:dgram loads node:dns, whose resolver starts up on
 * the first bind (measured in a fresh process: 1 ms in Node.js, 5 to 8 ms in
 * Deno). A name, should one come, goes to node:dns as before.
 */
function lookup(address: string, options: unknown, callback?: LookupCallback): void {
  const done = (typeof options === "function" ? options : callback) as LookupCallback;
  if (isIP(address) === 4) {
    // Asynchronous, as node:dns answers.
    queueMicrotask(() => done(null, address, 4));
    return;
  }
  import("node:dns").then(
    ({ lookup }) => lookup(address, 4, done),
    (error) => done(error, "", 4),
  );
}

/** Opens sockets with `node:dgram`. */
export const nodeTransport: Transport = {
  async open(options: SocketOptions): Promise<DatagramSocket> {
    const socket = dgram.createSocket({ type: "udp4", reuseAddr: options.reuseAddress, lookup });
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

    let closing: Promise<void> | undefined;
    return {
      port: socket.address().port,
      send(data, hostname, port) {
        return new Promise<void>((resolve, reject) => {
          socket.send(data, port, hostname, (error) => error ? reject(error) : resolve());
        });
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
        // What is still queued is dropped (its sends fail): a send to an
        // address that does not resolve can wait for seconds, and close must
        // not. The driver waits a moment for the goodbye before it closes.
        closing ??= new Promise<void>((resolve) => socket.close(() => resolve()));
        return closing;
      },
    };
  },
};
