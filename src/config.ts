/**
 * The checks of a chart's settings that more than one place makes: the
 * builder, the chart's setters and the CLI.
 *
 * @module
 */

import { encodeMsg, MAX_PAYLOAD_SIZE } from "./core/wire.ts";

/**
 * Checks service ports and returns a frozen copy.
 *
 * @param ports The ports.
 * @returns The copy.
 * @throws {RangeError} If a port is not an integer in 1..65535.
 */
export function checkServicePorts(ports: readonly number[]): readonly number[] {
  for (const port of ports) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new RangeError(`Cannot use service port ${port}: not in 1..65535`);
    }
  }
  return Object.freeze([...ports]);
}

/**
 * Checks that a custom message fits in one datagram and returns a copy, so
 * that later changes by the caller do not change what is announced.
 *
 * @param msg The message.
 * @returns The copy.
 * @throws {TypeError} If the value has no JSON form.
 * @throws {RangeError} If its JSON does not fit in one datagram.
 */
export function checkMsg(msg: unknown): unknown {
  const size = encodeMsg(msg).length;
  if (size > MAX_PAYLOAD_SIZE) {
    throw new RangeError(
      `Cannot use a custom msg of ${size} bytes: at most ${MAX_PAYLOAD_SIZE} fit in one datagram`,
    );
  }
  return JSON.parse(JSON.stringify(msg));
}
