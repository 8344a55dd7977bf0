/**
 * The errors a caller of this module is expected to catch.
 *
 * @module
 */

/**
 * A discovery socket could not be opened, or discovery ended before what was
 * awaited happened.
 *
 * @example Fall back to another discovery port
 * ```ts ignore
 * import { ChartBuilder, DiscoveryError } from "@x/instance-chart";
 *
 * try {
 *   await new ChartBuilder().withRandomId().withServicePort(8042).finish();
 * } catch (error) {
 *   if (!(error instanceof DiscoveryError)) throw error;
 *   console.error(error.message); // Cannot bind discovery port 8080: address in use ...
 * }
 * ```
 */
export class DiscoveryError extends Error {
  /**
   * Creates the error.
   *
   * @param message What failed, naming the value.
   * @param options The underlying error as `cause`.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DiscoveryError";
  }
}

/**
 * An event iterator fell more than its buffer behind the chart; the events it
 * missed are gone. Read `chart.entries()` to resynchronise, then subscribe again.
 *
 * @example Resubscribe after falling behind
 * ```ts ignore
 * import { EventOverflowError, type Chart } from "@x/instance-chart";
 *
 * async function follow(chart: Chart) {
 *   while (true) {
 *     try {
 *       for await (const event of chart.events()) console.log(event.type, event.entry.id);
 *       return;
 *     } catch (error) {
 *       if (!(error instanceof EventOverflowError)) throw error;
 *       console.log("resync", chart.entries());
 *     }
 *   }
 * }
 * ```
 */
export class EventOverflowError extends Error {
  /**
   * Creates the error.
   *
   * @param bufferSize The buffer that overflowed, in events.
   */
  constructor(bufferSize: number) {
    super(`Cannot deliver chart event: more than ${bufferSize} events were left unread`);
    this.name = "EventOverflowError";
  }
}
