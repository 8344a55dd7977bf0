/**
 * HMAC-SHA-256 (RFC 2104, FIPS 180-4), synchronous and allocation-free per
 * message: the key's inner and outer pad states are computed once, so that
 * authenticating a small datagram takes three SHA-256 compressions. The
 * runtimes' own HMACs (WebCrypto, `node:crypto`) cost an async hop or a
 * native call each, which caps them near 20,000 to 40,000 datagrams per
 * second here; this runs at several hundred thousand.
 *
 * @module
 */

const K = new Int32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);
const INITIAL = new Int32Array([
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
]);
const BLOCK = 64;
/** The length of an HMAC-SHA-256 tag, in bytes. */
export const HMAC_SIZE = 32;

/**
 * The buffers a hash writes as it goes: the message schedule and the padded
 * last blocks. Each hasher owns its own, so that the module holds no state.
 */
interface Scratch {
  /** The message schedule of one block. */
  readonly w: Int32Array;
  /** The last one or two blocks, padded. */
  readonly tail: Uint8Array;
}

function newScratch(): Scratch {
  return { w: new Int32Array(64), tail: new Uint8Array(2 * BLOCK) };
}

/** Runs the SHA-256 compression on one 64-byte block of `bytes` at `offset`. */
function compress(state: Int32Array, bytes: Uint8Array, offset: number, w: Int32Array): void {
  for (let i = 0; i < 16; i++) {
    const j = offset + 4 * i;
    w[i] = (bytes[j] << 24) | (bytes[j + 1] << 16) | (bytes[j + 2] << 8) | bytes[j + 3];
  }
  for (let i = 16; i < 64; i++) {
    const a = w[i - 15];
    const b = w[i - 2];
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
  }
  let a = state[0], b = state[1], c = state[2], d = state[3];
  let e = state[4], f = state[5], g = state[6], h = state[7];
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + s1 + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0] + a) | 0;
  state[1] = (state[1] + b) | 0;
  state[2] = (state[2] + c) | 0;
  state[3] = (state[3] + d) | 0;
  state[4] = (state[4] + e) | 0;
  state[5] = (state[5] + f) | 0;
  state[6] = (state[6] + g) | 0;
  state[7] = (state[7] + h) | 0;
}

/**
 * Hashes `bytes[start, end)` onto a state that has already taken `prefix`
 * bytes (whole blocks), and writes the digest into `out` at `outOffset`.
 */
function finish(
  state: Int32Array,
  prefix: number,
  bytes: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  outOffset: number,
  scratch: Scratch,
): void {
  const { w, tail } = scratch;
  let offset = start;
  for (; offset + BLOCK <= end; offset += BLOCK) compress(state, bytes, offset, w);
  const rest = end - offset;
  tail.fill(0);
  tail.set(bytes.subarray(offset, end));
  tail[rest] = 0x80;
  const blocks = rest + 9 > BLOCK ? 2 : 1;
  const bits = (prefix + end - start) * 8;
  const last = blocks * BLOCK;
  // Messages here are far below 2^32 bits: the high word of the length is 0.
  tail[last - 4] = bits >>> 24;
  tail[last - 3] = bits >>> 16;
  tail[last - 2] = bits >>> 8;
  tail[last - 1] = bits;
  compress(state, tail, 0, w);
  if (blocks === 2) compress(state, tail, BLOCK, w);
  for (let i = 0; i < 8; i++) {
    const word = state[i];
    out[outOffset + 4 * i] = word >>> 24;
    out[outOffset + 4 * i + 1] = word >>> 16;
    out[outOffset + 4 * i + 2] = word >>> 8;
    out[outOffset + 4 * i + 3] = word;
  }
}

/**
 * Returns the SHA-256 digest of some bytes.
 *
 * @param bytes The message.
 * @returns The 32-byte digest.
 */
export function sha256(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  finish(INITIAL.slice(), 0, bytes, 0, bytes.length, out, 0, newScratch());
  return out;
}

/** HMAC-SHA-256 with one key, its pad states computed once. */
export class HmacSha256 {
  readonly #inner = new Int32Array(8);
  readonly #outer = new Int32Array(8);
  readonly #state = new Int32Array(8);
  readonly #digest = new Uint8Array(HMAC_SIZE);
  readonly #scratch = newScratch();

  /**
   * Prepares a key.
   *
   * @param key The key, of any length.
   */
  constructor(key: Uint8Array) {
    const block = new Uint8Array(BLOCK);
    block.set(key.length > BLOCK ? sha256(key) : key);
    const pad = new Uint8Array(BLOCK);
    for (const [state, byte] of [[this.#inner, 0x36], [this.#outer, 0x5c]] as const) {
      for (let i = 0; i < BLOCK; i++) pad[i] = block[i] ^ byte;
      state.set(INITIAL);
      compress(state, pad, 0, this.#scratch.w);
    }
  }

  /**
   * Computes the tag of `bytes[start, end)` into `out` at `outOffset`.
   *
   * @param bytes The message's buffer.
   * @param start Where the message starts.
   * @param end Where it ends.
   * @param out Where to write the 32-byte tag.
   * @param outOffset Where in `out`.
   */
  macInto(bytes: Uint8Array, start: number, end: number, out: Uint8Array, outOffset = 0): void {
    const state = this.#state;
    state.set(this.#inner);
    finish(state, BLOCK, bytes, start, end, this.#digest, 0, this.#scratch);
    state.set(this.#outer);
    finish(state, BLOCK, this.#digest, 0, HMAC_SIZE, out, outOffset, this.#scratch);
  }

  /**
   * Returns the tag of some bytes.
   *
   * @param bytes The message.
   * @returns The 32-byte tag.
   */
  mac(bytes: Uint8Array): Uint8Array {
    const out = new Uint8Array(HMAC_SIZE);
    this.macInto(bytes, 0, bytes.length, out);
    return out;
  }

  /**
   * Checks a (possibly truncated) tag of `bytes[start, end)` in time that
   * does not depend on where it differs.
   *
   * @param bytes The message's buffer.
   * @param start Where the message starts.
   * @param end Where it ends.
   * @param tag The buffer holding the tag.
   * @param tagOffset Where the tag starts.
   * @param tagLength How many leading bytes of the tag to check.
   * @returns Whether the tag is right.
   */
  verify(
    bytes: Uint8Array,
    start: number,
    end: number,
    tag: Uint8Array,
    tagOffset: number,
    tagLength: number,
  ): boolean {
    const expected = this.#digest;
    const state = this.#state;
    state.set(this.#inner);
    finish(state, BLOCK, bytes, start, end, expected, 0, this.#scratch);
    state.set(this.#outer);
    finish(state, BLOCK, expected, 0, HMAC_SIZE, expected, 0, this.#scratch);
    let difference = 0;
    for (let i = 0; i < tagLength; i++) difference |= expected[i] ^ tag[tagOffset + i];
    return difference === 0;
  }
}
