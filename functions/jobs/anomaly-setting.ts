/**
 * ANOMALY_ALLOWED_STDEVS, declared once for the two jobs that read it (modeler-worker, which
 * reports anomalies, and emailer-anomalies, which mails them), so the same value means the same
 * thing in both and a value one refuses the other refuses too.
 *
 * The original read it once per process (pkg/database/realm.go, enx-jobs.md §6) and silently turned
 * a value <= 0 into 1.0: an operator who wrote 0 to mean "every dip" got one standard deviation.
 * Here a value <= 0 is refused, naming the setting (docs/decisions.md, "ENX fidelity").
 */
import { custom } from '../core/config';

export function parseAllowedStdevs(raw: string): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) throw new Error(`"${raw}" is not a number`);
  if (value <= 0) {
    throw new Error(
      `must be above 0 (got ${value}); the original silently used 1.0 for 0 or less, set 1 for that, or 2.0 for its default`,
    );
  }
  return value;
}

export const allowedStdevsField = custom(
  'ANOMALY_ALLOWED_STDEVS',
  '2.0',
  'A realm is anomalous when its last code-claim ratio is more than this many standard deviations below its mean; above 0.',
  parseAllowedStdevs,
);
