/**
 * Time as a dependency. Job logic never calls `Date.now()`: tests and the time-travel simulator
 * hand it a clock they control, and every retention threshold is computed from the same instant.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
