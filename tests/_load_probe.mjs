/**
 * One process of the benchmark's load rows (tests/bench.ts): imports the
 * module its first argument names (none: nothing) and, given a discovery port
 * as its second, builds a chart on loopback. It prints, in ms from the
 * runtime's time origin (its start), when the import had finished and when
 * the chart was built. Plain JavaScript with no import of its own, so that
 * Deno and Node.js run the same file and load nothing else first. Only ever
 * run inside the lab when it builds: it refuses otherwise.
 *
 * @module
 */

const deno = globalThis.Deno;
const [module, port] = deno ? deno.args : process.argv.slice(2);
const { ChartBuilder } = module ? await import(module) : {};
const imported = performance.now();
let built = NaN;
if (port) {
  if ((deno ? deno.env.get("INSTANCE_CHART_LAB") : process.env.INSTANCE_CHART_LAB) !== "1") {
    throw new Error("Refusing to open discovery sockets outside the lab");
  }
  const chart = await new ChartBuilder().withRandomId().withServicePort(9000)
    .withDiscoveryPort(Number(port)).localDiscovery(true).finish();
  built = performance.now();
  await chart.close();
}
const line = `${imported} ${built}\n`;
if (deno) deno.stdout.writeSync(new TextEncoder().encode(line));
else process.stdout.write(line);
