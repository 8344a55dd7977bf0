/**
 * Running discovery on a chart, and waiting for what it finds.
 *
 * @module
 */

import { type Chart, driverOf } from "./chart.ts";
import type { Entry } from "./core/entry.ts";
import { DiscoveryError } from "./errors.ts";

/** Options of {@linkcode maintain} and {@linkcode sniff}. */
export interface DiscoveryOptions {
  /** Stops discovery when aborted; closing the chart stops it too. */
  signal?: AbortSignal;
}

/** Options of {@linkcode foundEveryone} and {@linkcode foundMajority}. */
export interface WaitOptions {
  /** Stops waiting when aborted: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Announces this instance and charts every instance it hears, answering
 * newcomers directly so that they fill their chart fast. Announcements repeat
 * on the chart's interval.
 *
 * @param chart The chart to maintain.
 * @param options A signal to stop.
 * @returns A promise that resolves when the chart closes or the signal aborts.
 * @throws {Error} If discovery already runs on the chart.
 *
 * @example Maintain a chart until the scope ends
 * ```ts ignore
 * import { ChartBuilder, maintain } from "@x/instance-chart";
 *
 * await using chart = await new ChartBuilder().withId(1).withServicePort(8042).finish();
 * maintain(chart);
 * ```
 */
export function maintain(chart: Chart<Entry>, options: DiscoveryOptions = {}): Promise<void> {
  return driverOf(chart).run("maintain", options.signal);
}

/**
 * Charts every instance it hears without ever sending anything: the instances
 * on the network do not learn of this one. Useful for clients that look for
 * services and for monitoring.
 *
 * @param chart The chart to fill.
 * @param options A signal to stop.
 * @returns A promise that resolves when the chart closes or the signal aborts.
 * @throws {Error} If discovery already runs on the chart.
 *
 * @example List the instances heard within two seconds
 * ```ts ignore
 * import { ChartBuilder, sniff } from "@x/instance-chart";
 *
 * await using chart = await new ChartBuilder()
 *   .withRandomId()
 *   .withServicePort(1)
 *   .localDiscovery(true)
 *   .finish();
 * await sniff(chart, { signal: AbortSignal.timeout(2000) });
 * console.log(chart.entries());
 * ```
 */
export function sniff(chart: Chart<Entry>, options: DiscoveryOptions = {}): Promise<void> {
  return driverOf(chart).run("sniff", options.signal);
}

/**
 * Waits until the chart holds `n` instances, this one included.
 *
 * @param chart The chart, with discovery running on it.
 * @param n The size of the cluster.
 * @param options A signal to stop waiting.
 * @returns A promise that resolves once the chart has `n` instances.
 * @throws {DiscoveryError} If the chart closes first.
 * @throws {unknown} The signal's reason, if it aborts first.
 *
 * @example Wait for a cluster of three
 * ```ts ignore
 * import { ChartBuilder, foundEveryone, maintain } from "@x/instance-chart";
 *
 * await using chart = await new ChartBuilder()
 *   .withRandomId()
 *   .withServicePort(8042)
 *   .localDiscovery(true)
 *   .finish();
 * maintain(chart);
 * await foundEveryone(chart, 3, { signal: AbortSignal.timeout(10_000) });
 * ```
 */
export async function foundEveryone(
  chart: Chart<Entry>,
  n: number,
  options: WaitOptions = {},
): Promise<void> {
  const { signal } = options;
  signal?.throwIfAborted();
  if (chart.size >= n) return;
  if (chart.closed) throw closedWith(chart, n);
  let stop = () => {};
  try {
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal!.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      const unwatch = driverOf(chart).watch(() => {
        if (chart.size >= n) resolve();
        else if (chart.closed) reject(closedWith(chart, n));
      });
      stop = () => {
        unwatch();
        signal?.removeEventListener("abort", onAbort);
      };
    });
  } finally {
    stop();
  }
}

function closedWith(chart: Chart<Entry>, n: number): DiscoveryError {
  return new DiscoveryError(`Cannot find ${n} instances: the chart closed with ${chart.size}`);
}

/**
 * Waits until the chart holds a majority of a cluster of `n`, that is
 * `Math.ceil(n / 2)` instances, this one included. Useful for vote-based
 * consensus such as Raft.
 *
 * @param chart The chart, with discovery running on it.
 * @param n The size of the cluster.
 * @param options A signal to stop waiting.
 * @returns A promise that resolves once the chart holds a majority.
 * @throws {DiscoveryError} If the chart closes first.
 * @throws {unknown} The signal's reason, if it aborts first.
 *
 * @example Wait for a majority of five
 * ```ts ignore
 * import { ChartBuilder, foundMajority, maintain } from "@x/instance-chart";
 *
 * await using chart = await new ChartBuilder()
 *   .withRandomId()
 *   .withServicePort(8042)
 *   .localDiscovery(true)
 *   .finish();
 * maintain(chart);
 * await foundMajority(chart, 5);
 * ```
 */
export function foundMajority(
  chart: Chart<Entry>,
  n: number,
  options: WaitOptions = {},
): Promise<void> {
  return foundEveryone(chart, Math.ceil(n / 2), options);
}
