/**
 * The emailers' pure parts: settings (addresses validated with a clear message, SMTP cross-checks),
 * the anomaly condition, recipients (Bcc never in To/Cc, no duplicates, invalid contacts set aside),
 * Message-IDs, and HTML escaping of realm values.
 */
import { isMailAddress } from '../../../functions/ports/mailer';
import { ConfigError } from '../../../functions/core/errors';
import { anomaliesConfig } from '../../../functions/jobs/emailer-anomalies/config';
import { claimRatioAnomalous, renderAnomalyMail } from '../../../functions/jobs/emailer-anomalies/run';
import { smsErrorsConfig } from '../../../functions/jobs/emailer-sms-errors/config';
import { messageIdFor, recipientsFor } from '../../../functions/jobs/emailer/run';
import { escapeHtml } from '../../../functions/jobs/emailer/render';

const BASE = { FROM_ADDRESS: 'alerts@example.org', SERVER_ENDPOINT: 'https://admin.example.org/' };

function problems(parse: () => unknown): string[] {
  try {
    parse();
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe('emailer settings', () => {
  it('has the original defaults and trims the link root', () => {
    const config = smsErrorsConfig.parse(BASE);
    expect(config).toMatchObject({
      smtpHost: 'smtp-relay.gmail.com',
      smtpPort: 587,
      smtpTls: 'starttls',
      smtpMinTlsVersion: 'TLSv1.2',
      threshold: 50,
      ignoredErrorCodes: ['30003', '30004', '30005', '30006'],
      serverEndpoint: 'https://admin.example.org',
      ccAddresses: [],
    });
    expect(anomaliesConfig.parse(BASE).allowedStdevs).toBe(2);
  });

  it('names every bad address and how to write it', () => {
    const found = problems(() =>
      smsErrorsConfig.parse({
        ...BASE,
        FROM_ADDRESS: 'Alerts <a@b.org>',
        CC_ADDRESSES: 'ok@x.org, nope, also bad@',
      }),
    );
    expect(found).toEqual([
      expect.stringMatching(/^FROM_ADDRESS: "Alerts <a@b.org>" is not a mail address; write a bare address/),
      expect.stringMatching(/^CC_ADDRESSES: "nope", "also bad@" are not mail addresses/),
    ]);
  });

  it('requires the sender and the link root', () => {
    expect(problems(() => anomaliesConfig.parse({}))).toEqual([
      expect.stringMatching(/^FROM_ADDRESS is required/),
      expect.stringMatching(/^SERVER_ENDPOINT is required/),
    ]);
  });

  it('refuses a password over clear text, a lone password, TLS below 1.2 and a non-positive spread', () => {
    expect(
      problems(() =>
        anomaliesConfig.parse({ ...BASE, SMTP_TLS: 'none', SMTP_USERNAME: 'u', SMTP_PASSWORD: 'p4ss' }),
      ),
    ).toEqual([
      expect.stringMatching(/SMTP_TLS=none with SMTP_PASSWORD would send the password in clear text/),
    ]);
    expect(problems(() => anomaliesConfig.parse({ ...BASE, SMTP_PASSWORD: 'p4ss' }))).toEqual([
      expect.stringMatching(/SMTP_PASSWORD is set but SMTP_USERNAME is empty/),
    ]);
    expect(problems(() => anomaliesConfig.parse({ ...BASE, SMTP_MIN_TLS_VERSION: 'TLSv1.1' }))[0]).toMatch(
      /^SMTP_MIN_TLS_VERSION: "TLSv1.1" is not one of TLSv1.2, TLSv1.3/,
    );
    expect(problems(() => anomaliesConfig.parse({ ...BASE, ANOMALY_ALLOWED_STDEVS: '0' }))[0]).toMatch(
      /^ANOMALY_ALLOWED_STDEVS: must be above 0/,
    );
  });

  it('marks the SMTP password secret', () => {
    expect(anomaliesConfig.fields.filter((field) => field.secret).map((field) => field.env)).toEqual([
      'SMTP_PASSWORD',
    ]);
  });
});

describe('addresses and recipients', () => {
  it.each([
    ['ops@realm.example', true],
    ['first.last+tag@sub.realm.example', true],
    ['Ops <ops@realm.example>', false],
    ['ops@realm.example\r\nBcc: x@y.org', false],
    ['ops@', false],
    ['a..b@realm.example', false],
    ['ops@-realm.example', false],
  ])('%j is a mail address: %s', (value, expected) => {
    expect(isMailAddress(value)).toBe(expected);
  });

  it('puts contacts in To, configured Cc in Cc, Bcc only in the envelope, each address once', () => {
    expect(
      recipientsFor(
        [' a@r.example', 'b@r.example', 'a@r.example', 'bad one'],
        ['cc@o.example', 'B@r.example'],
        ['bcc@o.example', 'cc@o.example'],
      ),
    ).toEqual({
      to: ['a@r.example', 'b@r.example'],
      cc: ['cc@o.example'],
      envelope: ['a@r.example', 'b@r.example', 'cc@o.example', 'bcc@o.example'],
      invalid: ['bad one'],
    });
  });

  it('derives a stable Message-ID from job, tick and realm', () => {
    expect(messageIdFor('emailer-anomalies', '2026-11-23T18:00:00.000Z', 7, 'a@example.org')).toBe(
      'emailer-anomalies.2026-11-23T18-00-00-000Z.realm-7@example.org',
    );
  });
});

describe('anomaly condition and mail', () => {
  it.each([
    [{ isE2e: false, last: 0.4, mean: 0.8, stddev: 0.1 }, true],
    [{ isE2e: false, last: 0.65, mean: 0.8, stddev: 0.1 }, false], // 1.5 stddevs
    [{ isE2e: false, last: 0.5, mean: 0.75, stddev: 0.125 }, false], // exactly 2: not more than
    [{ isE2e: false, last: 0.9, mean: 0.8, stddev: 0 }, false], // above the mean
    [{ isE2e: true, last: 0, mean: 0.8, stddev: 0.1 }, false], // the E2E realm is never mailed
  ])('%j anomalous: %s', (ratios, expected) => {
    expect(claimRatioAnomalous(ratios, 2)).toBe(expected);
  });

  it('escapes the realm name and shows the ratios as percentages', () => {
    const name = `<script>alert("x")</script> & 'Co'`;
    const { html } = renderAnomalyMail(
      name,
      { isE2e: false, last: 0.4125, mean: 0.8, stddev: 0.1 },
      {
        serverEndpoint: 'https://admin.example.org',
        playbookRoot: 'https://docs.example.org/playbooks',
      },
    );
    expect(html).not.toContain('<script>');
    expect(html).toContain(escapeHtml(name));
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;Co&#39;');
    expect(html).toContain('<strong>41.25%</strong>');
    expect(html).toContain('<strong>80.00%</strong>');
    expect(html).toContain('href="https://docs.example.org/playbooks/CodesClaimedRatioAnomaly.md"');
  });
});
