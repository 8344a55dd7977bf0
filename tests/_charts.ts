/**
 * Charts for same-host tests: several in this process, sharing a discovery port.
 *
 * @module
 */

import "./_lab.ts";
import { type Chart, ChartBuilder, maintain, type PortEntry, type TransportKind } from "../mod.ts";

/** Both socket APIs, for tests that run over each. */
export const TRANSPORTS: readonly TransportKind[] = ["deno", "node"];

let nextPort = 20_000;

/**
 * Returns a discovery port no other test in this process has used, so that
 * nothing a test leaves behind reaches the next one.
 *
 * @returns The port.
 */
export function freshPort(): number {
  return nextPort++;
}

/** Charts in this process, closed together. */
export class Charts implements AsyncDisposable {
  /** The charts, with ids 1..n and service port 9000 + id. */
  readonly charts: Chart<PortEntry>[];

  private constructor(charts: Chart<PortEntry>[]) {
    this.charts = charts;
  }

  /**
   * Builds `n` charts with local discovery on one fresh discovery port and
   * maintains them.
   *
   * @param n How many.
   * @param transport The socket API.
   * @returns The charts.
   */
  static async start(n: number, transport: TransportKind): Promise<Charts> {
    const discoveryPort = freshPort();
    const charts: Chart<PortEntry>[] = [];
    for (let id = 1; id <= n; id++) {
      charts.push(await portChart(id, discoveryPort, transport));
    }
    for (const chart of charts) maintain(chart);
    return new Charts(charts);
  }

  /** Closes every chart. */
  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.charts.map((chart) => chart.close()));
  }
}

/**
 * Builds a chart with id `id`, service port 9000 + id and local discovery.
 *
 * @param id The id.
 * @param discoveryPort The discovery port.
 * @param transport The socket API.
 * @returns The chart, not yet maintained.
 */
export function portChart(
  id: number,
  discoveryPort: number,
  transport: TransportKind,
): Promise<Chart<PortEntry>> {
  return new ChartBuilder()
    .withId(id)
    .withServicePort(9000 + id)
    .withDiscoveryPort(discoveryPort)
    .localDiscovery(true)
    .withTransport(transport)
    .finish();
}

/**
 * The entries a chart of `n` (ids 1..n, service port 9000 + id, all on
 * 127.0.0.1) should hold, seen from `id`, sorted by id.
 *
 * @param n The number of charts.
 * @param id The chart that looks.
 * @returns The expected entries.
 */
export function expectedEntries(n: number, id: number): PortEntry[] {
  const entries: PortEntry[] = [];
  for (let other = 1; other <= n; other++) {
    if (other !== id) {
      entries.push({ id: BigInt(other), address: "127.0.0.1", ports: [9000 + other] });
    }
  }
  return entries;
}

/**
 * A chart's entries sorted by id, for comparing.
 *
 * @param chart The chart.
 * @returns Its entries as plain objects.
 */
export function sortedEntries(chart: Chart<PortEntry>): PortEntry[] {
  return chart.entries()
    .map((entry) => ({ id: entry.id, address: entry.address, ports: [...entry.ports] }))
    .sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * Waits until a condition holds, checking it every few milliseconds: for
 * conditions no event announces, such as a counter reaching a value.
 *
 * @param condition The condition.
 * @param signal Fails the wait when aborted.
 */
export async function until(condition: () => boolean, signal: AbortSignal): Promise<void> {
  while (!condition()) {
    signal.throwIfAborted();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Collects events from an iterator until the condition holds on what was collected.
 *
 * @param events The iterator.
 * @param done The condition.
 * @param signal Fails the wait when aborted.
 * @returns The events collected.
 */
export async function collect<T>(
  events: AsyncIterator<T>,
  done: (seen: T[]) => boolean,
  signal: AbortSignal,
): Promise<T[]> {
  const seen: T[] = [];
  const { promise: aborted, reject } = Promise.withResolvers<never>();
  aborted.catch(() => {});
  const onAbort = () => reject(signal.reason);
  signal.throwIfAborted();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    while (!done(seen)) {
      const next = await Promise.race([events.next(), aborted]);
      if (next.done) throw new Error(`events ended after ${seen.length}`);
      seen.push(next.value);
    }
    return seen;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/**
 * Records events in the background until the iterator ends (when its chart
 * closes), for tests that check what did not happen meanwhile.
 *
 * @param events The iterator.
 * @returns The array the events are pushed to as they come.
 */
export function record<T>(events: AsyncIterable<T>): T[] {
  const seen: T[] = [];
  (async () => {
    for await (const event of events) seen.push(event);
  })();
  return seen;
}
