/**
 * SMTP for the emailer tests: the local catcher as a real relay on loopback, a self-signed
 * certificate for 127.0.0.1 made with the openssl CLI, and the emailer settings that point at a
 * catcher.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Env } from '../../functions/core/config';
import type { SmtpCatcher } from '../../local/smtp-catcher';

export interface Certificate {
  readonly key: string;
  readonly cert: string;
  /** The certificate as a file, for SMTP_CA_FILE (it is its own CA). */
  readonly certFile: string;
  remove(): void;
}

/** A throwaway self-signed certificate for 127.0.0.1 and localhost. */
export function selfSignedCertificate(): Certificate {
  const dir = mkdtempSync(path.join(tmpdir(), 'enx-smtp-cert-'));
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore', timeout: 20_000 },
  );
  return {
    key: readFileSync(keyFile, 'utf8'),
    cert: readFileSync(certFile, 'utf8'),
    certFile,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export const FROM = 'enx-alerts@verification.example.org';
export const SERVER_ENDPOINT = 'https://verification.example.org';

/** Emailer settings that send to `catcher` in clear text (a loopback catcher needs no TLS). */
export function emailerEnv(catcher: Pick<SmtpCatcher, 'port'>, extra: Env = {}): Env {
  return {
    FROM_ADDRESS: FROM,
    SERVER_ENDPOINT,
    SMTP_RELAY_HOST: '127.0.0.1',
    SMTP_RELAY_PORT: String(catcher.port),
    SMTP_TLS: 'none',
    MAIL_DOMAIN: 'verification.example.org',
    SMTP_CONNECT_TIMEOUT: '2s',
    SMTP_SOCKET_TIMEOUT: '2s',
    ...extra,
  };
}
