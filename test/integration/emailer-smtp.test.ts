/**
 * The SMTP mailer against a real SMTP server on loopback (the local catcher): envelope and headers
 * (Bcc only in RCPT TO), a recipient refused with 550, a relay that hangs up mid-DATA, STARTTLS
 * and implicit TLS with a self-signed certificate, a relay that only speaks TLS 1.1 being refused,
 * and an aborted send.
 */
import type { OutgoingMail } from '../../functions/ports/mailer';
import { createSmtpMailer } from '../../functions/adapters/smtp-mailer';
import { smtpConfig } from '../../functions/adapters/smtp-settings';
import type { Env } from '../../functions/core/config';
import { startSmtpCatcher } from '../../local/smtp-catcher';
import type { SmtpCatcher, SmtpCatcherOptions } from '../../local/smtp-catcher';
import { emailerEnv, FROM, selfSignedCertificate } from '../support/smtp';
import type { Certificate } from '../support/smtp';

let certificate: Certificate;
const catchers: SmtpCatcher[] = [];

beforeAll(() => {
  certificate = selfSignedCertificate();
});

afterAll(async () => {
  await Promise.all(catchers.map((catcher) => catcher.close()));
  certificate?.remove();
});

async function catcher(options: SmtpCatcherOptions = {}): Promise<SmtpCatcher> {
  const started = await startSmtpCatcher(options);
  catchers.push(started);
  return started;
}

function mailer(relay: SmtpCatcher, env: Env = {}) {
  const { FROM_ADDRESS: _from, SERVER_ENDPOINT: _server, ...smtp } = emailerEnv(relay, env);
  return createSmtpMailer(smtpConfig.parse(smtp));
}

const MAIL: OutgoingMail = {
  from: FROM,
  to: ['ops@realm.example', 'epi@realm.example'],
  cc: ['cc@operator.example'],
  recipients: ['ops@realm.example', 'epi@realm.example', 'cc@operator.example', 'hidden@operator.example'],
  subject: 'Exposure Notifications SMS error rate exceeded',
  html: '<p>Hello &lt;Realm&gt;</p>',
  messageId: 'emailer-sms-errors.2026-11-23T12-05-00-000Z.realm-7@verification.example.org',
  date: new Date('2026-11-23T12:05:01Z'),
};

describe('SMTP mailer', () => {
  it('delivers to every envelope recipient, with Bcc only in RCPT TO and never in a header', async () => {
    const relay = await catcher();
    const report = await mailer(relay).send(MAIL);
    expect(report).toEqual({ accepted: MAIL.recipients, rejected: [] });
    const [mail] = relay.messages();
    expect(mail.recipients).toEqual(MAIL.recipients);
    expect(mail.envelopeFrom).toBe(FROM);
    expect(mail.to).toEqual(MAIL.to);
    expect(mail.cc).toEqual(MAIL.cc);
    expect(mail.headerNames).not.toContain('bcc');
    expect(mail.headerText).not.toContain('hidden@operator.example');
    expect(mail.headerText).not.toMatch(/^bcc:/im);
    expect(mail.subject).toBe(MAIL.subject);
    expect(mail.messageId).toBe(`<${MAIL.messageId}>`);
    expect(mail.html).toContain('Hello &lt;Realm&gt;');
    expect(mail.helo).toBe('verification.example.org');
    expect(mail.tls).toBe(false);
  });

  it('reports a recipient refused with 550 and still delivers to the others', async () => {
    const relay = await catcher({
      rejectRecipient: (address) =>
        address === 'epi@realm.example' ? { code: 550, message: 'no such user here' } : undefined,
    });
    const report = await mailer(relay).send(MAIL);
    expect(report.accepted).toEqual(['ops@realm.example', 'cc@operator.example', 'hidden@operator.example']);
    expect(report.rejected).toEqual([
      { address: 'epi@realm.example', reason: expect.stringMatching(/^550 .*no such user here/) },
    ]);
    expect(relay.messages()[0].recipients).toEqual(report.accepted);
  });

  it('reports every recipient refused without throwing: the session itself worked', async () => {
    const relay = await catcher({ rejectRecipient: () => ({ code: 550, message: 'mailbox unavailable' }) });
    const report = await mailer(relay).send(MAIL);
    expect(report.accepted).toEqual([]);
    expect(report.rejected.map((item) => item.address)).toEqual(MAIL.recipients);
    expect(relay.messages()).toEqual([]);
  });

  it('fails when the relay hangs up in the middle of DATA, and nothing is delivered', async () => {
    const relay = await catcher({ dropDataAfterBytes: 1 });
    await expect(mailer(relay).send(MAIL)).rejects.toThrow(/closed/i);
    expect(relay.messages()).toEqual([]);
  });

  it('fails fast when nothing listens on the relay port', async () => {
    const relay = await catcher();
    await relay.close();
    catchers.splice(catchers.indexOf(relay), 1);
    await expect(mailer(relay).send(MAIL)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('upgrades with STARTTLS to a relay whose self-signed certificate SMTP_CA_FILE trusts', async () => {
    const relay = await catcher({ tls: { mode: 'starttls', key: certificate.key, cert: certificate.cert } });
    const report = await mailer(relay, { SMTP_TLS: 'starttls', SMTP_CA_FILE: certificate.certFile }).send(
      MAIL,
    );
    expect(report.accepted).toEqual(MAIL.recipients);
    expect(relay.messages()[0].tls).toBe(true);
  });

  it('refuses a STARTTLS relay whose certificate nobody vouches for, before sending anything', async () => {
    const relay = await catcher({ tls: { mode: 'starttls', key: certificate.key, cert: certificate.cert } });
    await expect(mailer(relay, { SMTP_TLS: 'starttls' }).send(MAIL)).rejects.toThrow(/self[- ]signed/i);
    expect(relay.messages()).toEqual([]);
  });

  it('refuses to send in clear text when STARTTLS is required and the relay does not offer it', async () => {
    const relay = await catcher();
    await expect(mailer(relay, { SMTP_TLS: 'starttls' }).send(MAIL)).rejects.toThrow(/STARTTLS|TLS/);
    expect(relay.messages()).toEqual([]);
  });

  it('speaks implicit TLS (SMTP_TLS=tls)', async () => {
    const relay = await catcher({ tls: { mode: 'tls', key: certificate.key, cert: certificate.cert } });
    const report = await mailer(relay, { SMTP_TLS: 'tls', SMTP_CA_FILE: certificate.certFile }).send(MAIL);
    expect(report.accepted).toEqual(MAIL.recipients);
    expect(relay.messages()[0].tls).toBe(true);
  });

  it('refuses a relay that offers only TLS 1.1 when the minimum is TLS 1.2', async () => {
    const relay = await catcher({
      tls: {
        mode: 'starttls',
        key: certificate.key,
        cert: certificate.cert,
        minVersion: 'TLSv1.1',
        maxVersion: 'TLSv1.1',
        ciphers: 'DEFAULT@SECLEVEL=0',
      },
    });
    await expect(
      mailer(relay, { SMTP_TLS: 'starttls', SMTP_CA_FILE: certificate.certFile }).send(MAIL),
    ).rejects.toThrow(/unsupported protocol|protocol version/i);
    expect(relay.messages()).toEqual([]);
  });

  it('closes the session when the job is aborted', async () => {
    const relay = await catcher();
    const controller = new AbortController();
    controller.abort(new Error('the attempt timed out'));
    await expect(mailer(relay).send(MAIL, controller.signal)).rejects.toThrow(/timed out/);
    expect(relay.messages()).toEqual([]);
  });
});
