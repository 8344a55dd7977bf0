/**
 * The wire format of announcements, compatible with the Rust crate
 * `instance-chart`.
 *
 * A port announcement starts with the layout bincode 1.x gives the Rust
 * crate's `DiscoveryMsg { header: u64, id: u64, msg: [u16; N] }`: the header
 * (8 bytes, little-endian), the id (8 bytes, little-endian) and the N service
 * ports (2 bytes each, little-endian), 16 + 2N bytes in all. The Rust receiver
 * ignores everything after those bytes, so this module adds its own fields in
 * an extension after them:
 *
 * ```text
 * offset 16 + 2N  "ic"      2 bytes, marks the extension
 *                 version   1 byte, 1
 *                 flags     1 byte: bit 0 reply, bit 1 probe, bit 2 goodbye
 *                 fields    type (1 byte), length (2 bytes LE), value; repeated
 * ```
 *
 * The fields: 1 the custom message (UTF-8 JSON), 2 the time-to-live in
 * milliseconds (u32), 3 the sender's incarnation (u64), 4 its sequence number
 * (u32, one more for every datagram it sends), 6 how long the sender has
 * been listening, in milliseconds (u32), 7 the ids of instances the sender
 * asks to answer it (u64 each, at most {@linkcode MAX_ASKS}), 5 the signature
 * of charts with keys (a 4-byte key id and a 16-byte HMAC-SHA-256 tag over
 * every byte before the tag), always last. Fields of unknown types are skipped, so newer
 * versions can add fields.
 *
 * A custom-message announcement has no ports: the extension follows the id
 * directly. Rust peers cannot read it; such charts interoperate only with this
 * module. A goodbye carries the bitwise complement of the header, so that Rust
 * peers (which drop other headers) never take it for an announcement, then
 * the id and an extension with the goodbye flag.
 *
 * @module
 */

/** The header of the Rust crate: announcements of other applications differ in it. */
export const DEFAULT_HEADER: bigint = 6687164552036412667n;
/** The UDP port announcements are multicast to, unless another is chosen. */
export const DEFAULT_DISCOVERY_PORT: number = 8080;
/** The IPv4 multicast group every instance joins. */
export const MULTICAST_GROUP: string = "224.0.0.251";
/**
 * The IPv6 multicast group: mDNS's link-local group, as 224.0.0.251 is its
 * IPv4 one, on our own discovery port.
 */
export const MULTICAST_GROUP_V6: string = "ff02::fb";
/**
 * The largest datagram sent or accepted, in bytes. The Rust crate reads
 * datagrams into a buffer of this size.
 */
export const MAX_DATAGRAM_SIZE: number = 1024;
/**
 * Bytes after the Rust-compatible prefix kept free for the extension, so that
 * the largest port list or message still leaves room for it.
 */
export const EXTENSION_RESERVE: number = 128;
/** The most bytes of service data (2 per port, or a message's JSON) one announcement carries. */
export const MAX_PAYLOAD_SIZE: number = MAX_DATAGRAM_SIZE - 16 - EXTENSION_RESERVE;

const PREFIX_SIZE = 16;
const MAGIC_0 = 0x69; // "i"
const MAGIC_1 = 0x63; // "c"
const VERSION = 1;
const EXTENSION_HEAD_SIZE = 4;
const FIELD_HEAD_SIZE = 3;
const FLAG_REPLY = 1;
const FLAG_PROBE = 2;
const FLAG_GOODBYE = 4;
const FIELD_MSG = 1;
const FIELD_TTL = 2;
const FIELD_INCARNATION = 3;
const FIELD_SEQ = 4;
const FIELD_LISTENING = 6;
const FIELD_ASKS = 7;
const FIELD_SIGNATURE = 5;
const UINT32_MAX = 0xffff_ffff;

/**
 * The most ids one announcement asks to answer (field 7), as many as fit in
 * a datagram of the bare prefix and the field; fewer fit beside larger data
 * (see {@linkcode asksThatFit}).
 */
export const MAX_ASKS: number = Math.floor(
  (MAX_DATAGRAM_SIZE - PREFIX_SIZE - EXTENSION_HEAD_SIZE - FIELD_HEAD_SIZE) / 8,
);

/** The bytes a signature takes at the end of a datagram: a 4-byte key id and a 16-byte tag. */
export const SIGNATURE_SIZE: number = 20;

const UINT64_LIMIT = 1n << 64n;

/**
 * How the service data of announcements is laid out: a fixed number of
 * ports, a custom message, or (for tools that watch every chart) whichever
 * each datagram holds.
 */
export type Layout =
  | { readonly kind: "ports"; readonly count: number }
  | { readonly kind: "msg" }
  | { readonly kind: "any" };

/** One decoded announcement. */
export interface Announcement {
  /** Which application sent it. */
  header: bigint;
  /** The sending instance. */
  id: bigint;
  /** The service ports, for the `"ports"` layout. */
  ports?: readonly number[];
  /** The custom message, for the `"msg"` layout. */
  msg?: unknown;
  /** Whether it answers an announcement (and so must not be answered). */
  reply: boolean;
  /** Whether it asks for an answer although the receiver knows the sender. */
  probe?: boolean;
  /** Whether the sender leaves: it carries no ports or msg. */
  goodbye?: boolean;
  /** How long the sender stays charted without another word, in milliseconds. */
  ttl?: number;
  /** The sender's incarnation: a new one each time it starts, later ones greater. */
  incarnation?: bigint;
  /** The sender's sequence number, one more for every datagram it sends. */
  seq?: number;
  /** How long the sender has been running discovery, in milliseconds: what it may have heard. */
  listening?: number;
  /**
   * The instances the sender asks to answer it, as a probe would: those it
   * has no credit to probe. Only they answer; to others it is an announcement.
   */
  asks?: readonly bigint[];
  /**
   * For encoding: the id of the key that will sign the datagram; the
   * signature field is written last, with its tag left empty for the keyring.
   */
  signerId?: Uint8Array;
}

/**
 * The header a goodbye carries: the complement of the application's header.
 *
 * @param header The application's header.
 * @returns The goodbye header.
 */
export function goodbyeHeader(header: bigint): bigint {
  return header ^ 0xffff_ffff_ffff_ffffn;
}

/** Why a datagram was not taken as an announcement. */
export type DropReason =
  | "too-short"
  | "too-long"
  | "other-header"
  | "wrong-layout"
  | "bad-extension"
  | "bad-msg";

/** Every {@linkcode DropReason}, in a fixed order. */
export const DROP_REASONS: readonly DropReason[] = Object.freeze([
  "too-short",
  "too-long",
  "other-header",
  "wrong-layout",
  "bad-extension",
  "bad-msg",
]);

/** The result of {@linkcode decodeAnnouncement}. */
export type DecodeResult =
  | { ok: true; announcement: Announcement }
  | { ok: false; reason: DropReason };

/**
 * Returns whether a value is an unsigned 64-bit integer.
 *
 * @param value The value to check.
 * @returns `true` for a bigint in [0, 2^64).
 */
export function isUint64(value: bigint): boolean {
  return value >= 0n && value < UINT64_LIMIT;
}

/**
 * Encodes an announcement.
 *
 * A port announcement that is not a reply is exactly the Rust crate's layout,
 * with no extension.
 *
 * @param announcement What to announce: `ports` for the `"ports"` layout,
 *   `msg` (any JSON-serialisable value) for the `"msg"` layout.
 * @returns The datagram.
 * @throws {RangeError} If the datagram would be larger than
 *   {@linkcode MAX_DATAGRAM_SIZE}, or a port or id is out of range.
 *
 * @example Encode the Rust crate's announcement of id 7 with port 9042
 * ```ts
 * import { encodeAnnouncement, DEFAULT_HEADER } from "./wire.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = encodeAnnouncement({ header: DEFAULT_HEADER, id: 7n, ports: [9042], reply: false });
 * assert.equal(bytes.toHex(), "fbecb6deba94cd5c07000000000000005223");
 * ```
 */
export function encodeAnnouncement(announcement: Announcement): Uint8Array {
  const { header, id, ttl, incarnation, seq, listening, asks, signerId } = announcement;
  const { ports, msg, flags, size } = measure(announcement);

  // One allocation: every field is written in place.
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, announcement.goodbye ? goodbyeHeader(header) : header, true);
  view.setBigUint64(8, id, true);
  let offset = PREFIX_SIZE;
  for (const port of ports ?? []) {
    if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
      throw new RangeError(`Cannot encode port ${port}: not in 0..65535`);
    }
    view.setUint16(offset, port, true);
    offset += 2;
  }
  if (offset === size) return bytes;
  bytes[offset] = MAGIC_0;
  bytes[offset + 1] = MAGIC_1;
  bytes[offset + 2] = VERSION;
  bytes[offset + 3] = flags;
  offset += EXTENSION_HEAD_SIZE;
  const field = (type: number, length: number): number => {
    bytes[offset] = type;
    view.setUint16(offset + 1, length, true);
    const start = offset + FIELD_HEAD_SIZE;
    offset = start + length;
    return start;
  };
  if (msg !== undefined) bytes.set(msg, field(FIELD_MSG, msg.length));
  if (ttl !== undefined) view.setUint32(field(FIELD_TTL, 4), ttl, true);
  if (incarnation !== undefined) view.setBigUint64(field(FIELD_INCARNATION, 8), incarnation, true);
  if (seq !== undefined) view.setUint32(field(FIELD_SEQ, 4), seq, true);
  if (listening !== undefined) view.setUint32(field(FIELD_LISTENING, 4), listening, true);
  if (asks !== undefined && asks.length > 0) {
    const start = field(FIELD_ASKS, 8 * asks.length);
    for (const [i, asked] of asks.entries()) view.setBigUint64(start + 8 * i, asked, true);
  }
  // The signature's first 4 bytes name the key; the rest is filled in when it is signed.
  if (signerId !== undefined) {
    bytes.set(signerId.subarray(0, 4), field(FIELD_SIGNATURE, SIGNATURE_SIZE));
  }
  return bytes;
}

/**
 * How many of some ids an announcement can ask to answer: as many as fit
 * beside its other fields in {@linkcode MAX_DATAGRAM_SIZE}.
 *
 * @param announcement The announcement, without asks.
 * @returns How many ids fit, at most {@linkcode MAX_ASKS}.
 * @throws {RangeError} If the announcement itself does not fit, or a field is out of range.
 * @throws {TypeError} If its custom message has no JSON form.
 */
export function asksThatFit(announcement: Announcement): number {
  const { size } = measure({ ...announcement, asks: undefined });
  // An extension head too, when the announcement has none yet.
  const head = size === PREFIX_SIZE + 2 * (announcement.ports?.length ?? 0)
    ? EXTENSION_HEAD_SIZE
    : 0;
  const room = Math.floor((MAX_DATAGRAM_SIZE - size - head - FIELD_HEAD_SIZE) / 8);
  return Math.max(0, Math.min(MAX_ASKS, room));
}

/**
 * Checks an announcement's fields and works out its size, before anything
 * is allocated; with its service data as it goes on the wire.
 */
function measure(announcement: Announcement): {
  ports: readonly number[] | undefined;
  msg: Uint8Array | undefined;
  flags: number;
  size: number;
} {
  const { header, id, reply, probe, goodbye, ttl, incarnation, seq, listening, asks, signerId } =
    announcement;
  if (!isUint64(header)) throw new RangeError(`Cannot encode header ${header}: not a u64`);
  if (!isUint64(id)) throw new RangeError(`Cannot encode id ${id}: not a u64`);
  const ports = goodbye ? undefined : announcement.ports;
  const msg = ports === undefined && !goodbye ? encodeMsg(announcement.msg) : undefined;
  // The fields in the order they are written.
  let fieldsSize = 0;
  if (msg !== undefined) fieldsSize += FIELD_HEAD_SIZE + msg.length;
  if (ttl !== undefined) fieldsSize += FIELD_HEAD_SIZE + checkUint32(ttl, "ttl");
  if (incarnation !== undefined) {
    if (!isUint64(incarnation)) {
      throw new RangeError(`Cannot encode incarnation ${incarnation}: not a u64`);
    }
    fieldsSize += FIELD_HEAD_SIZE + 8;
  }
  if (seq !== undefined) fieldsSize += FIELD_HEAD_SIZE + checkUint32(seq, "seq");
  if (listening !== undefined) {
    fieldsSize += FIELD_HEAD_SIZE + checkUint32(listening, "listening");
  }
  if (asks !== undefined && asks.length > 0) {
    if (asks.length > MAX_ASKS) {
      throw new RangeError(`Cannot encode ${asks.length} asks: at most ${MAX_ASKS} fit`);
    }
    for (const asked of asks) {
      if (!isUint64(asked)) throw new RangeError(`Cannot encode ask ${asked}: not a u64`);
    }
    fieldsSize += FIELD_HEAD_SIZE + 8 * asks.length;
  }
  if (signerId !== undefined) fieldsSize += FIELD_HEAD_SIZE + SIGNATURE_SIZE;
  const flags = (reply ? FLAG_REPLY : 0) | (probe ? FLAG_PROBE : 0) | (goodbye ? FLAG_GOODBYE : 0);
  const hasExtension = flags !== 0 || fieldsSize > 0;
  const size = PREFIX_SIZE + 2 * (ports?.length ?? 0) +
    (hasExtension ? EXTENSION_HEAD_SIZE + fieldsSize : 0);
  if (size > MAX_DATAGRAM_SIZE) {
    throw new RangeError(
      `Cannot encode announcement of ${size} bytes: at most ${MAX_DATAGRAM_SIZE} fit in one datagram`,
    );
  }
  return { ports, msg, flags, size };
}

/** Throws unless the value is a u32; returns its size on the wire. */
function checkUint32(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0 || value > UINT32_MAX) {
    throw new RangeError(`Cannot encode ${name} ${value}: not a u32`);
  }
  return 4;
}

/**
 * Encodes a custom message as UTF-8 JSON.
 *
 * @param msg A JSON-serialisable value.
 * @returns The JSON bytes.
 * @throws {TypeError} If the value cannot be serialised to JSON.
 */
export function encodeMsg(msg: unknown): Uint8Array {
  let json: string | undefined;
  try {
    json = JSON.stringify(msg);
  } catch (error) {
    throw new TypeError(`Cannot serialise custom msg to JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (json === undefined) {
    throw new TypeError(`Cannot serialise custom msg to JSON: ${typeof msg} has no JSON form`);
  }
  return new TextEncoder().encode(json);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The longest message read byte by byte: beyond it, the decoder's call is cheaper. */
const ASCII_FAST_PATH = 128;

/**
 * Decodes strict UTF-8: a short ASCII message (the common JSON) without a
 * call into the runtime, which costs more than reading the bytes here.
 *
 * @throws {TypeError} If the bytes are not valid UTF-8.
 */
function decodeUtf8(bytes: Uint8Array): string {
  if (bytes.length > ASCII_FAST_PATH) return utf8.decode(bytes);
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] > 0x7f) return utf8.decode(bytes);
  }
  return String.fromCharCode.apply(null, bytes as unknown as number[]);
}

/**
 * Decodes a datagram as an announcement of the given header and layout.
 *
 * Never throws: a datagram that is not a valid announcement gives the reason
 * it was dropped. Bytes are read only within the datagram's bounds, and
 * nothing is allocated by a length taken from the datagram.
 *
 * @param bytes The datagram.
 * @param header The header of our application; other headers are dropped.
 * @param layout The layout of our chart's service data.
 * @returns The announcement, or why the datagram was dropped.
 *
 * @example Decode the Rust crate's announcement
 * ```ts
 * import { decodeAnnouncement, DEFAULT_HEADER } from "./wire.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = Uint8Array.fromHex("fbecb6deba94cd5c07000000000000005223");
 * const result = decodeAnnouncement(bytes, DEFAULT_HEADER, { kind: "ports", count: 1 });
 * assert.deepEqual(result, {
 *   ok: true,
 *   announcement: { header: DEFAULT_HEADER, id: 7n, ports: [9042], reply: false },
 * });
 * ```
 */
export function decodeAnnouncement(
  bytes: Uint8Array,
  header: bigint,
  layout: Layout,
): DecodeResult {
  if (bytes.length > MAX_DATAGRAM_SIZE) return { ok: false, reason: "too-long" };
  if (bytes.length < PREFIX_SIZE) return { ok: false, reason: "too-short" };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const first = view.getBigUint64(0, true);
  const id = view.getBigUint64(8, true);
  if (first !== header) {
    if (first !== goodbyeHeader(header)) return { ok: false, reason: "other-header" };
    const extension = parseExtension(bytes, view, PREFIX_SIZE);
    if (
      typeof extension === "string" || !(extension.flags & FLAG_GOODBYE) ||
      extension.msg !== undefined
    ) {
      return { ok: false, reason: "other-header" };
    }
    return { ok: true, announcement: withExtension({ header, id, reply: false }, extension) };
  }

  let start: number;
  let extension: ReturnType<typeof parseExtension> | undefined;
  if (layout.kind === "any") {
    start = findExtension(bytes, view);
    if (start === bytes.length && (start - PREFIX_SIZE) % 2 !== 0) {
      return { ok: false, reason: "bad-extension" };
    }
  } else {
    start = PREFIX_SIZE + (layout.kind === "ports" ? 2 * layout.count : 0);
    if (bytes.length < start) {
      return { ok: false, reason: isMsgAnnouncement(bytes, view) ? "wrong-layout" : "too-short" };
    }
  }
  // A port announcement may end right after its ports: the bare Rust layout.
  if (start < bytes.length) extension = parseExtension(bytes, view, start);
  if (typeof extension === "string") {
    // A msg chart takes bytes that do not even start an extension for ports;
    // a port chart takes a well-formed msg announcement for another layout.
    const otherLayout = layout.kind === "msg"
      ? extension === "no-extension"
      : layout.kind === "ports" && isMsgAnnouncement(bytes, view);
    return { ok: false, reason: otherLayout ? "wrong-layout" : "bad-extension" };
  }

  const announcement = withExtension({ header, id, reply: false }, extension);
  if (announcement.goodbye) return { ok: false, reason: "bad-extension" };
  const msg = extension?.msg;
  const isMsg = layout.kind === "msg" || (layout.kind === "any" && msg !== undefined);
  if (isMsg) {
    if (msg === undefined || start !== PREFIX_SIZE) return { ok: false, reason: "wrong-layout" };
    try {
      announcement.msg = JSON.parse(decodeUtf8(msg));
    } catch {
      return { ok: false, reason: "bad-msg" };
    }
    return { ok: true, announcement };
  }
  if (msg !== undefined) return { ok: false, reason: "wrong-layout" };
  const count = (start - PREFIX_SIZE) / 2;
  const ports = new Array<number>(count);
  for (let i = 0; i < count; i++) ports[i] = view.getUint16(PREFIX_SIZE + 2 * i, true);
  announcement.ports = ports;
  return { ok: true, announcement };
}

interface Extension {
  flags: number;
  msg?: Uint8Array;
  ttl?: number;
  incarnation?: bigint;
  seq?: number;
  listening?: number;
  asks?: bigint[];
}

/** Copies an extension's flags and fields into an announcement. */
function withExtension(announcement: Announcement, extension?: Extension): Announcement {
  if (!extension) return announcement;
  announcement.reply = (extension.flags & FLAG_REPLY) !== 0;
  if (extension.flags & FLAG_PROBE) announcement.probe = true;
  if (extension.flags & FLAG_GOODBYE) announcement.goodbye = true;
  if (extension.ttl !== undefined) announcement.ttl = extension.ttl;
  if (extension.incarnation !== undefined) announcement.incarnation = extension.incarnation;
  if (extension.seq !== undefined) announcement.seq = extension.seq;
  if (extension.listening !== undefined) announcement.listening = extension.listening;
  if (extension.asks !== undefined) announcement.asks = extension.asks;
  return announcement;
}

/**
 * Parses the extension from `start` to the end of the datagram; returns why
 * it is malformed when it is.
 */
function parseExtension(
  bytes: Uint8Array,
  view: DataView,
  start: number,
): Extension | "no-extension" | "bad-extension" {
  if (
    bytes.length - start < EXTENSION_HEAD_SIZE || bytes[start] !== MAGIC_0 ||
    bytes[start + 1] !== MAGIC_1 || bytes[start + 2] !== VERSION
  ) {
    return "no-extension";
  }
  const extension: Extension = { flags: bytes[start + 3] };
  let offset = start + EXTENSION_HEAD_SIZE;
  while (offset < bytes.length) {
    if (bytes.length - offset < FIELD_HEAD_SIZE) return "bad-extension";
    const type = bytes[offset];
    const length = view.getUint16(offset + 1, true);
    const valueStart = offset + FIELD_HEAD_SIZE;
    if (bytes.length - valueStart < length) return "bad-extension";
    if (type === FIELD_MSG) {
      if (extension.msg !== undefined) return "bad-extension";
      extension.msg = bytes.subarray(valueStart, valueStart + length);
    } else if (type === FIELD_TTL || type === FIELD_SEQ || type === FIELD_LISTENING) {
      const key = type === FIELD_TTL ? "ttl" : type === FIELD_SEQ ? "seq" : "listening";
      if (length !== 4 || extension[key] !== undefined) return "bad-extension";
      extension[key] = view.getUint32(valueStart, true);
    } else if (type === FIELD_INCARNATION) {
      if (length !== 8 || extension.incarnation !== undefined) return "bad-extension";
      extension.incarnation = view.getBigUint64(valueStart, true);
    } else if (type === FIELD_ASKS) {
      const count = length / 8;
      if (
        !Number.isInteger(count) || count < 1 || count > MAX_ASKS || extension.asks !== undefined
      ) {
        return "bad-extension";
      }
      extension.asks = new Array<bigint>(count);
      for (let i = 0; i < count; i++) {
        extension.asks[i] = view.getBigUint64(valueStart + 8 * i, true);
      }
    } else if (type === FIELD_SIGNATURE) {
      // Checked by the keyring before decoding; it must end the datagram.
      if (length !== SIGNATURE_SIZE || valueStart + length !== bytes.length) {
        return "bad-extension";
      }
    }
    // Fields of unknown types come from newer versions: skipped.
    offset = valueStart + length;
  }
  return extension;
}

/**
 * Finds the signature that ends a datagram: where its 20 bytes (key id and
 * tag) start, or -1 when the datagram does not end with one.
 *
 * @param bytes The datagram.
 * @returns The signature's offset, or -1.
 */
export function findSignature(bytes: Uint8Array): number {
  const start = bytes.length - SIGNATURE_SIZE;
  const fieldStart = start - FIELD_HEAD_SIZE;
  if (fieldStart < PREFIX_SIZE + EXTENSION_HEAD_SIZE || bytes[fieldStart] !== FIELD_SIGNATURE) {
    return -1;
  }
  if (bytes[fieldStart + 1] !== SIGNATURE_SIZE || bytes[fieldStart + 2] !== 0) return -1;
  return start;
}

/** Whether a datagram is a well-formed custom-message announcement. */
function isMsgAnnouncement(bytes: Uint8Array, view: DataView): boolean {
  const extension = parseExtension(bytes, view, PREFIX_SIZE);
  return typeof extension !== "string" && extension.msg !== undefined;
}

/**
 * Finds where the extension starts when the number of ports is unknown: the
 * first even offset after the id where a well-formed extension runs to the
 * end, or the datagram's end when there is none (the bare Rust layout).
 */
function findExtension(bytes: Uint8Array, view: DataView): number {
  for (let offset = PREFIX_SIZE; offset + EXTENSION_HEAD_SIZE <= bytes.length; offset += 2) {
    if (bytes[offset] === MAGIC_0 && typeof parseExtension(bytes, view, offset) !== "string") {
      return offset;
    }
  }
  return bytes.length;
}
