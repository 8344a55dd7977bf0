/**
 * The one check of each rule a chart's configuration follows, for the
 * builder, the chart's setters and the CLI alike, so that they accept the
 * same values and say the same when they refuse one.
 *
 * @module
 */

import { MAX_TTL } from "./core/schedule.ts";
import { encodeMsg, MAX_PAYLOAD_SIZE } from "./core/wire.ts";

/** The lowest port a service or discovery runs on. */
export const MIN_PORT = 1;
/** The highest port a service or discovery runs on. */
export const MAX_PORT = 65535;
/** The most service ports one announcement carries. */
export const MAX_SERVICE_PORTS: number = MAX_PAYLOAD_SIZE / 2;

/**
 * Checks a service or discovery port.
 *
 * @param port The port.
 * @param what What the port is, for the error: `"service port"`, say.
 * @returns The port.
 * @throws {TypeError} If the port is not an integer.
 * @throws {RangeError} If the port is not in 1..65535.
 */
export function checkPort(port: number, what: string): number {
  if (typeof port !== "number" || !Number.isInteger(port)) {
    throw new TypeError(`Cannot use ${what} ${port}: not an integer`);
  }
  if (port < MIN_PORT || port > MAX_PORT) {
    throw new RangeError(`Cannot use ${what} ${port}: not in ${MIN_PORT}..${MAX_PORT}`);
  }
  return port;
}

/**
 * Checks the service ports to announce.
 *
 * @param ports The ports.
 * @returns A frozen copy of the ports.
 * @throws {TypeError} If the list is not an array, or a port is not an integer.
 * @throws {RangeError} If the list is empty or too long for one datagram, or a
 *   port is out of range.
 */
export function checkServicePorts(ports: readonly number[]): readonly number[] {
  if (!Array.isArray(ports)) throw new TypeError("Cannot use service ports: not an array");
  if (ports.length === 0) throw new RangeError("Cannot use an empty list of service ports");
  if (ports.length > MAX_SERVICE_PORTS) {
    throw new RangeError(
      `Cannot use ${ports.length} service ports: at most ${MAX_SERVICE_PORTS} fit in one datagram`,
    );
  }
  return Object.freeze(ports.map((port) => checkPort(port, "service port")));
}

/**
 * Checks a custom message to announce.
 *
 * @param msg The message.
 * @returns A copy of the message, made through its JSON, so that later
 *   changes by the caller do not change what is announced.
 * @throws {TypeError} If the value cannot be serialised to JSON.
 * @throws {RangeError} If its JSON does not fit in one datagram.
 */
export function checkMsg<M>(msg: M): M {
  const size = encodeMsg(msg).length;
  if (size > MAX_PAYLOAD_SIZE) {
    throw new RangeError(
      `Cannot use a custom msg of ${size} bytes: at most ${MAX_PAYLOAD_SIZE} fit in one datagram`,
    );
  }
  return JSON.parse(JSON.stringify(msg));
}

/**
 * Checks the time-to-live of instances that announce none.
 *
 * @param bareTtl The time-to-live, in milliseconds.
 * @returns The time-to-live.
 * @throws {RangeError} If it is not more than 0 and at most one hour, the
 *   longest time-to-live a chart takes from an announcement.
 */
export function checkBareTtl(bareTtl: number): number {
  if (!(bareTtl > 0 && bareTtl <= MAX_TTL)) {
    throw new RangeError(`Cannot use bareTtl ${bareTtl}: not in 1..${MAX_TTL} ms`);
  }
  return bareTtl;
}
