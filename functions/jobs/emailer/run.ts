/**
 * The run loop both emailers share (enx-jobs.md §5): walk the realms in name order, mail the ones
 * whose condition holds, one realm per item. A realm whose mail fails, or whose contact address is
 * invalid or refused, is logged with the address and the realm; the other recipients still get the
 * mail, the other realms still run, and the attempt then fails naming every such realm, so the
 * alert leads an operator to the log lines (the runbook's triage).
 *
 * Exactly-once per tick comes from the delivery ledger (ledger.ts): a retry or a duplicate of the
 * tick resends only to the recipients an earlier attempt did not reach. Unlike the original, whose
 * lock answered "too early" to the retry, a retry here can finish the tick.
 */
import type { Mailer } from '../../ports/mailer';
import { isMailAddress } from '../../ports/mailer';
import type { SmtpSettings } from '../../adapters/smtp-settings';
import { smtpWorstCaseMs } from '../../adapters/smtp-settings';
import { describeError, StepsFailedError } from '../../core/errors';
import type { JobContext, JobResult } from '../../core/job-spec';
import type { ConfigOf } from '../../core/config';
import type { emailerFields } from './config';
import type { Delivery } from './ledger';
import { claimExisting, claimNew, deliveriesOfTick, pendingRecipients, settle } from './ledger';

export type EmailerSettings = ConfigOf<typeof emailerFields> & SmtpSettings;

/** One realm as the job's condition judged it. */
export interface Candidate {
  readonly realmId: number;
  readonly realmName: string;
  readonly contacts: readonly string[];
  /** The condition holds: this realm's contacts get a mail. */
  readonly due: boolean;
  /** Why (not): logged at debug level, for someone checking a realm's numbers. */
  readonly because: string;
  /** The mail; called only for due realms. */
  render(): { subject: string; html: string };
}

/** Beyond the longest a send can take, so a lease never runs out under a send that is still going. */
const LEASE_MARGIN_MS = 30_000;

interface RealmOutcome {
  readonly kind: 'sent' | 'already-sent' | 'not-due' | 'no-recipients' | 'failed';
  readonly accepted?: number;
  readonly rejected?: number;
  readonly problem?: string;
}

export interface Recipients {
  readonly to: string[];
  readonly cc: string[];
  /** Envelope: To, then Cc, then Bcc, each address once. */
  readonly envelope: string[];
  /** Realm contacts that are not mail addresses; logged and never sent to. */
  readonly invalid: string[];
}

/** Who gets a realm's mail: its valid contacts in To, the configured Cc, and Bcc in the envelope only. */
export function recipientsFor(
  contacts: readonly string[],
  cc: readonly string[],
  bcc: readonly string[],
): Recipients {
  const trimmed = contacts.map((contact) => contact.trim());
  const to = [...new Set(trimmed.filter(isMailAddress))];
  const invalid = contacts.filter((_, index) => !isMailAddress(trimmed[index]));
  const seen = new Set(to.map((address) => address.toLowerCase()));
  const fresh = (list: readonly string[]) =>
    list.filter((address) => {
      const key = address.toLowerCase();
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  const ccOnly = fresh(cc);
  const bccOnly = fresh(bcc);
  return { to, cc: ccOnly, envelope: [...to, ...ccOnly, ...bccOnly], invalid };
}

/** Stable per (job, tick, realm): a copy resent after a crash carries the same Message-ID. */
export function messageIdFor(jobId: string, tickId: string, realmId: number, fromAddress: string): string {
  const tick = tickId.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');
  return `${jobId}.${tick}.realm-${realmId}@${fromAddress.split('@')[1]}`;
}

export async function runEmailer(
  context: JobContext,
  config: EmailerSettings,
  jobId: string,
  candidates: readonly Candidate[],
): Promise<JobResult> {
  const { logger, tick, attempt } = context;
  const mailer: Mailer = context.adapters.mailer;
  const leaseMs = smtpWorstCaseMs(config) + LEASE_MARGIN_MS;
  const earlier = await deliveriesOfTick(context.db, jobId, tick.id);
  const failures: { step: string; error: string }[] = [];
  const counts = {
    realms: candidates.length,
    due: 0,
    mailsSent: 0,
    mailsFailed: 0,
    alreadyMailed: 0,
    skippedNoRecipients: 0,
    recipientsAccepted: 0,
    recipientsRejected: 0,
  };

  const realmLabel = (candidate: Candidate) => `realm ${candidate.realmId} (${candidate.realmName})`;
  const fields = (candidate: Candidate) => ({ realmId: candidate.realmId, realmName: candidate.realmName });

  /** Logs each bad address on its own line (what the runbook says to search for) and sums them up. */
  const report = (
    candidate: Candidate,
    delivery: Pick<Delivery, 'invalid' | 'rejected' | 'error' | 'recipients' | 'accepted'>,
  ): string | undefined => {
    const problems: string[] = [];
    for (const address of delivery.invalid) {
      logger.error(
        `${realmLabel(candidate)}: contact address "${address}" is not a mail address and was skipped; fix it in the realm's settings`,
        { event: 'email_address_invalid', ...fields(candidate), address },
      );
      problems.push(`"${address}" is not a mail address`);
    }
    for (const { address, reason } of delivery.rejected) {
      logger.error(`${realmLabel(candidate)}: the relay refused recipient ${address}: ${reason}`, {
        event: 'email_recipient_rejected',
        ...fields(candidate),
        address,
        reason,
      });
      problems.push(`${address} refused: ${reason}`);
    }
    if (delivery.error) {
      logger.error(`${realmLabel(candidate)}: mail not delivered: ${delivery.error}`, {
        event: 'email_send_failed',
        ...fields(candidate),
        recipients: pendingRecipients(delivery),
      });
      problems.push(`not delivered: ${delivery.error}`);
    }
    return problems.length > 0 ? problems.join('; ') : undefined;
  };

  const send = async (candidate: Candidate, delivery: Delivery): Promise<RealmOutcome> => {
    const pending = pendingRecipients(delivery);
    let outcome: { accepted: readonly string[]; rejected: Delivery['rejected']; error: string | null };
    try {
      const answer = await mailer.send(
        {
          from: config.fromAddress,
          to: delivery.headerTo,
          cc: delivery.headerCc,
          recipients: pending,
          subject: delivery.subject,
          html: delivery.html,
          messageId: delivery.messageId,
          date: context.clock.now(),
        },
        context.abortSignal,
      );
      outcome = { accepted: answer.accepted, rejected: answer.rejected, error: null };
    } catch (error) {
      outcome = { accepted: [], rejected: [], error: describeError(error) };
    }
    const settled = await settle(context.db, delivery, outcome, context.clock.now());
    counts.recipientsAccepted += outcome.accepted.length;
    counts.recipientsRejected += outcome.rejected.length;
    if (outcome.accepted.length > 0) {
      logger.info(`${realmLabel(candidate)}: mail accepted for ${outcome.accepted.length} recipient(s)`, {
        event: 'email_sent',
        ...fields(candidate),
        messageId: delivery.messageId,
        accepted: outcome.accepted,
      });
    }
    const problem = report(candidate, settled);
    return {
      kind: problem ? 'failed' : 'sent',
      accepted: outcome.accepted.length,
      rejected: outcome.rejected.length,
      problem,
    };
  };

  const handle = async (candidate: Candidate): Promise<RealmOutcome> => {
    const key = { jobId, tickId: tick.id, realmId: candidate.realmId };
    let delivery = earlier.get(candidate.realmId);
    const now = context.clock.now();
    const leaseUntil = new Date(now.getTime() + leaseMs);

    if (!delivery) {
      if (!candidate.due) {
        logger.debug(`${realmLabel(candidate)}: no mail due (${candidate.because})`, {
          event: 'email_not_due',
          ...fields(candidate),
        });
        return { kind: 'not-due' };
      }
      const recipients = recipientsFor(candidate.contacts, config.ccAddresses, config.bccAddresses);
      if (recipients.to.length === 0 && recipients.invalid.length === 0) {
        logger.warn(`${realmLabel(candidate)} has no contact addresses; ask its admins to add some`, {
          event: 'email_no_contacts',
          ...fields(candidate),
        });
      }
      if (recipients.envelope.length === 0) {
        logger.warn(
          `${realmLabel(candidate)}: mail due (${candidate.because}) but nobody to send it to; skipped`,
          {
            event: 'email_skipped_no_recipients',
            ...fields(candidate),
          },
        );
        if (recipients.invalid.length > 0) {
          return {
            kind: 'failed',
            problem: report(candidate, {
              invalid: recipients.invalid,
              rejected: [],
              error: null,
              recipients: [],
              accepted: [],
            }),
          };
        }
        return { kind: 'no-recipients' };
      }
      const { subject, html } = candidate.render();
      const claimed = await claimNew(
        context.db,
        {
          ...key,
          attempt,
          messageId: messageIdFor(jobId, tick.id, candidate.realmId, config.fromAddress),
          subject,
          html,
          headerTo: recipients.to,
          headerCc: recipients.cc,
          recipients: recipients.envelope,
          invalid: recipients.invalid,
        },
        now,
        leaseUntil,
      );
      if (claimed) {
        logger.info(`${realmLabel(candidate)}: mail due (${candidate.because})`, {
          event: 'email_due',
          ...fields(candidate),
        });
        return send(candidate, claimed);
      }
      // Another attempt recorded it between our read and our insert: treat it as an earlier one.
      delivery = (await deliveriesOfTick(context.db, jobId, tick.id)).get(candidate.realmId);
      if (!delivery) throw new Error('the delivery row vanished while it was being claimed');
    }

    // A mail of this tick was already decided by an earlier attempt: finish it, never re-decide.
    const pending = pendingRecipients(delivery);
    if (delivery.state !== 'sending' && pending.length === 0) {
      if (delivery.invalid.length > 0) {
        return { kind: 'failed', problem: report(candidate, { ...delivery, rejected: [], error: null }) };
      }
      logger.info(`${realmLabel(candidate)}: already mailed by attempt ${delivery.attempt} of this tick`, {
        event: 'email_already_sent',
        ...fields(candidate),
      });
      return { kind: 'already-sent' };
    }
    const claimed = await claimExisting(context.db, key, attempt, now, leaseUntil);
    if (!claimed) {
      const problem = `attempt ${delivery.attempt} is still delivering this mail (lease until ${delivery.leaseUntil?.toISOString()}); a later retry finishes it`;
      logger.error(`${realmLabel(candidate)}: ${problem}`, {
        event: 'email_in_flight',
        ...fields(candidate),
      });
      return { kind: 'failed', problem };
    }
    if (delivery.state === 'sending') {
      logger.warn(
        `${realmLabel(candidate)}: attempt ${delivery.attempt} stopped before recording the relay's answer; sending again, so recipients may get this mail twice (same Message-ID)`,
        { event: 'email_resend_unknown', ...fields(candidate), messageId: delivery.messageId },
      );
    } else {
      logger.info(
        `${realmLabel(candidate)}: resending to the ${pending.length} recipient(s) attempt ${delivery.attempt} did not reach`,
        { event: 'email_retry', ...fields(candidate), recipients: pending },
      );
    }
    return send(candidate, claimed);
  };

  for (const candidate of candidates) {
    context.abortSignal.throwIfAborted();
    let outcome: RealmOutcome;
    try {
      outcome = await handle(candidate);
    } catch (error) {
      if (context.abortSignal.aborted) throw context.abortSignal.reason;
      outcome = { kind: 'failed', problem: describeError(error) };
      logger.error(`${realmLabel(candidate)}: ${outcome.problem}`, {
        event: 'email_failed',
        ...fields(candidate),
      });
    }
    if (outcome.kind !== 'not-due') counts.due += 1;
    if (outcome.kind === 'already-sent') counts.alreadyMailed += 1;
    if (outcome.kind === 'no-recipients') counts.skippedNoRecipients += 1;
    if ((outcome.accepted ?? 0) > 0) counts.mailsSent += 1;
    if (outcome.kind === 'failed') {
      counts.mailsFailed += 1;
      failures.push({ step: realmLabel(candidate), error: outcome.problem ?? 'failed' });
    }
  }

  const summary = {
    ...counts,
    ...(failures.length > 0 ? { failedRealms: failures.map((failure) => failure.step) } : {}),
  };
  if (failures.length > 0) throw new StepsFailedError(failures, summary);
  return summary;
}
