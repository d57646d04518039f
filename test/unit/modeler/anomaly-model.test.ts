/**
 * The code-claim-ratio model at its edges: the window (today never used, yesterday as "last",
 * history from 90 days back), zero-issue days skipped, the 30-ratio cap, 13 against 14 ratios, the
 * ratio capped at 1, the population standard deviation, and the anomaly rule with the E2E realm
 * excluded.
 */
import {
  buildAnomalyModel,
  claimRatio,
  daysBefore,
  isAnomalous,
  MAX_RATIOS,
  MIN_RATIOS,
} from '../../../functions/jobs/modeler-worker/anomaly-model';
import type { ClaimDay } from '../../../functions/jobs/modeler-worker/anomaly-model';

const TODAY = '2026-03-21';

/** A day `ago` days before TODAY. */
function day(ago: number, codesIssued: number, codesClaimed: number): ClaimDay {
  return { date: daysBefore(TODAY, ago), codesIssued, codesClaimed };
}

/** History days 2..n+1 days ago with the given claimed counts out of 100. */
function history(claimed: readonly number[]): ClaimDay[] {
  return claimed.map((value, index) => day(index + 2, 100, value));
}

describe('daysBefore', () => {
  it('crosses months and leap days', () => {
    expect(daysBefore('2024-03-01', 1)).toBe('2024-02-29');
    expect(daysBefore('2026-01-01', 90)).toBe('2025-10-03');
  });
});

describe('buildAnomalyModel', () => {
  it('skips 13 ratios and models 14', () => {
    expect(MIN_RATIOS).toBe(14);
    expect(buildAnomalyModel(history(Array(13).fill(80)), TODAY)).toEqual({
      kind: 'too-little-data',
      ratios: 13,
    });
    expect(buildAnomalyModel(history(Array(14).fill(80)), TODAY)).toMatchObject({
      kind: 'modelled',
      ratios: 14,
      mean: 0.8,
      stddev: 0,
    });
  });

  it('uses the population standard deviation (divides by n)', () => {
    // Seven days at 0.6 and seven at 1.0: mean 0.8, population stddev exactly 0.2
    // (the sample stddev would be 0.2076).
    const model = buildAnomalyModel(history([...Array(7).fill(60), ...Array(7).fill(100)]), TODAY);
    expect(model.kind === 'modelled' && model.mean).toBeCloseTo(0.8, 12);
    expect(model.kind === 'modelled' && model.stddev).toBeCloseTo(0.2, 12);
  });

  it('skips days that issued nothing, and counts missing days as such', () => {
    const rows = [
      ...history(Array(14).fill(50)).map((row, index) =>
        index % 2 === 0 ? row : { ...row, codesIssued: 0, codesClaimed: 0 },
      ),
    ];
    // Only 7 days issued anything: not enough.
    expect(buildAnomalyModel(rows, TODAY)).toEqual({ kind: 'too-little-data', ratios: 7 });
  });

  it('takes at most the 30 newest issuing days', () => {
    expect(MAX_RATIOS).toBe(30);
    // 30 recent days at 0.9, then 30 older at 0.1: only the recent ones count.
    const model = buildAnomalyModel(history([...Array(30).fill(90), ...Array(30).fill(10)]), TODAY);
    expect(model).toMatchObject({ kind: 'modelled', ratios: 30 });
    expect(model.kind === 'modelled' && model.mean).toBeCloseTo(0.9, 12);
  });

  it('ignores today and anything older than 90 days', () => {
    const rows = [
      day(0, 100, 0), // today, partial
      ...history(Array(14).fill(70)),
      day(91, 100, 0), // outside the window
      day(120, 100, 0),
    ];
    const model = buildAnomalyModel(rows, TODAY);
    expect(model).toMatchObject({ kind: 'modelled', ratios: 14 });
    expect(model.kind === 'modelled' && model.mean).toBeCloseTo(0.7, 12);
  });

  it('reaches back exactly 90 days', () => {
    // 13 days near the start of the window plus one exactly 90 days back: 14.
    const rows = [...history(Array(13).fill(70)), day(90, 100, 70)];
    expect(buildAnomalyModel(rows, TODAY)).toMatchObject({ kind: 'modelled', ratios: 14 });
  });

  it('caps a ratio at 1 (claims of codes issued the day before)', () => {
    expect(claimRatio({ date: TODAY, codesIssued: 10, codesClaimed: 15 })).toBe(1);
    const model = buildAnomalyModel([...history(Array(14).fill(150)), day(1, 10, 30)], TODAY);
    expect(model).toMatchObject({ mean: 1, stddev: 0, last: 1 });
  });

  it("takes yesterday's ratio as last, and 1 when yesterday issued nothing or has no row", () => {
    const base = history(Array(14).fill(80));
    expect(buildAnomalyModel([...base, day(1, 100, 25)], TODAY)).toMatchObject({ last: 0.25 });
    expect(buildAnomalyModel([...base, day(1, 0, 0)], TODAY)).toMatchObject({ last: 1 });
    expect(buildAnomalyModel(base, TODAY)).toMatchObject({ last: 1 });
  });

  it('names a day with a negative count', () => {
    const rows = [...history(Array(14).fill(80)), day(1, 100, -1)];
    expect(() => buildAnomalyModel(rows, TODAY)).toThrow(
      `realm_stats for ${daysBefore(TODAY, 1)} has codes_claimed = -1, which cannot be a count`,
    );
  });
});

describe('isAnomalous', () => {
  const model = { kind: 'modelled', ratios: 14, mean: 0.8, stddev: 0.1, last: 0.55 } as const;

  it('is true only below the mean by more than the allowed deviations', () => {
    expect(isAnomalous(model, { allowedStdevs: 2, isE2e: false })).toBe(true); // 0.25 > 0.2
    expect(isAnomalous(model, { allowedStdevs: 3, isE2e: false })).toBe(false); // 0.25 < 0.3
    // Exactly 2σ below (binary-exact values) is not "more than".
    expect(
      isAnomalous({ ...model, mean: 0.75, stddev: 0.125, last: 0.5 }, { allowedStdevs: 2, isE2e: false }),
    ).toBe(false);
    expect(isAnomalous({ ...model, last: 1 }, { allowedStdevs: 0, isE2e: false })).toBe(false); // above the mean
  });

  it('never reports the E2E realm, nor a realm without a model', () => {
    expect(isAnomalous(model, { allowedStdevs: 2, isE2e: true })).toBe(false);
    expect(isAnomalous({ kind: 'too-little-data', ratios: 3 }, { allowedStdevs: 0, isE2e: false })).toBe(
      false,
    );
  });
});
