/**
 * Adapters for a job context built by hand (tests, benchmarks): the given ones, and for the rest an
 * error on first use naming the adapter the caller forgot to provide.
 */
import type { Adapters } from '../../functions/ports';
import { lazyAdapters } from '../../functions/ports';

export function onlyAdapters(chosen: Partial<Adapters>): Adapters {
  const missing = (name: string) => (): never => {
    throw new Error(`no ${name} adapter was provided to this job context`);
  };
  return lazyAdapters(chosen, {
    keyManager: missing('keyManager'),
    gauges: missing('gauges'),
    metricsExport: missing('metricsExport'),
    secretStore: missing('secretStore'),
    databaseExport: missing('databaseExport'),
    rateLimiter: missing('rateLimiter'),
    mailer: missing('mailer'),
  }).adapters;
}
