/**
 * The chart the CLI opens: it charts announcements of any layout (ports or a
 * custom message, however many ports), shares the discovery port with the
 * machine's other instances, and announces only when told what to announce.
 *
 * @module
 */

import { type Chart, DEFAULT_RAMPDOWN, DiscoveryError, type Entry } from "../../mod.ts";
import { listInterfaces, type NetInterface, selectInterfaces } from "../io/interfaces.ts";
import { openChart } from "../chart.ts";
import { keyBytes, MIN_KEY_SIZE } from "../core/keyring.ts";
import { randomId } from "../ids.ts";
import type { Announcement, ChartOptions } from "./args.ts";

/** The environment variable the shared key is read from when no key file is named. */
export const KEY_VARIABLE = "INSTANCE_CHART_KEY";

const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
/** The key files already warned about, so that the doctor's two charts warn once. */
const warned = new Set<string>();

/**
 * The largest key file read, in bytes. A key is best 32 random bytes; a
 * larger file is a mistake (a wrong path, `/dev/zero`), and is refused
 * before it fills the memory.
 */
export const MAX_KEY_FILE_SIZE = 4_096;

/** Reads a file's first bytes, at most `limit` of them: a device or a pipe may never end. */
function readAtMost(path: string, limit: number): Uint8Array {
  using file = Deno.openSync(path);
  const bytes = new Uint8Array(limit);
  let length = 0;
  while (length < limit) {
    const read = file.readSync(bytes.subarray(length));
    if (read === null) break;
    length += read;
  }
  return bytes.slice(0, length);
}

/**
 * Reads the shared key: from the key file, else from the environment, else
 * none. Never from the command line, where other users of the machine could
 * read it.
 *
 * A key file holds the key's bytes, taken as they are, except that a file
 * that is UTF-8 text loses one final line break (`\n` or `\r\n`), as editors
 * and `echo` add one. The environment variable holds the key as text and
 * loses one final line break too. So a text key gives the same key from a
 * file and from the environment, a binary key file is never decoded (two
 * different files give one key only when they differ in that final line
 * break), and `withKeys` takes the same bytes. A key file that its group or
 * others may access (mode & 0o077) gets a warning, as ssh gives.
 *
 * @param keyFile The key file, if one was named.
 * @param warn Called with a warning about the key file.
 * @returns The key's bytes, or `undefined` for none.
 * @throws {DiscoveryError} If the key file cannot be read or is larger than
 *   {@linkcode MAX_KEY_FILE_SIZE}, or the key (from the file or the
 *   environment) is empty.
 */
export function readKey(
  keyFile: string | undefined,
  warn: (message: string) => void = (message) => console.error(`instance-chart: ${message}`),
): Uint8Array | undefined {
  if (keyFile === undefined) {
    const text = Deno.env.get(KEY_VARIABLE);
    if (text === undefined) return undefined;
    const key = withoutFinalLineBreak(new TextEncoder().encode(text));
    if (key.length === 0) {
      throw new DiscoveryError(
        `Cannot use ${KEY_VARIABLE}: it is empty; unset it to run without a key`,
      );
    }
    return key;
  }
  let bytes: Uint8Array;
  let mode: number | null;
  try {
    bytes = readAtMost(keyFile, MAX_KEY_FILE_SIZE + 1);
    mode = Deno.statSync(keyFile).mode;
  } catch (error) {
    throw new DiscoveryError(`Cannot read key file ${keyFile}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (bytes.length > MAX_KEY_FILE_SIZE) {
    throw new DiscoveryError(
      `Cannot use key file ${keyFile}: it is larger than ${MAX_KEY_FILE_SIZE} bytes, too large for a key (32 random bytes are best)`,
    );
  }
  // Null where the system has no such modes (Windows).
  if (mode !== null && (mode & 0o077) !== 0 && !warned.has(keyFile)) {
    warned.add(keyFile);
    const octal = (mode & 0o777).toString(8).padStart(4, "0");
    warn(
      `key file ${keyFile} is accessible by group or others (mode ${octal}): ` +
        `\`chmod 600 ${keyFile}\` keeps the key to its owner`,
    );
  }
  const key = isText(bytes) ? withoutFinalLineBreak(bytes) : bytes;
  if (key.length === 0) throw new DiscoveryError(`Cannot use key file ${keyFile}: it is empty`);
  return key;
}

/** Whether bytes are UTF-8 text. */
function isText(bytes: Uint8Array): boolean {
  try {
    utf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** The bytes without one final `\n` or `\r\n`. */
function withoutFinalLineBreak(bytes: Uint8Array): Uint8Array {
  if (bytes.at(-1) !== LINE_FEED) return bytes;
  const end = bytes.at(-2) === CARRIAGE_RETURN ? bytes.length - 2 : bytes.length - 1;
  return bytes.subarray(0, end);
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
    family: options.family,
    keys: key === undefined ? undefined : [key],
    // A chart that only listens sends nothing: its seeds would hear nothing of it.
    ...(announcement && options.seeds
      ? { seeds: options.seeds, nameServer: options.nameServer, multicast: options.multicast }
      : {}),
    onError,
  }).catch((error) => {
    // The library's advice names its API; the CLI shares the port already.
    const code = (error as Error).cause && ((error as Error).cause as { code?: string }).code;
    if (!(error instanceof DiscoveryError) || (code !== "EADDRINUSE" && code !== "EACCES")) {
      throw error;
    }
    const reason = code === "EADDRINUSE"
      ? "address in use by a program that does not share it (a Rust instance, say)"
      : "permission denied";
    throw new DiscoveryError(
      `Cannot bind discovery port ${options.discoveryPort}: ${reason}; choose another port ` +
        "with --discovery-port",
      { cause: (error as Error).cause },
    );
  });
}

/**
 * Why interface flags select nothing, if they do: a name that no interface
 * has, or a selection that leaves no interface that is up to discover on.
 *
 * @param selection What the flags ask for.
 * @param all The machine's interfaces.
 * @param family The address families.
 * @returns The problem, naming the interfaces there are, or `undefined`.
 */
export function selectionProblem(
  selection: ChartOptions["interfaces"],
  all: readonly NetInterface[] = listInterfaces(),
  family: ChartOptions["family"] = "both",
): string | undefined {
  const names = [...new Set(all.map((iface) => iface.name))];
  const there = `the interfaces here are ${names.join(", ") || "none"}`;
  const unknown = (selection.include ?? []).filter((name) => !names.includes(name));
  if (unknown.length > 0) {
    return `--interface ${unknown.join(", ")}: no such interface; ${there}`;
  }
  if (selectInterfaces(all, selection, true, family).length === 0) {
    const flags = family === "both" ? "interface flags" : `interface flags and --family ${family}`;
    return `the ${flags} leave no interface that is up to discover on; ${there}`;
  }
  return undefined;
}
