/**
 * The time between announcements: short while an instance starts, so that it
 * is found fast, and longer once it runs, so that the link stays quiet.
 *
 * @module
 */

/** The announcement interval's ramp, in milliseconds. */
export interface Rampdown {
  /**
   * The interval right after start.
   *
   * @default {100}
   */
  min: number;
  /**
   * The interval once the ramp is over.
   *
   * @default {1000}
   */
  max: number;
  /**
   * How long the interval takes to grow from `min` to `max`.
   *
   * @default {10000}
   */
  rampdown: number;
}

/** The ramp of the Rust crate: 100 ms growing to 1 s over the first 10 s. */
export const DEFAULT_RAMPDOWN: Readonly<Rampdown> = Object.freeze({
  min: 100,
  max: 1_000,
  rampdown: 10_000,
});

/** How far an interval may stray from its nominal value, as a fraction (±10%). */
export const JITTER = 0.1;

/**
 * Checks a ramp and returns a copy of it.
 *
 * @param rampdown The ramp to check.
 * @returns A copy of the ramp.
 * @throws {TypeError} If a duration is not a finite number.
 * @throws {RangeError} If a duration is negative or `min` exceeds `max`.
 */
export function validateRampdown(rampdown: Rampdown): Rampdown {
  for (const key of ["min", "max", "rampdown"] as const) {
    const value = rampdown[key];
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new TypeError(
        `Cannot use rampdown ${key} ${
          typeof value === "string" ? JSON.stringify(value) : String(value)
        }: not a finite number of milliseconds`,
      );
    }
    if (value < 0) throw new RangeError(`Cannot use rampdown ${key} ${value}: negative`);
  }
  if (rampdown.min > rampdown.max) {
    throw new RangeError(
      `Cannot use rampdown min ${rampdown.min} ms: it exceeds max ${rampdown.max} ms`,
    );
  }
  if (rampdown.max === 0) throw new RangeError("Cannot use rampdown max 0 ms: it must be positive");
  return { min: rampdown.min, max: rampdown.max, rampdown: rampdown.rampdown };
}

/**
 * The nominal interval (without jitter) at a time since start: it grows
 * linearly from `min` to `max` over `rampdown`, then stays at `max`.
 *
 * @param rampdown The ramp.
 * @param elapsed Milliseconds since the instance started announcing.
 * @returns The interval in milliseconds.
 */
export function nominalInterval(rampdown: Rampdown, elapsed: number): number {
  if (rampdown.rampdown <= 0 || elapsed >= rampdown.rampdown) return rampdown.max;
  const progress = Math.max(0, elapsed) / rampdown.rampdown;
  return rampdown.min + (rampdown.max - rampdown.min) * progress;
}

/**
 * The interval to wait before the next announcement: the nominal interval
 * with ±10% jitter, so that instances started together drift apart.
 *
 * @param rampdown The ramp.
 * @param elapsed Milliseconds since the instance started announcing.
 * @param random A number in [0, 1), such as `Math.random()`.
 * @returns The interval in milliseconds.
 *
 * @example The interval half-way through the default ramp
 * ```ts
 * import { DEFAULT_RAMPDOWN, nextInterval } from "./interval.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(nextInterval(DEFAULT_RAMPDOWN, 5_000, 0.5), 550);
 * ```
 */
export function nextInterval(rampdown: Rampdown, elapsed: number, random: number): number {
  return nominalInterval(rampdown, elapsed) * (1 - JITTER + 2 * JITTER * random);
}
