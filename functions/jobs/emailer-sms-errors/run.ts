/**
 * emailer-sms-errors: mails a realm's contacts when today's (UTC) SMS errors reach the threshold
 * (enx-jobs.md §5). The ignored codes are bound as one array parameter; the original interpolated
 * them, quoted by hand, into the SQL text. "Today" is the UTC day of the tick's schedule time, so a
 * retry counts the same day as the attempt it retries, even past midnight.
 */
import type { JobContext, JobResult } from '../../core/job-spec';
import type { Candidate } from '../emailer/run';
import { runEmailer } from '../emailer/run';
import { escapeHtml, layout, link } from '../emailer/render';
import type { SmsErrorsConfig } from './config';

export const SMS_ERRORS_SUBJECT = 'Exposure Notifications SMS error rate exceeded';

export function utcDate(at: Date): string {
  return at.toISOString().slice(0, 10);
}

export function renderSmsErrorsMail(
  realmName: string,
  errors: number,
  day: string,
  config: Pick<SmsErrorsConfig, 'serverEndpoint' | 'playbookRoot' | 'threshold'>,
): { subject: string; html: string } {
  return {
    subject: SMS_ERRORS_SUBJECT,
    html: layout({
      title: SMS_ERRORS_SUBJECT,
      paragraphs: [
        `Hello ${escapeHtml(realmName)} administrators,`,
        `Text messages with verification codes failed <strong>${escapeHtml(errors)}</strong> times in ${escapeHtml(realmName)} on ${escapeHtml(day)} (UTC), at or above the alerting threshold of ${escapeHtml(config.threshold)}. People are probably not receiving their codes.`,
        `See the realm's statistics: ${link(`${config.serverEndpoint}/realm/stats`, `${config.serverEndpoint}/realm/stats`)}`,
        `What to check: ${link(`${config.playbookRoot}/ElevatedSMSErrors.md`, 'the elevated SMS errors playbook')}`,
      ],
    }),
  };
}

interface RealmRow {
  id: number;
  name: string;
  contact_email_addresses: string[];
  errors: string;
}

/** Every live realm with today's counted SMS errors (0 when it has none), in name order. */
export async function smsErrorCounts(
  db: JobContext['db'],
  day: string,
  ignoredCodes: readonly string[],
): Promise<RealmRow[]> {
  const { rows } = await db.query<RealmRow>(
    `SELECT r.id, r.name, r.contact_email_addresses, COALESCE(SUM(s.quantity), 0)::text AS errors
       FROM realms r
       LEFT JOIN sms_error_stats s
         ON s.realm_id = r.id AND s.date = $1::date AND s.error_code <> ALL($2::text[])
      WHERE r.deleted_at IS NULL
      GROUP BY r.id
      ORDER BY r.name, r.id`,
    [day, ignoredCodes],
  );
  return rows;
}

export async function runSmsErrors(context: JobContext, config: SmsErrorsConfig): Promise<JobResult> {
  const day = utcDate(context.tick.scheduledAt);
  const rows = await smsErrorCounts(context.db, day, config.ignoredErrorCodes);
  const candidates = rows.map((row): Candidate => {
    const errors = Number(row.errors);
    return {
      realmId: row.id,
      realmName: row.name,
      contacts: row.contact_email_addresses,
      due: errors >= config.threshold,
      because: `${errors} counted SMS errors on ${day}, threshold ${config.threshold}`,
      render: () => renderSmsErrorsMail(row.name, errors, day, config),
    };
  });
  return runEmailer(context, config, context.spec.id, candidates);
}
