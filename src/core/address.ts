/**
 * IP addresses of both families, as text: reading and writing them, the
 * subnet rule the answer policy uses, and the `host:port` form of a seed.
 * Pure: no name is resolved here.
 *
 * @module
 */

/** An address read from text. */
export interface ParsedAddress {
  /** 4 or 6. */
  family: 4 | 6;
  /** Its bytes: 4 for IPv4, 16 for IPv6 (an IPv4-mapped IPv6 address stays IPv6). */
  bytes: Uint8Array;
  /** An IPv6 address's zone (`eth0` in `fe80::1%eth0`), if it has one. */
  zone?: string;
}

/**
 * Reads a dotted IPv4 address.
 *
 * @param text The text, such as `198.18.0.1`.
 * @returns Its four bytes, or `undefined` when it is not one.
 */
function readIPv4(text: string): Uint8Array | undefined {
  // Read character by character, with no regular expression: a fresh process
  // compiles each one at its first use, and every chart reads addresses as it
  // starts (its interfaces, the sockets of node:dgram).
  const bytes = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const code = i === text.length ? DOT : text.charCodeAt(i);
    if (code === DOT) {
      if (digits === 0 || part === 4) return undefined;
      bytes[part++] = value;
      value = 0;
      digits = 0;
    } else {
      // No signs, spaces, hex or octal-looking leading zeros: one spelling per address.
      if (code < ZERO || code > ZERO + 9 || (digits > 0 && value === 0)) return undefined;
      value = value * 10 + code - ZERO;
      if (++digits > 3 || value > 255) return undefined;
    }
  }
  return part === 4 ? bytes : undefined;
}

const DOT = 0x2e;
const ZERO = 0x30;
const COLON = 0x3a;

/** The value of a hexadecimal digit, or -1. */
function hexDigit(code: number): number {
  if (code >= ZERO && code <= ZERO + 9) return code - ZERO;
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/** An IPv6 group: one to four hexadecimal digits, or -1. */
function readGroup(field: string): number {
  if (field.length === 0 || field.length > 4) return -1;
  let value = 0;
  for (let i = 0; i < field.length; i++) {
    const digit = hexDigit(field.charCodeAt(i));
    if (digit === -1) return -1;
    value = value * 16 + digit;
  }
  return value;
}

/**
 * Reads an IPv6 address without its zone.
 *
 * @param text The text, such as `fd00::1` or `::ffff:198.18.0.1`.
 * @returns Its sixteen bytes, or `undefined` when it is not one.
 */
function readIPv6(text: string): Uint8Array | undefined {
  if (text === "") return undefined;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code !== COLON && code !== DOT && hexDigit(code) === -1) return undefined;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groupsOf = (half: string): number[] | undefined => {
    if (half === "") return [];
    const groups: number[] = [];
    const fields = half.split(":");
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i];
      if (field.includes(".")) {
        // An IPv4 tail, only as the last field.
        if (i !== fields.length - 1) return undefined;
        const v4 = readIPv4(field);
        if (!v4) return undefined;
        groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        const group = readGroup(field);
        if (group === -1) return undefined;
        groups.push(group);
      }
    }
    return groups;
  };
  const head = groupsOf(halves[0]);
  const tail = halves.length === 2 ? groupsOf(halves[1]) : [];
  if (!head || !tail) return undefined;
  const count = head.length + tail.length;
  if (halves.length === 2 ? count > 7 : count !== 8) return undefined;
  const groups = [...head, ...new Array<number>(8 - count).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    bytes[2 * i] = groups[i] >> 8;
    bytes[2 * i + 1] = groups[i] & 0xff;
  }
  return bytes;
}

/**
 * Reads an IP address of either family: a dotted IPv4 address, or an IPv6
 * address with an optional zone after `%`.
 *
 * @param text The text.
 * @returns The address, or `undefined` when the text is not one.
 */
export function parseAddress(text: string): ParsedAddress | undefined {
  if (!text.includes(":")) {
    const bytes = readIPv4(text);
    return bytes && { family: 4, bytes };
  }
  const cut = text.indexOf("%");
  const zone = cut === -1 ? undefined : text.slice(cut + 1);
  if (zone === "" || (zone !== undefined && /[%\s\[\]]/.test(zone))) return undefined;
  const bytes = readIPv6(cut === -1 ? text : text.slice(0, cut));
  if (!bytes) return undefined;
  return zone === undefined ? { family: 6, bytes } : { family: 6, bytes, zone };
}

/**
 * Writes an address in its one canonical form: dotted IPv4, or IPv6 as
 * RFC 5952 has it (lower case, no leading zeros, the longest run of two or
 * more zero groups as `::`), with its zone.
 *
 * @param address The address.
 * @returns The text.
 */
export function formatAddress(address: ParsedAddress): string {
  const { bytes } = address;
  if (address.family === 4) return bytes.join(".");
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[2 * i] << 8) | bytes[2 * i + 1]);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) =>
    groups.slice(from, to).map((group) => group.toString(16)).join(":");
  const text = bestStart === -1
    ? hex(0, 8)
    : `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
  return address.zone === undefined ? text : `${text}%${address.zone}`;
}

/**
 * Returns the canonical form of an address given as text.
 *
 * @param text The address.
 * @returns Its canonical form, or `undefined` when the text is not an address.
 */
export function canonicalAddress(text: string): string | undefined {
  const address = parseAddress(text);
  return address && formatAddress(address);
}

/**
 * Whether an address is link-local: `169.254.0.0/16`, or `fe80::/10`. A
 * link-local IPv6 address means nothing without its zone.
 *
 * @param text The address.
 * @returns `true` for a link-local address.
 */
export function isLinkLocal(text: string): boolean {
  const address = parseAddress(text);
  if (!address) return false;
  const { bytes } = address;
  return address.family === 4
    ? bytes[0] === 169 && bytes[1] === 254
    : bytes[0] === 0xfe && (bytes[1] & 0xc0) === 0x80;
}

/**
 * An address without its zone, if it has one: `fe80::1%eth0` is `fe80::1`.
 *
 * @param text The address.
 * @returns The address before its `%`.
 */
export function withoutZone(text: string): string {
  const cut = text.indexOf("%");
  return cut === -1 ? text : text.slice(0, cut);
}

/**
 * Whether an address is a loopback one: `127.0.0.0/8`, or `::1`.
 *
 * @param text The address.
 * @returns `true` for a loopback address.
 */
export function isLoopback(text: string): boolean {
  if (!text.includes(":")) return text.startsWith("127.") && readIPv4(text) !== undefined;
  // Asked for every datagram's source: only what could be ::1 is parsed.
  const bare = withoutZone(text);
  if (!/^[0:]+1$/.test(bare)) return false;
  const address = parseAddress(bare);
  return address !== undefined && address.bytes.every((byte, i) => byte === (i === 15 ? 1 : 0));
}

/**
 * The length of a netmask's prefix: `255.255.255.0` is 24, and
 * `ffff:ffff:ffff:ffff::` is 64. A CIDR length (`24`, `/64`) is taken as it is.
 *
 * @param netmask The netmask.
 * @param family The family it is for.
 * @returns The prefix length, or `undefined` when the netmask is not one of that family.
 */
export function prefixLength(netmask: string, family: 4 | 6): number | undefined {
  const bits = family === 4 ? 32 : 128;
  const cidr = /^\/?(\d{1,3})$/.exec(netmask);
  if (cidr) {
    const length = Number(cidr[1]);
    return length <= bits ? length : undefined;
  }
  const mask = parseAddress(netmask);
  if (!mask || mask.family !== family) return undefined;
  let length = 0;
  let ended = false;
  for (const byte of mask.bytes) {
    for (let bit = 7; bit >= 0; bit--) {
      const set = (byte >> bit & 1) === 1;
      // Ones, then only zeros: anything else is not a netmask.
      if (set && ended) return undefined;
      if (set) length++;
      else ended = true;
    }
  }
  return length;
}

/**
 * Whether two addresses of the same family share the first `prefix` bits:
 * whether `address` is on the subnet of an interface with address `local`.
 * Zones are not compared: the caller knows which interface it asks about.
 *
 * @param address The address heard.
 * @param local The interface's address.
 * @param prefix The interface's prefix length.
 * @returns `true` when both are addresses of one family and on one subnet.
 */
export function sharesPrefix(address: string, local: string, prefix: number): boolean {
  const a = parseAddress(address);
  const b = parseAddress(local);
  if (!a || !b || a.family !== b.family) return false;
  const whole = Math.min(prefix >> 3, a.bytes.length);
  for (let i = 0; i < whole; i++) if (a.bytes[i] !== b.bytes[i]) return false;
  const rest = prefix & 7;
  if (rest === 0 || whole >= a.bytes.length) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a.bytes[whole] & mask) === (b.bytes[whole] & mask);
}

/** Where a seed points: an address, or a name to resolve. */
export interface SeedTarget {
  /** An address (canonical, with its zone), or a DNS name (lower case, no final dot). */
  host: string;
  /** Whether `host` is a name to resolve, rather than an address. */
  isName: boolean;
  /** The port, when the seed names one. */
  port?: number;
}

/**
 * Reads a seed as a user writes it: `198.18.1.5`, `198.18.1.5:8080`,
 * `fd00::5`, `[fd00::5]:8080`, `[fe80::1%eth0]:8080`, `peers.example` or
 * `peers.example:8080`.
 *
 * @param text The seed.
 * @returns The seed's host and port.
 * @throws {TypeError} If the text is neither an address nor a host name, with or without a port.
 * @throws {RangeError} If the port is not an integer from 1 to 65535.
 */
export function parseSeed(text: string): SeedTarget {
  const seed = text.trim();
  let host = seed;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(seed);
  if (bracketed) {
    host = bracketed[1];
    portText = bracketed[2];
    if (!host.includes(":")) {
      throw new TypeError(
        `Cannot use seed ${JSON.stringify(text)}: brackets are for IPv6 addresses`,
      );
    }
  } else if ((seed.match(/:/g) ?? []).length === 1) {
    const cut = seed.lastIndexOf(":");
    host = seed.slice(0, cut);
    portText = seed.slice(cut + 1);
  }
  let port: number | undefined;
  if (portText !== undefined) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65_535)) {
      throw new RangeError(
        `Cannot use seed ${JSON.stringify(text)}: its port must be an integer from 1 to 65535`,
      );
    }
  }
  const address = parseAddress(host);
  if (address) return withPort({ host: formatAddress(address), isName: false }, port);
  if (host.includes(":") || !isHostName(host)) {
    throw new TypeError(
      `Cannot use seed ${JSON.stringify(text)}: not an IP address or a host name ` +
        "(write an IPv6 address with a port as [address]:port)",
    );
  }
  return withPort({ host: host.toLowerCase().replace(/\.$/, ""), isName: true }, port);
}

function withPort(target: SeedTarget, port: number | undefined): SeedTarget {
  if (port !== undefined) target.port = port;
  return target;
}

/** Whether text is a DNS host name: dot-separated labels of letters, digits, `-` and `_`. */
function isHostName(text: string): boolean {
  const name = text.replace(/\.$/, "");
  if (name.length === 0 || name.length > 253) return false;
  // Dotted numbers that are no address (`198.18.1`) are a mistake, not a name.
  if (/^[\d.]+$/.test(name)) return false;
  return name.split(".").every((label) =>
    /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(label)
  );
}

/**
 * Writes an address and a port as a socket address: `198.18.0.1:7777`, or
 * `[fd00::1]:7777` for IPv6.
 *
 * @param host The address.
 * @param port The port.
 * @returns The text.
 */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The family of an address as text, valid or not: 6 when it has a colon,
 * as every IPv6 address has and no IPv4 address has.
 *
 * @param address The address.
 * @returns 4 or 6.
 */
export function familyOf(address: string): 4 | 6 {
  return address.includes(":") ? 6 : 4;
}

/**
 * A datagram's source as a socket reports it, as a chart keys it: an
 * IPv4-mapped IPv6 address (`::ffff:198.18.0.1`, from a dual-stack socket)
 * as IPv4, IPv6 in canonical form without its zone.
 *
 * @param hostname The source.
 * @returns The address.
 */
export function sourceAddress(hostname: string): string {
  if (!hostname.includes(":")) return hostname;
  // What a dual-stack socket reports for every IPv4 datagram: no parsing for it.
  if (hostname.startsWith("::ffff:") && hostname.indexOf(":", 7) === -1) {
    const v4 = hostname.slice(7);
    if (v4.includes(".")) return v4;
  }
  const address = parseAddress(withoutZone(hostname));
  if (!address) return hostname;
  const { bytes } = address;
  const mapped = bytes.slice(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff &&
    bytes[11] === 0xff;
  return mapped ? bytes.slice(12).join(".") : formatAddress(address);
}
