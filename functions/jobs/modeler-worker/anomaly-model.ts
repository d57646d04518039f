/**
 * The code-claim-ratio anomaly model (enx-jobs.md §6 B): how a realm's share of issued codes that
 * get claimed usually looks (mean and population standard deviation over up to 30 recent issuing
 * days), and how the last complete day (yesterday, UTC) compares. The emailer reads the saved
 * numbers; this job reports realms whose last day falls too far below their mean.
 *
 * The window, as the original's: the 91 days from today − 90 through today; today is partial and
 * never used; yesterday is the "last" day; the history is today − 90 through today − 2, newest
 * first, skipping days with no codes issued (a missing row is such a day).
 */

export const MIN_RATIOS = 14;
export const MAX_RATIOS = 30;
/** How far back the history reaches, in days before today. */
export const HISTORY_DAYS = 90;

export interface ClaimDay {
  /** YYYY-MM-DD (UTC). */
  readonly date: string;
  readonly codesIssued: number;
  readonly codesClaimed: number;
}

export type AnomalyModel =
  | { readonly kind: 'too-little-data'; readonly ratios: number }
  | {
      readonly kind: 'modelled';
      readonly ratios: number;
      /** Yesterday's ratio; 1 when it issued nothing (nothing unclaimed). */
      readonly last: number;
      readonly mean: number;
      /** Population standard deviation (divides by n). */
      readonly stddev: number;
    };

/** The share of issued codes claimed, at most 1 (claims can land on a later day than the issue). */
export function claimRatio(day: ClaimDay): number {
  return Math.min(1, day.codesClaimed / day.codesIssued);
}

/** YYYY-MM-DD of `days` days before a YYYY-MM-DD date. */
export function daysBefore(date: string, days: number): string {
  const [year, month, day] = date.split('-').map(Number);
  return new Date(Date.UTC(year, month - 1, day - days)).toISOString().slice(0, 10);
}

export function buildAnomalyModel(rows: readonly ClaimDay[], today: string): AnomalyModel {
  for (const row of rows) {
    for (const [column, value] of [
      ['codes_issued', row.codesIssued],
      ['codes_claimed', row.codesClaimed],
    ] as const) {
      if (!Number.isInteger(value) || value < 0) {
        throw new Error(
          `realm_stats for ${row.date} has ${column} = ${value}, which cannot be a count; correct or delete that row`,
        );
      }
    }
  }
  const yesterday = daysBefore(today, 1);
  const oldest = daysBefore(today, HISTORY_DAYS);
  const ratios = rows
    .filter((row) => row.date < yesterday && row.date >= oldest && row.codesIssued > 0)
    .sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : 0))
    .slice(0, MAX_RATIOS)
    .map(claimRatio);
  if (ratios.length < MIN_RATIOS) return { kind: 'too-little-data', ratios: ratios.length };

  const mean = ratios.reduce((sum, ratio) => sum + ratio, 0) / ratios.length;
  const variance = ratios.reduce((sum, ratio) => sum + (ratio - mean) ** 2, 0) / ratios.length;
  const last = rows.find((row) => row.date === yesterday);
  return {
    kind: 'modelled',
    ratios: ratios.length,
    last: last && last.codesIssued > 0 ? claimRatio(last) : 1,
    mean,
    stddev: Math.sqrt(variance),
  };
}

/**
 * Whether the last day's ratio is below the mean by more than the allowed number of standard
 * deviations. The E2E realm is never anomalous: its codes are the probes' own, claimed or not by
 * design, and reporting it would page people about a test.
 */
export function isAnomalous(
  model: AnomalyModel,
  options: { readonly allowedStdevs: number; readonly isE2e: boolean },
): boolean {
  if (model.kind !== 'modelled' || options.isE2e) return false;
  return model.last < model.mean && model.mean - model.last > options.allowedStdevs * model.stddev;
}
