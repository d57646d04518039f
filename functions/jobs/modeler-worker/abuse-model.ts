/**
 * The abuse-prevention model (enx-jobs.md §6 A): a straight line fitted by least squares through a
 * realm's recent daily code counts, extended one day ahead, becomes the realm's daily limit.
 *
 * Differences from the original, on purpose:
 * - Only complete days are fitted. The original fetched today's partial row too and, meaning to
 *   drop it, dropped the oldest row instead (its list was still newest first), so every fit ended
 *   on a day that had barely started and pulled the prediction down. Here the query stops before
 *   today, and the model wants at least 14 complete days and fits at most 20, the window the
 *   original meant (21 rows minus the partial one).
 * - The limit factor is truncated to two decimals in decimal arithmetic. The original multiplied a
 *   float32 by 100 and floored it, so a factor of 1.15 became 1.14.
 * - Negative counts are broken statistics: the realm fails with the day named, nothing is written.
 * As in the original, days without a row are not filled with zeros: x counts rows, not calendar
 * days.
 */

/** Fewer complete days than this: too little data, the realm keeps its limit. */
export const MIN_DAYS = 14;
/** The most recent complete days fitted. */
export const MAX_DAYS = 20;

export interface IssuedDay {
  /** YYYY-MM-DD (UTC). */
  readonly date: string;
  readonly codesIssued: number;
}

export type LimitPrediction =
  | { readonly kind: 'too-little-data'; readonly days: number }
  | {
      readonly kind: 'predicted';
      readonly days: number;
      /** The line's value one day after the last fitted day. */
      readonly raw: number;
      /** raw rounded, negatives as 0, clamped to [min, max]. */
      readonly limit: number;
    };

/** Least-squares line y = intercept + slope·x through (0, y0) ... (n-1, yn-1). */
export function fitLine(ys: readonly number[]): { slope: number; intercept: number } {
  const n = ys.length;
  if (n === 0) throw new Error('cannot fit a line through no points');
  const meanX = (n - 1) / 2;
  const meanY = ys.reduce((sum, y) => sum + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  ys.forEach((y, x) => {
    sxy += (x - meanX) * (y - meanY);
    sxx += (x - meanX) ** 2;
  });
  // One point: no trend to measure, the prediction is that point.
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { slope, intercept: meanY - slope * meanX };
}

/** Half away from zero, like Go's math.Round (JavaScript's Math.round rounds -2.5 to -2). */
function roundHalfAwayFromZero(value: number): number {
  return Math.sign(value) * Math.round(Math.abs(value));
}

/**
 * The next limit from complete days, OLDEST FIRST (at most MAX_DAYS of them are used, the newest).
 * Throws, naming the day, on a count that cannot be real.
 */
export function predictLimit(
  days: readonly IssuedDay[],
  bounds: { readonly min: number; readonly max: number },
): LimitPrediction {
  for (const day of days) {
    if (!Number.isInteger(day.codesIssued) || day.codesIssued < 0) {
      throw new Error(
        `realm_stats for ${day.date} has codes_issued = ${day.codesIssued}, which cannot be a count; correct or delete that row`,
      );
    }
  }
  const window = days.slice(-MAX_DAYS);
  if (window.length < MIN_DAYS) return { kind: 'too-little-data', days: window.length };
  const { slope, intercept } = fitLine(window.map((day) => day.codesIssued));
  const raw = intercept + slope * window.length;
  let next = roundHalfAwayFromZero(raw);
  if (next < 0) next = 0;
  const limit = Math.min(bounds.max, Math.max(bounds.min, next));
  return { kind: 'predicted', days: window.length, raw, limit };
}

/**
 * The quota the server enforces: ceil(limit × factor), the factor truncated to two decimals (the
 * precision the server's admin page offers). `factorText` is the numeric column as Postgres prints
 * it; exact decimal arithmetic, so 1.15 stays 1.15.
 */
export function effectiveLimit(limit: number, factorText: string): number {
  const match = /^(\d+)(?:\.(\d*))?$/.exec(factorText.trim());
  if (!match) {
    throw new Error(
      `abuse_prevention_limit_factor is ${factorText}, not a non-negative number; set it (1.0 is the default) in the realm's settings`,
    );
  }
  const hundredths = Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0').slice(0, 2));
  const product = limit * hundredths;
  if (!Number.isSafeInteger(product))
    throw new Error(`limit ${limit} × factor ${factorText} is out of range`);
  return Math.ceil(product / 100);
}
