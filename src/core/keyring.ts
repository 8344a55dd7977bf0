/**
 * Shared keys that sign and verify datagrams: the first key signs, every key
 * verifies, so that keys can be rotated without losing a peer.
 *
 * @module
 */

import { HmacSha256, sha256 } from "./hmac.ts";
import { SIGNATURE_SIZE } from "./wire.ts";

const KEY_ID_SIZE = 4;
const TAG_SIZE = SIGNATURE_SIZE - KEY_ID_SIZE;
/** The shortest key accepted, in bytes. */
export const MIN_KEY_SIZE = 16;

/** Why a datagram failed verification. */
export type VerifyFailure = "unsigned" | "unknown-key" | "bad-signature";

/**
 * Converts a key given as text (UTF-8) or bytes, checking its length.
 *
 * @param key The key.
 * @returns The key's bytes (a copy).
 * @throws {TypeError} If the key is neither a string nor a Uint8Array.
 * @throws {RangeError} If the key is shorter than 16 bytes.
 */
export function keyBytes(key: string | Uint8Array): Uint8Array {
  let bytes: Uint8Array;
  if (typeof key === "string") bytes = new TextEncoder().encode(key);
  else if (key instanceof Uint8Array) bytes = key.slice();
  else throw new TypeError(`Cannot use key of type ${typeof key}: not a string or Uint8Array`);
  if (bytes.length < MIN_KEY_SIZE) {
    throw new RangeError(
      `Cannot use a key of ${bytes.length} bytes: at least ${MIN_KEY_SIZE} are needed (32 random bytes are best)`,
    );
  }
  return bytes;
}

/** A key's public name: the first 4 bytes of a hash of it, so a receiver tries one key. */
function keyId(key: Uint8Array): Uint8Array {
  const label = new TextEncoder().encode("instance-chart key id\0");
  const input = new Uint8Array(label.length + key.length);
  input.set(label);
  input.set(key, label.length);
  return sha256(input).subarray(0, KEY_ID_SIZE);
}

/** The keys of a chart. */
export class Keyring {
  readonly #signer: { id: Uint8Array; hmac: HmacSha256 };
  readonly #byId = new Map<number, HmacSha256[]>();

  /**
   * Prepares keys.
   *
   * @param keys The keys, the one that signs first.
   * @throws {TypeError} If the list is not an array, or a key (a hole
   *   included) is neither a string nor a Uint8Array.
   * @throws {RangeError} If there is no key, or one is too short.
   */
  constructor(keys: readonly (string | Uint8Array)[]) {
    if (!Array.isArray(keys)) throw new TypeError("Cannot use keys: not an array");
    if (keys.length === 0) throw new RangeError("Cannot use an empty list of keys");
    // Array.from, not map(): a hole must fail as a missing key, not be skipped.
    const prepared = Array.from(keys, (key) => {
      const bytes = keyBytes(key);
      return { id: keyId(bytes), hmac: new HmacSha256(bytes) };
    });
    this.#signer = prepared[0];
    for (const { id, hmac } of prepared) {
      const number = new DataView(id.buffer, id.byteOffset).getUint32(0);
      this.#byId.set(number, [...(this.#byId.get(number) ?? []), hmac]);
    }
  }

  /** The id of the key that signs, written into the signature field. */
  get signerId(): Uint8Array {
    return this.#signer.id;
  }

  /**
   * Signs a datagram whose last 20 bytes are the signature field's value,
   * with the key id written and the tag still empty: the tag covers every
   * byte before it.
   *
   * @param datagram The datagram, signed in place.
   */
  sign(datagram: Uint8Array): void {
    const tagStart = datagram.length - TAG_SIZE;
    const tag = new Uint8Array(32);
    this.#signer.hmac.macInto(datagram, 0, tagStart, tag);
    datagram.set(tag.subarray(0, TAG_SIZE), tagStart);
  }

  /**
   * Verifies a datagram whose signature ends it (see {@linkcode sign}).
   *
   * @param datagram The datagram.
   * @param signatureStart Where the signature's 20 bytes start, or -1 if it has none.
   * @returns `undefined` when a key verifies it, or why none does.
   */
  verify(datagram: Uint8Array, signatureStart: number): VerifyFailure | undefined {
    if (signatureStart < 0) return "unsigned";
    const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
    const candidates = this.#byId.get(view.getUint32(signatureStart));
    if (!candidates) return "unknown-key";
    const tagStart = signatureStart + KEY_ID_SIZE;
    for (const hmac of candidates) {
      if (hmac.verify(datagram, 0, tagStart, datagram, tagStart, TAG_SIZE)) return undefined;
    }
    return "bad-signature";
  }
}
