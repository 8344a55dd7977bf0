/**
 * Running discovery on a chart, and waiting for what it finds.
 *
 * @module
 */

import { shown } from "./config.ts";
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
 * Discovery runs once at a time on a chart: a second `maintain` or `sniff`
 * while one runs throws at once (it does not return a rejected promise,
 * which nobody awaiting it would turn into an unhandled rejection). On a
 * closed chart, or with an aborted signal, it resolves at once.
 *
 * @param chart The chart to maintain.
 * @param options A signal to stop.
 * @returns A promise that resolves when the chart closes or the signal aborts.
 * @throws {Error} Synchronously, if discovery already runs on the chart.
 * @throws {TypeError} Synchronously, if `chart` is not a chart built by the
 *   ChartBuilder or `signal` is not an AbortSignal.
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
  return driverOf(chart).run("maintain", checkSignal(options, "maintain"));
}

/**
 * Charts every instance it hears without ever sending anything: the instances
 * on the network do not learn of this one. Useful for clients that look for
 * services and for monitoring. Like {@linkcode maintain}, it throws at once
 * while discovery already runs on the chart.
 *
 * @param chart The chart to fill.
 * @param options A signal to stop.
 * @returns A promise that resolves when the chart closes or the signal aborts.
 * @throws {Error} Synchronously, if discovery already runs on the chart.
 * @throws {TypeError} Synchronously, if `chart` is not a chart built by the
 *   ChartBuilder or `signal` is not an AbortSignal.
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
  return driverOf(chart).run("sniff", checkSignal(options, "sniff"));
}

/** The signal of an options object, checked now: a wrong one would fail discovery later. */
function checkSignal(options: { signal?: AbortSignal }, action: string): AbortSignal | undefined {
  const { signal } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`Cannot ${action} until ${String(signal)}: not an AbortSignal`);
  }
  return signal;
}

/** The size of a cluster to wait for: a positive integer, or it could never be reached. */
function checkClusterSize(n: number): void {
  if (typeof n !== "number") {
    throw new TypeError(`Cannot wait for ${shown(n)} instances: not a number`);
  }
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`Cannot wait for ${n} instances: not a positive integer`);
  }
}

/**
 * Waits until the chart holds `n` instances, this one included.
 *
 * Every error comes as a rejection of the returned promise, never as a
 * synchronous throw.
 *
 * @param chart The chart, with discovery running on it.
 * @param n The size of the cluster: a positive integer.
 * @param options A signal to stop waiting.
 * @returns A promise that resolves once the chart has `n` instances.
 * @throws {RangeError} If `n` is not a positive integer (`NaN`, `1.5`, `0`),
 *   which no chart could ever reach, or more than the chart can hold
 *   (`limits.maxEntries` and this one).
 * @throws {TypeError} If `n` is not a number, or `signal` not an AbortSignal.
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
  checkClusterSize(n);
  const { capacity } = driverOf(chart);
  if (n > capacity) {
    // It would wait forever: a full chart takes no newcomer that is heard twice.
    throw new RangeError(
      `Cannot wait for ${n} instances: the chart holds at most ${capacity} (limits.maxEntries and this one)`,
    );
  }
  const signal = checkSignal(options, `wait for ${n} instances`);
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
 * consensus such as Raft. Every error comes as a rejection of the returned
 * promise, never as a synchronous throw.
 *
 * @param chart The chart, with discovery running on it.
 * @param n The size of the cluster: a positive integer.
 * @param options A signal to stop waiting.
 * @returns A promise that resolves once the chart holds a majority.
 * @throws {RangeError} If `n` is not a positive integer (`NaN`, `1.5`, `0`),
 *   or its majority is more than the chart can hold.
 * @throws {TypeError} If `n` is not a number, or `signal` not an AbortSignal.
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
export async function foundMajority(
  chart: Chart<Entry>,
  n: number,
  options: WaitOptions = {},
): Promise<void> {
  // Checked before halving: 1.5 would pass as a cluster of 1.
  checkClusterSize(n);
  await foundEveryone(chart, Math.ceil(n / 2), options);
}
