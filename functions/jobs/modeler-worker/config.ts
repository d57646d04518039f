/**
 * modeler-worker settings: the original's variables, names and defaults (enx-jobs.md §6), plus the
 * rate limiter's (functions/adapters/rate-limiter.ts), which this job is the only one to use.
 * RATE_LIMIT_TOKENS and RATE_LIMIT_INTERVAL are not read: they are the server's defaults for
 * buckets nobody configured, and a realm's quota bucket always carries its own limit and interval.
 * The CACHE_* settings the original loaded are not read either: its model logic never used them.
 */
import { defineConfig, integer } from '../../core/config';
import { allowedStdevsField } from '../anomaly-setting';
import { rateLimiterFields, rateLimiterProblems } from '../../adapters/rate-limiter';

/** realms.abuse_prevention_limit is a Postgres integer. */
const MAX_LIMIT = 2_147_483_647;

export const modelerConfig = defineConfig(
  'modeler-worker',
  {
    minValue: integer(
      'MODELER_MIN_VALUE',
      '10',
      'Lowest abuse-prevention limit the model sets (codes per day).',
      { min: 0, max: MAX_LIMIT },
    ),
    maxValue: integer(
      'MODELER_MAX_VALUE',
      '20000',
      'Highest abuse-prevention limit the model sets (codes per day).',
      { min: 0, max: MAX_LIMIT },
    ),
    anomalyAllowedStdevs: allowedStdevsField,
    ...rateLimiterFields,
  },
  (config) => [
    ...(config.minValue > config.maxValue
      ? [
          `MODELER_MIN_VALUE (${config.minValue}) is above MODELER_MAX_VALUE (${config.maxValue}): no limit could satisfy both; lower the minimum or raise the maximum`,
        ]
      : []),
    ...rateLimiterProblems(config),
  ],
);

export type ModelerConfig = ReturnType<typeof modelerConfig.parse>;
