/**
 * The built-in transports, and the choice between them for a
 * {@linkcode TransportKind}.
 *
 * @module
 */

import type { Transport, TransportKind } from "./transport.ts";
import { denoTransport } from "./transport_deno.ts";
import { nodeTransport } from "./transport_node.ts";

/**
 * Returns whether `Deno.listenDatagram` is available in this process.
 *
 * @returns `true` in Deno run with `--unstable-net`.
 */
export function hasDenoDatagram(): boolean {
  // deno-lint-ignore no-explicit-any
  const deno = (globalThis as any).Deno;
  return typeof deno?.listenDatagram === "function";
}

/**
 * Resolves a transport kind to a transport.
 *
 * @param kind The kind.
 * @returns The transport.
 * @throws {TypeError} For `"deno"` where `Deno.listenDatagram` is unavailable.
 */
export function resolveTransport(kind: TransportKind): Transport {
  if (typeof kind === "object") return kind;
  if (kind === "auto") return hasDenoDatagram() ? denoTransport : nodeTransport;
  if (kind === "node") return nodeTransport;
  if (!hasDenoDatagram()) {
    throw new TypeError(
      'Cannot use the "deno" transport: Deno.listenDatagram needs --unstable-net',
    );
  }
  return denoTransport;
}
