/**
 * Mail as the jobs see it: hand over one composed message and its envelope, learn which recipients
 * the server accepted and which it refused. The SMTP implementation is smtp-mailer.ts; tests and
 * the local fleet point it at a loopback SMTP server rather than replacing it.
 */

export interface OutgoingMail {
  /** Envelope sender and From header. */
  readonly from: string;
  /** The To and Cc headers; either may be empty (the header is then left out). */
  readonly to: readonly string[];
  readonly cc: readonly string[];
  /**
   * Who the message is delivered to (RCPT TO). BCC recipients appear here and nowhere in the
   * headers; a retry lists only the recipients an earlier try did not reach.
   */
  readonly recipients: readonly string[];
  readonly subject: string;
  readonly html: string;
  /** Without angle brackets. Stable per (job, tick, realm), so a resent copy can be recognised. */
  readonly messageId: string;
  readonly date: Date;
}

export interface RejectedRecipient {
  readonly address: string;
  /** The server's answer, for example "550 5.1.1 no such user". */
  readonly reason: string;
}

/** What the server said about one message. */
export interface DeliveryReport {
  readonly accepted: readonly string[];
  readonly rejected: readonly RejectedRecipient[];
}

export interface Mailer {
  /**
   * Sends one message. Resolves with the recipients the server accepted and refused (all refused
   * is a report, not an error: the connection itself worked). Rejects when the message was not
   * handed over (connection, TLS or authentication failure, a dropped connection, `signal`
   * aborted); then no recipient has it, unless the server accepted it just before the drop.
   */
  send(mail: OutgoingMail, signal?: AbortSignal): Promise<DeliveryReport>;
}

/** A mailer that cannot be used here; every send fails with the reason, naming what to change. */
export function unavailableMailer(reason: string): Mailer {
  return {
    send: async () => {
      throw new Error(reason);
    },
  };
}

/**
 * A plain mailbox address (local@domain) as SMTP's RCPT TO takes it: no display name, no
 * whitespace or header syntax, a domain of dot-separated labels, at most 254 characters. Stricter
 * than RFC 5322 on purpose: realm contacts are typed by people, and anything odd here is more
 * likely a typo (or an attempt to smuggle a header) than an exotic but real address.
 */
const MAILBOX =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export function isMailAddress(value: string): boolean {
  return value.length <= 254 && MAILBOX.test(value) && !value.startsWith('.') && !value.includes('..');
}
