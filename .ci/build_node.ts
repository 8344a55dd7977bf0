/**
 * `deno task build:node`: the npm package, from this checkout, in
 * `dist/instance-chart.tgz` and unpacked in `dist/npm/`. `deno pack` makes
 * it; this adds what npm users read and `deno pack` does not write (a
 * description, and the Node.js versions it runs on), and leaves out source
 * maps, which would carry this machine's paths.
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url).pathname;
const DIST = `${ROOT}dist`;

/** What npm shows of the package, besides what `deno pack` writes. */
const METADATA = {
  description: "Instances of a service find each other on the same network or machine, with no " +
    "server: a chart of who is out there, by UDP multicast (a port of the Rust crate " +
    "instance-chart).",
  keywords: ["discovery", "multicast", "udp", "service-discovery", "mdns-alternative"],
  // ES modules load with import on any Node.js 20; require() of one needs 20.19.
  engines: { node: ">=20.19" },
};

async function run(command: string, args: string[], cwd = ROOT): Promise<void> {
  const { code, stderr } = await new Deno.Command(command, { args, cwd, stderr: "piped" })
    .output();
  if (code !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed:\n${new TextDecoder().decode(stderr)}`);
  }
}

await Deno.remove(DIST, { recursive: true }).catch(() => {});
const staging = `${DIST}/staging`;
await Deno.mkdir(staging, { recursive: true });
await run(Deno.execPath(), [
  "pack",
  "--allow-dirty",
  "--no-source-maps",
  "-o",
  `${staging}/packed.tgz`,
]);
await run("tar", ["-xzf", `${staging}/packed.tgz`, "-C", staging]);
const [top] = [...Deno.readDirSync(staging)].filter((entry) => entry.isDirectory);
const manifest = `${staging}/${top.name}/package.json`;
const pkg = JSON.parse(await Deno.readTextFile(manifest));
await Deno.writeTextFile(manifest, JSON.stringify({ ...pkg, ...METADATA }, null, 2) + "\n");
await run("tar", ["-czf", `${DIST}/instance-chart.tgz`, "-C", staging, top.name]);
await Deno.rename(`${staging}/${top.name}`, `${DIST}/npm`);
await Deno.remove(staging, { recursive: true });
