/**
 * The chart the CLI opens: it charts announcements of any layout (ports or a
 * custom message, however many ports), shares the discovery port with the
 * machine's other instances, and announces only when told what to announce.
 *
 * @module
 */

import { type Chart, DEFAULT_RAMPDOWN, DiscoveryError, type Entry } from "../../mod.ts";
import { openChart } from "../chart.ts";
import { keyBytes, MIN_KEY_SIZE } from "../core/keyring.ts";
import { randomId } from "../ids.ts";
import type { Announcement, ChartOptions } from "./args.ts";

/** The environment variable the shared key is read from when no key file is named. */
export const KEY_VARIABLE = "INSTANCE_CHART_KEY";

/**
 * Reads the shared key: from the key file, else from the environment, else
 * none. Never from the command line, where other users of the machine could
 * read it.
 *
 * @param keyFile The key file, if one was named.
 * @returns The key, or `undefined` for none.
 * @throws {DiscoveryError} If the key file cannot be read or is empty.
 */
export function readKey(keyFile: string | undefined): string | undefined {
  if (keyFile === undefined) return Deno.env.get(KEY_VARIABLE) || undefined;
  let text: string;
  try {
    text = Deno.readTextFileSync(keyFile);
  } catch (error) {
    throw new DiscoveryError(`Cannot read key file ${keyFile}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const key = text.replace(/\r?\n$/, "");
  if (key === "") throw new DiscoveryError(`Cannot use key file ${keyFile}: it is empty`);
  return key;
}

/**
 * Opens a chart for the CLI.
 *
 * @param options The header, discovery port, interfaces and key.
 * @param announcement What to announce; without it, the chart only listens.
 * @param onError Called with send and receive errors.
 * @returns The chart.
 * @throws {DiscoveryError} If the discovery port cannot be bound, the key
 *   cannot be read, or it is too short.
 */
export function openCliChart(
  options: ChartOptions,
  announcement?: Announcement,
  onError?: (error: Error) => void,
): Promise<Chart<Entry>> {
  const data = announcement === undefined
    ? {}
    : "ports" in announcement
    ? { ports: announcement.ports }
    : { msg: announcement.msg };
  const key = readKey(options.keyFile);
  if (key !== undefined) {
    try {
      keyBytes(key);
    } catch (cause) {
      const message = `Cannot use the shared key: it has fewer than ${MIN_KEY_SIZE} bytes`;
      throw new DiscoveryError(message, { cause });
    }
  }
  return openChart({
    id: announcement?.id ?? randomId(),
    header: options.header,
    discoveryPort: options.discoveryPort,
    ...data,
    layout: { kind: "any" },
    rampdown: { ...DEFAULT_RAMPDOWN },
    localDiscovery: true,
    transport: "auto",
    interfaces: options.interfaces,
    keys: key === undefined ? undefined : [key],
    onError,
  });
}
