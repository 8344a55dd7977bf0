import { LabDns, type LabHost, LabNet, Peer } from "./_lab.ts";
import assert from "node:assert/strict";
import { Lines } from "./_lines.ts";
import { requireTool } from "./_tools.ts";
import { buildForNode, BUILT, nodeProject, PACKED } from "./_node_package.ts";

const DEADLINE = 30_000;

/**
 * A chart in a Node.js process, from the package `deno task build:node`
 * builds: imported by its name from a node_modules folder, as a Node user
 * does after `npx jsr add @x/instance-chart`. It prints `ready` with Node's
 * version, then a JSON line per chart event, and closes its chart (saying
 * goodbye) when its standard input ends. A third argument is a seed, and a
 * fourth the name server that resolves it.
 */
/**
 * Runs the npm build's peer.mjs with Node.js or Bun on a lab host, its
 * output read line by line; `close` kills it if it still runs and waits.
 */
function runPeer(runtime: string, host: LabHost, dir: string, args: string[]) {
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", host.name, runtime, `${dir}/peer.mjs`, ...args],
    cwd: dir,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = new Lines("node's stdout", child.stdout);
  const stderr = new Lines("node's stderr", child.stderr);
  return {
    stdin: child.stdin,
    status: child.status,
    stdout,
    stderr,
    async close(): Promise<void> {
      try {
        child.kill("SIGKILL");
      } catch {
        // It has exited.
      }
      await child.status;
      await Promise.all([stdout.done, stderr.done]);
    },
  };
}

const NODE_PEER = `
import { ChartBuilder, maintain } from "@x/instance-chart";

const [id, port, seed, nameServer] = process.argv.slice(2);
let builder = new ChartBuilder()
  .withId(BigInt(id))
  .withServicePort(Number(port))
  .withTransport("node")
  .withErrorHandler((error) => console.log(JSON.stringify({ type: "error", message: error.message })));
if (seed) builder = builder.withSeeds([seed], { nameServer });
const chart = await builder.finish();
const events = chart.events();
const running = maintain(chart);
console.log(JSON.stringify({ type: "ready", node: process.versions.node }));
process.stdin.on("end", () => chart.close());
process.stdin.resume();
for await (const event of events) {
  const { id, address, ports } = event.entry;
  console.log(JSON.stringify({ type: event.type, id: \`\${id}\`, address, ports, reason: event.reason }));
}
await running;
`;

Deno.test("the node build is an ES module package with type declarations", async () => {
  await buildForNode();
  const pkg = JSON.parse(await Deno.readTextFile(`${BUILT}/package.json`));
  assert.equal(pkg.type, "module");
  assert.deepEqual(pkg.exports["."], {
    types: "./mod.d.ts",
    import: "./mod.js",
    default: "./mod.js",
  });
  assert.match(await Deno.readTextFile(`${BUILT}/mod.d.ts`), /ChartBuilder/);
  assert.ok((await Deno.stat(PACKED)).isFile);
  // What npm shows, and what it needs to pick a Node.js that can load it.
  assert.match(pkg.description, /find each other/);
  assert.equal(pkg.engines.node, ">=20.19");
  // No source maps: they would carry the build machine's paths.
  for await (const file of Deno.readDir(`${BUILT}/src`)) {
    if (!file.name.endsWith(".js")) continue;
    const code = await Deno.readTextFile(`${BUILT}/src/${file.name}`);
    assert.doesNotMatch(code, /sourceMappingURL|\/work\/|file:\/\//, file.name);
  }
});

for (const runtime of ["node", "bun"] as const) {
  Deno.test(`a ${runtime === "node" ? "Node.js" : "Bun"} process discovers a Deno instance on another lab host and is discovered by it`, async () => {
    await requireTool(runtime);
    await buildForNode();
    const dir = await nodeProject({ "peer.mjs": NODE_PEER });
    await using lab = await LabNet.create(2);
    const [denoHost, nodeHost] = lab.hosts;
    const signal = AbortSignal.timeout(DEADLINE);
    await using deno = new Peer({ id: "1", ports: [9001], localDiscovery: false }, denoHost);
    const node = runPeer(runtime, nodeHost, dir, ["2", "9002"]);
    const { stdout, stderr } = node;
    try {
      const ready = JSON.parse(
        await stdout.line("ready", (line) => line.includes('"ready"'), signal),
      );
      if (runtime === "node") {
        assert.ok(Number(ready.node.split(".")[0]) >= 20, `node ${ready.node}`);
      }
      const found = await stdout.line(
        "the Deno instance",
        (line) => line.includes('"added"'),
        signal,
      );
      assert.deepEqual(JSON.parse(found), {
        type: "added",
        id: "1",
        address: denoHost.address,
        ports: [9001],
      });
      await deno.charts(["2"], signal);
      assert.equal(deno.charted.get("2")?.address, nodeHost.address);
      assert.deepEqual(deno.charted.get("2")?.ports, [9002]);
      // Node's chart says goodbye when it closes.
      await node.stdin.close();
      assert.equal((await deno.removes("2", signal)).reason, "goodbye");
      assert.equal((await node.status).code, 0, stderr.lines.join("\n"));
    } finally {
      await node.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("a Node.js process resolves a seed name with node:dns and joins a Deno instance across a router", async () => {
  await requireTool("node");
  await buildForNode();
  const dir = await nodeProject({ "peer.mjs": NODE_PEER });
  await using a = await LabNet.create(1);
  await using b = await LabNet.create(1);
  const router = await a.routeTo(b);
  const [denoHost] = a.hosts;
  const [nodeHost] = b.hosts;
  await using dns = await LabDns.start(router, {
    "peers.lab": [denoHost.address, nodeHost.address],
  });
  const signal = AbortSignal.timeout(DEADLINE);
  await using deno = new Peer(
    {
      id: "1",
      ports: [9001],
      localDiscovery: false,
      seeds: ["peers.lab"],
      nameServer: dns.address,
    },
    denoHost,
  );
  const node = runPeer("node", nodeHost, dir, ["2", "9002", "peers.lab", dns.address]);
  const { stdout, stderr } = node;
  try {
    const found = await stdout.line(
      "the Deno instance",
      (line) => line.includes('"added"'),
      signal,
    );
    assert.deepEqual(JSON.parse(found), {
      type: "added",
      id: "1",
      address: denoHost.address,
      ports: [9001],
    });
    await deno.charts(["2"], signal);
    assert.equal(deno.charted.get("2")?.address, nodeHost.address);
    assert.deepEqual(deno.charted.get("2")?.ports, [9002]);
    // Its goodbye crosses the router too.
    await node.stdin.close();
    assert.equal((await deno.removes("2", signal)).reason, "goodbye");
    assert.equal((await node.status).code, 0, stderr.lines.join("\n"));
    assert.deepEqual(stdout.lines.filter((line) => line.includes('"error"')), []);
  } finally {
    await node.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a Node.js chart resolves its seeds again at once, not at the records' TTL, when an unnamed instance reaches it", async () => {
  await requireTool("node");
  await buildForNode();
  const dir = await nodeProject({ "peer.mjs": NODE_PEER });
  await using a = await LabNet.create(1);
  await using b = await LabNet.create(1);
  const router = await a.routeTo(b);
  const [nodeHost] = a.hosts;
  const [denoHost] = b.hosts;
  // A one-minute TTL: Node.js's resolver reports it, and the chart would wait that long.
  await using dns = await LabDns.start(router, { "peers.lab": [nodeHost.address] }, {}, 60);
  const node = runPeer("node", nodeHost, dir, ["2", "9002", "peers.lab", dns.address]);
  const { stdout, stderr } = node;
  // Well within the TTL, and beyond the 5 s between two resolutions at most.
  const signal = AbortSignal.timeout(40_000);
  try {
    await stdout.line("ready", (line) => line.includes('"ready"'), signal);
    await dns.queried("peers.lab", nodeHost.address);
    // DNS lists the newcomer only after the chart resolved the name.
    await dns.setRecords({ "peers.lab": [nodeHost.address, denoHost.address] });
    await using deno = new Peer(
      { id: "1", ports: [9001], localDiscovery: false, seeds: [nodeHost.address] },
      denoHost,
    );
    const found = await stdout.line("the newcomer", (line) => line.includes('"added"'), signal);
    assert.equal(JSON.parse(found).address, denoHost.address);
    // Unnamed and off the link, it got no answer; the name resolved again made it a seed.
    await deno.charts(["2"], signal);
    assert.equal(deno.charted.get("2")?.address, nodeHost.address);
    assert.deepEqual(deno.charted.get("2")?.ports, [9002]);
    await node.stdin.close();
    assert.equal((await node.status).code, 0, stderr.lines.join("\n"));
  } finally {
    await node.close();
    await Deno.remove(dir, { recursive: true });
  }
});
