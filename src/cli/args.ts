/**
 * The command line's words: which command, with which options, and the help
 * that explains them. Pure: nothing here opens a socket or prints.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { DEFAULT_DISCOVERY_PORT, DEFAULT_HEADER } from "../../mod.ts";
import {
  checkMsg,
  checkNameServer,
  checkSeedFamilies,
  checkSeeds,
  checkServicePorts,
  MAX_PORT,
  MIN_PORT,
} from "../config.ts";
import type { NameServer, Seed } from "../io/seeds.ts";
import { isUint64 } from "../core/wire.ts";
import { randomId } from "../ids.ts";
import type { AddressFamily } from "../io/interfaces.ts";

/** A command line that cannot be run as given; the CLI exits with code 2. */
export class UsageError extends Error {
  /** The command whose help explains the mistake; none for the default command. */
  readonly command?: Exclude<CommandName, "list">;

  /**
   * Creates the error.
   *
   * @param message What is wrong, naming the flag and the value.
   * @param command The command it concerns.
   */
  constructor(message: string, command?: CommandName) {
    super(message);
    this.name = "UsageError";
    this.command = command === "list" ? undefined : command;
  }
}

/** The commands; `"list"` is the one run when none is named. */
export type CommandName = "list" | "announce" | "wait" | "doctor";

/** The options every chart the CLI opens is built from. */
export interface ChartOptions {
  /** The application header. */
  header: bigint;
  /** The UDP port discovery runs on. */
  discoveryPort: number;
  /** Which interfaces to use. */
  interfaces: { include?: string[]; exclude?: string[]; loopbackOnly?: boolean };
  /** Which address families. */
  family: AddressFamily;
  /** A file holding the shared key; `INSTANCE_CHART_KEY` is read when absent. */
  keyFile?: string;
  /** Where to announce by unicast too: `--seed`, else `INSTANCE_CHART_SEEDS`. */
  seeds?: Seed[];
  /** The name server that resolves the seeds. */
  nameServer?: NameServer;
  /** Whether announcements go to the multicast group (`--no-multicast` turns it off). */
  multicast: boolean;
}

/** The environment variable seeds are read from, comma-separated, when no `--seed` is given. */
export const SEEDS_VARIABLE = "INSTANCE_CHART_SEEDS";

/** What this process announces, for `announce` and an announcing `wait`. */
export type Announcement =
  | { id: bigint; ports: number[] }
  | { id: bigint; msg: unknown };

/** How a charting command shows what it charts. */
export interface OutputOptions {
  /** Follow the chart live instead of printing it once at the end. */
  watch: boolean;
  /** JSON lines instead of text. */
  json: boolean;
}

/** A parsed command line. */
export type Command =
  | { kind: "help"; text: string }
  | { kind: "version" }
  | {
    kind: "list";
    chart: ChartOptions;
    output: OutputOptions;
    /** Seconds to listen; `undefined` runs until interrupted. */
    duration?: number;
  }
  | {
    kind: "announce";
    chart: ChartOptions;
    output: OutputOptions;
    announcement: Announcement;
    /** Seconds to announce; `undefined` runs until interrupted. */
    duration?: number;
  }
  | {
    kind: "wait";
    chart: ChartOptions;
    output: OutputOptions;
    /** How many instances to wait for, this one included when it announces. */
    count: number;
    /** Seconds before giving up. */
    timeout: number;
    announcement?: Announcement;
  }
  | {
    kind: "doctor";
    chart: ChartOptions;
    json: boolean;
    /** Seconds to listen for traffic. */
    duration: number;
  };

/** Seconds the default command listens. */
export const DEFAULT_LIST_DURATION = 3;
/** Seconds `wait` waits. */
export const DEFAULT_WAIT_TIMEOUT = 30;
/** Seconds `doctor` listens for traffic. */
export const DEFAULT_DOCTOR_DURATION = 2;

const RUN = "deno run -A jsr:@x/instance-chart/cli";

const COMMON_HELP = `Common options:
  --header N          application header (default ${DEFAULT_HEADER})
  --discovery-port N  UDP port discovery runs on (default ${DEFAULT_DISCOVERY_PORT})
  --interface NAME    only use this interface; repeat it for several
  --exclude-interface NAME  never use this interface; repeat it for several
  --loopback-only     stay on this machine (only the loopback interface)
  --family F          ipv4, ipv6 or both (default both: IPv6 on the
                      interfaces that have an IPv6 address, group ff02::fb)
  --key-file PATH     sign and verify with the shared key in this file (its
                      bytes; a text file without one final newline); the
                      text of INSTANCE_CHART_KEY, read the same way, is used
                      when it is not given
  -V, --version       print the version
  -h, --help          show help; COMMAND --help shows a command's`;

const SEED_HELP = `  --seed HOST[:PORT]  also announce by unicast to this address or DNS name,
                      where multicast does not reach (routers, Docker,
                      Kubernetes, clouds, VPNs): a name's A and AAAA records
                      with the discovery port, or its SRV records with theirs;
                      repeat it for several (default: the comma-separated
                      INSTANCE_CHART_SEEDS)
  --name-server ADDR[:PORT]  ask this DNS server, not the system's resolver
  --no-multicast      announce to the seeds only`;

const OUTPUT_HELP = `  --watch             follow the chart live: redrawn in place on a terminal
                      (+ new, ~ changed, - gone), one line per change otherwise
  --json              JSON lines: one per instance, or one per change with --watch`;

const ANNOUNCE_HELP = `  --port P            a service port to announce; repeat it for several
  --msg JSON          a custom message to announce instead of ports
  --id N              the id to announce with (default: a random one)`;

const JSON_HELP = `JSON lines (--json) have these fields:
  type       "entry" (an instance, printed at the end), or with --watch
             "added", "updated", "removed" (a change to the chart), or
             "collision" (another instance announces a charted id, or ours)
  id         the instance's id, as a decimal string
  address    the address it was heard from: IPv4 if it was heard over IPv4,
             else IPv6 (a link-local one with its zone, fe80::1%eth0)
  addresses  (heard over both families) its IPv4 and its IPv6 address
  ports      its service ports (port announcements), or
  msg        its custom message (custom-message announcements)
  firstSeen  when this command first charted it (ISO 8601, UTC)
  lastSeen   when it was last heard (ISO 8601, UTC)
  time       (changes) when the change happened
  previous   ("updated") the instance before: { address, addresses, ports
             or msg }
  reason     ("removed") why it left: "goodbye", "expired", "forgotten" or
             "evicted"
  withUs     ("collision") whether the other instance announces our own id`;

const EXIT_HELP = `Exit codes: 0 done, 1 failed (discovery port, wait's timeout, doctor's
problems), 2 bad usage.`;

/** The help of each command. */
export const HELP: Readonly<Record<CommandName, string>> = {
  list: `Usage: instance-chart [command] [options]

Shows the instances of a service that announce themselves with instance-chart
on this network (or this machine): their id, address, ports or message, and
when each was first and last seen. Listens without announcing.

Commands:
  (none)      list the instances heard within --duration seconds, then exit
  announce    join as an instance until interrupted (Ctrl-C or SIGTERM)
  wait N      exit as soon as N instances are charted
  doctor      check interfaces, the discovery port and multicast, with hints
  help [CMD]  show this help, or a command's

Options:
  --duration S        seconds to listen (default ${DEFAULT_LIST_DURATION}; with --watch, until Ctrl-C)
${OUTPUT_HELP}
  --announce          the same as the announce command (kept for older scripts)

${COMMON_HELP}

${JSON_HELP}

${EXIT_HELP}

Examples:
  ${RUN}
  ${RUN} --watch
  ${RUN} --discovery-port 8888 --duration 10 --json
  ${RUN} announce --port 8042 --port 8043
  ${RUN} wait 3 --timeout 20
  ${RUN} doctor`,

  announce: `Usage: instance-chart announce (--port P... | --msg JSON) [options]

Joins as an instance: announces the given ports or message until interrupted
(Ctrl-C or SIGTERM), reporting the instances it finds on stderr, then prints
the chart. Interrupted, it closes its chart, which says goodbye: the other
instances remove it at once.

Options:
${ANNOUNCE_HELP}
  --duration S        stop after S seconds (default: run until interrupted)
${OUTPUT_HELP}
${SEED_HELP}

${COMMON_HELP}

Examples:
  ${RUN} announce --port 8042
  ${RUN} announce --id 7 --port 8042 --port 8043 --watch
  ${RUN} announce --msg '{"role":"db"}' --discovery-port 8888
  ${RUN} announce --port 8042 --seed 198.18.2.7 --seed peers.internal`,

  wait: `Usage: instance-chart wait N [options]

Exits with code 0 as soon as N instances are charted, and prints them; exits
with code 1 and says how many it found if --timeout passes first. Listens
without announcing, unless given --port or --msg: then it announces too, and
counts itself among the N.

Options:
  --timeout S         seconds to wait (default ${DEFAULT_WAIT_TIMEOUT})
${ANNOUNCE_HELP}
  --json              print the instances as JSON lines
${SEED_HELP}
                      (seeds need --port or --msg: a chart that only listens
                      sends them nothing)

${COMMON_HELP}

Examples:
  ${RUN} wait 3 && echo "all three are up"
  ${RUN} wait 3 --port 8042 --timeout 60`,

  doctor: `Usage: instance-chart doctor [options]

Checks what discovery needs, and gives a hint for each problem it finds:
  interfaces  which interfaces are up and can multicast
  route       where multicast to 224.0.0.251 leaves
  port        whether the discovery port is free, shared or held exclusively
  loopback    whether a test announcement sent to the group comes back
              (it carries a random header, so no instance charts it)
  traffic     what a listener hears within --duration: datagrams received,
              instances charted, datagrams dropped and why
  seeds       with --seed (or INSTANCE_CHART_SEEDS): what each seed resolves to
Exits with code 1 when a check fails.

Options:
  --duration S        seconds to listen for traffic (default ${DEFAULT_DOCTOR_DURATION})
  --json              one JSON object per check: check, status ("ok", "warn"
                      or "fail"), summary, hint, and the check's details
  --seed HOST[:PORT]  a seed to resolve; repeat it for several
  --name-server ADDR[:PORT]  resolve seed names there

${COMMON_HELP}

Examples:
  ${RUN} doctor
  ${RUN} doctor --discovery-port 8888 --duration 5`,
};

const COMMANDS: readonly CommandName[] = ["list", "announce", "wait", "doctor"];

const OPTIONS = {
  header: { type: "string" },
  "discovery-port": { type: "string" },
  interface: { type: "string", multiple: true },
  "exclude-interface": { type: "string", multiple: true },
  "loopback-only": { type: "boolean" },
  family: { type: "string" },
  "key-file": { type: "string" },
  duration: { type: "string" },
  timeout: { type: "string" },
  watch: { type: "boolean" },
  json: { type: "boolean" },
  announce: { type: "boolean" },
  port: { type: "string", multiple: true },
  msg: { type: "string" },
  id: { type: "string" },
  seed: { type: "string", multiple: true },
  "name-server": { type: "string" },
  "no-multicast": { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
} as const;

type Flag = keyof typeof OPTIONS;

const COMMON_FLAGS: readonly Flag[] = [
  "header",
  "discovery-port",
  "interface",
  "exclude-interface",
  "loopback-only",
  "family",
  "key-file",
  "help",
  "version",
];
const ANNOUNCE_FLAGS: readonly Flag[] = ["port", "msg", "id"];
const SEED_FLAGS: readonly Flag[] = ["seed", "name-server", "no-multicast"];

/** The flags each command takes, besides the common ones. */
const COMMAND_FLAGS: Readonly<Record<CommandName, readonly Flag[]>> = {
  list: ["duration", "watch", "json", "announce"],
  announce: ["duration", "watch", "json", "announce", ...ANNOUNCE_FLAGS, ...SEED_FLAGS],
  wait: ["timeout", "json", ...ANNOUNCE_FLAGS, ...SEED_FLAGS],
  doctor: ["duration", "json", "seed", "name-server"],
};

function parseInteger(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new UsageError(`${flag} must be an integer from ${min} to ${max}, not '${text}'`);
  }
  return value;
}

function parseUint64(flag: string, text: string): bigint {
  if (!/^\d+$/.test(text) || !isUint64(BigInt(text))) {
    throw new UsageError(`${flag} must be an unsigned 64-bit integer, not '${text}'`);
  }
  return BigInt(text);
}

/** The longest a timer waits (2^31 - 1 ms, 24.8 days); beyond it, it fires at once. */
const MAX_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

function parseSeconds(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value <= 0) {
    throw new UsageError(`${flag} must be a positive number of seconds, not '${text}'`);
  }
  if (value > MAX_SECONDS) {
    throw new UsageError(
      `${flag} must be at most ${MAX_SECONDS} seconds (24.8 days), not '${text}'`,
    );
  }
  return value;
}

function parseFamily(text: string | undefined): AddressFamily {
  if (text === undefined) return "both";
  if (text === "ipv4" || text === "ipv6" || text === "both") return text;
  throw new UsageError(`--family must be ipv4, ipv6 or both, not '${text}'`);
}

type Values = {
  [F in Flag]?: F extends "port" | "interface" | "exclude-interface" | "seed" ? string[]
    : string | boolean;
};

/** Checks the data to announce by the rules the builder follows, which know what fits a datagram. */
function parseAnnouncement(values: Values, command: CommandName): Announcement | undefined {
  const ports = values.port as string[] | undefined;
  const msgText = values.msg as string | undefined;
  const idText = values.id as string | undefined;
  if (ports && msgText !== undefined) {
    throw new UsageError("--port and --msg exclude each other: announce ports or a message");
  }
  if (!ports && msgText === undefined) {
    if (idText !== undefined) throw new UsageError("--id needs --port or --msg to announce");
    if (command === "announce") throw new UsageError("needs --port P or --msg JSON to announce");
    return undefined;
  }
  const id = idText === undefined ? randomId() : parseUint64("--id", idText);
  try {
    if (ports) {
      const numbers = ports.map((port) => parseInteger("--port", port, MIN_PORT, MAX_PORT));
      checkServicePorts(numbers);
      return { id, ports: numbers };
    }
    let msg: unknown;
    try {
      msg = JSON.parse(msgText!);
    } catch {
      throw new UsageError(`--msg must be JSON, not '${msgText}' (quote strings: '"text"')`);
    }
    checkMsg(msg);
    return { id, msg };
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError) {
      throw new UsageError(error.message);
    }
    throw error;
  }
}

/**
 * The seeds of a command: `--seed`, else the environment's; none for a
 * command that does not announce (the default command, and a `wait` without
 * `--port` or `--msg`) unless named on its command line, which is a mistake.
 */
function parseSeeds(
  values: Values,
  command: CommandName,
  announces: boolean,
  environment: string | undefined,
): Pick<ChartOptions, "seeds" | "nameServer" | "multicast"> {
  const named = values.seed as string[] | undefined;
  const multicast = values["no-multicast"] !== true;
  if (named && command === "wait" && !announces) {
    throw new UsageError(
      "--seed needs --port or --msg: a chart that only listens sends its seeds nothing",
    );
  }
  const texts = named ??
    (announces || command === "doctor"
      ? environment?.split(",").map((seed) => seed.trim()).filter((seed) => seed !== "")
      : undefined);
  const from = named ? "--seed" : SEEDS_VARIABLE;
  if (!texts || texts.length === 0) {
    if (!multicast) {
      throw new UsageError("--no-multicast needs --seed: without seeds no one hears us");
    }
    if (values["name-server"] !== undefined) throw new UsageError("--name-server needs --seed");
    return { multicast };
  }
  try {
    const seeds = checkSeeds(texts);
    const nameServer = values["name-server"] === undefined
      ? undefined
      : checkNameServer(values["name-server"] as string);
    return { seeds, nameServer, multicast };
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError) {
      const where = /name server/.test(error.message) ? "--name-server" : from;
      throw new UsageError(`${where}: ${error.message}`);
    }
    throw error;
  }
}

/**
 * Parses a command line.
 *
 * @param args The arguments, without the program's name.
 * @param environment The environment variables the CLI reads: `INSTANCE_CHART_SEEDS`.
 * @returns The command to run.
 * @throws {UsageError} If the arguments do not make a command.
 */
export function parseCommand(
  args: readonly string[],
  environment: Readonly<Record<string, string | undefined>> = {},
): Command {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...args],
      options: OPTIONS,
      strict: true,
      allowPositionals: true,
    }));
  } catch (error) {
    const first = (error as Error).message.split("\n")[0];
    const ambiguous = first.match(/^Option '(--[\w-]+)' argument is ambiguous/);
    const message = ambiguous
      ? `${ambiguous[1]} needs a value; write one that starts with '-' as ${ambiguous[1]}=VALUE`
      : first.replace(/\. To specify a positional argument.*$/, "").replace(/\.$/, "");
    throw new UsageError(message, commandIn(args));
  }

  const [name, ...rest] = positionals;
  if (name === "help") {
    const topic = rest[0] ?? "list";
    if (!isCommand(topic) || rest.length > 1) {
      throw new UsageError(`there is no command '${rest.join(" ")}' to help with`);
    }
    return { kind: "help", text: HELP[topic] };
  }
  // "list" is no word of the command line: it is what runs when none is given.
  if (name !== undefined && (!isCommand(name) || name === "list")) {
    throw new UsageError(`unknown command '${name}'`);
  }
  const command: CommandName = name ?? (values.announce ? "announce" : "list");
  if (values.version) return { kind: "version" };
  if (values.help) return { kind: "help", text: HELP[command] };

  const given = Object.keys(values) as Flag[];
  for (const flag of given) {
    if (!COMMON_FLAGS.includes(flag) && !COMMAND_FLAGS[command].includes(flag)) {
      throw new UsageError(flagMisplaced(flag, command), command);
    }
  }
  if (command !== "wait" && rest.length > 0) {
    throw new UsageError(`unexpected argument '${rest[0]}'`, command);
  }

  try {
    return finish(command, values, rest, environment[SEEDS_VARIABLE]);
  } catch (error) {
    if (error instanceof UsageError && error.command === undefined) {
      throw new UsageError(error.message, command);
    }
    throw error;
  }
}

function finish(
  command: CommandName,
  values: Values,
  rest: string[],
  seedsVariable: string | undefined,
): Command {
  const announces = command === "announce" ||
    (command === "wait" && (values.port !== undefined || values.msg !== undefined));
  const chart: ChartOptions = {
    header: values.header === undefined
      ? DEFAULT_HEADER
      : parseUint64("--header", values.header as string),
    discoveryPort: values["discovery-port"] === undefined
      ? DEFAULT_DISCOVERY_PORT
      : parseInteger("--discovery-port", values["discovery-port"] as string, MIN_PORT, MAX_PORT),
    interfaces: {
      include: values.interface as string[] | undefined,
      exclude: values["exclude-interface"] as string[] | undefined,
      loopbackOnly: values["loopback-only"] === true,
    },
    family: parseFamily(values.family as string | undefined),
    keyFile: values["key-file"] as string | undefined,
    ...parseSeeds(values, command, announces, seedsVariable),
  };
  if (chart.seeds) {
    try {
      checkSeedFamilies(chart.seeds, chart.family);
    } catch (error) {
      throw new UsageError(`--seed: ${(error as Error).message}`);
    }
  }
  const output = { watch: values.watch === true, json: values.json === true };
  const duration = values.duration === undefined
    ? undefined
    : parseSeconds("--duration", values.duration as string);
  switch (command) {
    case "list":
      return {
        kind: "list",
        chart,
        output,
        duration: duration ?? (output.watch ? undefined : DEFAULT_LIST_DURATION),
      };
    case "announce":
      return {
        kind: "announce",
        chart,
        output,
        announcement: parseAnnouncement(values, command)!,
        duration,
      };
    case "wait": {
      if (rest.length !== 1) {
        throw new UsageError(
          rest.length === 0
            ? "needs N, the number of instances to wait for"
            : `unexpected '${rest[1]}'`,
        );
      }
      return {
        kind: "wait",
        chart,
        output,
        count: parseInteger("N", rest[0], 1, Number.MAX_SAFE_INTEGER),
        timeout: values.timeout === undefined
          ? DEFAULT_WAIT_TIMEOUT
          : parseSeconds("--timeout", values.timeout as string),
        announcement: parseAnnouncement(values, command),
      };
    }
    case "doctor":
      return {
        kind: "doctor",
        chart,
        json: output.json,
        duration: duration ?? DEFAULT_DOCTOR_DURATION,
      };
  }
}

function isCommand(name: string): name is CommandName {
  return (COMMANDS as readonly string[]).includes(name);
}

/** The command a command line names, for the hint of a flag it cannot parse. */
function commandIn(args: readonly string[]): CommandName | undefined {
  const name = args.find((arg) => isCommand(arg));
  return name === "list" ? undefined : name as CommandName | undefined;
}

function flagMisplaced(flag: Flag, command: CommandName): string {
  const takers = COMMANDS.filter((name) => COMMAND_FLAGS[name].includes(flag))
    .map((name) => name === "list" ? "the default command" : name);
  const where = command === "list" ? "the default command" : command;
  const list = takers.length === 1
    ? takers[0]
    : `${takers.slice(0, -1).join(", ")} and ${takers.at(-1)}`;
  return `--${flag} is not an option of ${where}, but of ${list}`;
}
