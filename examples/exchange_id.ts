/**
 * The members of a cluster learn each other's ids before they start work:
 * each instance is given its id and the size of the cluster, waits until its
 * chart holds every member, prints all their ids, sorted, and exits. Start one
 * in each of three terminals:
 *
 * ```sh
 * deno run -A examples/exchange_id.ts --id 1 --cluster-size 3
 * deno run -A examples/exchange_id.ts --id 2 --cluster-size 3
 * deno run -A examples/exchange_id.ts --id 3 --cluster-size 3
 * ```
 *
 * Each prints `found 1 2 3` as soon as it knows every member, keeps its chart
 * up for another second so that members still starting hear it too, and
 * exits with 0. One that has not found everyone within `--timeout` seconds
 * (default 30) says whom it found and exits with 1. `--discovery-port N` sets
 * the discovery port (default 8080). Wrong flags print the usage and exit with 2.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  type Chart,
  ChartBuilder,
  DEFAULT_DISCOVERY_PORT,
  foundEveryone,
  maintain,
  type PortEntry,
} from "../mod.ts";

// A member that left the moment it found everyone would leave one that missed
// its answer waiting for an announcement that never comes.
const LINGER_MS = 1000;

const USAGE = "usage: deno run -A examples/exchange_id.ts --id ID --cluster-size N " +
  "[--discovery-port N] [--timeout SECONDS]";

/** What the command line asks for. */
interface Flags {
  /** A builder with the id and the discovery port set. */
  builder: ChartBuilder<true>;
  /** How many instances make the cluster, this one included. */
  clusterSize: number;
  /** How long to wait for them, in seconds. */
  timeout: number;
}

/**
 * Reads the command line.
 *
 * @param args The arguments.
 * @returns The flags.
 * @throws {TypeError} If a flag is missing or not a number.
 * @throws {RangeError} If a number is out of range.
 */
function parseFlags(args: string[]): Flags {
  const { values } = parseArgs({
    args,
    options: {
      "id": { type: "string" },
      "cluster-size": { type: "string" },
      "discovery-port": { type: "string", default: `${DEFAULT_DISCOVERY_PORT}` },
      "timeout": { type: "string", default: "30" },
    },
  });
  if (values.id === undefined) throw new TypeError("Cannot start without --id");
  if (values["cluster-size"] === undefined) {
    throw new TypeError("Cannot start without --cluster-size");
  }
  if (!/^\d+$/.test(values.id)) {
    throw new TypeError(`Cannot use id ${values.id}: not an unsigned integer`);
  }
  const clusterSize = Number(values["cluster-size"]);
  if (!Number.isInteger(clusterSize) || clusterSize < 1) {
    throw new RangeError(
      `Cannot wait for a cluster of ${values["cluster-size"]}: not a positive integer`,
    );
  }
  const timeout = Number(values.timeout);
  if (!(timeout > 0)) {
    throw new RangeError(`Cannot wait ${values.timeout} s: not a positive number`);
  }
  const builder = new ChartBuilder()
    .withId(BigInt(values.id))
    .withDiscoveryPort(Number(values["discovery-port"]))
    // Lets several members run on one machine, as in the terminals above.
    .localDiscovery(true);
  return { builder, clusterSize, timeout };
}

/**
 * Returns the ids a chart knows, its own included, in ascending order.
 *
 * @param chart The chart.
 * @returns The sorted ids.
 */
function knownIds(chart: Chart<PortEntry>): bigint[] {
  return [chart.ourId, ...chart.entries().map((entry) => entry.id)]
    .sort((a, b) => a < b ? -1 : a > b ? 1 : 0);
}

let flags: Flags;
try {
  flags = parseFlags(Deno.args);
} catch (error) {
  console.error(`exchange_id: ${(error as Error).message}\n${USAGE}`);
  Deno.exit(2);
}
const { builder, clusterSize, timeout } = flags;

// Stands in for the service the members would offer each other.
using service = Deno.listen({ port: 0 });
await using chart = await builder.withServicePort(service.addr.port).finish();
// Ctrl-C (or a service manager's SIGTERM) says goodbye, so peers drop us at once.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await chart.close();
    Deno.exit(130);
  });
}
maintain(chart);

try {
  await foundEveryone(chart, clusterSize, { signal: AbortSignal.timeout(timeout * 1000) });
  console.log(`found ${knownIds(chart).join(" ")}`);
  await new Promise<void>((resolve) => setTimeout(resolve, LINGER_MS));
} catch (error) {
  if (!(error instanceof DOMException && error.name === "TimeoutError")) throw error;
  console.error(
    `exchange_id: found only ${knownIds(chart).join(" ")} of a cluster of ${clusterSize} ` +
      `within ${timeout} s`,
  );
  Deno.exitCode = 1;
}
