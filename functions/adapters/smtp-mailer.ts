/**
 * The Mailer over SMTP, with nodemailer's SMTP client (one connection per message, as the original
 * did). nodemailer's transport object is not used because it cannot be cancelled: this module drives
 * nodemailer's SMTPConnection itself, so an aborted job or a send past its hard deadline closes the
 * socket instead of leaving a delivery running behind the job's back.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { DeliveryReport, Mailer, OutgoingMail, RejectedRecipient } from '../ports/mailer';
import type { SmtpSettings } from './smtp-settings';
import { smtpWorstCaseMs } from './smtp-settings';

/** nodemailer waits this long after the server hangs up for a late answer before calling it a drop. */
const LATE_ANSWER_MS = 500;

function readCa(file: string): string | undefined {
  if (file === '') return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(
      `SMTP_CA_FILE ${file} cannot be read (${(error as Error).message}); fix the path or leave it empty`,
    );
  }
}

export function connectionOptions(settings: SmtpSettings): SMTPConnection.Options {
  const ca = readCa(settings.smtpCaFile);
  return {
    host: settings.smtpHost,
    port: settings.smtpPort,
    secure: settings.smtpTls === 'tls',
    requireTLS: settings.smtpTls === 'starttls',
    ignoreTLS: settings.smtpTls === 'none',
    name: settings.mailDomain || undefined,
    connectionTimeout: settings.smtpConnectTimeoutMs,
    greetingTimeout: settings.smtpConnectTimeoutMs,
    socketTimeout: settings.smtpSocketTimeoutMs,
    tls: {
      minVersion: settings.smtpMinTlsVersion,
      rejectUnauthorized: true,
      ...(ca ? { ca } : {}),
      // SNI and certificate checks use the host name; an IP address is checked against the
      // certificate's IP SANs instead (tls.checkServerIdentity does that when servername is unset).
      ...(isIP(settings.smtpHost) ? {} : { servername: settings.smtpHost }),
    },
    logger: false,
  };
}

function rejectedFrom(errors: readonly SMTPConnection.SMTPError[] | undefined, addresses: readonly string[]) {
  const byAddress = new Map<string, string>();
  for (const error of errors ?? []) {
    const recipient = (error as SMTPConnection.SMTPError & { recipient?: string }).recipient;
    if (recipient) byAddress.set(recipient, (error.response ?? error.message).trim());
  }
  return addresses.map((address): RejectedRecipient => ({
    address,
    reason: byAddress.get(address) ?? 'rejected by the server',
  }));
}

export async function composeMessage(mail: OutgoingMail): Promise<Buffer> {
  return new MailComposer({
    from: mail.from,
    ...(mail.to.length > 0 ? { to: [...mail.to] } : {}),
    ...(mail.cc.length > 0 ? { cc: [...mail.cc] } : {}),
    subject: mail.subject,
    html: mail.html,
    messageId: `<${mail.messageId}>`,
    date: mail.date,
  })
    .compile()
    .build();
}

export function createSmtpMailer(settings: SmtpSettings): Mailer {
  const options = connectionOptions(settings);
  const deadlineMs = smtpWorstCaseMs(settings);
  const auth =
    settings.smtpUsername !== ''
      ? { credentials: { user: settings.smtpUsername, pass: settings.smtpPassword } }
      : undefined;

  return {
    async send(mail: OutgoingMail, signal?: AbortSignal): Promise<DeliveryReport> {
      signal?.throwIfAborted();
      const raw = await composeMessage(mail);
      const connection = new SMTPConnection(options);
      return new Promise<DeliveryReport>((resolve, reject) => {
        let settled = false;
        const finish = (error: Error | null, report?: DeliveryReport) => {
          if (settled) return;
          settled = true;
          clearTimeout(deadline);
          signal?.removeEventListener('abort', onAbort);
          connection.close();
          if (error) reject(error);
          else resolve(report as DeliveryReport);
        };
        const onAbort = () =>
          finish(new Error(`sending was aborted: ${String(signal?.reason ?? 'aborted')}`));
        signal?.addEventListener('abort', onAbort, { once: true });
        const deadline = setTimeout(
          () => finish(new Error(`the SMTP session took longer than ${deadlineMs} ms and was cut off`)),
          deadlineMs,
        );
        connection.once('error', (error) => finish(error));
        connection.once('end', () => {
          // 'end' can arrive just before the answer that settles the send; give it a moment.
          setTimeout(
            () => finish(new Error('the SMTP server closed the connection before accepting the message')),
            LATE_ANSWER_MS,
          ).unref();
        });
        const transmit = () =>
          connection.send({ from: mail.from, to: [...mail.recipients] }, raw, (error, info) => {
            if (error) {
              const all = error as SMTPConnection.SMTPError & {
                rejected?: string[];
                rejectedErrors?: SMTPConnection.SMTPError[];
              };
              // Every recipient refused: the session worked, the addresses did not.
              if (all.code === 'EENVELOPE' && all.rejected && all.rejected.length > 0) {
                finish(null, { accepted: [], rejected: rejectedFrom(all.rejectedErrors, all.rejected) });
              } else {
                finish(error);
              }
              return;
            }
            finish(null, {
              accepted: info.accepted,
              rejected: rejectedFrom(info.rejectedErrors, info.rejected),
            });
          });
        connection.connect(() => {
          if (!auth) return transmit();
          connection.login(auth, (error) => (error ? finish(error) : transmit()));
        });
      });
    },
  };
}
