/**
 * The delivery ledger (migration 0006): one row per (job, tick, realm) whose mail is due, claimed
 * before the SMTP session and settled after it. Together with the job lock it gives each tick
 * exactly-once mail per realm:
 *
 * - a retry or duplicate of a tick finds the rows of the earlier attempts and resends only to the
 *   recipients not yet reached, with the message as first rendered (same Message-ID);
 * - a row in `sending` whose lease has not run out belongs to an attempt that may still be talking
 *   to the relay (an attempt cut off by its timeout keeps running until its send ends): it is left
 *   alone and reported, never sent twice in parallel;
 * - a row still in `sending` after its lease means the process died between handing the message to
 *   the relay and recording the answer. Whether the relay accepted it is unknown; the next attempt
 *   sends again (at-least-once for that window, see docs/decisions.md).
 */
import type { Db } from '../../core/db';
import type { RejectedRecipient } from '../../ports/mailer';

export type DeliveryState = 'sending' | 'sent' | 'incomplete';

export interface Delivery {
  readonly jobId: string;
  readonly tickId: string;
  readonly realmId: number;
  readonly state: DeliveryState;
  readonly attempt: number;
  readonly leaseUntil: Date | null;
  readonly messageId: string;
  readonly subject: string;
  readonly html: string;
  readonly headerTo: readonly string[];
  readonly headerCc: readonly string[];
  readonly recipients: readonly string[];
  readonly accepted: readonly string[];
  readonly rejected: readonly RejectedRecipient[];
  readonly invalid: readonly string[];
  readonly error: string | null;
}

interface Row {
  job_id: string;
  tick_id: string;
  realm_id: number;
  state: DeliveryState;
  attempt: number;
  lease_until: Date | null;
  message_id: string;
  subject: string;
  html: string;
  header_to: string[];
  header_cc: string[];
  recipients: string[];
  accepted: string[];
  rejected: RejectedRecipient[];
  invalid: string[];
  error: string | null;
}

function fromRow(row: Row): Delivery {
  return {
    jobId: row.job_id,
    tickId: row.tick_id,
    realmId: row.realm_id,
    state: row.state,
    attempt: row.attempt,
    leaseUntil: row.lease_until,
    messageId: row.message_id,
    subject: row.subject,
    html: row.html,
    headerTo: row.header_to,
    headerCc: row.header_cc,
    recipients: row.recipients,
    accepted: row.accepted,
    rejected: row.rejected,
    invalid: row.invalid,
    error: row.error,
  };
}

/** The recipients a delivery has not reached yet. */
export function pendingRecipients(delivery: Pick<Delivery, 'recipients' | 'accepted'>): string[] {
  const accepted = new Set(delivery.accepted);
  return delivery.recipients.filter((address) => !accepted.has(address));
}

export async function deliveriesOfTick(
  db: Db,
  jobId: string,
  tickId: string,
): Promise<Map<number, Delivery>> {
  const { rows } = await db.query<Row>(
    'SELECT * FROM enx_jobs_email_deliveries WHERE job_id = $1 AND tick_id = $2',
    [jobId, tickId],
  );
  return new Map(rows.map((row) => [row.realm_id, fromRow(row)]));
}

export interface NewDelivery {
  readonly jobId: string;
  readonly tickId: string;
  readonly realmId: number;
  readonly attempt: number;
  readonly messageId: string;
  readonly subject: string;
  readonly html: string;
  readonly headerTo: readonly string[];
  readonly headerCc: readonly string[];
  readonly recipients: readonly string[];
  readonly invalid: readonly string[];
}

/** Records a new due mail, claimed by this attempt; undefined when another attempt recorded it first. */
export async function claimNew(
  db: Db,
  delivery: NewDelivery,
  now: Date,
  leaseUntil: Date,
): Promise<Delivery | undefined> {
  const { rows } = await db.query<Row>(
    `INSERT INTO enx_jobs_email_deliveries (job_id, tick_id, realm_id, state, attempt, lease_until, message_id,
       subject, html, header_to, header_cc, recipients, invalid, created_at, updated_at)
     VALUES ($1, $2, $3, 'sending', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
     ON CONFLICT DO NOTHING
     RETURNING *`,
    [
      delivery.jobId,
      delivery.tickId,
      delivery.realmId,
      delivery.attempt,
      leaseUntil,
      delivery.messageId,
      delivery.subject,
      delivery.html,
      delivery.headerTo,
      delivery.headerCc,
      delivery.recipients,
      delivery.invalid,
      now,
    ],
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/**
 * Claims an existing row for this attempt, unless another attempt holds a live lease on it (then
 * undefined). The condition is checked in the UPDATE itself, so two claimers cannot both win.
 */
export async function claimExisting(
  db: Db,
  key: { jobId: string; tickId: string; realmId: number },
  attempt: number,
  now: Date,
  leaseUntil: Date,
): Promise<Delivery | undefined> {
  const { rows } = await db.query<Row>(
    `UPDATE enx_jobs_email_deliveries
        SET state = 'sending', attempt = $4, lease_until = $6, updated_at = $5
      WHERE job_id = $1 AND tick_id = $2 AND realm_id = $3
        AND (state <> 'sending' OR lease_until IS NULL OR lease_until <= $5)
      RETURNING *`,
    [key.jobId, key.tickId, key.realmId, attempt, now, leaseUntil],
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/** Settles a claimed row with what the relay said (or the error that ended the session). */
export async function settle(
  db: Db,
  delivery: Delivery,
  outcome: { accepted: readonly string[]; rejected: readonly RejectedRecipient[]; error: string | null },
  now: Date,
): Promise<Delivery> {
  const accepted = [...new Set([...delivery.accepted, ...outcome.accepted])];
  const state: DeliveryState = pendingRecipients({ recipients: delivery.recipients, accepted }).length
    ? 'incomplete'
    : 'sent';
  const { rows } = await db.query<Row>(
    `UPDATE enx_jobs_email_deliveries
        SET state = $4, accepted = $5, rejected = $6::jsonb, error = $7, lease_until = NULL, updated_at = $8,
            sent_at = CASE WHEN $4 = 'sent' THEN $8 ELSE sent_at END
      WHERE job_id = $1 AND tick_id = $2 AND realm_id = $3 AND attempt = $9
      RETURNING *`,
    [
      delivery.jobId,
      delivery.tickId,
      delivery.realmId,
      state,
      accepted,
      JSON.stringify(outcome.rejected),
      outcome.error,
      now,
      delivery.attempt,
    ],
  );
  if (!rows[0]) {
    throw new Error(
      `realm ${delivery.realmId}: another attempt claimed this delivery while attempt ${delivery.attempt} was sending (its lease ran out); the relay's answer (${accepted.length} accepted) could not be recorded`,
    );
  }
  return fromRow(rows[0]);
}
