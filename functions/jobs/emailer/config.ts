/**
 * Settings shared by emailer-anomalies and emailer-sms-errors: the original emailer's variables
 * (enx-jobs.md §5) plus the SMTP connection (functions/adapters/smtp-settings.ts). MIN_TTL is not
 * read: the run ledger and the job lock replace the time-to-live lock, and the delivery ledger
 * keeps a tick from mailing a realm twice.
 */
import { custom, list } from '../../core/config';
import type { Field } from '../../core/config';
import { isMailAddress } from '../../ports/mailer';

function address(raw: string): string {
  const value = raw.trim();
  if (!isMailAddress(value)) {
    throw new Error(`"${raw}" is not a mail address; write a bare address such as alerts@example.org`);
  }
  return value;
}

function addresses(env: string, doc: string): Field<readonly string[]> {
  const parseList = list(env, '', doc).parse;
  return custom(env, '', doc, (raw) => {
    const values = parseList(raw);
    const bad = values.filter((value) => !isMailAddress(value));
    if (bad.length > 0) {
      throw new Error(
        `${bad.map((value) => `"${value}"`).join(', ')} ${bad.length === 1 ? 'is not a mail address' : 'are not mail addresses'}; list bare addresses separated by commas`,
      );
    }
    return [...new Set(values)];
  });
}

/** The stats page root: an http(s) URL, trailing slashes trimmed, as the original does. */
function linkRoot(raw: string): string {
  let parsed: URL;
  try {
    parsed = new URL(raw.trim());
  } catch {
    throw new Error(`"${raw}" is not an absolute URL (for example https://verification.example.org)`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw new Error(`"${raw}" is not an http(s) URL`);
  return parsed.toString().replace(/\/+$/, '');
}

export const emailerFields = {
  fromAddress: custom(
    'FROM_ADDRESS',
    undefined,
    'Envelope sender and From header of the mails; a bare address the relay may send as.',
    address,
  ),
  ccAddresses: addresses('CC_ADDRESSES', 'Comma-separated addresses copied (Cc header) on every mail.'),
  bccAddresses: addresses(
    'BCC_ADDRESSES',
    'Comma-separated addresses blind-copied on every mail (envelope only, never in a header).',
  ),
  serverEndpoint: custom(
    'SERVER_ENDPOINT',
    undefined,
    "The verification server's admin UI; mails link to <SERVER_ENDPOINT>/realm/stats.",
    linkRoot,
  ),
  playbookRoot: custom(
    'EMAILER_PLAYBOOK_ROOT',
    'https://github.com/google/exposure-notifications-verification-server/blob/main/docs/playbooks/realm-admins',
    'Where the realm-admin playbooks live; mails link to <root>/<playbook>.md.',
    linkRoot,
  ),
};
