/**
 * One process of the benchmark's fresh-process section (tests/_bench_fresh.ts):
 * plain JavaScript, so that Deno and Node.js run the same file. A newcomer
 * loads what it needs first, then times from inside, from the creation of its
 * instance: process start-up and loading are not counted.
 *
 * Run with one argument, JSON, whose `role` says what to do:
 * - `chart-join`: a chart of this module (`module`: the URL of mod.ts or of the
 *   npm build's mod.js; `transport`), created, built (`finish()`), maintained
 *   until it holds `expect` running instances and itself;
 * - `floor-join`: one raw socket (`socket`: `"deno"` for `Deno.listenDatagram`,
 *   `"node"` for `node:dgram`) bound, one `announcement` (base64) sent to the
 *   group, until answers from `expect` distinct ids are in;
 * - `bonjour-join`, `discover-join`: the same job with bonjour-service or
 *   node-discover (`library`: the URL of its entry): advertise, and browse
 *   until `expect` others are seen;
 * - `bonjour-advertise`, `discover-advertise`: `expect` advertised instances in
 *   this process, as the library runs them, until killed; prints `ready`;
 * - `chart-idle`, `bonjour-idle`, `discover-idle`: one instance, which after
 *   `warmup` ms prints `{"window":"start"}` and after `window` ms more the CPU
 *   time it used in between.
 *
 * A join prints one JSON line: `build` (creation to a built instance), `first`
 * (to the first instance found) and `everyone`, in ms; or `error`. Only ever
 * run inside the lab: it refuses to start elsewhere.
 *
 * @module
 */

import process from "node:process";
import { readlinkSync } from "node:fs";
import { Buffer } from "node:buffer";
import dgram from "node:dgram";

const GROUP = "224.0.0.251";
/** The service type of the mDNS instances, and the group of node-discover's. */
const SERVICE_TYPE = "ichbench";
const DISCOVER_GROUP = "239.255.18.1";

const options = JSON.parse(process.argv.at(-1));

function requireLab() {
  if (process.env.INSTANCE_CHART_LAB !== "1") {
    throw new Error("Refusing to open discovery sockets outside the lab");
  }
  let ours, init;
  try {
    ours = readlinkSync("/proc/self/ns/net");
    init = readlinkSync("/proc/1/ns/net");
  } catch {
    return;
  }
  if (ours === init) throw new Error("Refusing to open discovery sockets outside the lab");
}

function print(line) {
  process.stdout.write(JSON.stringify(line) + "\n");
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Counts distinct instances found until `expect`; resolves with the times. */
function finder(created, expect, timeout) {
  const found = new Set();
  let first = Infinity;
  // Not Promise.withResolvers: Node.js 20 lacks it.
  let resolve;
  const promise = new Promise((done) => resolve = done);
  const timer = setTimeout(() => resolve(false), timeout);
  return {
    found,
    add(key) {
      if (found.has(key)) return;
      found.add(key);
      if (found.size === 1) first = performance.now() - created;
      if (found.size >= expect) {
        clearTimeout(timer);
        resolve(true);
      }
    },
    async done(build) {
      const all = await promise;
      return all
        ? { build, first, everyone: performance.now() - created }
        : { error: `found ${found.size} of ${expect} after ${timeout} ms` };
    },
  };
}

async function chartJoin() {
  const { ChartBuilder, foundEveryone, maintain } = await import(options.module);
  const created = performance.now();
  const chart = await new ChartBuilder()
    .withId(options.id)
    .withServicePort(9000 + options.id % 50_000)
    .withDiscoveryPort(options.discoveryPort)
    .localDiscovery(true)
    .withTransport(options.transport)
    .finish();
  const build = performance.now() - created;
  // As the README's example has it: maintain, then wait. Nothing is heard
  // before this synchronous code ends, so the waits miss nothing.
  maintain(chart);
  const signal = AbortSignal.timeout(options.timeout);
  let first = Infinity;
  const firstPeer = foundEveryone(chart, 2, { signal }).then(() => {
    first = performance.now() - created;
  });
  const everyone = foundEveryone(chart, options.expect + 1, { signal });
  try {
    await everyone;
    await firstPeer;
    print({ build, first, everyone: performance.now() - created });
  } catch {
    print({ error: `held ${chart.size} of ${options.expect + 1} after ${options.timeout} ms` });
  }
  await chart.close();
}

/** The floor: one raw socket, one announcement out, `expect` answers in. */
async function floorJoin() {
  const announcement = Buffer.from(options.announcement, "base64");
  const onAnswer = (data) => {
    if (data.byteLength < 12) return;
    found.add(new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(8, true));
  };
  let close;
  const created = performance.now();
  const found = finder(created, options.expect, options.timeout);
  if (options.socket === "deno") {
    const conn = Deno.listenDatagram({ transport: "udp", hostname: "0.0.0.0", port: 0 });
    conn.send(announcement, { transport: "udp", hostname: GROUP, port: options.discoveryPort });
    (async () => {
      const buffer = new Uint8Array(1_500);
      try {
        while (true) onAnswer((await conn.receive(buffer))[0]);
      } catch {
        // Closed.
      }
    })();
    close = () => conn.close();
  } else {
    const socket = dgram.createSocket("udp4");
    socket.on("message", onAnswer);
    await new Promise((bound) => socket.bind(0, "0.0.0.0", bound));
    socket.send(announcement, options.discoveryPort, GROUP);
    close = () => socket.close();
  }
  print(await found.done(0));
  close();
}

async function bonjour() {
  const { Bonjour } = (await import(options.library)).default;
  return Bonjour;
}

async function discover() {
  return (await import(options.library)).default;
}

function discoverOptions(id) {
  return {
    port: options.discoveryPort,
    // The lab's loopback has no broadcast route: its multicast mode.
    multicast: DISCOVER_GROUP,
    advertise: { id },
  };
}

async function bonjourJoin() {
  const Bonjour = await bonjour();
  const created = performance.now();
  const instance = new Bonjour();
  const own = `newcomer-${options.id}`;
  instance.publish({ name: own, type: SERVICE_TYPE, port: 9000 });
  const found = finder(created, options.expect, options.timeout);
  instance.find({ type: SERVICE_TYPE }, (service) => {
    if (service.name !== own) found.add(service.name);
  });
  const build = performance.now() - created;
  print(await found.done(build));
  instance.destroy();
}

async function discoverJoin() {
  const Discover = await discover();
  const created = performance.now();
  const found = finder(created, options.expect, options.timeout);
  const instance = new Discover(discoverOptions(options.id));
  instance.on("added", (node) => found.add(node.id));
  const build = performance.now() - created;
  print(await found.done(build));
  instance.stop();
}

async function advertise() {
  const made = [];
  if (options.role === "bonjour-advertise") {
    const Bonjour = await bonjour();
    const instance = new Bonjour();
    const ups = [];
    for (let i = 0; i < options.expect; i++) {
      const service = instance.publish({ name: `i${i}`, type: SERVICE_TYPE, port: 9000 + i });
      ups.push(new Promise((resolve) => service.once("up", resolve)));
    }
    await Promise.all(ups);
    if (options.browse) instance.find({ type: SERVICE_TYPE });
  } else {
    const Discover = await discover();
    for (let i = 0; i < options.expect; i++) made.push(new Discover(discoverOptions(i)));
    // Bound and sending hellos.
    await sleep(100);
  }
  print({ ready: true });
  // Until killed.
  setInterval(() => {}, 1 << 30);
}

async function idle() {
  if (options.role === "chart-idle") {
    const { ChartBuilder, maintain } = await import(options.module);
    const chart = await new ChartBuilder()
      .withId(options.id)
      .withServicePort(9000)
      .withDiscoveryPort(options.discoveryPort)
      .localDiscovery(true)
      .withRampdown(options.rampdown)
      .finish();
    maintain(chart);
  } else if (options.role === "bonjour-idle") {
    const instance = new (await bonjour())();
    instance.publish({ name: `idle-${options.id}`, type: SERVICE_TYPE, port: 9000 });
    instance.find({ type: SERVICE_TYPE });
  } else {
    new (await discover())(discoverOptions(options.id));
  }
  await sleep(options.warmup);
  const before = process.cpuUsage();
  const at = performance.now();
  print({ window: "start" });
  await sleep(options.window);
  const { user, system } = process.cpuUsage(before);
  print({ cpu: (user + system) / 1000, ms: performance.now() - at });
}

requireLab();
const roles = {
  "chart-join": chartJoin,
  "floor-join": floorJoin,
  "bonjour-join": bonjourJoin,
  "discover-join": discoverJoin,
  "bonjour-advertise": advertise,
  "discover-advertise": advertise,
  "chart-idle": idle,
  "bonjour-idle": idle,
  "discover-idle": idle,
};
const advertising = options.role.endsWith("-advertise");
await roles[options.role]();
if (!advertising) process.exit(0);
