/**
 * The UDP transport over `node:dgram`, which works in Deno without
 * `--unstable-net`, in Node.js and in Bun.
 *
 * @module
 */

import type * as NodeDgram from "node:dgram";
import type { DatagramSocket, SocketOptions, Transport } from "./transport.ts";
import { parseAddress, sourceAddress } from "../core/address.ts";

type LookupCallback = (error: Error | null, address: string, family: number) => void;

/**
 * Resolves the addresses a socket binds and sends to, which are addresses
 * already: without it, node:dgram loads node:dns, whose resolver starts up on
 * the first bind (measured in a fresh process: 1 ms in Node.js, 5 to 8 ms in
 * Deno). A name, should one come, goes to node:dns as before. Addresses are
 * read by this module's parser, not node:net's `isIP`: its IPv6 expression
 * takes 4.6 ms to compile at its first use, the bind of `"::"` in a fresh
 * Node.js process (measured).
 */
function lookup(address: string, options: unknown, callback?: LookupCallback): void {
  const done = (typeof options === "function" ? options : callback) as LookupCallback;
  const family = parseAddress(address)?.family;
  if (family !== undefined) {
    // Asynchronous, as node:dns answers.
    queueMicrotask(() => done(null, address, family));
    return;
  }
  const wanted = (options as { family?: number } | undefined)?.family ?? 4;
  import("node:dns").then(
    ({ lookup }) => lookup(address, wanted, done),
    (error) => done(error, "", wanted),
  );
}

let loading: Promise<typeof NodeDgram> | undefined;

/**
 * node:dgram, loaded at the first socket rather than with this module: a Deno
 * process with `Deno.listenDatagram` never needs it, and it costs Deno some
 * 10 ms to load (measured, a fresh process of Deno 2.9.6).
 */
function loadDgram(): Promise<typeof NodeDgram> {
  return loading ??= import("node:dgram").then((dgram) => dgram.default);
}

let processLoading: Promise<unknown> | undefined;

/**
 * Loads node:process before a socket closes. Deno's node:dgram emits `close`
 * on the next tick, and Deno runs next ticks only once node:process has been
 * imported: without it, `close()` never calls back (Deno 2.9.6, with a
 * `lookup` of our own). Importing it costs a fresh Deno process 10 to 15 ms
 * (measured), which a chart's first close pays rather than its build.
 */
function loadProcess(): Promise<unknown> {
  return processLoading ??= import("node:process");
}

/**
 * Opens sockets with `node:dgram`. A socket bound to `"::"` is two: an IPv4
 * one on `0.0.0.0` and an IPv6-only one on `::`, so that both bind the port
 * as a single IPv4 socket would.
 */
export const nodeTransport: Transport = {
  async open(options: SocketOptions): Promise<DatagramSocket> {
    if (options.hostname !== "::") return await openSocket(options);
    const v4 = await openSocket({ ...options, hostname: "0.0.0.0" });
    let v6: DatagramSocket;
    try {
      v6 = await openSocket({ ...options, port: v4.port });
    } catch (error) {
      await v4.close();
      throw error;
    }
    const of = (address: string) => address.includes(":") ? v6 : v4;
    return {
      port: v4.port,
      send: (data, hostname, port) => of(hostname).send(data, hostname, port),
      joinGroup: (group, interfaceAddress) => of(group).joinGroup(group, interfaceAddress),
      leaveGroup: (group, interfaceAddress) => of(group).leaveGroup(group, interfaceAddress),
      async close() {
        await Promise.all([v4.close(), v6.close()]);
      },
    };
  },
};

/** The interface argument `node:dgram` takes: an IPv6 interface as `::%eth0`. */
function interfaceOf(group: string, interfaceAddress: string): string | undefined {
  if (interfaceAddress === "0.0.0.0") return undefined;
  if (!group.includes(":")) return interfaceAddress;
  const zone = interfaceAddress.indexOf("%");
  return zone === -1 ? undefined : `::${interfaceAddress.slice(zone)}`;
}

async function openSocket(options: SocketOptions): Promise<DatagramSocket> {
  const dgram = await loadDgram();
  const v6 = options.hostname.includes(":");
  const socket = dgram.createSocket({
    type: v6 ? "udp6" : "udp4",
    reuseAddr: options.reuseAddress,
    ipv6Only: v6,
    lookup,
  });
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
    // An IPv6 socket sends multicast on the interface of the address it is bound to.
    if (!v6 && options.hostname !== "0.0.0.0") socket.setMulticastInterface(options.hostname);
  } catch (error) {
    socket.close();
    throw error;
  }
  socket.on(
    "message",
    (data, from) =>
      options.onDatagram(data, v6 ? sourceAddress(from.address) : from.address, from.port),
  );
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
        socket.addMembership(group, interfaceOf(group, interfaceAddress));
        resolve();
      });
    },
    leaveGroup(group, interfaceAddress) {
      return new Promise((resolve) => {
        socket.dropMembership(group, interfaceOf(group, interfaceAddress));
        resolve();
      });
    },
    close() {
      // What is still queued is dropped (its sends fail): a send to an
      // address that does not resolve can wait for seconds, and close must
      // not. The driver waits a moment for the goodbye before it closes.
      if (!closing) {
        // Nothing more is heard while node:process loads.
        socket.removeAllListeners("message");
        closing = loadProcess().then(() =>
          new Promise<void>((resolve) => socket.close(() => resolve()))
        );
      }
      return closing;
    },
  };
}
