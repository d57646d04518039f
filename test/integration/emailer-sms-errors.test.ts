/**
 * emailer-sms-errors (enx-jobs.md §5) on a real PostgreSQL, sending through a real SMTP server on
 * loopback: the threshold on today's (the tick's UTC day) counted errors, ignored codes bound as
 * parameters (one contains a quote), one realm per item (a refused, invalid or unreachable
 * recipient fails its realm, the others still go out), the delivery ledger's exactly-once per tick
 * across retries, crashes and duplicate deliveries, and realms with nobody to mail.
 */
import { onlyAdapters } from '../support/only-adapters';
import { emailerSmsErrors } from '../../functions/catalog';
import { createSmtpMailer } from '../../functions/adapters/smtp-mailer';
import { smtpConfig } from '../../functions/adapters/smtp-settings';
import { ManualClock } from '../support/manual-clock';
import type { Env } from '../../functions/core/config';
import { StepsFailedError } from '../../functions/core/errors';
import type { JobContext } from '../../functions/core/job-spec';
import { createLogger, SecretRegistry } from '../../functions/core/logger';
import { memoryWriter } from '../support/memory-writer';
import { smsErrorsConfig } from '../../functions/jobs/emailer-sms-errors/config';
import { runSmsErrors, SMS_ERRORS_SUBJECT } from '../../functions/jobs/emailer-sms-errors/run';
import { startSmtpCatcher } from '../../local/smtp-catcher';
import type { SmtpCatcher } from '../../local/smtp-catcher';
import { createTestDatabase } from '../support/database';
import type { TestDatabase } from '../support/database';
import { createHarness, ledgerAttempts } from '../support/harness';
import { insertRow } from '../support/seed-cleanup';
import { emailerEnv } from '../support/smtp';

const TICK = '2026-11-23T12:05:00.000Z';
const TODAY = '2026-11-23';

let db: TestDatabase;
let relay: SmtpCatcher;

beforeAll(async () => {
  db = await createTestDatabase();
  relay = await startSmtpCatcher();
});

afterAll(async () => {
  await relay?.close();
  await db?.drop();
});

beforeEach(async () => {
  await db.pool.query('TRUNCATE realms, sms_error_stats, enx_jobs_email_deliveries RESTART IDENTITY CASCADE');
  relay.clear();
  relay.behave({});
});

async function realm(
  id: number,
  name: string,
  contacts: string[],
  errors: Record<string, number> = {},
  options: { isE2e?: boolean; day?: string } = {},
) {
  await insertRow(db.pool, 'realms', {
    id,
    name,
    region_code: `R${id}`,
    contact_email_addresses: contacts,
    is_e2e: options.isE2e ?? false,
  });
  for (const [code, quantity] of Object.entries(errors)) {
    await insertRow(db.pool, 'sms_error_stats', {
      realm_id: id,
      date: options.day ?? TODAY,
      error_code: code,
      quantity,
    });
  }
}

function run(
  options: { attempt?: number; env?: Env; tick?: string; signal?: AbortSignal; now?: string } = {},
) {
  const env = emailerEnv(relay, options.env);
  const logs = memoryWriter();
  const tick = options.tick ?? TICK;
  const clock = new ManualClock(options.now ?? tick);
  const context: JobContext = {
    db: db.pool,
    clock,
    logger: createLogger({ write: logs.write, minSeverity: 'DEBUG' }),
    spec: emailerSmsErrors,
    abortSignal: options.signal ?? new AbortController().signal,
    secrets: new SecretRegistry(),
    tick: { id: tick, scheduledAt: new Date(tick), manual: false },
    attempt: options.attempt ?? 1,
    adapters: onlyAdapters({ mailer: createSmtpMailer(smtpConfig.parse(env)) }),
  };
  return { promise: runSmsErrors(context, smsErrorsConfig.parse(env)), logs };
}

async function failure(promise: Promise<unknown>): Promise<StepsFailedError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(StepsFailedError);
  return error as StepsFailedError;
}

const recipientsOf = () => relay.messages().map((mail) => mail.recipients);

describe('emailer-sms-errors', () => {
  it('mails realms whose counted errors today reach the threshold, and no others', async () => {
    await realm(1, 'Alpha', ['a@alpha.example'], { '30001': 30, '21610': 20 }); // 50: mailed
    await realm(2, 'Beta', ['b@beta.example'], { '30001': 49 }); // below
    await realm(3, 'Gamma', ['c@gamma.example'], { '30003': 500, '30005': 500, '30001': 1 }); // ignored codes
    await realm(4, 'Delta', ['d@delta.example'], { '30001': 80 }, { day: '2026-11-22' }); // yesterday
    const result = await run().promise;
    expect(result).toEqual({
      realms: 4,
      due: 1,
      mailsSent: 1,
      mailsFailed: 0,
      alreadyMailed: 0,
      skippedNoRecipients: 0,
      recipientsAccepted: 1,
      recipientsRejected: 0,
    });
    const [mail] = relay.messages();
    expect(mail.recipients).toEqual(['a@alpha.example']);
    expect(mail.subject).toBe(SMS_ERRORS_SUBJECT);
    expect(mail.html).toContain('<strong>50</strong>');
    expect(mail.html).toContain('https://verification.example.org/realm/stats');
    expect(mail.html).toContain('ElevatedSMSErrors.md');
  });

  it('binds the ignored codes as parameters: a code with a quote in it works', async () => {
    await realm(1, 'Alpha', ['a@alpha.example'], { "it's'); DROP TABLE realms; --": 60, '30001': 10 });
    await expect(run({ env: { SMS_ERRORS_EMAIL_THRESHOLD: '20' } }).promise).resolves.toMatchObject({
      due: 1,
    });
    relay.clear();
    await db.pool.query('TRUNCATE enx_jobs_email_deliveries');
    const ignoring = run({
      env: {
        SMS_ERRORS_EMAIL_THRESHOLD: '20',
        SMS_IGNORED_ERROR_CODES: "30003,it's'); DROP TABLE realms; --",
      },
    });
    await expect(ignoring.promise).resolves.toMatchObject({ due: 0, mailsSent: 0 });
    expect(relay.messages()).toEqual([]);
  });

  it('counts the tick’s UTC day, so a retry after midnight still judges the same day', async () => {
    await realm(1, 'Alpha', ['a@alpha.example'], { '30001': 60 });
    const late = run({ tick: '2026-11-23T23:59:00.000Z', now: '2026-11-24T00:03:00.000Z' });
    await expect(late.promise).resolves.toMatchObject({ due: 1, mailsSent: 1 });
  });

  it('mails CC in the header and BCC in the envelope only', async () => {
    await realm(1, 'Alpha', ['a@alpha.example', 'b@alpha.example'], { '30001': 60 });
    await run({ env: { CC_ADDRESSES: 'cc@ops.example', BCC_ADDRESSES: 'audit@ops.example,a@alpha.example' } })
      .promise;
    const [mail] = relay.messages();
    expect(mail.to).toEqual(['a@alpha.example', 'b@alpha.example']);
    expect(mail.cc).toEqual(['cc@ops.example']);
    // a@alpha.example is a contact already: it gets one copy, not a second blind one.
    expect(mail.recipients).toEqual([
      'a@alpha.example',
      'b@alpha.example',
      'cc@ops.example',
      'audit@ops.example',
    ]);
    expect(mail.headerText).not.toContain('audit@ops.example');
  });

  it('a refused recipient fails its realm after the others went out; the retry reaches only that recipient', async () => {
    await realm(1, 'Alpha', ['ok@alpha.example', 'gone@alpha.example'], { '30001': 60 });
    await realm(2, 'Beta', ['b@beta.example'], { '30001': 70 });
    relay.behave({
      rejectRecipient: (address) =>
        address === 'gone@alpha.example' ? { code: 450, message: 'mailbox busy, try later' } : undefined,
    });
    const first = run();
    const error = await failure(first.promise);
    expect(error.failures).toEqual([
      { step: 'realm 1 (Alpha)', error: expect.stringContaining('gone@alpha.example refused: 450') },
    ]);
    expect(error.partial).toMatchObject({ due: 2, mailsSent: 2, mailsFailed: 1, recipientsRejected: 1 });
    expect(recipientsOf()).toEqual([['ok@alpha.example'], ['b@beta.example']]);
    const line = first.logs.entries().find((entry) => entry.event === 'email_recipient_rejected');
    expect(line).toMatchObject({
      severity: 'ERROR',
      realmId: 1,
      realmName: 'Alpha',
      address: 'gone@alpha.example',
    });

    relay.clear();
    relay.behave({});
    const retry = run({ attempt: 2 });
    await expect(retry.promise).resolves.toMatchObject({
      due: 2,
      mailsSent: 1,
      alreadyMailed: 1,
      mailsFailed: 0,
    });
    expect(recipientsOf()).toEqual([['gone@alpha.example']]);
    // The same message: same Message-ID and the original headers.
    const [resent] = relay.messages();
    expect(resent.to).toEqual(['ok@alpha.example', 'gone@alpha.example']);
    expect(resent.messageId).toBe(
      '<emailer-sms-errors.2026-11-23T12-05-00-000Z.realm-1@verification.example.org>',
    );

    relay.clear();
    await expect(run({ attempt: 3 }).promise).resolves.toMatchObject({ alreadyMailed: 2, mailsSent: 0 });
    expect(relay.messages()).toEqual([]);
  });

  it('a relay that drops the connection mid-DATA fails the realm; the retry sends the whole mail', async () => {
    await realm(1, 'Alpha', ['a@alpha.example'], { '30001': 60 });
    relay.behave({ dropDataAfterBytes: 1 });
    const error = await failure(run().promise);
    expect(error.failures[0]).toEqual({
      step: 'realm 1 (Alpha)',
      error: expect.stringMatching(/not delivered: .*closed/i),
    });
    expect(relay.messages()).toEqual([]);
    relay.behave({});
    await expect(run({ attempt: 2 }).promise).resolves.toMatchObject({ mailsSent: 1 });
    expect(recipientsOf()).toEqual([['a@alpha.example']]);
  });

  it('an invalid contact address is logged with its realm; the other contacts get the mail; the realm fails on every attempt', async () => {
    await realm(1, 'Alpha', ['a@alpha.example', 'not an address', 'x@y.example\r\nBcc: evil@example.org'], {
      '30001': 60,
    });
    const first = run();
    const error = await failure(first.promise);
    expect(error.failures[0].error).toContain('"not an address" is not a mail address');
    expect(recipientsOf()).toEqual([['a@alpha.example']]);
    expect(relay.messages()[0].headerText).not.toContain('evil@example.org');
    const invalid = first.logs.entries().filter((entry) => entry.event === 'email_address_invalid');
    expect(invalid.map((entry) => entry.address)).toEqual([
      'not an address',
      'x@y.example\r\nBcc: evil@example.org',
    ]);
    relay.clear();
    await failure(run({ attempt: 2 }).promise);
    expect(relay.messages()).toEqual([]);
  });

  it('a realm with no contacts is a logged skip; with Cc/Bcc configured they still hear of it', async () => {
    await realm(1, 'Alpha', [], { '30001': 60 });
    const quiet = run();
    await expect(quiet.promise).resolves.toMatchObject({ due: 1, skippedNoRecipients: 1, mailsSent: 0 });
    expect(quiet.logs.entries().map((entry) => entry.event)).toEqual(
      expect.arrayContaining(['email_no_contacts', 'email_skipped_no_recipients']),
    );
    expect(relay.messages()).toEqual([]);

    const copied = run({ tick: '2026-11-23T00:05:00.000Z', env: { CC_ADDRESSES: 'cc@ops.example' } });
    await expect(copied.promise).resolves.toMatchObject({ mailsSent: 1 });
    expect(relay.messages()[0].headerNames).not.toContain('to');
    expect(recipientsOf()).toEqual([['cc@ops.example']]);
  });

  it('resends (at-least-once) a mail whose attempt died before recording the answer, but never one still in flight', async () => {
    await realm(1, 'Alpha', ['a@alpha.example'], { '30001': 60 });
    await realm(2, 'Beta', ['b@beta.example'], { '30001': 60 });
    // Attempt 1 claimed both and died: Alpha's lease has run out, Beta's is still live.
    for (const [id, leaseUntil] of [
      [1, '2026-11-23T12:06:00Z'],
      [2, '2026-11-23T12:30:00Z'],
    ] as const) {
      await insertRow(db.pool, 'enx_jobs_email_deliveries', {
        job_id: 'emailer-sms-errors',
        tick_id: TICK,
        realm_id: id,
        state: 'sending',
        attempt: 1,
        lease_until: leaseUntil,
        message_id: `m-${id}@verification.example.org`,
        subject: 'first rendering',
        html: '<p>first</p>',
        header_to: [id === 1 ? 'a@alpha.example' : 'b@beta.example'],
        header_cc: [],
        recipients: [id === 1 ? 'a@alpha.example' : 'b@beta.example'],
        created_at: TICK,
        updated_at: TICK,
      });
    }
    const retry = run({ attempt: 2, now: '2026-11-23T12:10:00Z' });
    const error = await failure(retry.promise);
    expect(error.failures).toEqual([
      { step: 'realm 2 (Beta)', error: expect.stringContaining('attempt 1 is still delivering this mail') },
    ]);
    expect(relay.messages().map((mail) => [mail.recipients, mail.subject, mail.messageId])).toEqual([
      [['a@alpha.example'], 'first rendering', '<m-1@verification.example.org>'],
    ]);
    expect(retry.logs.entries().some((entry) => entry.event === 'email_resend_unknown')).toBe(true);
  });
});

describe('emailer-sms-errors over HTTP', () => {
  it('a duplicate delivery of a tick that succeeded mails nobody; a retried tick mails only what is left', async () => {
    await realm(1, 'Alpha', ['a@alpha.example', 'later@alpha.example'], { '30001': 60 });
    await realm(2, 'Beta', ['b@beta.example'], { '30001': 60 });
    const harness = await createHarness({ database: db, env: emailerEnv(relay) });
    try {
      relay.behave({
        rejectRecipient: (address) =>
          address === 'later@alpha.example' ? { code: 451, message: 'greylisted' } : undefined,
      });
      const first = await harness.invoke('emailer-sms-errors', { scheduleTime: TICK });
      expect(first.status).toBe(500);
      expect(JSON.stringify(first.body)).toContain('later@alpha.example');
      expect(recipientsOf()).toEqual([['a@alpha.example'], ['b@beta.example']]);

      relay.clear();
      relay.behave({});
      const retry = await harness.invoke('emailer-sms-errors', { scheduleTime: TICK });
      expect(retry.status).toBe(200);
      expect(recipientsOf()).toEqual([['later@alpha.example']]);

      relay.clear();
      const duplicate = await harness.invoke('emailer-sms-errors', { scheduleTime: TICK });
      expect(duplicate.status).toBe(200);
      expect(relay.messages()).toEqual([]);
      const attempts = await ledgerAttempts(harness.db, 'emailer-sms-errors');
      expect(attempts.map((attempt) => attempt.state)).toEqual(['failed', 'succeeded', 'duplicate']);
      expect(attempts[1].result).toMatchObject({ mailsSent: 1, alreadyMailed: 1 });
    } finally {
      await harness.close();
    }
  });
});
