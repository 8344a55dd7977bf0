/**
 * Which discovery ports pass multicast on this machine: for each port, two
 * charts with local discovery try to find each other within a deadline. A
 * firewall that drops multicast on a port, or a port that cannot be bound,
 * shows up here before an application relies on it.
 *
 * ```sh
 * deno run -A examples/check_ports.ts
 * deno run -A examples/check_ports.ts --ports 8080,8888,9000 --timeout 5
 * ```
 *
 * It prints one line per port, in the order given: `8080 ok`,
 * `8888 no multicast (timed out after 2 s)`, or `80 unusable (Cannot bind
 * discovery port 80: ...)`. The ports are checked at the same time; the
 * deadline is `--timeout` seconds (default 2). Wrong flags print the usage and
 * exit with 2.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ChartBuilder, DiscoveryError, foundEveryone, maintain } from "../mod.ts";

const USAGE = "usage: deno run -A examples/check_ports.ts [--ports P1,P2,...] [--timeout SECONDS]";

/** What the command line asks for. */
interface Flags {
  /** The discovery ports to check. */
  ports: number[];
  /** How long two charts may take to find each other, in seconds. */
  timeout: number;
}

/**
 * Reads the command line.
 *
 * @param args The arguments.
 * @returns The flags.
 * @throws {TypeError} If a port is not an integer.
 * @throws {RangeError} If a port or the timeout is out of range.
 */
function parseFlags(args: string[]): Flags {
  const { values } = parseArgs({
    args,
    options: {
      "ports": { type: "string", default: "8080,8888,9000,27182" },
      "timeout": { type: "string", default: "2" },
    },
  });
  const ports = values.ports.split(",").map(Number);
  // The builder checks each port, with the message it gives everywhere.
  for (const port of ports) new ChartBuilder().withDiscoveryPort(port);
  const timeout = Number(values.timeout);
  if (!(timeout > 0)) {
    throw new RangeError(`Cannot wait ${values.timeout} s: not a positive number`);
  }
  return { ports, timeout };
}

/**
 * Checks whether two charts on one discovery port find each other in time.
 *
 * @param port The discovery port.
 * @param timeout The deadline, in seconds.
 * @returns The line to print for the port.
 */
async function checkPort(port: number, timeout: number): Promise<string> {
  // A header of our own, so that instances of a real application on the port
  // do not count. The service port is never used: the charts only look.
  const builder = new ChartBuilder()
    .withHeader(crypto.getRandomValues(new BigUint64Array(1))[0])
    .withServicePort(1)
    .withDiscoveryPort(port)
    .localDiscovery(true);
  try {
    await using first = await builder.withId(1).finish();
    await using second = await builder.withId(2).finish();
    maintain(first);
    maintain(second);
    const signal = AbortSignal.timeout(timeout * 1000);
    await Promise.all([first, second].map((chart) => foundEveryone(chart, 2, { signal })));
    return `${port} ok`;
  } catch (error) {
    if (error instanceof DOMException && error.name === "TimeoutError") {
      return `${port} no multicast (timed out after ${timeout} s)`;
    }
    if (error instanceof DiscoveryError) return `${port} unusable (${error.message})`;
    throw error;
  }
}

let flags: Flags;
try {
  flags = parseFlags(Deno.args);
} catch (error) {
  console.error(`check_ports: ${(error as Error).message}\n${USAGE}`);
  Deno.exit(2);
}

const lines = await Promise.all(flags.ports.map((port) => checkPort(port, flags.timeout)));
for (const line of lines) console.log(line);
