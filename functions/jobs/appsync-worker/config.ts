/**
 * appsync-worker settings: the original server's variables and defaults (enx-jobs.md §1).
 * APP_SYNC_MIN_PERIOD (the original's lock time-to-live) is not read: the run ledger and job lock
 * replace it. RATE_LIMIT was declared but never used by the original, so it is not declared here.
 */
import { defineConfig, durationMs, integer, url } from '../../core/config';
import { MINUTE_MS, SECOND_MS } from '../../core/duration';

export const appsyncConfig = defineConfig(
  'appsync-worker',
  {
    // The default is the feed every ENX deployment used (its Terraform set exactly this), so a
    // deployment needs no setting for it; local mode and tests point it at a loopback stand-in.
    feedUrl: url(
      'APP_SYNC_URL',
      'https://www.gstatic.com/exposurenotifications/apps.json',
      'The published app list, fetched with GET.',
    ),
    sizeLimitBytes: integer(
      'APP_SYNC_SIZE_LIMIT',
      '4000000',
      'The largest feed body read, in bytes; a longer feed fails the run instead of being truncated.',
      { min: 1 },
    ),
    timeoutMs: durationMs(
      'APP_SYNC_TIMEOUT',
      '1m',
      "How long fetching the feed may take; at most 4m, inside the job's own 5-minute timeout.",
      { minMs: SECOND_MS, maxMs: 4 * MINUTE_MS },
    ),
  },
  (config) => {
    // The original accepted any URL (even an empty one), which only failed at the first run.
    const protocol = new URL(config.feedUrl).protocol;
    return protocol === 'http:' || protocol === 'https:'
      ? []
      : [`APP_SYNC_URL must be an http or https URL, not ${protocol}`];
  },
);

export type AppsyncConfig = ReturnType<typeof appsyncConfig.parse>;
