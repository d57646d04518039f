/**
 * The local SMTP catcher: an SMTP server on 127.0.0.1 (the smtp-server package) that accepts every
 * mail, parses it with mailparser and keeps the last N in memory, optionally also as .eml files. The
 * emailer jobs send to it in local mode, and the status page's /mail shows what it caught.
 *
 * The tests use the same server as a relay that misbehaves on demand: it refuses chosen recipients
 * at RCPT, hangs up in the middle of DATA, or speaks TLS (STARTTLS or implicit) with a given
 * certificate and version range.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import type { AddressObject } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerOptions } from 'smtp-server';

export interface CaughtMail {
  readonly id: number;
  readonly receivedAt: string;
  /** MAIL FROM and RCPT TO: who the message was really delivered to (Bcc included). */
  readonly envelopeFrom: string;
  readonly recipients: readonly string[];
  readonly from: string;
  readonly to: readonly string[];
  readonly cc: readonly string[];
  readonly subject: string;
  readonly messageId: string;
  readonly date: string | null;
  readonly html: string;
  /** Header names (lower case) as they arrived, for checks such as "no Bcc header". */
  readonly headerNames: readonly string[];
  /** The header block exactly as received. */
  readonly headerText: string;
  /** The client's EHLO/HELO name and whether the session was encrypted. */
  readonly helo: string;
  readonly tls: boolean;
  readonly sizeBytes: number;
}

export interface CatcherBehaviour {
  /** Answer RCPT TO for this address with this SMTP error (for example 550); undefined accepts. */
  rejectRecipient?: (address: string) => { code: number; message: string } | undefined;
  /** Hang up after this many bytes of DATA (the client gets no answer to its message). */
  dropDataAfterBytes?: number;
}

export interface SmtpCatcherOptions extends CatcherBehaviour {
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** How many messages are kept in memory; older ones are dropped. Default 100. */
  readonly keep?: number;
  /** When set, every caught message is also written there as <id>-<time>.eml. */
  readonly emlDir?: string;
  /**
   * Encryption: none (default; STARTTLS not offered), starttls (offered, with this key and
   * certificate), or tls (implicit, from the first byte). Version bounds go to Node's TLS as is.
   */
  readonly tls?: {
    readonly mode: 'starttls' | 'tls';
    readonly key: string;
    readonly cert: string;
    readonly minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
    readonly maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
    /** OpenSSL cipher string; an old-protocol test server needs '…@SECLEVEL=0'. */
    readonly ciphers?: string;
  };
  readonly onMail?: (mail: CaughtMail) => void;
}

export interface SmtpCatcher {
  readonly host: string;
  readonly port: number;
  /** Newest last. */
  messages(): CaughtMail[];
  message(id: number): CaughtMail | undefined;
  /** Every RCPT TO the catcher refused, in order. */
  refused(): { address: string; code: number }[];
  clear(): void;
  behave(behaviour: CatcherBehaviour): void;
  close(): Promise<void>;
}

function addresses(value: AddressObject | AddressObject[] | undefined): string[] {
  const list = Array.isArray(value) ? value : value ? [value] : [];
  return list.flatMap((entry) => entry.value.map((item) => item.address ?? '')).filter(Boolean);
}

function headerBlock(raw: Buffer): string {
  const text = raw.toString('utf8');
  const end = text.search(/\r?\n\r?\n/);
  return end === -1 ? text : text.slice(0, end);
}

export async function startSmtpCatcher(options: SmtpCatcherOptions = {}): Promise<SmtpCatcher> {
  const keep = options.keep ?? 100;
  const caught: CaughtMail[] = [];
  const refused: { address: string; code: number }[] = [];
  let behaviour: CatcherBehaviour = {
    rejectRecipient: options.rejectRecipient,
    dropDataAfterBytes: options.dropDataAfterBytes,
  };
  let nextId = 1;
  if (options.emlDir) mkdirSync(options.emlDir, { recursive: true });

  const tls = options.tls;
  const serverOptions: SMTPServerOptions = {
    authOptional: true,
    disabledCommands: tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    secure: tls?.mode === 'tls',
    logger: false,
    banner: 'enx-jobs local SMTP catcher',
    size: 10 * 1024 * 1024,
    ...(tls
      ? {
          key: tls.key,
          cert: tls.cert,
          ...(tls.minVersion ? { minVersion: tls.minVersion } : {}),
          ...(tls.maxVersion ? { maxVersion: tls.maxVersion } : {}),
          ...(tls.ciphers ? { ciphers: tls.ciphers } : {}),
        }
      : {}),
    onRcptTo(address, _session, callback) {
      const refusal = behaviour.rejectRecipient?.(address.address);
      if (!refusal) return callback();
      refused.push({ address: address.address, code: refusal.code });
      const error = new Error(refusal.message) as Error & { responseCode: number };
      error.responseCode = refusal.code;
      return callback(error);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        const dropAt = behaviour.dropDataAfterBytes;
        if (dropAt !== undefined && size >= dropAt) {
          // Simulates a relay that dies mid-message: the socket goes away with no answer.
          for (const connection of server.connections) {
            if (connection.id === session.id) connection._socket.destroy();
          }
        }
      });
      stream.on('end', () => {
        if (behaviour.dropDataAfterBytes !== undefined && size >= behaviour.dropDataAfterBytes) return;
        const raw = Buffer.concat(chunks);
        simpleParser(raw).then(
          (parsed) => {
            const mail: CaughtMail = {
              id: nextId++,
              receivedAt: new Date().toISOString(),
              envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              recipients: session.envelope.rcptTo.map((rcpt) => rcpt.address),
              from: addresses(parsed.from)[0] ?? '',
              to: addresses(parsed.to),
              cc: addresses(parsed.cc),
              subject: parsed.subject ?? '',
              messageId: parsed.messageId ?? '',
              date: parsed.date ? parsed.date.toISOString() : null,
              html: typeof parsed.html === 'string' ? parsed.html : '',
              headerNames: [...parsed.headers.keys()],
              headerText: headerBlock(raw),
              helo: session.hostNameAppearsAs,
              tls: session.secure,
              sizeBytes: raw.length,
            };
            caught.push(mail);
            while (caught.length > keep) caught.shift();
            if (options.emlDir) {
              const stamp = mail.receivedAt.replace(/[:.]/g, '-');
              writeFileSync(
                path.join(options.emlDir, `${String(mail.id).padStart(5, '0')}-${stamp}.eml`),
                raw,
              );
            }
            options.onMail?.(mail);
            callback();
          },
          (error: Error) => callback(error),
        );
      });
    },
  };
  const server = new SMTPServer(serverOptions);
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;

  return {
    host: '127.0.0.1',
    port,
    messages: () => [...caught],
    message: (id) => caught.find((mail) => mail.id === id),
    refused: () => [...refused],
    clear: () => {
      caught.length = 0;
      refused.length = 0;
    },
    behave: (next) => {
      behaviour = { ...next };
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const connection of server.connections) connection._socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * The emailers' wiring in local mode: always the loopback catcher in clear text (even without a
 * port, so a fleet started without the catcher can never reach a real relay), and sender and link
 * defaults an operator may override.
 */
export const LOCAL_MAIL_DEFAULTS = {
  FROM_ADDRESS: 'enx-jobs@enx-local.example',
  SERVER_ENDPOINT: 'http://127.0.0.1:8080',
  MAIL_DOMAIN: 'enx-local.example',
} as const;

export function localSmtpEnv(port: number | undefined): Record<string, string | undefined> {
  return {
    SMTP_RELAY_HOST: '127.0.0.1',
    SMTP_RELAY_PORT: port === undefined ? '25' : String(port),
    SMTP_TLS: 'none',
    SMTP_USERNAME: '',
    SMTP_PASSWORD: '',
    SMTP_CA_FILE: '',
  };
}
