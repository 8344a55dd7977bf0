/**
 * The builder of a chart.
 *
 * @module
 */

import { type Chart, openChart } from "./chart.ts";
import type { Entry, MsgEntry, PortEntry } from "./core/entry.ts";
import type { ExpiryOptions, Limits } from "./core/protocol.ts";
import {
  checkBareTtl,
  checkMsg,
  checkNameServer,
  checkObject,
  checkPort,
  checkRampdown,
  checkSeedFamilies,
  checkSeeds,
  checkServicePorts,
  MAX_ENTRIES,
  MAX_TIMER_DELAY,
  shown,
} from "./config.ts";
import { randomId, toId } from "./ids.ts";
import type { AddressFamily, InterfaceOptions } from "./io/interfaces.ts";
import { Keyring } from "./core/keyring.ts";
import { DEFAULT_RAMPDOWN, type Rampdown } from "./core/interval.ts";
import type { TransportKind } from "./io/transport.ts";
import type { NameServer, Seed } from "./io/seeds.ts";
import { DEFAULT_DISCOVERY_PORT, DEFAULT_HEADER, isUint64 } from "./core/wire.ts";

interface BuilderConfig {
  id?: bigint;
  header: bigint;
  discoveryPort: number;
  ports?: readonly number[];
  msg?: unknown;
  hasMsg: boolean;
  rampdown: Rampdown;
  localDiscovery: boolean;
  transport: TransportKind;
  interfaces: InterfaceOptions;
  family: AddressFamily;
  expiry: ExpiryOptions;
  keys?: readonly (string | Uint8Array)[];
  limits: Limits;
  onError?: (error: Error) => void;
  seeds?: readonly Seed[];
  nameServer?: NameServer;
  multicast: boolean;
}

/** How a chart uses its seeds; see {@linkcode ChartBuilder.prototype.withSeeds}. */
export interface SeedOptions {
  /**
   * The name server that resolves the seeds' names, as `address` or
   * `address:port` (`[address]:port` for IPv6); port 53 by default.
   *
   * @default {the system's resolver}
   */
  nameServer?: string;
  /**
   * Whether announcements and goodbyes also go to the multicast group.
   * Turn it off where the network drops multicast: then they go to the
   * seeds only. The chart still hears and answers multicast.
   *
   * @default {true}
   */
  multicast?: boolean;
}

/**
 * Builds a {@linkcode Chart}. Set an id (`withId` or `withRandomId`) and the
 * data to share (`withServicePort`, `withServicePorts` or `customMsg`), then
 * call `finish`; the types make `finish` unavailable until both are set.
 * Every method returns a new builder and leaves this one as it was.
 *
 * @typeParam HasId Whether an id is set.
 * @typeParam E The entries the chart will hold, once the data is set.
 *
 * @example Build a chart and keep it up to date
 * ```ts ignore
 * import { ChartBuilder, maintain } from "@x/instance-chart";
 *
 * await using chart = await new ChartBuilder()
 *   .withId(1)
 *   .withServicePort(8042)
 *   .finish();
 * maintain(chart);
 * ```
 */
export class ChartBuilder<HasId extends boolean = false, E extends Entry | undefined = undefined> {
  #config: BuilderConfig;
  /**
   * What the builder has been given, for the type checker only: it is never
   * set. Public, because the declarations a package is published with erase
   * the type of a private field, and with it the difference between builders
   * that may `finish` and builders that may not.
   *
   * @ignore
   */
  declare readonly "~state"?: { readonly hasId: HasId; readonly entry: E };

  /**
   * Creates a builder with the defaults: header 6687164552036412667 (the Rust
   * crate's), discovery port 8080, the 100 ms to 1 s ramp over 10 s, no local
   * discovery, and the `"auto"` transport.
   */
  constructor() {
    this.#config = {
      header: DEFAULT_HEADER,
      discoveryPort: DEFAULT_DISCOVERY_PORT,
      hasMsg: false,
      rampdown: { ...DEFAULT_RAMPDOWN },
      localDiscovery: false,
      transport: "auto",
      interfaces: {},
      family: "both",
      expiry: {},
      limits: {},
      multicast: true,
    };
  }

  /**
   * Sets this instance's id, the key it is charted by. It must be unique.
   *
   * @param id An unsigned 64-bit integer; a number must be a safe integer.
   * @returns A builder with the id set.
   * @throws {TypeError} If the id is not an integer.
   * @throws {RangeError} If the id is out of range.
   */
  withId(id: bigint | number): ChartBuilder<true, E> {
    return this.#with({ id: toId(id) });
  }

  /**
   * Sets a random id from the system's cryptographically secure source.
   *
   * @returns A builder with the id set.
   */
  withRandomId(): ChartBuilder<true, E> {
    return this.#with({ id: randomId() });
  }

  /**
   * Sets the one port of this instance's service, shared with every peer.
   *
   * @param port The port, 1 to 65535.
   * @returns A builder with the service port set.
   * @throws {TypeError} If the port is not an integer.
   * @throws {RangeError} If the port is out of range.
   */
  withServicePort(port: number): ChartBuilder<HasId, PortEntry> {
    return this.withServicePorts([port]);
  }

  /**
   * Sets several service ports, shared with every peer. Peers with a
   * different number of ports are not charted.
   *
   * @param ports The ports, each 1 to 65535.
   * @returns A builder with the service ports set.
   * @throws {TypeError} If the list is not an array or has a hole, or a port
   *   is not an integer.
   * @throws {RangeError} If the list is empty or too long, or a port is out of range.
   */
  withServicePorts(ports: readonly number[]): ChartBuilder<HasId, PortEntry> {
    return this.#with({ ports: checkServicePorts(ports), msg: undefined, hasMsg: false });
  }

  /**
   * Shares a custom message instead of service ports. Charts with a custom
   * message interoperate only with this module, not with the Rust crate.
   *
   * @param msg Any JSON-serialisable value of at most 880 bytes as JSON.
   * @returns A builder with the message set.
   * @throws {TypeError} If the value cannot be serialised to JSON.
   * @throws {RangeError} If its JSON does not fit in one datagram.
   */
  customMsg<M>(msg: M): ChartBuilder<HasId, MsgEntry<M>> {
    return this.#with({ ports: undefined, msg: checkMsg(msg), hasMsg: true });
  }

  /**
   * Sets the header that tells this application's announcements from others'.
   * Deployed applications should pick a random one.
   *
   * @param header An unsigned 64-bit integer; a number must be a safe integer.
   * @returns A builder with the header set.
   * @throws {TypeError} If the header is not an integer.
   * @throws {RangeError} If the header is out of range.
   */
  withHeader(header: bigint | number): ChartBuilder<HasId, E> {
    if (typeof header === "number" ? !Number.isInteger(header) : typeof header !== "bigint") {
      throw new TypeError(`Cannot use header ${shown(header)}: not an integer`);
    }
    if (typeof header === "number" && !Number.isSafeInteger(header)) {
      throw new RangeError(
        `Cannot use header ${header}: beyond Number.MAX_SAFE_INTEGER, pass a bigint`,
      );
    }
    const value = BigInt(header);
    if (!isUint64(value)) {
      throw new RangeError(`Cannot use header ${header}: not an unsigned 64-bit integer`);
    }
    return this.#with({ header: value });
  }

  /**
   * Sets the UDP port discovery runs on; every instance must use the same.
   *
   * @param port The port, 1 to 65535.
   * @returns A builder with the discovery port set.
   * @throws {TypeError} If the port is not an integer.
   * @throws {RangeError} If the port is out of range.
   */
  withDiscoveryPort(port: number): ChartBuilder<HasId, E> {
    return this.#with({ discoveryPort: checkPort(port, "discovery port") });
  }

  /**
   * Sets the ramp of the announcement interval: it grows linearly from `min`
   * to `max` over `rampdown` milliseconds after discovery starts.
   *
   * @param rampdown The ramp, in milliseconds.
   * @returns A builder with the ramp set.
   * @throws {TypeError} If a duration is not a finite number.
   * @throws {RangeError} If a duration is negative, `max` is 0 or beyond
   *   1,090,909 ms (about 18 minutes: three intervals, jitter included, must
   *   fit in the one-hour time-to-live), or `min` exceeds `max`.
   */
  withRampdown(rampdown: Rampdown): ChartBuilder<HasId, E> {
    return this.#with({ rampdown: checkRampdown(rampdown) });
  }

  /**
   * Lets several instances on this machine share the discovery port, so that
   * they discover each other. Charts of one process on the same port and
   * transport then share one discovery socket, and hand each other what they
   * send without the network.
   *
   * @param enabled Whether to share the port.
   * @returns A builder with local discovery set.
   */
  localDiscovery(enabled: boolean): ChartBuilder<HasId, E> {
    return this.#with({ localDiscovery: Boolean(enabled) });
  }

  /**
   * Chooses the socket API: `Deno.listenDatagram` (`"deno"`, needs
   * `--unstable-net`), `node:dgram` (`"node"`), the first available
   * (`"auto"`), or a {@linkcode Transport} of your own. Charts of one process
   * hand each other their datagrams over the built-in ones; over a transport
   * of your own everything goes through it, so that it can drop or delay
   * what charts of one process send each other (those on one port share
   * its discovery socket: what it drops there, all of them miss).
   *
   * @param transport The socket API.
   * @returns A builder with the transport set.
   * @throws {TypeError} If the transport is none of these.
   */
  withTransport(transport: TransportKind): ChartBuilder<HasId, E> {
    const valid = typeof transport === "object"
      ? typeof transport?.open === "function"
      : ["auto", "deno", "node"].includes(transport);
    if (!valid) {
      throw new TypeError(
        `Cannot use transport ${
          shown(transport)
        }: not "auto", "deno", "node" or an object with open()`,
      );
    }
    return this.#with({ transport });
  }

  /**
   * Chooses the network interfaces discovery runs on. By default it joins and
   * sends on every interface that is up and can multicast (loopback too with
   * local discovery), for each address family in use (see
   * {@linkcode ChartBuilder.prototype.withFamily}), and follows interfaces
   * that come or go.
   *
   * @param interfaces Names to include or exclude, loopback only, and how
   *   often to look for changes.
   * @returns A builder with the interfaces set.
   * @throws {TypeError} If it is not an object, a list is not an array of
   *   names, or `loopbackOnly` is not a boolean.
   * @throws {RangeError} If the rescan interval is not positive, or longer
   *   than a timer takes (2^31 - 1 ms).
   */
  withInterfaces(interfaces: InterfaceOptions): ChartBuilder<HasId, E> {
    checkObject(interfaces, "interfaces");
    for (const key of ["include", "exclude"] as const) {
      const names = interfaces[key];
      // Index by index: some() skips the holes of a sparse array.
      if (
        names !== undefined &&
        (!Array.isArray(names) || Array.from(names).some((n) => typeof n !== "string"))
      ) {
        throw new TypeError(`Cannot use interfaces.${key}: not an array of interface names`);
      }
    }
    const { loopbackOnly, rescanInterval } = interfaces;
    if (loopbackOnly !== undefined && typeof loopbackOnly !== "boolean") {
      throw new TypeError(
        `Cannot use interfaces.loopbackOnly ${shown(loopbackOnly)}: not a boolean`,
      );
    }
    if (rescanInterval !== undefined && !(rescanInterval > 0 && Number.isFinite(rescanInterval))) {
      throw new RangeError(`Cannot rescan interfaces every ${rescanInterval} ms: not positive`);
    }
    // A longer delay makes a timer fire at once: the rescan would spin.
    if (rescanInterval !== undefined && rescanInterval > MAX_TIMER_DELAY) {
      throw new RangeError(
        `Cannot rescan interfaces every ${rescanInterval} ms: at most ${MAX_TIMER_DELAY}`,
      );
    }
    return this.#with({
      interfaces: {
        include: interfaces.include && [...interfaces.include],
        exclude: interfaces.exclude && [...interfaces.exclude],
        loopbackOnly,
        rescanInterval,
      },
    });
  }

  /**
   * Chooses the address families discovery uses. By default, `"both"`:
   * IPv4 on every interface in use, and IPv6 (group `ff02::fb`) on those
   * that have an IPv6 address, where the host has IPv6 at all. An instance
   * heard over both families is one entry, whose `address` is its IPv4 one.
   *
   * @param family `"ipv4"`, `"ipv6"` or `"both"`.
   * @returns A builder with the families set.
   * @throws {TypeError} If the family is not one of those.
   *
   * @example IPv6 only
   * ```ts ignore
   * import { ChartBuilder } from "@x/instance-chart";
   *
   * const builder = new ChartBuilder().withId(1).withServicePort(8042).withFamily("ipv6");
   * ```
   */
  withFamily(family: AddressFamily): ChartBuilder<HasId, E> {
    if (family !== "ipv4" && family !== "ipv6" && family !== "both") {
      throw new TypeError(
        `Cannot use address family ${shown(family)}: not "ipv4", "ipv6" or "both"`,
      );
    }
    return this.#with({ family });
  }

  /**
   * Sets how quiet instances leave the chart. By default an instance that is
   * not heard within the time-to-live it announces (three of its intervals)
   * is removed; Rust crate instances, which announce none, get `bareTtl`.
   *
   * @param expiry Whether instances expire, and the time-to-live of bare ones.
   * @returns A builder with expiry set.
   * @throws {TypeError} If it is not an object, `enabled` is not a boolean or
   *   `bareTtl` not a number.
   * @throws {RangeError} If `bareTtl` is not a positive number of milliseconds.
   */
  withExpiry(expiry: ExpiryOptions): ChartBuilder<HasId, E> {
    checkObject(expiry, "expiry");
    const { enabled, bareTtl } = expiry;
    if (enabled !== undefined && typeof enabled !== "boolean") {
      throw new TypeError(`Cannot use expiry.enabled ${shown(enabled)}: not a boolean`);
    }
    if (bareTtl !== undefined) checkBareTtl(bareTtl);
    return this.#with({ expiry: { enabled, bareTtl } });
  }

  /**
   * Signs every datagram with a shared key and accepts only datagrams signed
   * with one of the keys (HMAC-SHA-256). The first key signs; all of them
   * verify, so that keys can be rotated (see {@linkcode Chart.prototype.setKeys}).
   * Charts with keys do not interoperate with the Rust crate or with charts
   * without keys.
   *
   * @param keys The keys, each at least 16 bytes (as UTF-8 for a string);
   *   32 random bytes are best.
   * @returns A builder with the keys set.
   * @throws {TypeError} If the list is not an array, or a key (a hole
   *   included) is neither a string nor a Uint8Array.
   * @throws {RangeError} If the list is empty or a key is too short.
   */
  withKeys(keys: readonly (string | Uint8Array)[]): ChartBuilder<HasId, E> {
    if (!Array.isArray(keys)) throw new TypeError("Cannot use keys: not an array");
    new Keyring(keys);
    const copies = keys.map((key) => typeof key === "string" ? key : key.slice());
    return this.#with({ keys: copies });
  }

  /**
   * Bounds what the chart keeps and sends, against floods and reflection:
   * the most instances charted (default 2048), and the answers sent per
   * second in all (default 1000) and to one source address (default 50).
   *
   * @param limits The bounds.
   * @returns A builder with the limits set.
   * @throws {TypeError} If `limits` or `replies` is not an object.
   * @throws {RangeError} If a bound is not a positive integer, or
   *   `maxEntries` is beyond 1,048,576 (2^20).
   */
  withLimits(limits: Limits): ChartBuilder<HasId, E> {
    checkObject(limits, "limits");
    const { maxEntries, replies = {} } = limits;
    checkObject(replies, "limits.replies");
    for (
      const [name, value] of [
        ["maxEntries", maxEntries],
        ["replies.total", replies.total],
        ["replies.perSource", replies.perSource],
      ] as const
    ) {
      if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
        throw new RangeError(`Cannot use ${name} ${shown(value)}: not a positive integer`);
      }
    }
    // Past it, a flood of forged ids would outgrow the chart's maps and crash it.
    if (maxEntries !== undefined && maxEntries > MAX_ENTRIES) {
      throw new RangeError(`Cannot use maxEntries ${maxEntries}: at most ${MAX_ENTRIES}`);
    }
    return this.#with({ limits: { maxEntries, replies: { ...replies } } });
  }

  /**
   * Announces by unicast to seeds as well as to the multicast group, so that
   * instances find each other where multicast does not reach: across a
   * router, in a Docker or Kubernetes network, a cloud VPC or a VPN. A seed
   * is an address, with a port or the discovery port (`198.18.1.5`,
   * `198.18.1.5:8080`, `[fd00::5]:8080`), or a DNS name: its A and AAAA
   * records are used with the discovery port (or the port written after the
   * name), and its SRV records (`_instance-chart._udp.example`) with their
   * ports. Names are resolved again as their TTL says, within 5 to 60 s (10 s
   * in Deno, whose resolver gives no TTL), so that members that come and go
   * in DNS are followed. Our own discovery socket among the seeds is skipped.
   *
   * Seeds are answered and probed even off the link. A name that does not
   * resolve, and a seed not heard from within our time-to-live, are reported
   * to the error handler; discovery goes on, and tries again.
   *
   * @param seeds The seeds, at most 256.
   * @param options A name server, and whether to multicast too.
   * @returns A builder with the seeds set.
   * @throws {TypeError} If `seeds` is not an array, a seed is not an address
   *   or a host name, or the name server is not an address.
   * @throws {RangeError} If the list is empty or too long, or a port is out of range.
   *
   * @example Find the replicas of a Docker Compose service
   * ```ts ignore
   * import { ChartBuilder, maintain } from "@x/instance-chart";
   *
   * await using chart = await new ChartBuilder()
   *   .withRandomId()
   *   .withServicePort(8042)
   *   .withSeeds(["worker"])
   *   .finish();
   * maintain(chart);
   * ```
   */
  withSeeds(seeds: readonly string[], options: SeedOptions = {}): ChartBuilder<HasId, E> {
    const checked = checkSeeds(seeds);
    checkObject(options, "seed options");
    const { nameServer, multicast } = options;
    if (multicast !== undefined && typeof multicast !== "boolean") {
      throw new TypeError(`Cannot use seed option multicast ${shown(multicast)}: not a boolean`);
    }
    return this.#with({
      seeds: checked,
      nameServer: nameServer === undefined ? undefined : checkNameServer(nameServer),
      multicast: multicast ?? true,
    });
  }

  /**
   * Sets a callback for errors discovery recovers from, such as a failed send
   * or receive (each also counted in the chart's counters), an interface
   * whose sockets or group membership cannot be set up (it goes on without
   * it), a seed name that does not resolve, or a seed that is silent.
   * It is called from discovery's own tasks, where nothing could catch what
   * it throws: what it throws is written to stderr, with the error it was
   * handling, and discovery goes on.
   *
   * @param onError Called with each error.
   * @returns A builder with the callback set.
   * @throws {TypeError} If it is not a function.
   */
  withErrorHandler(onError: (error: Error) => void): ChartBuilder<HasId, E> {
    // Checked now: discovery calls it long after, where a throw is unhandled.
    if (typeof onError !== "function") {
      throw new TypeError(`Cannot use error handler ${shown(onError)}: not a function`);
    }
    return this.#with({ onError: guarded(onError) });
  }

  /**
   * Opens the discovery sockets and returns the chart. Run {@linkcode maintain}
   * or {@linkcode sniff} on it to fill it.
   *
   * @returns The chart.
   * @throws {DiscoveryError} If the discovery port cannot be bound (it is in use
   *   without local discovery, say) or the multicast group cannot be joined.
   * @throws {TypeError} If the id or the data is not set, or a seed is an
   *   address of a family that {@linkcode ChartBuilder.withFamily} leaves out.
   */
  async finish<F extends Entry>(this: ChartBuilder<true, F>): Promise<Chart<F>> {
    const config = this.#config;
    if (config.id === undefined) {
      throw new TypeError("Cannot build a chart without an id: call withId() or withRandomId()");
    }
    if (!config.ports && !config.hasMsg) {
      throw new TypeError(
        "Cannot build a chart without data: call withServicePort(), withServicePorts() or customMsg()",
      );
    }
    if (config.seeds) checkSeedFamilies(config.seeds, config.family);
    return await openChart<F>({
      id: config.id,
      header: config.header,
      discoveryPort: config.discoveryPort,
      ...(config.ports ? { ports: config.ports } : { msg: config.msg }),
      rampdown: config.rampdown,
      localDiscovery: config.localDiscovery,
      transport: config.transport,
      interfaces: config.interfaces,
      family: config.family,
      expiry: config.expiry,
      keys: config.keys,
      limits: config.limits,
      onError: config.onError,
      seeds: config.seeds,
      nameServer: config.nameServer,
      multicast: config.multicast,
    });
  }

  // deno-lint-ignore no-explicit-any
  #with(changes: Partial<BuilderConfig>): any {
    const builder = new ChartBuilder();
    builder.#config = { ...this.#config, ...changes };
    return builder;
  }
}

/** An error handler that cannot end the process: what it throws goes to stderr. */
function guarded(onError: (error: Error) => void): (error: Error) => void {
  return (error) => {
    try {
      onError(error);
    } catch (thrown) {
      console.error("instance-chart: the error handler threw", thrown, "while handling", error);
    }
  };
}
