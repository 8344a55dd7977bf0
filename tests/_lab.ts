/**
 * The test lab: a guard that keeps discovery off the real network, lab hosts
 * (network namespaces on a bridge), and peers in processes of their own.
 *
 * Every test file that opens a discovery socket imports this module first;
 * importing it outside the lab fails the file before any socket opens.
 *
 * @module
 */

import type { Counters } from "../mod.ts";
import { TextLineStream } from "./_lines.ts";
import { requireTool } from "./_tools.ts";
import { parseAddress } from "../src/core/address.ts";

const LAB_HINT = "run the tests with `deno task test`, which makes the lab";

/**
 * Throws unless this process runs in a network namespace of its own, where
 * no datagram can reach the machine's real network.
 *
 * @throws {Error} Outside the lab.
 */
export function requireLab(): void {
  if (Deno.env.get("INSTANCE_CHART_LAB") !== "1") {
    throw new Error(`Refusing to open discovery sockets outside the lab: ${LAB_HINT}`);
  }
  try {
    const ours = Deno.readLinkSync("/proc/self/ns/net");
    const init = Deno.readLinkSync("/proc/1/ns/net");
    if (ours === init) {
      throw new Error(
        `Refusing to open discovery sockets in the machine's own network namespace: ${LAB_HINT}`,
      );
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.PermissionDenied)) throw error;
  }
  for (const { family, address, name } of Deno.networkInterfaces()) {
    const lab = family === "IPv4"
      ? address.startsWith("127.") || isLabAddress(address)
      : isLabAddress6(address);
    if (!lab) {
      throw new Error(
        `Refusing to open discovery sockets: interface ${name} has address ${address} of a real network; ${LAB_HINT}`,
      );
    }
  }
}

/** Whether an address is in 198.18.0.0/15, the range of lab hosts. */
function isLabAddress(address: string): boolean {
  const [a, b] = address.split(".").map(Number);
  return a === 198 && (b === 18 || b === 19);
}

/**
 * Whether an IPv6 address is one a lab may have: loopback, link-local
 * (fe80::/10, which no router forwards) or unique local in fd00::/8.
 */
function isLabAddress6(address: string): boolean {
  const parsed = parseAddress(address);
  if (!parsed || parsed.family !== 6) return false;
  const { bytes } = parsed;
  const loopback = bytes.every((byte, i) => byte === (i === 15 ? 1 : 0));
  return loopback || bytes[0] === 0xfd || (bytes[0] === 0xfe && (bytes[1] & 0xc0) === 0x80);
}

requireLab();

async function ip(...args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command("ip", { args, stderr: "piped" }).output();
  if (code !== 0) {
    throw new Error(`ip ${args.join(" ")} failed: ${new TextDecoder().decode(stderr).trim()}`);
  }
}

/** One host of the lab: a network namespace with one interface on the lab bridge. */
export interface LabHost {
  /** The namespace's name, for `ip netns exec`. */
  name: string;
  /** The host's address on the bridge: its IPv4 one, else its IPv6 one. */
  address: string;
  /** Its IPv4 address, if it has one. */
  ipv4?: string;
  /** Its unique local IPv6 address (fd00::/8), if it has one. */
  ula?: string;
  /** Its link-local IPv6 address with its zone (`fe80::…%eth0`), if it has IPv6. */
  linkLocal?: string;
}

/** The addresses a lab host gets. */
export interface LabHostOptions {
  /**
   * Whether it has an IPv4 address in 198.18.0.0/24.
   *
   * @default {true}
   */
  ipv4?: boolean;
  /**
   * Its IPv6: none (IPv6 off on its interface), link-local only, or a unique
   * local address in fd00::/8 as well. Duplicate address detection is off,
   * so that addresses are usable at once.
   *
   * @default {"none"}
   */
  ipv6?: "none" | "link-local" | "ula";
}

async function sysctl(host: string, key: string, value: string): Promise<void> {
  const path = `/proc/sys/${key.replaceAll(".", "/")}`;
  await run("ip", "netns", "exec", host, "sh", "-c", `echo ${value} > ${path}`);
}

/**
 * Keeps a bridge or a cable's end in this namespace free of IPv6: they only
 * carry frames, and a link-local address there would make the charts of
 * this process discover over the lab's links too.
 */
function layerTwoOnly(iface: string): void {
  Deno.writeTextFileSync(`/proc/sys/net/ipv6/conf/${iface}/disable_ipv6`, "1");
}

async function run(command: string, ...args: string[]): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(command, {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} failed: ${new TextDecoder().decode(stderr).trim()}`,
    );
  }
  return new TextDecoder().decode(stdout);
}

/** Waits until a host's interface has its link-local IPv6 address, and returns it. */
async function linkLocalOf(host: string, iface = "eth0"): Promise<string> {
  const deadline = Date.now() + 10_000;
  while (true) {
    const out = await run(
      "ip",
      "-n",
      host,
      "-6",
      "-o",
      "addr",
      "show",
      "dev",
      iface,
      "scope",
      "link",
    );
    const match = /inet6 (fe80::[0-9a-f:]+)\/64/.exec(out);
    if (match && !out.includes("tentative")) return `${match[1]}%${iface}`;
    if (Date.now() > deadline) throw new Error(`${host} has no link-local IPv6 address: ${out}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let labCount = 0;

/**
 * Lab hosts on one link (a bridge), each with its own address in
 * 198.18.0.0/24 and multicast routed to its link. Dispose of it to remove them.
 */
export class LabNet implements AsyncDisposable {
  /** The hosts. */
  readonly hosts: LabHost[];
  readonly #bridge: string;
  readonly #extraBridges: string[] = [];
  readonly #routers: string[] = [];

  private constructor(bridge: string, hosts: LabHost[]) {
    this.#bridge = bridge;
    this.hosts = hosts;
  }

  /**
   * Creates `n` hosts on a new bridge.
   *
   * @param n How many hosts.
   * @param options The addresses of each host, by index; IPv4 only where absent.
   * @returns The lab network.
   */
  static async create(n: number, options: LabHostOptions[] = []): Promise<LabNet> {
    const lab = ++labCount;
    const bridge = `br${lab}`;
    await ip("link", "add", bridge, "type", "bridge", "mcast_snooping", "0");
    layerTwoOnly(bridge);
    await ip("link", "set", bridge, "up");
    const hosts: LabHost[] = [];
    for (let i = 1; i <= n; i++) {
      const name = `lab${lab}h${i}`;
      const { ipv4 = true, ipv6 = "none" } = options[i - 1] ?? {};
      const v4 = ipv4 ? `198.18.${lab}.${i}` : undefined;
      const ula = ipv6 === "ula" ? `fd00:${lab}::${i}` : undefined;
      await ip("netns", "add", name);
      await ip("link", "add", `${name}v`, "type", "veth", "peer", "name", "eth0", "netns", name);
      layerTwoOnly(`${name}v`);
      await ip("link", "set", `${name}v`, "master", bridge, "up");
      if (ipv6 === "none") {
        await sysctl(name, "net.ipv6.conf.eth0.disable_ipv6", "1");
      } else {
        await sysctl(name, "net.ipv6.conf.eth0.accept_dad", "0");
      }
      if (v4) await ip("-n", name, "addr", "add", `${v4}/24`, "dev", "eth0");
      if (ula) await ip("-n", name, "addr", "add", `${ula}/64`, "dev", "eth0", "nodad");
      await ip("-n", name, "link", "set", "eth0", "up");
      await ip("-n", name, "link", "set", "lo", "up");
      if (v4) await ip("-n", name, "route", "add", "224.0.0.0/4", "dev", "eth0");
      const linkLocal = ipv6 === "none" ? undefined : await linkLocalOf(name);
      const host: LabHost = { name, address: v4 ?? ula ?? linkLocal! };
      if (v4) host.ipv4 = v4;
      if (ula) host.ula = ula;
      if (linkLocal) host.linkLocal = linkLocal;
      hosts.push(host);
    }
    return new LabNet(bridge, hosts);
  }

  /** The bridge the hosts are on. */
  get bridge(): string {
    return this.#bridge;
  }

  /**
   * Unplugs or plugs back a host's cable: its bridge port goes down or up,
   * while the host's own interface stays configured.
   *
   * @param host The host.
   * @param plugged Whether the cable is plugged.
   */
  async setCable(host: LabHost, plugged: boolean): Promise<void> {
    await ip("link", "set", `${host.name}v`, plugged ? "up" : "down");
  }

  /**
   * Moves hosts' cables to another bridge (made when missing), or back to
   * this lab's bridge: a partition, and its healing.
   *
   * @param hosts The hosts to move.
   * @param bridge The bridge to move them to; this lab's when absent.
   */
  async moveCables(hosts: LabHost[], bridge?: string): Promise<void> {
    if (bridge && !this.#extraBridges.includes(bridge)) {
      await ip("link", "add", bridge, "type", "bridge", "mcast_snooping", "0");
      layerTwoOnly(bridge);
      await ip("link", "set", bridge, "up");
      this.#extraBridges.push(bridge);
    }
    for (const host of hosts) {
      await ip("link", "set", `${host.name}v`, "master", bridge ?? this.#bridge);
    }
  }

  /**
   * Gives a running host a second interface, `eth1`, on another lab's link,
   * with the addresses the other lab's hosts have there (IPv4, and a unique
   * local IPv6 address if they have one), or those asked for.
   *
   * @param host The host, of this lab.
   * @param other The lab whose bridge the new interface joins.
   * @param options The addresses; the other lab's first host's kinds when absent.
   * @returns The host's addresses on the other link: its IPv4 one as `address` if it has one.
   */
  async addInterface(
    host: LabHost,
    other: LabNet,
    options: LabHostOptions = {
      ipv4: other.hosts[0].ipv4 !== undefined,
      ipv6: other.hosts[0].ula ? "ula" : "none",
    },
  ): Promise<LabHost> {
    const index = this.hosts.indexOf(host) + 1;
    const { ipv4 = true, ipv6 = "none" } = options;
    const v4 = ipv4 ? other.hosts[0].ipv4!.replace(/\.\d+$/, `.${200 + index}`) : undefined;
    const ula = ipv6 === "ula"
      ? other.hosts[0].ula!.replace(/::\d+$/, `::${200 + index}`)
      : undefined;
    await ip(
      "link",
      "add",
      `${host.name}w`,
      "type",
      "veth",
      "peer",
      "name",
      "eth1",
      "netns",
      host.name,
    );
    layerTwoOnly(`${host.name}w`);
    await ip("link", "set", `${host.name}w`, "master", other.bridge, "up");
    if (ipv6 === "none") await sysctl(host.name, "net.ipv6.conf.eth1.disable_ipv6", "1");
    else await sysctl(host.name, "net.ipv6.conf.eth1.accept_dad", "0");
    if (v4) await ip("-n", host.name, "addr", "add", `${v4}/24`, "dev", "eth1");
    if (ula) await ip("-n", host.name, "addr", "add", `${ula}/64`, "dev", "eth1", "nodad");
    await ip("-n", host.name, "link", "set", "eth1", "up");
    const linkLocal = ipv6 === "none" ? undefined : await linkLocalOf(host.name, "eth1");
    const added: LabHost = { name: host.name, address: v4 ?? ula ?? linkLocal! };
    if (v4) added.ipv4 = v4;
    if (ula) added.ula = ula;
    if (linkLocal) added.linkLocal = linkLocal;
    return added;
  }

  /**
   * Joins this lab's link and another's with a router: a namespace with an
   * interface on each bridge (address `.254` on each subnet, and `::254` on
   * each unique local prefix where the hosts have one) that forwards between
   * them, and the hosts of both route the other subnet through it. The
   * kernel forwards no multicast: across it, only unicast goes.
   *
   * @param other The other lab.
   * @returns The router, a lab host whose addresses are on this lab's link;
   *   `otherAddress` (IPv4 where the hosts have it) is on the other's.
   */
  async routeTo(other: LabNet): Promise<LabHost & { otherAddress: string }> {
    const name = `${this.hosts[0].name.replace(/h\d+$/, "")}r`;
    await ip("netns", "add", name);
    this.#routers.push(name);
    const sides = [[this, "eth0", "x"], [other, "eth1", "y"]] as const;
    const routers: LabHost[] = [];
    for (const [lab, dev, suffix] of sides) {
      const { ipv4, ula } = lab.hosts[0];
      const v4 = ipv4?.replace(/\.\d+$/, ".254");
      const v6 = ula?.replace(/::\d+$/, "::254");
      routers.push({
        name,
        address: v4 ?? v6!,
        ...(v4 ? { ipv4: v4 } : {}),
        ...(v6 ? { ula: v6 } : {}),
      });
      await ip(
        "link",
        "add",
        `${name}${suffix}`,
        "type",
        "veth",
        "peer",
        "name",
        dev,
        "netns",
        name,
      );
      layerTwoOnly(`${name}${suffix}`);
      await ip("link", "set", `${name}${suffix}`, "master", lab.bridge, "up");
      if (v6) await sysctl(name, `net.ipv6.conf.${dev}.accept_dad`, "0");
      if (v4) await ip("-n", name, "addr", "add", `${v4}/24`, "dev", dev);
      if (v6) await ip("-n", name, "addr", "add", `${v6}/64`, "dev", dev, "nodad");
      await ip("-n", name, "link", "set", dev, "up");
      for (const host of lab.hosts) {
        if (v4) await ip("-n", host.name, "route", "add", "default", "via", v4);
        if (v6) await ip("-n", host.name, "-6", "route", "add", "default", "via", v6);
      }
    }
    await ip("-n", name, "link", "set", "lo", "up");
    const forwarding = ["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"];
    const sysctls = await new Deno.Command("ip", {
      args: ["netns", "exec", name, "sysctl", "-qw", ...forwarding],
    }).output();
    if (sysctls.code !== 0) throw new Error("cannot turn on forwarding in the router");
    const [here, there] = routers;
    return { ...here, otherAddress: there.address };
  }

  /** Removes the hosts and the bridges. */
  async [Symbol.asyncDispose](): Promise<void> {
    for (const name of this.#routers) await ip("netns", "del", name);
    for (const host of this.hosts) await ip("netns", "del", host.name);
    for (const bridge of [this.#bridge, ...this.#extraBridges]) await ip("link", "del", bridge);
  }
}

/** What a peer process is started with; see tests/_peer.ts. */
export interface PeerOptions {
  /** The instance's id. */
  id: string;
  /** Service ports; a custom message is used when absent. */
  ports?: number[];
  /** A custom message. */
  msg?: unknown;
  /** Discovery runs `"maintain"` or `"sniff"`. */
  mode?: "maintain" | "sniff";
  /** The discovery port. */
  discoveryPort?: number;
  /** The header, as a decimal string. */
  header?: string;
  /** Whether the discovery port is shared with others on the host. */
  localDiscovery?: boolean;
  /** `"deno"` or `"node"`. */
  transport?: "deno" | "node";
  /** The announcement interval's ramp. */
  rampdown?: { min: number; max: number; rampdown: number };
  /** Shared keys. */
  keys?: string[];
  /** Which interfaces to use. */
  interfaces?: {
    include?: string[];
    exclude?: string[];
    loopbackOnly?: boolean;
    rescanInterval?: number;
  };
  /** How often to print a `stats` line, in ms; never when absent. */
  stats?: number;
  /** Seeds. */
  seeds?: string[];
  /** The name server that resolves the seeds. */
  nameServer?: string;
  /** Whether announcements also go to the multicast group. */
  multicast?: boolean;
  /** The address families. */
  family?: "ipv4" | "ipv6" | "both";
}

/**
 * A line the peer prints: `ready` once discovery runs, then each chart event,
 * and `stats` lines if asked for.
 */
export interface PeerLine {
  type: "ready" | "added" | "updated" | "removed" | "collision" | "stats" | "closed" | "error";
  /** The error's message, on an `error` line. */
  message?: string;
  id?: string;
  address?: string;
  /** All of the instance's addresses, when it has more than one. */
  addresses?: string[];
  ports?: number[];
  msg?: unknown;
  /** Why an instance was removed. */
  reason?: string;
  /** When the peer saw the event: `performance.timeOrigin + performance.now()`. */
  at?: number;
  /** The chart's counters, on the `closed` line and `stats` lines. */
  counters?: Counters;
  /** How long `chart.close()` took, in ms, on the `closed` line. */
  closeTook?: number;
  /** The heap in use after a full collection, in bytes, on a `stats` line. */
  heap?: number;
  /** The unicasts the process had in flight, on a `stats` line. */
  unicasts?: number;
}

const PEER = new URL("./_peer.ts", import.meta.url).pathname;

/** A chart running in a process of its own, possibly on a lab host. */
export class Peer implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #lines: AsyncIterator<string>;
  /** Every instance the peer has charted, by id. */
  readonly charted: Map<string, PeerLine> = new Map();
  /** Every line the peer has printed, as read so far. */
  readonly lines: PeerLine[] = [];

  /**
   * Starts a peer process.
   *
   * @param options The peer's chart.
   * @param host The lab host to run on; this namespace when absent.
   */
  constructor(options: PeerOptions, host?: LabHost) {
    const unstable = options.transport === "node" ? [] : ["--unstable-net"];
    // With gc exposed, a `stats` line measures the live heap.
    const gc = "--v8-flags=--expose-gc";
    const deno = ["deno", "run", "-A", ...unstable, gc, PEER, JSON.stringify(options)];
    const [command, ...args] = host ? ["ip", "netns", "exec", host.name, ...deno] : deno;
    this.#child = new Deno.Command(command, { args, stdin: "piped", stdout: "piped" }).spawn();
    this.#lines = this.#child.stdout
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(new TextLineStream())[Symbol.asyncIterator]();
  }

  /** The peer's process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /**
   * Sends the peer a signal.
   *
   * @param signal The signal, such as `"SIGKILL"`.
   */
  kill(signal: Deno.Signal): void {
    this.#child.kill(signal);
  }

  /**
   * Waits until the peer has removed an instance.
   *
   * @param id The instance's id.
   * @param signal Fails the wait when aborted.
   * @returns The line that reported the removal.
   */
  async removes(id: string, signal: AbortSignal): Promise<PeerLine> {
    const removed = () => this.lines.find((line) => line.type === "removed" && line.id === id);
    if (!removed()) await this.until(() => removed() !== undefined, signal);
    return removed()!;
  }

  /**
   * Reads the peer's lines until one satisfies the condition.
   *
   * @param done The condition, checked after every line.
   * @param signal Fails the wait when aborted.
   */
  async until(done: (line: PeerLine) => boolean, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const { promise: aborted, reject } = Promise.withResolvers<never>();
    aborted.catch(() => {});
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      await this.#read(done, aborted);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  async #read(done: (line: PeerLine) => boolean, aborted: Promise<never>): Promise<void> {
    while (true) {
      const next = await Promise.race([this.#lines.next(), aborted]);
      if (next.done) throw new Error("peer exited before the condition held");
      const line: PeerLine = JSON.parse(next.value);
      if (line.type === "added" || line.type === "updated") {
        const { at: _, ...entry } = line;
        this.charted.set(line.id!, entry);
      }
      if (line.type === "removed") this.charted.delete(line.id!);
      this.lines.push(line);
      if (done(line)) return;
    }
  }

  /**
   * Waits until the peer has charted all of the given ids.
   *
   * @param ids The ids.
   * @param signal Fails the wait when aborted.
   */
  async charts(ids: string[], signal: AbortSignal): Promise<void> {
    const all = () => ids.every((id) => this.charted.has(id));
    if (!all()) await this.until(all, signal);
  }

  /**
   * Stops the peer and returns the counters its chart printed as it closed.
   *
   * @param signal Fails the wait when aborted.
   * @returns The counters.
   */
  async close(signal: AbortSignal): Promise<Counters> {
    await this.#child.stdin.close();
    await this.until((line) => line.type === "closed", signal);
    return this.lines.at(-1)!.counters!;
  }

  /** Stops the peer (closing stdin makes it close its chart) and waits for it. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.#child.stdin.close();
    } catch {
      // Already closed.
    }
    await this.#child.status;
    await this.#child.stdout.cancel().catch(() => {});
  }
}

/** A name with its addresses, for {@linkcode LabDns}. */
export type HostRecords = Record<string, string[]>;

/**
 * A real DNS server (dnsmasq) on a lab host, for the lab's names (under
 * `.lab`): A and AAAA records from a hosts file that can change while it
 * runs, and fixed SRV records. Dispose of it to stop it.
 */
export class LabDns implements AsyncDisposable {
  /** Where it listens. */
  readonly address: string;
  readonly #child: Deno.ChildProcess;
  readonly #dir: string;
  /** Its log, read as it comes, so that the pipe never fills. */
  readonly #log: string[] = [];
  #logged = Promise.withResolvers<void>();
  #exited = false;
  readonly #reading: Promise<void>;

  private constructor(address: string, child: Deno.ChildProcess, dir: string) {
    this.address = address;
    this.#child = child;
    this.#dir = dir;
    this.#reading = this.#read(child.stderr);
  }

  async #read(stream: ReadableStream<Uint8Array>): Promise<void> {
    try {
      const lines = stream.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream());
      for await (const line of lines) {
        this.#log.push(line);
        this.#logged.resolve();
        this.#logged = Promise.withResolvers();
      }
    } finally {
      this.#exited = true;
      this.#logged.resolve();
    }
  }

  /**
   * Starts dnsmasq on a lab host.
   *
   * @param host The host.
   * @param records The names and their addresses.
   * @param srv SRV records: a name, and the targets and ports it lists.
   * @param ttl The TTL of every record, in seconds.
   * @returns The server, once it answers.
   */
  static async start(
    host: LabHost,
    records: HostRecords,
    srv: Record<string, Array<{ target: string; port: number }>> = {},
    ttl = 1,
  ): Promise<LabDns> {
    await requireTool("dnsmasq");
    const dir = await Deno.makeTempDir({ prefix: "lab_dns_" });
    await Deno.writeTextFile(`${dir}/hosts`, hostsFile(records));
    const args = [
      "netns",
      "exec",
      host.name,
      "dnsmasq",
      "--keep-in-foreground",
      "--conf-file=/dev/null",
      "--no-resolv",
      "--no-hosts",
      `--addn-hosts=${dir}/hosts`,
      "--local=/lab/",
      `--listen-address=${host.address}`,
      "--bind-interfaces",
      "--port=53",
      "--user=root",
      "--pid-file=",
      // By default the shortest: what a chart re-resolves by is then its own bounds.
      `--local-ttl=${ttl}`,
      "--log-facility=-",
      "--log-queries",
      ...Object.entries(srv).flatMap(([name, targets]) =>
        targets.map(({ target, port }) => `--srv-host=${name},${target},${port}`)
      ),
    ];
    const child = new Deno.Command("ip", { args, stderr: "piped", stdout: "null" }).spawn();
    const dns = new LabDns(host.address, child, dir);
    await dns.#waitFor(0, (line) => line.includes("started"));
    return dns;
  }

  /**
   * Replaces the names' addresses, and waits until dnsmasq has read them.
   *
   * @param records The names and their addresses.
   */
  async setRecords(records: HostRecords): Promise<void> {
    await Deno.writeTextFile(`${this.#dir}/hosts`, hostsFile(records));
    const from = this.#log.length;
    this.#child.kill("SIGHUP");
    await this.#waitFor(from, (line) => line.includes(`read ${this.#dir}/hosts`));
  }

  /**
   * Waits until a host has asked for a name's A, AAAA and SRV records, as a
   * chart resolving a seed does: dnsmasq has answered each by then.
   *
   * @param name The name.
   * @param host The address that asks.
   */
  async queried(name: string, host: string): Promise<void> {
    for (const type of ["A", "AAAA", "SRV"]) {
      await this.#waitFor(0, (line) => line.includes(`query[${type}] ${name} from ${host}`));
    }
  }

  /** Waits for a line of the log from index `from` on that satisfies `done`. */
  async #waitFor(from: number, done: (line: string) => boolean): Promise<void> {
    for (let i = from;; i++) {
      while (i >= this.#log.length) {
        if (this.#exited) throw new Error(`dnsmasq exited; its log:\n${this.#log.join("\n")}`);
        await this.#logged.promise;
      }
      if (done(this.#log[i])) return;
    }
  }

  /** Stops dnsmasq and removes its files. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await this.#child.status;
    await this.#reading;
    await Deno.remove(this.#dir, { recursive: true });
  }
}

function hostsFile(records: HostRecords): string {
  return Object.entries(records)
    .flatMap(([name, addresses]) => addresses.map((address) => `${address} ${name}\n`))
    .join("");
}
