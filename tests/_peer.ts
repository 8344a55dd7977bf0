/**
 * A chart in a process of its own, for lab tests: started with its options as
 * JSON in the first argument, it prints `{"type":"ready"}` once discovery runs,
 * then one JSON line for each chart event (and a `stats` line every
 * `options.stats` ms), and closes its chart (saying goodbye) when its
 * standard input closes or on SIGINT or SIGTERM.
 *
 * @module
 */

import { ChartBuilder, type Entry, maintain, sniff } from "../mod.ts";
import { unicastsInFlight } from "../src/io/links.ts";
import "./_lab.ts";
import type { PeerOptions } from "./_lab.ts";

const options: PeerOptions = JSON.parse(Deno.args[0]);
const print = (line: object) =>
  console.log(JSON.stringify(line, (_, value) => typeof value === "bigint" ? `${value}` : value));
let builder = new ChartBuilder()
  .withId(BigInt(options.id))
  .withDiscoveryPort(options.discoveryPort ?? 8080)
  .localDiscovery(options.localDiscovery ?? true)
  .withTransport(options.transport ?? "auto");
if (options.header) builder = builder.withHeader(BigInt(options.header));
if (options.rampdown) builder = builder.withRampdown(options.rampdown);
if (options.interfaces) builder = builder.withInterfaces(options.interfaces);
if (options.keys) builder = builder.withKeys(options.keys);
if (options.seeds) {
  builder = builder.withSeeds(options.seeds, {
    nameServer: options.nameServer,
    multicast: options.multicast,
  });
}
if (options.family) builder = builder.withFamily(options.family);
builder = builder.withErrorHandler((error) => print({ type: "error", message: error.message }));
const withData: ChartBuilder<true, Entry> = options.ports
  ? builder.withServicePorts(options.ports)
  : builder.customMsg(options.msg);
await using chart = await withData.finish();

const events = chart.events({ bufferSize: 100_000 });
const running = (options.mode === "sniff" ? sniff : maintain)(chart);
print({ type: "ready", at: performance.timeOrigin + performance.now() });
const stats = options.stats === undefined ? undefined : setInterval(() => {
  (globalThis as { gc?: () => void }).gc?.();
  const heap = Deno.memoryUsage().heapUsed;
  print({
    type: "stats",
    heap,
    unicasts: unicastsInFlight(),
    counters: chart.counters,
    at: performance.timeOrigin + performance.now(),
  });
}, options.stats);
let closeTook: number | undefined;
const stdinClosed = (async () => {
  for await (const _ of Deno.stdin.readable) { /* wait for the end */ }
  clearInterval(stats);
  const start = performance.now();
  await chart.close();
  closeTook = performance.now() - start;
})();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => chart.close());
}
for await (const event of events) {
  const at = performance.timeOrigin + performance.now();
  print({
    type: event.type,
    ...event.entry,
    ...("reason" in event ? { reason: event.reason } : {}),
    at,
  });
}
clearInterval(stats);
await running;
await stdinClosed;
print({ type: "closed", counters: chart.counters, closeTook });
