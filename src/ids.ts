/**
 * Instance ids: checking one given by the caller, and drawing a random one.
 *
 * @module
 */

import { shown } from "./config.ts";
import { isUint64 } from "./core/wire.ts";

/**
 * Converts an id given as a bigint or a safe integer to a bigint.
 *
 * @param id The id.
 * @returns The id as a bigint.
 * @throws {TypeError} If the id is neither a bigint nor an integer number.
 * @throws {RangeError} If the id is not an unsigned 64-bit integer, or a number
 *   beyond `Number.MAX_SAFE_INTEGER`.
 */
export function toId(id: bigint | number): bigint {
  if (typeof id === "number") {
    if (!Number.isInteger(id)) throw new TypeError(`Cannot use id ${id}: not an integer`);
    if (!Number.isSafeInteger(id)) {
      throw new RangeError(`Cannot use id ${id}: beyond Number.MAX_SAFE_INTEGER, pass a bigint`);
    }
    id = BigInt(id);
  }
  if (typeof id !== "bigint") {
    throw new TypeError(`Cannot use id ${shown(id)}: not a bigint or number`);
  }
  if (!isUint64(id)) throw new RangeError(`Cannot use id ${id}: not an unsigned 64-bit integer`);
  return id;
}

/**
 * Returns a random unsigned 64-bit integer from the system's cryptographically
 * secure source, for ids (and the CLI's test headers).
 *
 * @returns The integer.
 */
export function randomId(): bigint {
  return crypto.getRandomValues(new BigUint64Array(1))[0];
}
