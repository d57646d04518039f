/**
 * Settings of the end-to-end probes, with the original e2e-runner's variable names (enx-jobs.md §4).
 * VERIFICATION_ADMIN_API_KEY and VERIFICATION_SERVER_API_KEY are not read: the original overwrote
 * them at start-up with bootstrap keys anyway, and here every run makes its own (bootstrap.ts), signed
 * and stored with ENX's own api_key_* secrets, read from the secrets table and the secret store
 * as the server reads them (api-key.ts); there is no setting for them, as ENX has none.
 */
import { custom, defineConfig, durationMs, flag, parseHttpUrl, text } from '../../core/config';
import type { Field } from '../../core/config';
import { MINUTE_MS, SECOND_MS } from '../../core/duration';
import { keyServerBaseUrl } from '../stats-puller-worker/config';

/** An http(s) base URL without a trailing slash; the probes append the documented paths. */
export function baseUrl(raw: string): string {
  const parsed = parseHttpUrl(raw, 'https://adminapi.example.com');
  if (parsed.search || parsed.hash) throw new Error(`"${raw}" must not carry a query or fragment`);
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
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

const requestTimeout = durationMs(
  'E2E_REQUEST_TIMEOUT',
  '10s',
  'Timeout of one probe request, body included; a step slower than this fails naming the step.',
  { minMs: SECOND_MS, maxMs: MINUTE_MS },
);

/** e2e-default and e2e-revise: the code → token → certificate → publish flow. */
export const e2eFlowConfig = defineConfig('e2e', {
  adminApi: custom(
    'VERIFICATION_ADMIN_API',
    'http://localhost:8081',
    'Base URL of the verification admin API (issues codes, reports their status).',
    baseUrl,
  ),
  deviceApi: custom(
    'VERIFICATION_SERVER_API',
    'http://localhost:8082',
    'Base URL of the verification device API (verifies codes, issues certificates).',
    baseUrl,
  ),
  keyServer: custom(
    'KEY_SERVER',
    'http://localhost:8080',
    "The key server's base URL (anything from /v1 on is dropped); the probe publishes to /v1/publish.",
    keyServerBaseUrl,
  ),
  healthAuthorityId: nonEmpty(
    text(
      'HEALTH_AUTHORITY_CODE',
      undefined,
      'Sent as healthAuthorityID when publishing keys, e.g. com.example.',
    ),
  ),
  skipSms: flag(
    'E2E_SKIP_SMS',
    'false',
    'When false, codes are issued with the test phone number +18558361987, so the realm must be able to send SMS.',
  ),
  requestTimeoutMs: requestTimeout,
});

export type E2eFlowConfig = ReturnType<typeof e2eFlowConfig.parse>;

/**
 * e2e-redirect. ENX_REDIRECT_URL is required: the original answered 200 without probing when it
 * was empty, so a deployment without it looked healthy while nothing was checked (docs/decisions.md,
 * "e2e probes").
 */
export const e2eRedirectConfig = defineConfig('e2e-redirect', {
  redirectUrl: custom(
    'ENX_REDIRECT_URL',
    undefined,
    "The e2e realm's host on the enx-redirect service, e.g. https://e2e-realm.en.example.com.",
    baseUrl,
  ),
  requestTimeoutMs: requestTimeout,
});

export type E2eRedirectConfig = ReturnType<typeof e2eRedirectConfig.parse>;
