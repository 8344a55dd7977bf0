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
 * In Deno it imports no node: module before a join times, as a service that
 * uses none would not: the first node: import, and Deno's `setTimeout`,
 * load Deno's Node.js layer (10 ms and more), which a chart over node:dgram
 * then pays inside its build, as such a service does. A raw node:dgram
 * floor imports node:dgram before it times, as a program that imports it
 * statically has it before it runs.
 *
 * @module
 */

const deno = globalThis.Deno;

const GROUP = "224.0.0.251";
/** The service type of the mDNS instances, and the group of node-discover's. */
const SERVICE_TYPE = "ichbench";
const DISCOVER_GROUP = "239.255.18.1";

const options = JSON.parse(deno ? deno.args.at(-1) : process.argv.at(-1));

async function requireLab() {
  const lab = deno ? deno.env.get("INSTANCE_CHART_LAB") : process.env.INSTANCE_CHART_LAB;
  if (lab !== "1") throw new Error("Refusing to open discovery sockets outside the lab");
  const readLink = deno ? deno.readLinkSync : (await import("node:fs")).readlinkSync;
  let ours, init;
  try {
    ours = readLink("/proc/self/ns/net");
    init = readLink("/proc/1/ns/net");
  } catch {
    return;
  }
  if (ours === init) throw new Error("Refusing to open discovery sockets outside the lab");
}

function print(line) {
  const text = JSON.stringify(line) + "\n";
  if (deno) deno.stdout.writeSync(new TextEncoder().encode(text));
  else process.stdout.write(text);
}

/** In Deno not `setTimeout`, which loads the Node.js layer; in Node.js it, which holds the process. */
function sleep(ms) {
  return new Promise((resolve) =>
    deno ? AbortSignal.timeout(ms).addEventListener("abort", resolve) : setTimeout(resolve, ms)
  );
}

/**
 * Counts distinct instances found until `expect`, or until `deadline` (an
 * AbortSignal made before the timing starts) aborts; resolves with the times.
 */
function finder(created, expect, deadline) {
  const found = new Set();
  let first = Infinity;
  // Not Promise.withResolvers: Node.js 20 lacks it.
  let resolve;
  const promise = new Promise((done) => resolve = done);
  deadline.addEventListener("abort", () => resolve(false));
  return {
    found,
    add(key) {
      if (found.has(key)) return;
      found.add(key);
      if (found.size === 1) first = performance.now() - created;
      if (found.size >= expect) resolve(true);
    },
    async done(build) {
      const all = await promise;
      return all
        ? { build, first, everyone: performance.now() - created }
        : { error: `found ${found.size} of ${expect} after ${options.timeout} ms` };
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
  const announcement = Uint8Array.from(atob(options.announcement), (c) => c.charCodeAt(0));
  const onAnswer = (data) => {
    if (data.byteLength < 12) return;
    found.add(new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(8, true));
  };
  const dgram = options.socket === "deno" ? undefined : (await import("node:dgram")).default;
  const deadline = AbortSignal.timeout(options.timeout);
  let close;
  const created = performance.now();
  const found = finder(created, options.expect, deadline);
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
  const deadline = AbortSignal.timeout(options.timeout);
  const created = performance.now();
  const instance = new Bonjour();
  const own = `newcomer-${options.id}`;
  instance.publish({ name: own, type: SERVICE_TYPE, port: 9000 });
  const found = finder(created, options.expect, deadline);
  instance.find({ type: SERVICE_TYPE }, (service) => {
    if (service.name !== own) found.add(service.name);
  });
  const build = performance.now() - created;
  print(await found.done(build));
  instance.destroy();
}

async function discoverJoin() {
  const Discover = await discover();
  const deadline = AbortSignal.timeout(options.timeout);
  const created = performance.now();
  const found = finder(created, options.expect, deadline);
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
  // Not timed: the idle rows measure CPU, with node:process where Deno has no cpuUsage.
  const runtime = deno ? (await import("node:process")).default : process;
  const before = runtime.cpuUsage();
  const at = performance.now();
  print({ window: "start" });
  await sleep(options.window);
  const { user, system } = runtime.cpuUsage(before);
  print({ cpu: (user + system) / 1000, ms: performance.now() - at });
}

await requireLab();
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
if (!advertising) deno ? deno.exit(0) : process.exit(0);
