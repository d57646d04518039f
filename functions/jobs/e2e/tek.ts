/**
 * Temporary exposure keys as a phone uploads them, and the HMAC over them that binds a verification
 * certificate to exactly those keys. The HMAC is computed the way the key server recomputes it
 * (exposure-notifications-server, CalculateExposureKeyHMAC): keys sorted by their base64 text, each
 * written as `key.intervalNumber.intervalCount.transmissionRisk`, joined by commas, HMAC-SHA256.
 * The key-server stand-in imports the same function, so both sides agree by construction, and the
 * unit test pins the format against a hand-computed value.
 */
import { createHmac, randomBytes } from 'node:crypto';

export interface ExposureKey {
  /** 16 random bytes, base64. */
  readonly key: string;
  /** 10-minute intervals since the epoch at which the key started. */
  readonly rollingStartNumber: number;
  /** How many intervals the key was used for; 144 is one day. */
  readonly rollingPeriod: number;
  readonly transmissionRisk: number;
}

export const INTERVALS_PER_DAY = 144;
const INTERVAL_MS = 10 * 60_000;

/** The interval number of the UTC midnight at or before `now`. */
export function utcDayInterval(now: Date): number {
  const interval = Math.floor(now.getTime() / INTERVAL_MS);
  return interval - (interval % INTERVALS_PER_DAY);
}

export function randomKey(rollingStartNumber: number): ExposureKey {
  return {
    key: randomBytes(16).toString('base64'),
    rollingStartNumber,
    rollingPeriod: INTERVALS_PER_DAY,
    transmissionRisk: 0,
  };
}

/** `count` keys, one per day, going back from the current UTC day (the original makes 14). */
export function generateKeys(now: Date, count = 14): ExposureKey[] {
  const today = utcDayInterval(now);
  return Array.from({ length: count }, (_, day) => randomKey(today - day * INTERVALS_PER_DAY));
}

export function exposureKeyHmac(keys: readonly ExposureKey[], secret: Buffer): Buffer {
  if (keys.length === 0) throw new Error('cannot compute the HMAC of no keys');
  const cleartext = [...keys]
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((k) => `${k.key}.${k.rollingStartNumber}.${k.rollingPeriod}.${k.transmissionRisk}`)
    .join(',');
  return createHmac('sha256', secret).update(cleartext).digest();
}

/** YYYY-MM-DD in UTC. */
export function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}
