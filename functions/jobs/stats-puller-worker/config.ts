/**
 * stats-puller-worker settings: the original server's variables, names and defaults (enx-jobs.md
 * §8). STATS_PULLER_MIN_PERIOD, MIN_TTL and CERTIFICATE_SIGNER_CACHE_DURATION are not read: the run
 * ledger and job lock replace the time-to-live lock, and a run signs one token per realm, so there
 * is nothing worth caching between runs.
 */
import { custom, defineConfig, durationMs, integer, parseHttpUrl, text } from '../../core/config';
import { parseKeyVersionName } from '../../adapters/kms-names';
import type { Field } from '../../core/config';
import { HOUR_MS, SECOND_MS } from '../../core/duration';

/**
 * The key server's base URL. The original strips everything from /v1 on, so an operator who pasted
 * the full stats endpoint (https://host/v1/stats) still gets https://host; the client appends
 * /v1/stats itself.
 */
export function keyServerBaseUrl(raw: string): string {
  const parsed = parseHttpUrl(raw, 'https://keyserver.example.com');
  const v1 = parsed.pathname.indexOf('/v1');
  const path = v1 === -1 ? parsed.pathname : parsed.pathname.slice(0, v1);
  return `${parsed.origin}${path.replace(/\/+$/, '')}`;
}

function nonEmpty(field: Field<string>): Field<string> {
  return {
    ...field,
    parse: (raw) => {
      const value = field.parse(raw).trim();
      if (value === '') throw new Error('is empty');
      return value;
    },
  };
}

export const statsPullerConfig = defineConfig('stats-puller-worker', {
  keyServerUrl: custom(
    'KEY_SERVER_URL',
    undefined,
    "The key server's base URL (anything from /v1 on is dropped); a realm's key_server_url_override wins.",
    keyServerBaseUrl,
  ),
  audience: nonEmpty(
    text(
      'KEY_SERVER_STATS_AUDIENCE',
      'keyserver',
      "The token's aud claim; a realm's key_server_audience_override wins.",
    ),
  ),
  sizeLimitBytes: integer('STATS_PULLER_SIZE_LIMIT', '64000', 'Largest stats response accepted, in bytes.', {
    min: 1,
    max: 64_000_000,
  }),
  downloadTimeoutMs: durationMs(
    'STATS_PULLER_DOWNLOAD_TIMEOUT',
    '1m',
    'Timeout of one request to the key server, body included.',
    { minMs: SECOND_MS, maxMs: HOUR_MS },
  ),
  maxWorkers: integer('STATS_PULLER_MAX_WORKERS', '5', 'How many realms are pulled at once.', {
    min: 1,
    max: 100,
  }),
  certificateSigningKey: custom(
    'CERTIFICATE_SIGNING_KEY',
    undefined,
    'The system certificate-signing KMS key version; signs the token of realms without their own key.',
    parseKeyVersionName,
  ),
  certificateSigningKeyId: nonEmpty(
    text('CERTIFICATE_SIGNING_KEY_ID', 'v1', 'The kid of tokens signed with the system key.'),
  ),
  certificateIssuer: nonEmpty(
    text(
      'CERTIFICATE_ISSUER',
      'diagnosis-verification-example',
      'The iss of tokens signed with the system key.',
    ),
  ),
});

export type StatsPullerConfig = ReturnType<typeof statsPullerConfig.parse>;
