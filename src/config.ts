/**
 * The one check of each rule a chart's configuration follows, for the
 * builder, the chart's setters and the CLI alike, so that they accept the
 * same values and say the same when they refuse one.
 *
 * @module
 */

import { JITTER, type Rampdown, validateRampdown } from "./core/interval.ts";
import { MAX_TTL } from "./core/schedule.ts";
import { encodeMsg, MAX_PAYLOAD_SIZE } from "./core/wire.ts";
import { familyOf, parseSeed } from "./core/address.ts";
import { MAX_SEEDS } from "./core/seeds.ts";
import type { NameServer, Seed } from "./io/seeds.ts";
import type { AddressFamily } from "./io/interfaces.ts";

/** The lowest port a service or discovery runs on. */
export const MIN_PORT = 1;
/** The highest port a service or discovery runs on. */
export const MAX_PORT = 65535;
/** The most service ports one announcement carries. */
export const MAX_SERVICE_PORTS: number = MAX_PAYLOAD_SIZE / 2;
/**
 * The longest interval a ramp may reach, in milliseconds: three of them,
 * jitter included, still fit in the longest time-to-live a chart takes
 * from an announcement, so peers never expire an instance between two of
 * its announcements.
 */
export const MAX_INTERVAL: number = Math.floor(MAX_TTL / (3 * (1 + JITTER)));
/**
 * The most instances a chart may hold: V8's maps hold at most 2^24 entries,
 * and a chart keeps up to this many datagrams before discovery starts.
 */
export const MAX_ENTRIES: number = 1 << 20;
/** The longest delay a timer takes; a longer one fires at once. */
export const MAX_TIMER_DELAY: number = 2 ** 31 - 1;

/**
 * An argument as an error message shows it: a string in quotes, so that
 * `"8042"` does not read as the valid 8042.
 *
 * @param value The argument.
 * @returns Its text.
 */
export function shown(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  try {
    return String(value);
  } catch {
    // An object without a prototype (Object.create(null)) has no toString.
    return Object.prototype.toString.call(value);
  }
}

/**
 * Checks that an options argument is an object.
 *
 * @param value The argument.
 * @param what What it is, for the error: `"limits"`, say.
 * @throws {TypeError} If it is not an object.
 */
export function checkObject(value: unknown, what: string): void {
  if (typeof value !== "object" || value === null) {
    throw new TypeError(`Cannot use ${what} ${shown(value)}: not an object`);
  }
}

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
    throw new TypeError(`Cannot use ${what} ${shown(port)}: not an integer`);
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
  // Index by index: map() and every() skip the holes of a sparse array.
  const checked: number[] = [];
  for (let i = 0; i < ports.length; i++) {
    if (!(i in ports)) {
      throw new TypeError(`Cannot use service ports: none at index ${i} (a sparse array)`);
    }
    checked.push(checkPort(ports[i], "service port"));
  }
  return Object.freeze(checked);
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
  // Serialised once: a toJSON() or getter may answer differently the next time.
  const json = encodeMsg(msg);
  if (json.length > MAX_PAYLOAD_SIZE) {
    throw new RangeError(
      `Cannot use a custom msg of ${json.length} bytes: at most ${MAX_PAYLOAD_SIZE} fit in one datagram`,
    );
  }
  return JSON.parse(new TextDecoder().decode(json));
}

/**
 * Checks the ramp of the announcement interval.
 *
 * @param rampdown The ramp, in milliseconds.
 * @returns A copy of the ramp.
 * @throws {TypeError} If it is not an object, or a duration is not a finite number.
 * @throws {RangeError} If a duration is negative, `max` is 0 or beyond
 *   {@linkcode MAX_INTERVAL}, or `min` exceeds `max`.
 */
export function checkRampdown(rampdown: Rampdown): Rampdown {
  checkObject(rampdown, "rampdown");
  const checked = validateRampdown(rampdown);
  if (checked.max > MAX_INTERVAL) {
    throw new RangeError(
      `Cannot use rampdown max ${checked.max} ms: at most ${MAX_INTERVAL}, so that three ` +
        "intervals fit in the longest time-to-live (one hour)",
    );
  }
  return checked;
}

/**
 * Checks the time-to-live of instances that announce none.
 *
 * @param bareTtl The time-to-live, in milliseconds.
 * @returns The time-to-live.
 * @throws {TypeError} If it is not a number.
 * @throws {RangeError} If it is not more than 0 and at most one hour, the
 *   longest time-to-live a chart takes from an announcement.
 */
export function checkBareTtl(bareTtl: number): number {
  if (typeof bareTtl !== "number") {
    throw new TypeError(`Cannot use bareTtl ${shown(bareTtl)}: not a number of milliseconds`);
  }
  if (!(bareTtl > 0 && bareTtl <= MAX_TTL)) {
    throw new RangeError(`Cannot use bareTtl ${bareTtl}: not in 1..${MAX_TTL} ms`);
  }
  return bareTtl;
}

/**
 * Checks seeds: addresses with an optional port (`198.18.1.5`,
 * `198.18.1.5:8080`, `[fd00::5]:8080`) and DNS names (`peers.example`,
 * `peers.example:8080`, `_instance-chart._udp.example`).
 *
 * @param seeds The seeds.
 * @returns Each seed's text and what it points to.
 * @throws {TypeError} If the list is not an array, or a seed is not a string,
 *   an address or a host name.
 * @throws {RangeError} If the list is empty or longer than {@linkcode MAX_SEEDS},
 *   or a port is out of range.
 */
export function checkSeeds(seeds: readonly string[]): Seed[] {
  if (!Array.isArray(seeds)) throw new TypeError(`Cannot use seeds ${shown(seeds)}: not an array`);
  if (seeds.length === 0) throw new RangeError("Cannot use an empty list of seeds");
  if (seeds.length > MAX_SEEDS) {
    throw new RangeError(`Cannot use ${seeds.length} seeds: at most ${MAX_SEEDS}`);
  }
  const checked: Seed[] = [];
  for (let i = 0; i < seeds.length; i++) {
    if (!(i in seeds)) throw new TypeError(`Cannot use seeds: none at index ${i} (a sparse array)`);
    const text = seeds[i];
    if (typeof text !== "string") {
      throw new TypeError(`Cannot use seed ${shown(text)}: not a string`);
    }
    checked.push({ ...parseSeed(text), text: text.trim() });
  }
  return checked;
}

/**
 * Checks a name server: an address with an optional port (53 by default).
 *
 * @param text The name server, such as `198.18.0.53` or `[fd00::53]:5353`.
 * @returns Its address and port.
 * @throws {TypeError} If it is not a string or not an IP address.
 * @throws {RangeError} If its port is out of range.
 */
export function checkNameServer(text: string): NameServer {
  if (typeof text !== "string") {
    throw new TypeError(`Cannot use name server ${shown(text)}: not a string`);
  }
  const target = parseSeed(text);
  if (target.isName) {
    throw new TypeError(`Cannot use name server ${shown(text)}: not an IP address`);
  }
  return { address: target.host, port: target.port ?? 53 };
}

/**
 * Checks that no seed is an address of a family left out: a name may
 * resolve to either family (what it gives of the other is left out), but an
 * address of it could only be ignored.
 *
 * @param seeds The seeds.
 * @param family The address families in use.
 * @throws {TypeError} If a seed is an address of a family not in use.
 */
export function checkSeedFamilies(seeds: readonly Seed[], family: AddressFamily): void {
  const unused = family === "ipv4" ? 6 : family === "ipv6" ? 4 : undefined;
  const stray = seeds.find((seed) => !seed.isName && familyOf(seed.host) === unused);
  if (stray) {
    throw new TypeError(
      `Cannot use seed ${stray.host} with family ${family}: it is an IPv${unused} address`,
    );
  }
}
