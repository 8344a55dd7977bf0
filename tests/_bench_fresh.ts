/**
 * The benchmark's fresh-process section (issue 16): the join a restarted
 * service sees. Each trial starts a new process (tests/_fresh_process.mjs)
 * that builds its first chart and waits for the running instances; it times
 * itself from inside, from the chart's creation, so process start-up and
 * module loading are not counted. Beside it, in the same run: the floor (a
 * raw socket of the same runtime in a fresh process, one announcement out,
 * N answers in), and bonjour-service and node-discover doing the same job,
 * with their steady traffic and idle CPU.
 *
 * @module
 */

import dgram from "node:dgram";
import { DEFAULT_HEADER, MULTICAST_GROUP, type Rampdown } from "../mod.ts";
import { encodeAnnouncement } from "../src/core/wire.ts";
import { MULTICAST_ANSWER_GAP } from "../src/core/answers.ts";
import { type GroupOptions, sleep } from "./_bench_groups.ts";
import { BenchPeer, closePeers } from "./_bench_remote.ts";
import { type LabHost, LabNet } from "./_lab.ts";
import { buildForNode, BUILT } from "./_node_package.ts";
import { ALTERNATIVES, type Installed, installedAlternatives } from "./_bench_alternatives.ts";
import { formatMs, formatNumber, median, table, worst } from "./_bench_report.ts";

const PROCESS = new URL("./_fresh_process.mjs", import.meta.url).pathname;
const MODULE = new URL("../mod.ts", import.meta.url).href;

/**
 * Where a fresh newcomer runs, and over which socket API. `deno-eager` is a
 * diagnostic, not a way to run: Deno with `Deno.listenDatagram` and V8 told to
 * compile every function as its module loads (`--no-lazy`), which shows what
 * compiling the module's functions on their first call costs a fresh process.
 */
export type Runtime = "deno" | "deno-node" | "node" | "deno-eager";

/** How each runtime is named in the tables. */
export const RUNTIME_NAMES: Record<Runtime, string> = {
  deno: "Deno, Deno.listenDatagram (--unstable-net)",
  "deno-node": "Deno, node:dgram (no --unstable-net)",
  node: `Node.js ${nodeVersion()}, the npm build`,
  "deno-eager": "Deno, Deno.listenDatagram, compiled at load (--v8-flags=--no-lazy; a diagnostic)",
};

/** The runtimes every placement runs: what users run. */
const RUNTIMES: readonly Runtime[] = ["deno", "deno-node", "node"];

/**
 * Where the eager newcomers keep Deno's caches: V8 rejects a code cache made
 * under other flags, and the newcomers of the other rows must keep theirs.
 */
const EAGER_DENO_DIR = new URL("../.bench/deno-eager", import.meta.url).pathname;

/** What one fresh-process join measured, in ms from the instance's creation. */
export interface Timing {
  /** To the instance built (`finish()` returned); 0 for the floor. */
  build: number;
  /** To the first running instance found. */
  first: number;
  /** To every running instance found. */
  everyone: number;
}

/** The sizes of the section for one run. */
export interface FreshPlan {
  trials: number;
  /** N with the running instances in one process. */
  process: number[];
  /** N with the running instances in a process each. */
  processes: number[];
  /** N with the running instances dealt over lab hosts, the newcomer on one more. */
  lab: number[];
  labHosts: number;
  /** N for bonjour-service and node-discover. */
  alternatives: number[];
  /** Whether the one-process placement also runs the `deno-eager` diagnostic. */
  eager: boolean;
  /** Instances for traffic and idle CPU, and the window's warm-up and length in ms. */
  idle: { n: number; warmup: number; window: number };
}

/** The full run's plan: N = 200 in separate processes is left out (see the notes). */
export const FULL_FRESH: FreshPlan = {
  trials: 10,
  process: [10, 50, 200],
  processes: [10, 50],
  lab: [10, 50, 200],
  labHosts: 10,
  alternatives: [10, 50, 200],
  eager: true,
  idle: { n: 50, warmup: 12_000, window: 5_000 },
};

/** A quick run's plan, for CI. */
export const QUICK_FRESH: FreshPlan = {
  trials: 3,
  process: [10],
  processes: [5],
  lab: [],
  labHosts: 0,
  alternatives: [10],
  eager: false,
  idle: { n: 10, warmup: 2_000, window: 2_000 },
};

/** One row of the section's join table. */
export interface FreshRow {
  /** Where the running instances are. */
  placement: string;
  n: number;
  /** Which implementation the newcomer runs. */
  who: string;
  trials: Timing[];
  /** The floor of the same runtime and placement; none for an alternative. */
  floor: Timing[];
  planned: number;
  /** Our median in the same runtime, for an alternative's ratio. */
  ours?: number;
  note?: string;
}

/** One row of the section's steady-state table. */
export interface IdleRow {
  who: string;
  n: number;
  packets: number;
  bytes: number;
  /** CPU of one instance among n, as a fraction of one core. */
  cpu: number;
  note?: string;
}

/** What the section measured. */
export interface FreshReport {
  plan: FreshPlan;
  joins: FreshRow[];
  idle: IdleRow[];
  notes: string[];
}

const JOIN_TIMEOUT = 10_000;
/**
 * The pause before each newcomer that uses a discovery library, in ms, plus up
 * to 300 at random: past the second in which running charts bring at most one
 * round forward (and in which an mDNS responder multicasts a record at most
 * once), so that each newcomer joins as a restarted service does, alone. The
 * floor's raw sockets answer at once, whatever the pause.
 */
const LIBRARY_PAUSE = MULTICAST_ANSWER_GAP + 100;
const FLOOR_PAUSE = 100;
/** Running instances announce at the steady-state interval from the start. */
const STEADY: Rampdown = { min: 1_000, max: 1_000, rampdown: 0 };

function nodeVersion(): string {
  try {
    const { stdout } = new Deno.Command("node", { args: ["--version"], stdout: "piped" })
      .outputSync();
    return new TextDecoder().decode(stdout).trim().replace(/^v/, "");
  } catch {
    return "(not found)";
  }
}

const log = (line: string) =>
  console.error(`[bench ${(performance.now() / 1000).toFixed(1)} s] ${line}`);

/**
 * Runs one fresh process to its end and returns the JSON lines it printed.
 *
 * @param runtime The runtime, and for Deno whether `Deno.listenDatagram` is there.
 * @param options Its argument.
 * @param host The lab host to run on; this namespace when absent.
 * @param onLine Called with each line as it comes.
 */
async function runProcess(
  runtime: Runtime,
  options: Record<string, unknown>,
  host: LabHost | undefined,
  onLine?: (line: Record<string, unknown>) => void,
  deadline = JOIN_TIMEOUT + 30_000,
): Promise<Record<string, unknown>[]> {
  const flags = runtime === "deno"
    ? ["--unstable-net"]
    : runtime === "deno-eager"
    ? ["--unstable-net", "--v8-flags=--no-lazy"]
    : [];
  const argv = runtime === "node"
    ? ["node", PROCESS]
    : [Deno.execPath(), "run", "-A", ...flags, PROCESS];
  argv.push(JSON.stringify(options));
  const [command, ...args] = host ? ["ip", "netns", "exec", host.name, ...argv] : argv;
  const child = new Deno.Command(command, {
    args,
    env: runtime === "deno-eager" ? { DENO_DIR: EAGER_DENO_DIR } : undefined,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(deadline),
  }).spawn();
  const lines: Record<string, unknown>[] = [];
  const stderr = new Response(child.stderr).text();
  let rest = "";
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    rest += chunk;
    let at;
    while ((at = rest.indexOf("\n")) >= 0) {
      const line = JSON.parse(rest.slice(0, at));
      rest = rest.slice(at + 1);
      lines.push(line);
      onLine?.(line);
    }
  }
  const { code } = await child.status;
  if (code !== 0) throw new Error(`${options.role} exited with ${code}: ${(await stderr).trim()}`);
  return lines;
}

/** A process that stays up (advertisers), killed when done with. */
class LongProcess {
  readonly #child: Deno.ChildProcess;
  readonly ready: Promise<void>;
  constructor(options: Record<string, unknown>) {
    const child = this.#child = new Deno.Command("node", {
      args: [PROCESS, JSON.stringify(options)],
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.ready = (async () => {
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const { value } = await reader.read();
      reader.releaseLock();
      if (!value?.includes('"ready"')) throw new Error(`${options.role} did not start`);
    })();
  }
  async close(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Gone.
    }
    await this.#child.status;
    await this.#child.stdout.cancel().catch(() => {});
  }
}

async function join(
  runtime: Runtime,
  options: Record<string, unknown>,
  host?: LabHost,
): Promise<Timing | undefined> {
  try {
    const lines = await runProcess(runtime, options, host);
    const last = lines.at(-1);
    if (!last || last.error) throw new Error(String(last?.error ?? "no result"));
    return last as unknown as Timing;
  } catch (error) {
    log(`  ${options.role} (${runtime}) failed: ${(error as Error).message}`);
    return undefined;
  }
}

/** Where running instances are: a benchmark peer, with some ids. */
interface Placement {
  peer: BenchPeer;
  ids: number[];
}

function deal(peers: BenchPeer[], n: number): Placement[] {
  const placements = peers.map((peer) => ({ peer, ids: [] as number[] }));
  for (let i = 0; i < n; i++) placements[i % peers.length].ids.push(i + 1);
  return placements.filter(({ ids }) => ids.length > 0);
}

let nextPort = 26_000;
let nextId = 300_000;

function shuffled<T>(values: readonly T[]): T[] {
  const out = [...values];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function servicePort(id: number): number {
  return 9000 + id % 50_000;
}

/**
 * Fresh newcomers of every runtime joining the same running instances
 * (charts, or the floor's answering sockets), interleaved trial by trial.
 */
async function freshJoins(
  plan: FreshPlan,
  running: Placement[],
  kind: GroupOptions["kind"],
  runtimes: readonly Runtime[],
  host: LabHost | undefined,
): Promise<Map<Runtime, Timing[]> | string> {
  const discoveryPort = nextPort++;
  const name = `fresh-${discoveryPort}`;
  const n = running.reduce((sum, { ids }) => sum + ids.length, 0);
  await Promise.all(running.map(({ peer, ids }) =>
    peer.open(name, {
      kind,
      discoveryPort,
      ids,
      expect: kind === "charts" ? n : 0,
      timeout: JOIN_TIMEOUT,
      rampdown: STEADY,
      announce: false,
    })
  ));
  const results = new Map<Runtime, Timing[]>(runtimes.map((runtime) => [runtime, []]));
  try {
    await Promise.all(running.map(({ peer }) => peer.start(name)));
    try {
      await Promise.all(running.map(({ peer }) => peer.complete(name)));
    } catch (error) {
      return `the running instances did not find each other: ${(error as Error).message}`;
    }
    // Steady state: quiet for more than one interval.
    if (kind === "charts") await sleep(STEADY.max * 1.2);
    for (let t = 0; t < plan.trials; t++) {
      for (const runtime of shuffled(runtimes)) {
        await sleep((kind === "charts" ? LIBRARY_PAUSE : FLOOR_PAUSE) + Math.random() * 300);
        const id = nextId++;
        const options = kind === "charts"
          ? {
            role: "chart-join",
            module: runtime === "node" ? new URL(`file://${BUILT}/mod.js`).href : MODULE,
            transport: "auto",
          }
          : {
            role: "floor-join",
            socket: runtime === "deno" || runtime === "deno-eager" ? "deno" : "node",
            announcement: btoa(String.fromCharCode(...encodeAnnouncement({
              header: DEFAULT_HEADER,
              id: BigInt(id),
              ports: [servicePort(id)],
              reply: false,
            }))),
          };
        const timing = await join(runtime, {
          ...options,
          discoveryPort,
          id,
          expect: n,
          timeout: JOIN_TIMEOUT,
        }, host);
        results.get(runtime)!.push(timing ?? { build: NaN, first: Infinity, everyone: Infinity });
        await Promise.all(running.map(({ peer }) => peer.forget(name, id)));
      }
    }
  } finally {
    await Promise.all(running.map(({ peer }) => peer.close(name)));
  }
  return results;
}

async function startPeers(hosts: Array<LabHost | undefined>): Promise<BenchPeer[]> {
  const peers = hosts.map((host) => new BenchPeer(host));
  try {
    await Promise.all(peers.map((peer) => peer.ready()));
  } catch (error) {
    await closePeers(peers);
    throw error;
  }
  return peers;
}

/** The charts' rows and their floors, for one placement of the running instances. */
async function placementRows(
  plan: FreshPlan,
  placement: string,
  running: Placement[],
  runtimes: readonly Runtime[],
  host: LabHost | undefined,
): Promise<FreshRow[]> {
  const n = running.reduce((sum, { ids }) => sum + ids.length, 0);
  log(`fresh: a newcomer joins ${n} running charts, ${placement}`);
  const charts = await freshJoins(plan, running, "charts", runtimes, host);
  log(`fresh: the floor of ${n}, ${placement}`);
  const floor = await freshJoins(plan, running, "floor", runtimes, host);
  return runtimes.map((runtime) => ({
    placement,
    n,
    who: RUNTIME_NAMES[runtime],
    trials: typeof charts === "string" ? [] : charts.get(runtime)!,
    floor: typeof floor === "string" ? [] : floor.get(runtime)!,
    planned: plan.trials,
    note: typeof charts === "string" ? charts : undefined,
  }));
}

/** A socket in a multicast group that counts what arrives on a port. */
async function openTap(port: number, group: string) {
  const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
  await new Promise<void>((resolve) => socket.bind(port, "0.0.0.0", resolve));
  socket.addMembership(group);
  const heard = { packets: 0, bytes: 0 };
  socket.on("message", (data: Uint8Array) => {
    heard.packets++;
    heard.bytes += data.byteLength;
  });
  return { heard, close: () => new Promise<void>((resolve) => socket.close(() => resolve())) };
}

/**
 * Steady traffic and idle CPU: `n - 1` instances in one process, one more
 * in a process of its own whose CPU is measured; a tap in the group counts
 * every multicast datagram over the same window.
 */
async function idleRow(
  plan: FreshPlan,
  who: string,
  tapAt: { port: number; group: string },
  others: { start(): Promise<void>; close(): Promise<void> },
  one: Record<string, unknown>,
  runtime: Runtime,
): Promise<IdleRow> {
  const { n, warmup, window } = plan.idle;
  const tap = await openTap(tapAt.port, tapAt.group);
  try {
    await others.start();
    let from = { ...tap.heard };
    let to = from;
    let cpu = NaN;
    await runProcess(runtime, { ...one, warmup, window }, undefined, (line) => {
      if (line.window === "start") from = { ...tap.heard };
      if (line.cpu !== undefined) {
        to = { ...tap.heard };
        cpu = (line.cpu as number) / (line.ms as number);
      }
    }, warmup + window + 30_000);
    const seconds = window / 1000;
    return {
      who,
      n,
      packets: (to.packets - from.packets) / n / seconds,
      bytes: (to.bytes - from.bytes) / n / seconds,
      cpu,
    };
  } finally {
    await others.close();
    await tap.close();
  }
}

/**
 * Runs the whole section.
 *
 * @param plan Its sizes.
 * @returns What it measured.
 */
export async function freshSection(plan: FreshPlan): Promise<FreshReport> {
  const report: FreshReport = { plan, joins: [], idle: [], notes: [] };
  const section = async (what: string, run: () => Promise<void>) => {
    try {
      await run();
    } catch (error) {
      log(`${what} failed: ${(error as Error).stack ?? error}`);
      report.notes.unshift(`**${what} failed**: ${(error as Error).message}`);
    }
  };
  await buildForNode();

  await section("fresh joins of charts in one process", async () => {
    const [peer] = await startPeers([undefined]);
    try {
      for (const n of plan.process) {
        report.joins.push(
          ...await placementRows(
            plan,
            "one host, running in one process",
            [{
              peer,
              ids: Array.from({ length: n }, (_, i) => i + 1),
            }],
            plan.eager ? [...RUNTIMES, "deno-eager"] : RUNTIMES,
            undefined,
          ),
        );
      }
    } finally {
      await closePeers([peer]);
    }
  });

  await section("fresh joins of charts in separate processes", async () => {
    for (const n of plan.processes) {
      log(`fresh: starting ${n} processes`);
      const peers = await startPeers(Array.from({ length: n }, () => undefined));
      try {
        report.joins.push(
          ...await placementRows(
            plan,
            "one host, running in a process each",
            deal(peers, n),
            RUNTIMES,
            undefined,
          ),
        );
      } finally {
        await closePeers(peers);
      }
    }
  });

  if (plan.lab.length > 0) {
    await section("fresh joins across lab hosts", async () => {
      await using lab = await LabNet.create(plan.labHosts + 1);
      const peers = await startPeers(lab.hosts.slice(0, plan.labHosts));
      try {
        for (const n of plan.lab) {
          const hosts = Math.min(plan.labHosts, n);
          report.joins.push(
            ...await placementRows(
              plan,
              `across lab hosts (running on ${hosts}, newcomer on its own)`,
              deal(peers.slice(0, hosts), n),
              RUNTIMES,
              lab.hosts[plan.labHosts],
            ),
          );
        }
      } finally {
        await closePeers(peers);
      }
    });
  }

  await section("bonjour-service and node-discover", async () => {
    const installed = installedAlternatives();
    if (typeof installed === "string") throw new Error(installed);
    await alternatives(plan, installed, report);
  });

  await section("steady state", async () => {
    const { n } = plan.idle;
    log(`fresh: steady traffic and idle CPU, one instance among ${n}`);
    const discoveryPort = nextPort++;
    const [peer] = await startPeers([undefined]);
    try {
      const name = `idle-${discoveryPort}`;
      report.idle.push(
        await idleRow(
          plan,
          "this module (Deno, Deno.listenDatagram)",
          {
            port: discoveryPort,
            group: MULTICAST_GROUP,
          },
          {
            start: async () => {
              await peer.open(name, {
                kind: "charts",
                discoveryPort,
                ids: Array.from({ length: n - 1 }, (_, i) => i + 1),
                expect: 0,
                timeout: JOIN_TIMEOUT,
                rampdown: STEADY,
              });
              await peer.start(name);
            },
            close: () => peer.close(name),
          },
          { role: "chart-idle", module: MODULE, discoveryPort, id: n, rampdown: STEADY },
          "deno",
        ),
      );
    } finally {
      await closePeers([peer]);
    }
    const installed = installedAlternatives();
    if (typeof installed === "string") return;
    for (const lib of libraries(installed)) {
      const port = lib.port || nextPort++;
      let others: LongProcess | undefined;
      report.idle.push(
        await idleRow(
          plan,
          lib.name,
          { port, group: lib.group },
          {
            start: async () => {
              others = new LongProcess({
                role: `${lib.role}-advertise`,
                library: lib.library,
                discoveryPort: port,
                expect: n - 1,
                browse: true,
              });
              await others.ready;
            },
            close: async () => await others?.close(),
          },
          { role: `${lib.role}-idle`, library: lib.library, discoveryPort: port, id: n },
          "node",
        ),
      );
    }
  });
  return report;
}

/** The alternatives, and where each listens. */
function libraries(installed: Installed) {
  return [
    {
      name: `bonjour-service ${ALTERNATIVES["bonjour-service"]}`,
      role: "bonjour",
      library: installed.bonjour,
      port: 5353,
      group: "224.0.0.251",
    },
    {
      name: `node-discover ${ALTERNATIVES["node-discover"]}`,
      role: "discover",
      library: installed.discover,
      port: 0,
      group: "239.255.18.1",
    },
  ];
}

async function alternatives(
  plan: FreshPlan,
  installed: Installed,
  report: FreshReport,
): Promise<void> {
  const ours = (n: number) =>
    median(
      report.joins.find((row) =>
        row.n === n && row.who === RUNTIME_NAMES.node &&
        row.placement === "one host, running in one process"
      )?.trials.map((t) => t.everyone) ?? [],
    );
  for (const lib of libraries(installed)) {
    for (const n of plan.alternatives) {
      log(`fresh: ${lib.name}, a newcomer joins ${n} running instances in one process`);
      const discoveryPort = lib.port || nextPort++;
      const advertisers = new LongProcess({
        role: `${lib.role}-advertise`,
        library: lib.library,
        discoveryPort,
        expect: n,
      });
      const trials: Timing[] = [];
      try {
        await advertisers.ready;
        // Past the advertisers' own start (mDNS probes and announces for about a second).
        await sleep(1_500);
        for (let t = 0; t < plan.trials; t++) {
          await sleep(LIBRARY_PAUSE + Math.random() * 300);
          trials.push(
            await join("node", {
              role: `${lib.role}-join`,
              library: lib.library,
              discoveryPort,
              id: nextId++,
              expect: n,
              timeout: JOIN_TIMEOUT,
            }) ?? { build: NaN, first: Infinity, everyone: Infinity },
          );
        }
      } finally {
        await advertisers.close();
      }
      report.joins.push({
        placement: "one host, running in one process",
        n,
        who: lib.name,
        trials,
        floor: [],
        planned: plan.trials,
        ours: ours(n),
      });
    }
  }
}

function freshNotes(plan: FreshPlan): string[] {
  const { n, warmup, window } = plan.idle;
  return [
    "Each trial starts a new process (`deno run -A`, with or without `--unstable-net`, or " +
    `\`node\`), the runtimes in random order each round, after a pause of ${LIBRARY_PAUSE} to ` +
    `${LIBRARY_PAUSE + 300} ms (${FLOOR_PAUSE} to ${FLOOR_PAUSE + 300} ms for the floor): each ` +
    "newcomer joins alone, as a restarted service does, past the second in which a running " +
    "chart brings at most one round forward for newcomers its answers could not reach (and " +
    "in which an mDNS responder multicasts a record at most once). The newcomer times itself " +
    "from inside, from `new ChartBuilder()` (its module already loaded): process start-up and " +
    "module loading are not counted. Build: until `finish()` returned; first found: until " +
    "its chart held one running instance; median and worst: until it held all N. Node.js " +
    "runs the npm build (`deno task build:node`). In Deno the newcomer imports no node: " +
    "module before it times, as a service that uses none would not: a chart over node:dgram " +
    "loads Deno's Node.js layer inside its build; the node:dgram floor imports node:dgram " +
    "before it times, as a program that imports it statically has it.",
    ...(plan.eager
      ? [
        "The row compiled at load is a diagnostic, not a way to run: the same Deno newcomer " +
        "with V8 told to compile every function as its module loads (`--v8-flags=--no-lazy`, " +
        "with its own Deno cache, since V8 rejects a code cache made under other flags), and " +
        "its floor likewise. Deno keeps in its code cache only the functions compiled at load; " +
        "the others (the module's functions, at their first call) are compiled in every fresh " +
        "process, and the gap between the two rows is that cost.",
      ]
      : []),
    "Running charts are in steady state (a 1 s interval from the start, all found, then 1.2 s " +
    "quiet), in one benchmark peer process, in a process each, or dealt over " +
    `${plan.labHosts || "the"} lab hosts with the newcomer on one more.`,
    "Floor: a fresh process of the same runtime and socket API (`Deno.listenDatagram` or " +
    "`node:dgram`) binds one raw socket, sends one announcement to the group and waits for " +
    "N answers; the running instances are raw `node:dgram` socket pairs placed as the charts " +
    "were, which answer each new announcement at once. A chart does more before its first " +
    "announcement: it binds the discovery port and two sockets per interface, lists the " +
    "interfaces and joins the group, and its code runs cold.",
    "Since issue 14, what the charts of one process send an address is paid for by the bytes " +
    "received from it, so of the charts that share a process, one answers a newcomer's first " +
    "announcement by unicast and the others bring their next round forward, to the group (at " +
    "most one round a second per chart): every running chart hears those rounds too, so with " +
    "many charts a process (20 at N = 200 across lab hosts) a join costs some N² receptions, " +
    "where one chart a process, as services run, answers by unicast.",
    "N = 200 in a process each is not run: 200 processes woken by 200 announcements a second " +
    "are 40,000 wake-ups a second, at 50 to 80 µs each (above) 2 to 3.2 cores, more than this " +
    "machine has.",
    "bonjour-service and node-discover run in Node.js, installed by npm at pinned versions " +
    "into .bench/ (bench-only, never in the package). Running instances: one `Bonjour` with N " +
    "`publish()`, or N `Discover` instances, in one process (node-discover's in one process " +
    "ignore each other, by default; multicast mode, since the lab's loopback has no broadcast " +
    "route). The newcomer advertises and browses (`find()`, or the `added` events) until it " +
    "has seen N. Ratio to ours: to this module's Node.js row of the same placement and N.",
    `Steady state: ${n - 1} instances in one process and one more in a process of its own, ` +
    `whose CPU (process.cpuUsage) is measured over ${window / 1000} s after ${warmup / 1000} s; ` +
    "a tap socket in the library's group counts every multicast datagram in the window, " +
    "divided by N. Every instance advertises and browses.",
  ];
}

/**
 * Renders the section as Markdown, with its own heading.
 *
 * @param report What it measured.
 * @returns The Markdown.
 */
export function renderFresh(report: FreshReport): string {
  const out = ["## A newcomer in a fresh process (the join a restarted service sees)", ""];
  const everyone = (row: FreshRow) => row.trials.map((t) => t.everyone);
  out.push(table(
    [
      "Running instances",
      "N",
      "Newcomer",
      "Trials",
      "Median (ms)",
      "Worst (ms)",
      "Build (ms)",
      "First found (ms)",
      "Floor median (ms)",
      "Median / floor",
      "Ratio to ours",
    ],
    report.joins.map((row) => {
      const time = median(everyone(row));
      const floor = median(row.floor.map((t) => t.everyone));
      const failed = row.trials.filter((t) => !Number.isFinite(t.everyone)).length;
      return [
        row.placement,
        `${row.n}`,
        row.who,
        `${row.trials.length}${failed ? ` (${failed} failed)` : ""}${
          row.note ? ` (${row.note})` : ""
        }`,
        formatMs(time),
        formatMs(worst(everyone(row))),
        formatMs(median(row.trials.map((t) => t.build))),
        formatMs(median(row.trials.map((t) => t.first))),
        row.floor.length ? formatMs(floor) : "—",
        row.floor.length && Number.isFinite(time) ? `${formatNumber(time / floor)}×` : "—",
        row.ours !== undefined && Number.isFinite(row.ours)
          ? `${formatNumber(time / row.ours)}×`
          : "—",
      ];
    }),
  ));
  if (report.idle.length) {
    out.push("", "### Steady state, per instance", "");
    out.push(table(
      ["Library", "N", "Packets/s", "Bytes/s", "CPU of one instance"],
      report.idle.map((row) => [
        row.who,
        `${row.n}`,
        formatNumber(row.packets),
        formatNumber(row.bytes),
        `${formatNumber(100 * row.cpu)} % of one core`,
      ]),
    ));
  }
  const { plan } = report;
  out.push("");
  for (const note of [...report.notes, ...freshNotes(plan)]) out.push(`- ${note}`);
  return out.join("\n") + "\n";
}
