/**
 * emailer-anomalies: mails a realm's contacts when yesterday's code-claim ratio fell well below its
 * history (enx-jobs.md §5). It only reads the ratio columns modeler-worker maintains on realms; no
 * statistics are recomputed here. The E2E test realm is never mailed.
 */
import type { JobContext, JobResult } from '../../core/job-spec';
import type { Candidate } from '../emailer/run';
import { runEmailer } from '../emailer/run';
import { escapeHtml, layout, link, percent } from '../emailer/render';
import type { AnomaliesConfig } from './config';

export const ANOMALIES_SUBJECT = 'Exposure Notifications code claim rate anomaly detected';

export interface ClaimRatios {
  readonly isE2e: boolean;
  /** Yesterday's ratio of claimed to issued codes, 0-1. */
  readonly last: number;
  readonly mean: number;
  readonly stddev: number;
}

/** The original's Realm.CodesClaimedRatioAnomalous: below the mean by more than the allowed spread. */
export function claimRatioAnomalous(ratios: ClaimRatios, allowedStdevs: number): boolean {
  if (ratios.isE2e) return false;
  return ratios.last < ratios.mean && ratios.mean - ratios.last > ratios.stddev * allowedStdevs;
}

export function renderAnomalyMail(
  realmName: string,
  ratios: ClaimRatios,
  config: Pick<AnomaliesConfig, 'serverEndpoint' | 'playbookRoot'>,
): { subject: string; html: string } {
  return {
    subject: ANOMALIES_SUBJECT,
    html: layout({
      title: ANOMALIES_SUBJECT,
      paragraphs: [
        `Hello ${escapeHtml(realmName)} administrators,`,
        `Yesterday <strong>${escapeHtml(percent(ratios.last))}</strong> of the verification codes issued in ${escapeHtml(realmName)} were claimed, well below the realm's usual rate of <strong>${escapeHtml(percent(ratios.mean))}</strong>. A sudden drop often means codes are not reaching people, or are reaching them too late to be used.`,
        `See the realm's statistics: ${link(`${config.serverEndpoint}/realm/stats`, `${config.serverEndpoint}/realm/stats`)}`,
        `What to check: ${link(`${config.playbookRoot}/CodesClaimedRatioAnomaly.md`, 'the code claim rate anomaly playbook')}`,
      ],
    }),
  };
}

interface RealmRow {
  id: number;
  name: string;
  contact_email_addresses: string[];
  is_e2e: boolean;
  last: number;
  mean: number;
  stddev: number;
}

export async function runAnomalies(context: JobContext, config: AnomaliesConfig): Promise<JobResult> {
  const { rows } = await context.db.query<RealmRow>(
    `SELECT id, name, contact_email_addresses, is_e2e,
            last_codes_claimed_ratio::float8 AS last, codes_claimed_ratio_mean::float8 AS mean,
            codes_claimed_ratio_stddev::float8 AS stddev
       FROM realms WHERE deleted_at IS NULL ORDER BY name, id`,
  );
  const candidates = rows.map((row): Candidate => {
    const ratios: ClaimRatios = { isE2e: row.is_e2e, last: row.last, mean: row.mean, stddev: row.stddev };
    const due = claimRatioAnomalous(ratios, config.allowedStdevs);
    return {
      realmId: row.id,
      realmName: row.name,
      contacts: row.contact_email_addresses,
      due,
      because: row.is_e2e
        ? 'the E2E test realm is never mailed'
        : `claim ratio ${percent(row.last)}, mean ${percent(row.mean)}, stddev ${percent(row.stddev)}, allowed ${config.allowedStdevs} stddevs`,
      render: () => renderAnomalyMail(row.name, ratios, config),
    };
  });
  return runEmailer(context, config, context.spec.id, candidates);
}
