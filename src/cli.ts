/**
 * The chart on the command line: lists the instances that announce
 * themselves on this network, or announces this process as one.
 *
 * ```sh
 * deno run -A jsr:@x/instance-chart/cli
 * deno run -A jsr:@x/instance-chart/cli --discovery-port 8888 --duration 10
 * deno run -A jsr:@x/instance-chart/cli --announce --port 8042
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Chart, type Entry, openChart, toId } from "./chart.ts";
import { DEFAULT_RAMPDOWN } from "./interval.ts";
import { DEFAULT_DISCOVERY_PORT, DEFAULT_HEADER, isUint64 } from "./wire.ts";
import { maintain, sniff } from "./discovery.ts";
import { DiscoveryError } from "./errors.ts";

const USAGE = `Usage: instance-chart [options]

Lists the instances of a service that announce themselves on this network
(or on this machine), as a table of id, address, and ports or message.
Listens without announcing, unless told to announce.

Options:
  --header N          application header (default ${DEFAULT_HEADER})
  --discovery-port N  UDP port discovery runs on (default ${DEFAULT_DISCOVERY_PORT})
  --duration S        seconds to listen before printing the chart (default 3)
  --announce          announce this process too, with the --port ports
  --port P            a service port to announce; repeat it for several
  --id N              the id to announce with (default: a random one)
  -h, --help          show this help

Examples:
  deno run -A jsr:@x/instance-chart/cli
  deno run -A jsr:@x/instance-chart/cli --discovery-port 8888 --duration 10
  deno run -A jsr:@x/instance-chart/cli --announce --port 8042 --port 8043`;

/** Exit codes of {@linkcode main}. */
const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

class UsageError extends Error {}

function parseInteger(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new UsageError(`--${flag} must be an integer from ${min} to ${max}, not '${text}'`);
  }
  return value;
}

function parseUint64(flag: string, text: string): bigint {
  let value: bigint;
  try {
    value = BigInt(text);
  } catch {
    throw new UsageError(`--${flag} must be an unsigned 64-bit integer, not '${text}'`);
  }
  if (!isUint64(value)) {
    throw new UsageError(`--${flag} must be an unsigned 64-bit integer, not '${text}'`);
  }
  return value;
}

interface Options {
  header: bigint;
  discoveryPort: number;
  duration: number;
  announce: boolean;
  ports: number[];
  id: bigint;
}

function parseOptions(args: string[]): Options | "help" {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        header: { type: "string" },
        "discovery-port": { type: "string" },
        duration: { type: "string" },
        announce: { type: "boolean" },
        port: { type: "string", multiple: true },
        id: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message.split("\n")[0]);
  }
  if (values.help) return "help";
  const duration = Number(values.duration ?? "3");
  if (!Number.isFinite(duration) || duration <= 0) {
    throw new UsageError(
      `--duration must be a positive number of seconds, not '${values.duration}'`,
    );
  }
  const ports = (values.port ?? []).map((port) => parseInteger("port", port, 1, 65535));
  if (values.announce && ports.length === 0) {
    throw new UsageError("--announce needs at least one --port");
  }
  if (!values.announce && (ports.length > 0 || values.id !== undefined)) {
    throw new UsageError("--port and --id are for announcing: add --announce");
  }
  return {
    header: values.header === undefined ? DEFAULT_HEADER : parseUint64("header", values.header),
    discoveryPort: values["discovery-port"] === undefined
      ? DEFAULT_DISCOVERY_PORT
      : parseInteger("discovery-port", values["discovery-port"], 1, 65535),
    duration,
    announce: values.announce ?? false,
    ports,
    id: values.id === undefined
      ? crypto.getRandomValues(new BigUint64Array(1))[0]
      : toId(parseUint64("id", values.id)),
  };
}

function describeData(entry: Entry): string {
  return "ports" in entry ? entry.ports.join(", ") : JSON.stringify(entry.msg);
}

/**
 * Formats entries as an aligned table, sorted by address and then id.
 *
 * @param entries The entries.
 * @returns The table, one line per entry under a heading line.
 */
export function formatTable(entries: readonly Entry[]): string {
  const sorted = [...entries].sort((a, b) =>
    a.address.localeCompare(b.address, "en", { numeric: true }) ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
  const hasPorts = sorted.some((entry) => "ports" in entry);
  const hasMsg = sorted.some((entry) => !("ports" in entry));
  const dataHeading = hasPorts && hasMsg ? "DATA" : hasMsg ? "MSG" : "PORTS";
  const rows = [
    ["ID", "ADDRESS", dataHeading],
    ...sorted.map((entry) => [`${entry.id}`, entry.address, describeData(entry)]),
  ];
  const widths = [0, 1].map((column) => Math.max(...rows.map((row) => row[column].length)));
  return rows
    .map((row) => `${row[0].padEnd(widths[0])}  ${row[1].padEnd(widths[1])}  ${row[2]}`)
    .join("\n");
}

async function reportNewcomers(chart: Chart<Entry>, signal: AbortSignal): Promise<void> {
  for await (const event of chart.events({ signal })) {
    if (event.type === "added") {
      const { id, address } = event.entry;
      console.error(`Found ${id} at ${address}: ${describeData(event.entry)}`);
    }
  }
}

/**
 * Runs the command line.
 *
 * @param args The arguments, without the program's name.
 * @returns The exit code: 0 done, 1 discovery failed, 2 bad arguments.
 *
 * @example Print the chart of the default discovery port
 * ```ts ignore
 * import { main } from "@x/instance-chart/cli";
 *
 * Deno.exitCode = await main(["--duration", "2"]);
 * ```
 */
export async function main(args: string[]): Promise<number> {
  let options: Options | "help";
  try {
    options = parseOptions(args);
  } catch (error) {
    if (!(error instanceof UsageError || error instanceof RangeError)) throw error;
    console.error(`instance-chart: ${error.message} (see --help)`);
    return EXIT_USAGE;
  }
  if (options === "help") {
    console.log(USAGE);
    return EXIT_OK;
  }

  let chart: Chart<Entry>;
  try {
    chart = await openChart({
      id: options.id,
      header: options.header,
      discoveryPort: options.discoveryPort,
      ...(options.announce ? { ports: options.ports } : {}),
      layout: { kind: "any" },
      rampdown: { ...DEFAULT_RAMPDOWN },
      localDiscovery: true,
      transport: "auto",
    });
  } catch (error) {
    if (!(error instanceof DiscoveryError)) throw error;
    console.error(`instance-chart: ${error.message}`);
    return EXIT_FAILURE;
  }

  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(options.duration * 1000)]);
    if (options.announce) {
      // Someone announcing until Ctrl-C wants to see who turns up meanwhile.
      console.error(`Announcing id ${chart.ourId} with port(s) ${options.ports.join(", ")}.`);
      reportNewcomers(chart, signal);
    }
    await (options.announce ? maintain : sniff)(chart, { signal });
    const entries = chart.entries();
    const where = `discovery port ${options.discoveryPort}`;
    if (entries.length === 0) {
      console.error(`No instances heard on ${where} within ${options.duration} s.`);
    } else {
      console.log(formatTable(entries));
      console.error(
        `${entries.length} instance(s) heard on ${where} within ${options.duration} s.`,
      );
    }
    return EXIT_OK;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    await chart.close();
  }
}

if (import.meta.main) Deno.exitCode = await main(Deno.args);
