/**
 * emailer-anomalies (enx-jobs.md §5) over HTTP on a real PostgreSQL, sending through the loopback
 * SMTP catcher: only anomalous realms are mailed, never the E2E realm, the realm name is escaped in
 * the mail, and a duplicate delivery of the tick mails nobody again.
 */
import { startSmtpCatcher } from '../../local/smtp-catcher';
import type { SmtpCatcher } from '../../local/smtp-catcher';
import { ANOMALIES_SUBJECT } from '../../functions/jobs/emailer-anomalies/run';
import { createHarness, ledgerAttempts } from '../support/harness';
import type { Harness } from '../support/harness';
import { insertRow } from '../support/seed-cleanup';
import { emailerEnv } from '../support/smtp';

const TICK = '2026-11-23T18:00:00.000Z';
let relay: SmtpCatcher;
let harness: Harness;

beforeAll(async () => {
  relay = await startSmtpCatcher();
  harness = await createHarness({ env: emailerEnv(relay) });
});

afterAll(async () => {
  await harness?.close();
  await relay?.close();
});

async function realm(id: number, name: string, ratios: [number, number, number], isE2e = false) {
  await insertRow(harness.db.pool, 'realms', {
    id,
    name,
    region_code: `R${id}`,
    is_e2e: isE2e,
    contact_email_addresses: [`admin${id}@realm.example`],
    last_codes_claimed_ratio: ratios[0],
    codes_claimed_ratio_mean: ratios[1],
    codes_claimed_ratio_stddev: ratios[2],
  });
}

it('mails anomalous realms only, never the E2E realm, once per tick', async () => {
  await realm(1, 'Calm <Realm>', [0.79, 0.8, 0.05]);
  await realm(2, 'Dropping & "Co"', [0.3, 0.8, 0.05]);
  await realm(3, 'e2e-test-realm', [0, 0.8, 0.05], true);
  const first = await harness.invoke('emailer-anomalies', { scheduleTime: TICK });
  expect(first.status).toBe(200);
  expect(first.body.result).toMatchObject({ realms: 3, due: 1, mailsSent: 1, mailsFailed: 0 });
  const mails = relay.messages();
  expect(mails.map((mail) => mail.recipients)).toEqual([['admin2@realm.example']]);
  expect(mails[0].subject).toBe(ANOMALIES_SUBJECT);
  expect(mails[0].html).toContain('Dropping &amp; &quot;Co&quot;');
  expect(mails[0].html).toContain('<strong>30.00%</strong>');

  const again = await harness.invoke('emailer-anomalies', { scheduleTime: TICK });
  expect(again.status).toBe(200);
  expect(relay.messages()).toHaveLength(1);
  const attempts = await ledgerAttempts(harness.db, 'emailer-anomalies');
  expect(attempts.map((attempt) => attempt.state)).toEqual(['succeeded', 'duplicate']);
});
