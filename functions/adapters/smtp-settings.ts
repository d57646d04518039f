/**
 * How the SMTP mailer reaches its relay. Declared apart from the nodemailer code so the catalog (and
 * infra, which reads it) can list these settings without loading a mail library. The emailer jobs
 * include these fields in their own configuration; the runtime parses the same fields from the same
 * environment when it builds the mailer.
 */
import { custom, defineConfig, durationMs, integer, oneOf, text } from '../core/config';
import type { ConfigOf } from '../core/config';
import { MINUTE_MS, SECOND_MS } from '../core/duration';

function hostName(raw: string): string {
  const value = raw.trim();
  if (value === '' || /[\s/:@]/.test(value)) {
    throw new Error(`"${raw}" is not a host name or IP address (no scheme, port or path: smtp.example.com)`);
  }
  return value;
}

function heloName(raw: string): string {
  const value = raw.trim();
  if (/[\s<>]/.test(value)) throw new Error(`"${raw}" is not a domain name (for example example.com)`);
  return value;
}

export const smtpFields = {
  smtpHost: custom('SMTP_RELAY_HOST', 'smtp-relay.gmail.com', 'SMTP relay host.', hostName),
  smtpPort: integer('SMTP_RELAY_PORT', '587', 'SMTP relay port (587 for STARTTLS, 465 for SMTP_TLS=tls).', {
    min: 1,
    max: 65535,
  }),
  smtpTls: oneOf(
    'SMTP_TLS',
    'starttls',
    'starttls: plain connection upgraded with STARTTLS, refused if the relay does not offer it; tls: TLS from the first byte (port 465); none: no encryption (loopback catchers only).',
    ['starttls', 'tls', 'none'],
  ),
  smtpMinTlsVersion: oneOf(
    'SMTP_MIN_TLS_VERSION',
    'TLSv1.2',
    'Oldest TLS version accepted from the relay (the original required TLSv1.3).',
    ['TLSv1.2', 'TLSv1.3'],
  ),
  smtpCaFile: text(
    'SMTP_CA_FILE',
    '',
    "PEM file of the CA(s) that sign the relay's certificate; empty trusts Node's built-in roots.",
  ),
  mailDomain: custom(
    'MAIL_DOMAIN',
    '',
    'Name sent in EHLO/HELO (the Workspace relay identifies the sender by it); empty sends this machine’s host name.',
    heloName,
  ),
  smtpUsername: text(
    'SMTP_USERNAME',
    '',
    'SMTP AUTH user; empty sends no AUTH (the Workspace relay allows by IP).',
  ),
  smtpPassword: text('SMTP_PASSWORD', '', 'SMTP AUTH password (from Secret Manager).', { secret: true }),
  smtpConnectTimeoutMs: durationMs(
    'SMTP_CONNECT_TIMEOUT',
    '10s',
    "How long to wait for the TCP connection and again for the relay's greeting.",
    { minMs: 100, maxMs: 5 * MINUTE_MS },
  ),
  smtpSocketTimeoutMs: durationMs(
    'SMTP_SOCKET_TIMEOUT',
    '30s',
    'How long the relay may stay silent during a session before the send is given up.',
    { minMs: 100, maxMs: 10 * MINUTE_MS },
  ),
};

export type SmtpSettings = ConfigOf<typeof smtpFields>;

/** Cross-field problems of the SMTP settings, shared by every schema that includes them. */
export function smtpProblems(settings: SmtpSettings): string[] {
  const problems: string[] = [];
  if (settings.smtpPassword !== '' && settings.smtpUsername === '') {
    problems.push('SMTP_PASSWORD is set but SMTP_USERNAME is empty: set both, or neither');
  }
  if (settings.smtpTls === 'none' && settings.smtpPassword !== '') {
    problems.push(
      'SMTP_TLS=none with SMTP_PASSWORD would send the password in clear text: use SMTP_TLS=starttls or tls',
    );
  }
  return problems;
}

export const smtpConfig = defineConfig('smtp', smtpFields, smtpProblems);

/** Upper bound of one send that goes wrong slowly: connect, greeting, then the socket timeout. */
export function smtpWorstCaseMs(settings: SmtpSettings): number {
  return 2 * settings.smtpConnectTimeoutMs + 2 * settings.smtpSocketTimeoutMs + 5 * SECOND_MS;
}
