/**
 * The abuse-prevention math at its edges: the least-squares line, 13 against 14 complete days,
 * the 20-day window, rounding, a negative prediction, the clamp at both ends, broken counts, and
 * the factor truncated to two decimals in exact decimal arithmetic.
 */
import {
  effectiveLimit,
  fitLine,
  MAX_DAYS,
  MIN_DAYS,
  predictLimit,
} from '../../../functions/jobs/modeler-worker/abuse-model';
import type { IssuedDay } from '../../../functions/jobs/modeler-worker/abuse-model';

const WIDE = { min: 0, max: 1_000_000 };

/** Consecutive days ending 2026-03-20, oldest first, with these counts. */
function days(counts: readonly number[]): IssuedDay[] {
  return counts.map((codesIssued, index) => ({
    date: new Date(Date.UTC(2026, 2, 21 - counts.length + index)).toISOString().slice(0, 10),
    codesIssued,
  }));
}

describe('fitLine', () => {
  it('recovers an exact line', () => {
    const { slope, intercept } = fitLine([3, 5, 7, 9, 11]);
    expect(slope).toBeCloseTo(2, 12);
    expect(intercept).toBeCloseTo(3, 12);
  });

  it('matches the normal equations on noisy data', () => {
    const ys = [10, 14, 9, 20, 18, 25, 21];
    const n = ys.length;
    const xs = ys.map((_, x) => x);
    const sx = xs.reduce((a, b) => a + b, 0);
    const sy = ys.reduce((a, b) => a + b, 0);
    const sxy = xs.reduce((a, x) => a + x * ys[x], 0);
    const sxx = xs.reduce((a, x) => a + x * x, 0);
    const slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
    const fitted = fitLine(ys);
    expect(fitted.slope).toBeCloseTo(slope, 12);
    expect(fitted.intercept).toBeCloseTo((sy - slope * sx) / n, 12);
  });

  it('treats a single point as flat', () => {
    expect(fitLine([42])).toEqual({ slope: 0, intercept: 42 });
  });
});

describe('predictLimit', () => {
  it('skips 13 complete days and models 14', () => {
    expect(MIN_DAYS).toBe(14);
    expect(predictLimit(days(Array(13).fill(50)), WIDE)).toEqual({ kind: 'too-little-data', days: 13 });
    expect(predictLimit(days(Array(14).fill(50)), WIDE)).toMatchObject({
      kind: 'predicted',
      days: 14,
      limit: 50,
    });
  });

  it('extends the trend one day past the last one', () => {
    // 10, 12, ..., 36 over 14 days: the next is 38.
    const counts = Array.from({ length: 14 }, (_, i) => 10 + 2 * i);
    const prediction = predictLimit(days(counts), WIDE);
    expect(prediction).toMatchObject({ kind: 'predicted', limit: 38 });
    expect(prediction.kind === 'predicted' && prediction.raw).toBeCloseTo(38, 9);
  });

  it('fits only the newest 20 days', () => {
    expect(MAX_DAYS).toBe(20);
    // Ten old days of 1000 would drag the line up if they were fitted.
    const counts = [...Array(10).fill(1000), ...Array(20).fill(30)];
    expect(predictLimit(days(counts), WIDE)).toMatchObject({ days: 20, limit: 30 });
  });

  it('rounds half away from zero', () => {
    // Flat at 12.5 on average: alternate 12 and 13 symmetrically so the slope is 0.
    const counts = [12, 13, 13, 12, 12, 13, 13, 12, 12, 13, 13, 12, 12, 13, 13, 12];
    const prediction = predictLimit(days(counts), WIDE);
    expect(prediction.kind === 'predicted' && prediction.raw).toBeCloseTo(12.5, 9);
    expect(prediction).toMatchObject({ limit: 13 });
  });

  it('turns a negative prediction into 0 before clamping', () => {
    const falling = Array.from({ length: 14 }, (_, i) => 130 - 10 * i); // 130 ... 0, next -10
    expect(predictLimit(days(falling), { min: 0, max: 100 })).toMatchObject({ limit: 0 });
    expect(predictLimit(days(falling), { min: 10, max: 100 })).toMatchObject({ limit: 10 });
  });

  it('clamps at both ends', () => {
    expect(predictLimit(days(Array(14).fill(3)), { min: 10, max: 20000 })).toMatchObject({ limit: 10 });
    expect(predictLimit(days(Array(14).fill(50_000)), { min: 10, max: 20000 })).toMatchObject({
      limit: 20000,
    });
    expect(predictLimit(days(Array(14).fill(10)), { min: 10, max: 10 })).toMatchObject({ limit: 10 });
  });

  it('fits zero-issue days like any other', () => {
    expect(predictLimit(days(Array(14).fill(0)), { min: 0, max: 100 })).toMatchObject({ limit: 0 });
  });

  it('names a day with a negative count instead of modelling it', () => {
    const broken = days(Array(14).fill(40));
    broken[3] = { ...broken[3], codesIssued: -5 };
    expect(() => predictLimit(broken, WIDE)).toThrow(
      `realm_stats for ${broken[3].date} has codes_issued = -5, which cannot be a count; correct or delete that row`,
    );
  });
});

describe('effectiveLimit', () => {
  it('is ceil(limit × factor) with the factor truncated to two decimals', () => {
    expect(effectiveLimit(100, '1.00000')).toBe(100);
    expect(effectiveLimit(100, '1.5')).toBe(150);
    expect(effectiveLimit(101, '1.50000')).toBe(152); // 151.5 rounds up
    expect(effectiveLimit(100, '1.23999')).toBe(123); // truncated, not rounded
    expect(effectiveLimit(7, '0.99999')).toBe(7); // 6.93 → 7
    expect(effectiveLimit(100, '0.00900')).toBe(0); // truncated to 0.00
    expect(effectiveLimit(3, '0')).toBe(0);
    expect(effectiveLimit(20000, '999.99999')).toBe(19_999_800);
  });

  it('keeps 1.15 as 1.15 (the original truncated the float32 to 1.14)', () => {
    expect(effectiveLimit(100, '1.15000')).toBe(115);
    expect(effectiveLimit(1000, '1.15')).toBe(1150);
    expect(effectiveLimit(100, '2.01')).toBe(201);
  });

  it('refuses a factor that is not a non-negative number, naming the column', () => {
    for (const factor of ['-1.00000', 'NaN', '', 'abc']) {
      expect(() => effectiveLimit(100, factor)).toThrow(
        /abuse_prevention_limit_factor is .*not a non-negative number/,
      );
    }
  });
});
