/**
 * What the shell reads of the system for the core: the start of a run, as
 * an incarnation. The core itself reads no clock and draws no randomness.
 *
 * @module
 */

import { incarnationOf } from "./core/identity.ts";

/**
 * A new incarnation for a chart that starts now: greater than any this
 * instance had before, as long as the wall clock does not go back.
 *
 * @returns The incarnation.
 */
export function newIncarnation(): bigint {
  // Math.random, not crypto.getRandomValues: the low bits only tell apart two
  // starts in one millisecond, and nothing is secret in them (they go out in
  // every announcement), while Node.js loads its Web Crypto on the first call,
  // 1.3 to 1.6 ms of a fresh process's way to its first announcement.
  return incarnationOf(Date.now(), Math.floor(Math.random() * 0x100000));
}
