/**
 * A seeded pseudo-random generator (mulberry32), so that a test that draws
 * random datagrams or losses can be replayed exactly.
 *
 * @module
 */

/**
 * Returns a generator of numbers in [0, 1) from a seed.
 *
 * @param seed Any 32-bit integer.
 * @returns The generator.
 */
export function seededRandom(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
