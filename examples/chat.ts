/**
 * A peer-to-peer chat with no server: every instance finds the others with a
 * chart and sends each line typed on standard input to all of them over TCP.
 * Start it in two or more terminals on one machine (or on machines of one
 * network), type a line in one, and the others print it:
 *
 * ```sh
 * deno run -A examples/chat.ts
 * deno run -A examples/chat.ts --discovery-port 8090
 * ```
 *
 * Received lines go to standard output, prefixed with the sender's id; who
 * joined, and peers that cannot be reached, go to standard error. The chat
 * ends when standard input does (Ctrl-D in a terminal). Wrong flags print the
 * usage and exit with 2.
 *
 * @module
 */

import process from "node:process";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import {
  type Chart,
  ChartBuilder,
  DEFAULT_DISCOVERY_PORT,
  maintain,
  type PortEntry,
  type ServiceAddress,
} from "../mod.ts";

const USAGE = "usage: deno run -A examples/chat.ts [--discovery-port N]";

/**
 * Reads the command line into a builder with everything but the service port.
 *
 * @param args The arguments.
 * @returns The builder.
 */
function chatBuilder(args: string[]): ChartBuilder<true> {
  const { values } = parseArgs({
    args,
    options: { "discovery-port": { type: "string", default: `${DEFAULT_DISCOVERY_PORT}` } },
  });
  return new ChartBuilder()
    .withRandomId()
    .withDiscoveryPort(Number(values["discovery-port"]))
    .localDiscovery(true);
}

/**
 * Prints every line that peers send us, until the listener closes.
 *
 * @param listener Where peers connect.
 */
async function printIncoming(listener: Deno.TcpListener): Promise<void> {
  for await (const conn of listener) {
    // Each peer sends one message per connection and then closes it.
    new Response(conn.readable).text().then(
      (text) => {
        for (const line of text.split("\n")) if (line) console.log(line);
      },
      (error: Error) => console.error(`chat: cannot read a message: ${error.message}`),
    );
  }
}

/**
 * Notes on standard error every peer the chart finds, and every peer that
 * leaves, until the chart closes.
 *
 * @param chart The chart.
 */
async function notePeers(chart: Chart<PortEntry>): Promise<void> {
  for await (const event of chart.events()) {
    const { id, address, ports } = event.entry;
    if (event.type === "added") console.error(`chat: found peer ${id} at ${address}:${ports[0]}`);
    if (event.type === "updated") console.error(`chat: peer ${id} moved to ${address}:${ports[0]}`);
    if (event.type === "removed") console.error(`chat: peer ${id} left (${event.reason})`);
  }
}

/**
 * Sends one message to one peer.
 *
 * @param address The peer's chat service.
 * @param message The message, one line.
 */
async function send(address: ServiceAddress, message: string): Promise<void> {
  const conn = await Deno.connect(address);
  // Closes the connection once the message is written.
  await ReadableStream.from([`${message}\n`])
    .pipeThrough(new TextEncoderStream())
    .pipeTo(conn.writable);
}

/**
 * Sends a typed line to every peer in the chart. A peer that cannot be reached
 * is forgotten, so that it is not tried again until it is heard again.
 *
 * @param chart The chart.
 * @param text The typed line.
 */
async function sendToPeers(chart: Chart<PortEntry>, text: string): Promise<void> {
  const message = `${chart.ourId}: ${text}`;
  await Promise.all(
    chart.addrVec().map(async ([id, address]) => {
      try {
        await send(address, message);
      } catch (error) {
        console.error(
          `chat: cannot reach peer ${id} at ${address.hostname}:${address.port} ` +
            `(${(error as Error).message}); forgetting it until it is heard again`,
        );
        chart.forget(id);
      }
    }),
  );
}

let builder: ChartBuilder<true>;
try {
  builder = chatBuilder(Deno.args);
} catch (error) {
  console.error(`chat: ${(error as Error).message}\n${USAGE}`);
  Deno.exit(2);
}

using listener = Deno.listen({ port: 0 });
await using chart = await builder.withServicePort(listener.addr.port).finish();

console.error(`chat: you are peer ${chart.ourId}, receiving on port ${listener.addr.port}`);
// Ctrl-C (or a service manager's SIGTERM) says goodbye, so peers drop us at once.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await chart.close();
    Deno.exit(0);
  });
}
// Both loops end by themselves when the chart and the listener close.
printIncoming(listener);
notePeers(chart);
maintain(chart);

// node:readline splits standard input into lines with nothing to install.
for await (const text of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (text.trim()) await sendToPeers(chart, text);
}
