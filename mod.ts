/**
 * Instances of a service find each other on the same network or machine,
 * with no server: each instance multicasts a small announcement (an
 * application header, its id, and the ports of its real service or a custom
 * message), and every instance keeps a live chart of who is out there, at
 * which address. A lightweight alternative to mDNS, and a port of the Rust
 * crate `instance-chart`, with which it interoperates on the wire.
 *
 * @example Find the other instances of a service on this machine
 * ```ts ignore
 * import { ChartBuilder, foundEveryone, maintain } from "@x/instance-chart";
 *
 * await using chart = await new ChartBuilder()
 *   .withRandomId()
 *   .withServicePort(8042)
 *   .localDiscovery(true)
 *   .finish();
 * maintain(chart);
 * await foundEveryone(chart, 3);
 * for (const [id, address] of chart.addrVec()) console.log(id, address);
 * ```
 *
 * @module
 */

export { ChartBuilder, type SeedOptions } from "./src/builder.ts";
export { Chart, type ChartEvents, type EventsOptions, type ServiceAddress } from "./src/chart.ts";
export type { Counters, DropCounter } from "./src/core/counters.ts";
export type { ChartEvent, Entry, MsgEntry, PortEntry, RemoveReason } from "./src/core/entry.ts";
export { DEFAULT_BARE_TTL } from "./src/core/expiry.ts";
export type { ExpiryOptions, Limits } from "./src/core/protocol.ts";
export { MAX_SERVICE_PORTS } from "./src/config.ts";
export {
  type DiscoveryOptions,
  foundEveryone,
  foundMajority,
  maintain,
  sniff,
  type WaitOptions,
} from "./src/discovery.ts";
export { DiscoveryError, EventOverflowError } from "./src/errors.ts";
export type { OverflowPolicy } from "./src/events.ts";
export { DEFAULT_RAMPDOWN, type Rampdown } from "./src/core/interval.ts";
export type { AddressFamily, InterfaceOptions } from "./src/io/interfaces.ts";
export type { VerifyFailure } from "./src/core/keyring.ts";
export type { ReplyLimits } from "./src/core/limiter.ts";
export type {
  DatagramSocket,
  SocketOptions,
  Transport,
  TransportKind,
} from "./src/io/transport.ts";
export {
  DEFAULT_DISCOVERY_PORT,
  DEFAULT_HEADER,
  type DropReason,
  MAX_DATAGRAM_SIZE,
  MULTICAST_GROUP,
} from "./src/core/wire.ts";
