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
  return incarnationOf(Date.now(), crypto.getRandomValues(new Uint32Array(1))[0]);
}
