/**
 * A tiny seeded PRNG (mulberry32). Math.random cannot be seeded, and a simulation must replay
 * identically from its seed, so a failure seen once can be studied again.
 */
export type Random = () => number;

export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * One independent stream per name (a job id), so a job's draws do not shift when another job is
 * added to the scenario or makes more attempts.
 */
export function streamFor(seed: number, name: string): Random {
  let hash = 2_166_136_261;
  for (let index = 0; index < name.length; index += 1) {
    hash = Math.imul(hash ^ name.charCodeAt(index), 16_777_619);
  }
  return seededRandom((seed ^ hash) >>> 0);
}
