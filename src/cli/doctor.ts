/**
 * `instance-chart doctor`: checks what discovery needs on this machine and
 * says, in plain words, what to do about each problem it finds.
 *
 * @module
 */

import dgram from "node:dgram";
import {
  type Chart,
  DiscoveryError,
  type Entry,
  maintain,
  MULTICAST_GROUP,
  sniff,
} from "../../mod.ts";
import type { ChartOptions } from "./args.ts";
import { openCliChart } from "./chart.ts";
import { randomId } from "../ids.ts";
import { describeData } from "./format.ts";
import type { Paint } from "./style.ts";
import {
  IFF_LOOPBACK,
  IFF_MULTICAST,
  IFF_UP,
  listInterfaces,
  selectInterfaces,
} from "../io/interfaces.ts";
import { resolveSeeds } from "../io/seeds.ts";
import { MULTICAST_GROUP_V6 } from "../core/wire.ts";
import { formatHostPort, isLinkLocal } from "../core/address.ts";

/** How a check went: `"fail"` means discovery cannot work as it is. */
export type Status = "ok" | "warn" | "fail";

/** The result of one check. */
export interface Check {
  /** The check's name. */
  check: "interfaces" | "ipv6" | "port" | "loopback" | "traffic" | "seeds";
  /** How it went. */
  status: Status;
  /** What was found, in a line. */
  summary: string;
  /** More lines about what was found. */
  details: string[];
  /** What to do about a problem. */
  hint?: string;
  /** What was found, as JSON fields. */
  data: Record<string, unknown>;
}

/** How long the loopback check waits for its announcement to come back. */
const LOOPBACK_MS = 1_500;

/**
 * An interface with its addresses of one family; flags are unknown where
 * /sys shows another namespace.
 */
interface Interface {
  name: string;
  addresses: string[];
  up?: boolean;
  loopback?: boolean;
  multicast?: boolean;
}

/**
 * Flags from `ip -o link` (iproute2), which asks the kernel of this namespace:
 * for a diagnosis where `/sys` shows another namespace and the library only
 * assumes.
 */
function ipLinkFlags(): Map<string, number> | undefined {
  try {
    const { success, stdout } = new Deno.Command("ip", { args: ["-o", "link", "show"] })
      .outputSync();
    if (!success) return undefined;
    const bits: Record<string, number> = {
      UP: IFF_UP,
      LOOPBACK: IFF_LOOPBACK,
      MULTICAST: IFF_MULTICAST,
    };
    const flags = new Map<string, number>();
    for (const line of new TextDecoder().decode(stdout).split("\n")) {
      const match = line.match(/^\d+:\s+([^:@\s]+)(?:@\S+)?:\s+<([^>]*)>/);
      if (!match) continue;
      flags.set(match[1], match[2].split(",").reduce((sum, name) => sum | (bits[name] ?? 0), 0));
    }
    return flags;
  } catch {
    return undefined;
  }
}

/** The library's view of the interfaces with addresses of a family, one row per interface. */
function listInterfacesByName(family: 4 | 6): Interface[] {
  const byName = new Map<string, Interface>();
  let fromIp: Map<string, number> | undefined;
  for (const iface of listInterfaces()) {
    if (iface.family !== family) continue;
    let face = byName.get(iface.name);
    if (!face) {
      face = { name: iface.name, addresses: [] };
      if (iface.flagsKnown) {
        face.up = iface.up;
        face.loopback = iface.loopback;
        face.multicast = iface.multicast;
      } else {
        fromIp ??= ipLinkFlags() ?? new Map();
        const flags = fromIp.get(iface.name);
        if (flags !== undefined) {
          face.up = (flags & IFF_UP) !== 0;
          face.loopback = (flags & IFF_LOOPBACK) !== 0;
          face.multicast = (flags & IFF_MULTICAST) !== 0;
        }
      }
      byName.set(iface.name, face);
    }
    face.addresses.push(iface.address);
  }
  return [...byName.values()];
}

function checkInterfaces(faces: Interface[]): Check {
  const width = Math.max(0, ...faces.map((face) => face.name.length));
  const details = faces.map((face) => {
    const flags = face.multicast === undefined
      ? "flags unknown"
      : [face.up ? "up" : "down", face.loopback && "loopback", face.multicast && "multicast"]
        .filter(Boolean).join(", ");
    return `${face.name.padEnd(width)}  ${face.addresses.join(" ")}  ${flags}`;
  });
  const data = { interfaces: faces };
  if (faces.length === 0) {
    return {
      check: "interfaces",
      status: "fail",
      summary: "no interface has an IPv4 address",
      details,
      hint: "Discovery runs over IPv4: bring up an interface with an IPv4 address.",
      data,
    };
  }
  if (faces.every((face) => face.multicast === undefined)) {
    return { check: "interfaces", status: "ok", summary: "flags unknown here", details, data };
  }
  const network = faces.filter((face) => !face.loopback && face.up && face.multicast);
  if (network.length > 0) {
    const names = network.map((face) => face.name).join(", ");
    return { check: "interfaces", status: "ok", summary: `${names} can multicast`, details, data };
  }
  // Loopback carries the announcements of this machine's instances with or
  // without the multicast flag; other machines need a network interface.
  const loopback = faces.filter((face) => face.loopback && face.up);
  if (loopback.length > 0) {
    return {
      check: "interfaces",
      status: "warn",
      summary: `only loopback (${
        loopback.map((face) => face.name).join(", ")
      }) is up for discovery`,
      details,
      hint: "Instances on this machine can find each other; instances on other machines " +
        "cannot. To reach them, bring up a network interface with multicast " +
        "(`sudo ip link set IFACE up multicast on`).",
      data,
    };
  }
  return {
    check: "interfaces",
    status: "fail",
    summary: "no interface is up for discovery",
    details,
    hint: "Loopback is down and no network interface is up with multicast: " +
      "`sudo ip link set lo up` lets instances on this machine find each other, " +
      "`sudo ip link set IFACE up multicast on` those on the network.",
    data,
  };
}

/**
 * Whether IPv6 discovery can run, interface by interface: which address each
 * interface uses for it (a global one before a link-local one), and whether
 * any is up with multicast.
 */
function checkIpv6(options: ChartOptions): Check {
  if (options.family === "ipv4") {
    return {
      check: "ipv6",
      status: "ok",
      summary: "skipped: --family ipv4",
      details: [],
      data: {},
    };
  }
  const faces = listInterfacesByName(6);
  const used = new Map(
    selectInterfaces(listInterfaces(), options.interfaces, true, options.family)
      .filter((iface) => iface.family === 6)
      .map((iface) => [iface.name, iface.address]),
  );
  const width = Math.max(0, ...faces.map((face) => face.name.length));
  const details = faces.map((face) => {
    const address = used.get(face.name);
    const use = address
      ? `joins ${MULTICAST_GROUP_V6}, sends from ${address}` +
        (isLinkLocal(address) ? " (link-local only)" : "")
      : face.loopback
      ? "not used: IPv6 multicast does not loop back on loopback"
      : "not used";
    return `${face.name.padEnd(width)}  ${face.addresses.join(" ")}  ${use}`;
  });
  const data = {
    interfaces: faces.map((face) => ({ ...face, uses: used.get(face.name) ?? null })),
  };
  const network = faces.filter((face) => used.has(face.name) && !face.loopback);
  if (network.length > 0) {
    const names = network.map((face) => face.name).join(", ");
    return { check: "ipv6", status: "ok", summary: `IPv6 on ${names}`, details, data };
  }
  if (options.family === "both") {
    return {
      check: "ipv6",
      status: "ok",
      summary: "no network interface has IPv6: discovery runs over IPv4",
      details,
      data,
    };
  }
  return {
    check: "ipv6",
    status: "fail",
    summary: "no interface that is up has IPv6, and --family ipv6 needs it",
    details,
    hint: "Enable IPv6 on an interface (`sudo sysctl net.ipv6.conf.IFACE.disable_ipv6=0`), " +
      "or run with --family both.",
    data,
  };
}

/** Binds the port and closes it again; returns the error code, or undefined if it bound. */
function tryBind(port: number, reuseAddr: boolean): Promise<string | undefined> {
  const socket = dgram.createSocket({ type: "udp4", reuseAddr });
  return new Promise((resolve) => {
    socket.once("error", (error: Error & { code?: string }) => {
      socket.close();
      resolve(error.code ?? error.message);
    });
    socket.bind({ address: "0.0.0.0", port }, () => socket.close(() => resolve(undefined)));
  });
}

async function checkPort(port: number): Promise<Check> {
  const alone = await tryBind(port, false);
  if (alone === undefined) {
    return {
      check: "port",
      status: "ok",
      summary: `discovery port ${port} is free`,
      details: [],
      data: { port, state: "free" },
    };
  }
  const shared = alone === "EADDRINUSE" ? await tryBind(port, true) : alone;
  if (shared === undefined) {
    return {
      check: "port",
      status: "ok",
      summary: `discovery port ${port} is shared by instances on this machine`,
      details: [],
      data: { port, state: "shared" },
    };
  }
  if (shared === "EADDRINUSE") {
    return {
      check: "port",
      status: "fail",
      summary: `discovery port ${port} is held exclusively by another program`,
      details: [],
      hint: "Instances on this machine cannot share it: the holder is a chart built without " +
        "localDiscovery(true), a Rust instance (it shares with SO_REUSEPORT only), or another " +
        `service. \`ss -ulpn 'sport = :${port}'\` shows which; or use another --discovery-port.`,
      data: { port, state: "exclusive" },
    };
  }
  const denied = shared === "EACCES";
  return {
    check: "port",
    status: "fail",
    summary: denied
      ? `discovery port ${port} needs privileges to bind`
      : `discovery port ${port} cannot be bound: ${shared}`,
    details: [],
    hint: denied
      ? "Use a --discovery-port above 1023, or run with the privileges it needs."
      : undefined,
    data: { port, state: denied ? "denied" : "error", error: shared },
  };
}

async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > end) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}

async function checkLoopback(options: ChartOptions): Promise<Check> {
  const port = options.discoveryPort;
  const target = options.family === "ipv6"
    ? formatHostPort(MULTICAST_GROUP_V6, port)
    : `${MULTICAST_GROUP}:${port}`;
  const errors: string[] = [];
  let chart: Chart<Entry>;
  try {
    // A random header: no instance charts the test announcement.
    chart = await openCliChart(
      { ...options, header: randomId() },
      { id: randomId(), ports: [1] },
      (error) => errors.push(error.message),
    );
  } catch (error) {
    if (!(error instanceof DiscoveryError)) throw error;
    return {
      check: "loopback",
      status: "warn",
      summary: "skipped: the discovery port cannot be bound",
      details: [],
      data: { cameBack: null },
    };
  }
  const links = chart.interfaces();
  const on = links.map((link) => `${link.name} (${link.address})`).join(", ");
  if (links.length === 0) {
    await chart.close();
    return {
      check: "loopback",
      status: "fail",
      summary: "no interface to send on",
      details: [],
      hint: "Discovery needs loopback up, or an interface that is up with multicast; see " +
        "the interfaces above.",
      data: { cameBack: false, interfaces: links },
    };
  }
  const started = performance.now();
  const stop = new AbortController();
  const running = maintain(chart, { signal: stop.signal });
  const cameBack = await until(
    () => chart.counters.dropped.own > 0 || chart.counters.sendErrors > 0,
    LOOPBACK_MS,
  ) && chart.counters.dropped.own > 0;
  const ms = Math.round(performance.now() - started);
  stop.abort();
  await running;
  await chart.close();
  if (cameBack) {
    return {
      check: "loopback",
      status: "ok",
      summary: `a test announcement to ${target} came back within ${ms} ms`,
      details: [`sent on ${on}`],
      data: { cameBack: true, ms, interfaces: links },
    };
  }
  if (errors.length > 0) {
    return {
      check: "loopback",
      status: "fail",
      summary: `sending a test announcement to ${target} failed: ${errors[0]}`,
      details: [`sent on ${on}`],
      hint: "Announcements cannot leave this machine: check that the interfaces it sends on " +
        "are up and have a route.",
      data: { cameBack: false, error: errors[0], interfaces: links },
    };
  }
  return {
    check: "loopback",
    status: "fail",
    summary: `a test announcement to ${target} did not come back within ${LOOPBACK_MS} ms`,
    details: [`sent on ${on}`],
    hint: "Multicast loopback is off or a firewall drops the datagrams " +
      "(see `sudo nft list ruleset`): instances on this machine cannot find each other. " +
      SEED_HINT,
    data: { cameBack: false, interfaces: links },
  };
}

/** What to do where multicast does not reach. */
const SEED_HINT = "Where multicast does not reach (across a router, in Docker, Kubernetes, " +
  "a cloud network, WSL2 or a VPN), name the other instances with --seed HOST (an address " +
  "or a DNS name), and add --no-multicast where the network drops it.";

/** What each seed resolves to now. */
async function checkSeeds(options: ChartOptions): Promise<Check> {
  const reports = await resolveSeeds(options.seeds!, options.discoveryPort, options.nameServer);
  // DNS servers rotate their records: shown in one order, a report reads the same each time.
  for (const report of reports) {
    report.addresses.sort((a, b) => a.address.localeCompare(b.address, "en", { numeric: true }));
  }
  const failed = reports.filter((report) => report.error !== undefined);
  const details = reports.map(({ seed, addresses, error }) =>
    `${seed.text}: ${
      error ?? addresses.map(({ address, port }) => formatHostPort(address, port)).join(", ")
    }`
  );
  const data = {
    seeds: reports.map(({ seed, addresses, error }) => ({
      seed: seed.text,
      addresses: addresses.map(({ address, port }) => formatHostPort(address, port)),
      ...(error === undefined ? {} : { error }),
    })),
  };
  const count = reports.reduce((sum, report) => sum + report.addresses.length, 0);
  if (failed.length === 0) {
    return {
      check: "seeds",
      status: "ok",
      summary: `${reports.length} seed(s) resolve to ${count} address(es)`,
      details,
      data,
    };
  }
  return {
    check: "seeds",
    status: "fail",
    summary: `${failed.length} of ${reports.length} seed(s) do not resolve`,
    details,
    hint: "Check each name" +
      (options.nameServer
        ? ` on the name server ${
          formatHostPort(options.nameServer.address, options.nameServer.port)
        }`
        : " (or point --name-server at the server that has it)") +
      ": a chart keeps trying such a seed, and reports it to its error handler each time.",
    data,
  };
}

/**
 * Drops that are no one's problem: our own announcements heard back, datagrams
 * before sniffing began, and repeats of what was heard already.
 */
const BENIGN_DROPS = new Set(["own", "idle", "stale"]);

const MALFORMED = new Set(["too-short", "too-long", "bad-extension", "bad-msg"]);

function dropHint(reason: string, count: number, header: bigint): string {
  if (reason === "other-header") {
    return `${count} datagram(s) carried another header: another application shares this ` +
      `discovery port, or its instances run with another --header (this one is ${header}).`;
  }
  if (MALFORMED.has(reason)) {
    return `${count} malformed datagram(s) (${reason}): a program other than instance-chart, ` +
      "or an incompatible version, sends to this port.";
  }
  if (reason === "unsigned" || reason === "unknown-key" || reason === "bad-signature") {
    return `${count} datagram(s) ${
      reason === "unsigned"
        ? "carried no signature"
        : reason === "unknown-key"
        ? "were signed with a key this chart lacks"
        : "had a bad signature"
    }: an instance runs with another key, or without one (--key-file, INSTANCE_CHART_KEY).`;
  }
  if (reason === "full") {
    return `${count} newcomer(s) turned away by a full chart: more instances than its ` +
      "limit, or a flood of forged ids.";
  }
  if (reason === "wrong-layout") {
    return `${count} announcement(s) had a layout no chart reads (a message after ports): ` +
      "an incompatible version sends them.";
  }
  return `${count} datagram(s) dropped as ${reason}.`;
}

async function checkTraffic(options: ChartOptions, seconds: number): Promise<Check> {
  let chart: Chart<Entry>;
  try {
    chart = await openCliChart(options);
  } catch (error) {
    if (!(error instanceof DiscoveryError)) throw error;
    return {
      check: "traffic",
      status: "warn",
      summary: "skipped: the discovery port cannot be bound",
      details: [],
      data: {},
    };
  }
  const on = chart.interfaces().map((link) => `${link.name} (${link.address})`).join(", ");
  await sniff(chart, { signal: AbortSignal.timeout(seconds * 1000) });
  const { counters } = chart;
  const entries = chart.entries();
  await chart.close();
  const drops = Object.entries(counters.dropped)
    .filter(([reason, count]) => count > 0 && !BENIGN_DROPS.has(reason));
  const hints = drops.map(([reason, count]) => dropHint(reason, count, options.header));
  if (counters.received === 0) {
    hints.push(
      `Nothing was heard within ${seconds} s: no instance announces on this port, or its ` +
        "datagrams do not reach this machine (another network or --discovery-port, or " +
        `multicast filtered between the hosts). ${SEED_HINT}`,
    );
  }
  if (counters.receiveErrors > 0) hints.push(`${counters.receiveErrors} receive error(s).`);
  const details = [
    `listened on ${on || "no interface"}`,
    ...entries.map((entry) => `${entry.id} at ${entry.address}: ${describeData(entry)}`),
    ...drops.length > 0
      ? [`dropped: ${drops.map(([reason, count]) => `${reason} ${count}`).join(", ")}`]
      : [],
  ];
  return {
    check: "traffic",
    status: hints.length > 0 ? "warn" : "ok",
    summary: `heard ${counters.received} datagram(s) within ${seconds} s, ` +
      `charted ${entries.length} instance(s)`,
    details,
    hint: hints.length > 0 ? hints.join(" ") : undefined,
    data: {
      counters,
      instances: entries.map((entry) => ({ id: `${entry.id}`, address: entry.address })),
    },
  };
}

/**
 * Runs every check, one after the other: the loopback check announces, so it
 * must not run while the traffic check listens.
 *
 * @param options The header and discovery port to check.
 * @param seconds How long to listen for traffic.
 * @returns The checks' results.
 */
export async function diagnose(options: ChartOptions, seconds: number): Promise<Check[]> {
  const checks = [
    options.family === "ipv6"
      ? {
        check: "interfaces" as const,
        status: "ok" as const,
        summary: "IPv4 skipped: --family ipv6",
        details: [],
        data: {},
      }
      : checkInterfaces(listInterfacesByName(4)),
    checkIpv6(options),
  ];
  checks.push(await checkPort(options.discoveryPort));
  checks.push(await checkLoopback(options));
  checks.push(await checkTraffic(options, seconds));
  if (options.seeds) checks.push(await checkSeeds(options));
  return checks;
}

/** The width the report's hints are wrapped to. */
const WIDTH = 100;

/** Wraps text at spaces into lines of at most `width` characters (the first), or `width - 6`. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    const room = lines.length === 0 ? width : width - 6;
    if (line && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return [...lines, line];
}

/**
 * Formats the checks for a person.
 *
 * @param checks The results.
 * @param options What was checked, for the first line.
 * @param paint Colours, or none.
 * @returns The report's lines.
 */
export function formatChecks(
  checks: readonly Check[],
  options: ChartOptions,
  paint: Paint,
): string[] {
  const indent = " ".repeat(18);
  const lines = [
    `instance-chart doctor: discovery port ${options.discoveryPort}, header ${options.header}`,
    "",
  ];
  for (const check of checks) {
    const status = check.status.padEnd(4);
    const painted = check.status === "ok"
      ? paint.green(status)
      : check.status === "warn"
      ? paint.yellow(status)
      : paint.red(status);
    lines.push(`${painted}  ${check.check.padEnd(10)}  ${check.summary}`);
    for (const detail of check.details) lines.push(`${indent}${detail}`);
    if (check.hint) {
      const [first, ...rest] = wrap(`hint: ${check.hint}`, WIDTH - indent.length);
      lines.push(`${indent}${paint.bold("hint:")}${first.slice(5)}`);
      for (const line of rest) lines.push(`${indent}      ${line}`);
    }
  }
  const failed = checks.filter((check) => check.status === "fail").length;
  const warned = checks.filter((check) => check.status === "warn").length;
  lines.push(
    "",
    failed > 0
      ? `${failed} check(s) failed.`
      : `No check failed${warned > 0 ? `; ${warned} warning(s)` : ""}.`,
  );
  return lines;
}

/**
 * Formats one check as a JSON line.
 *
 * @param check The result.
 * @returns The line, without a line break.
 */
export function checkJson(check: Check): string {
  const { check: name, status, summary, hint, data } = check;
  return JSON.stringify(
    { check: name, status, summary, hint, ...data },
    (_, value) => typeof value === "bigint" ? `${value}` : value,
  );
}
