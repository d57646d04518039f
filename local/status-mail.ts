/**
 * The status server's view of the SMTP catcher: /mail lists the caught mails (time, recipients,
 * subject), /mail/<id> shows one mail's HTML body, /mail.json is the list as data.
 */
import type { ServerResponse } from 'node:http';
import { escapeHtml } from './status-page';
import type { CaughtMail } from './smtp-catcher';

export interface MailSource {
  messages(): CaughtMail[];
  message(id: number): CaughtMail | undefined;
}

export function renderMailList(mails: readonly CaughtMail[]): string {
  const rows = [...mails]
    .reverse()
    .map(
      (mail) => `<tr>
<td>${escapeHtml(mail.receivedAt)}</td>
<td>${escapeHtml(mail.recipients.join(', '))}</td>
<td><a href="/mail/${mail.id}">${escapeHtml(mail.subject || '(no subject)')}</a></td>
<td>${escapeHtml(mail.tls ? 'TLS' : 'plain')}</td>
</tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Caught mail: enx-jobs local fleet</title>
<style>body{font-family:sans-serif;margin:1.5rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left}</style>
</head><body>
<h1>Caught mail</h1>
<p><a href="/">fleet status</a> · ${mails.length} mail(s) kept by the local SMTP catcher, newest first. Recipients are the SMTP envelope (Bcc included).</p>
${mails.length === 0 ? '<p>No mail yet. The emailers send when a realm meets their condition; <code>npm start -- --run-now</code> runs them at start-up.</p>' : `<table><tr><th>received</th><th>recipients</th><th>subject</th><th>session</th></tr>\n${rows}\n</table>`}
</body></html>`;
}

/** Answers /mail, /mail.json and /mail/<id>; returns false for any other path. */
export function serveMail(path: string, source: MailSource | undefined, res: ServerResponse): boolean {
  if (path !== '/mail' && path !== '/mail.json' && !path.startsWith('/mail/')) return false;
  if (!source) {
    res
      .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
      .end('no SMTP catcher in this fleet\n');
    return true;
  }
  if (path === '/mail.json') {
    res
      .writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
      .end(JSON.stringify(source.messages(), null, 2));
    return true;
  }
  if (path === '/mail') {
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      .end(renderMailList(source.messages()));
    return true;
  }
  const mail = source.message(Number(path.slice('/mail/'.length)));
  if (!mail) {
    res
      .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
      .end('no such mail (the catcher keeps only the latest)\n');
    return true;
  }
  // The body is shown as the recipient would see it, sandboxed: no scripts, no requests out.
  res
    .writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': "sandbox; default-src 'none'; style-src 'unsafe-inline'",
      'cache-control': 'no-store',
    })
    .end(mail.html);
  return true;
}
