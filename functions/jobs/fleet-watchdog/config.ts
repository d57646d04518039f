/**
 * fleet-watchdog settings. A deployment may leave catalog jobs out (infra's `omittedJobs`, say
 * e2e-redirect where no redirect service exists); infra passes their ids here so the watchdog does
 * not judge a job that was never meant to run as late. The ids are checked against the catalog
 * when the watchdog runs (the catalog imports this file, so it cannot be read here).
 */
import { defineConfig, list } from '../../core/config';

export const watchdogConfig = defineConfig('fleet-watchdog', {
  omittedJobs: list(
    'OMITTED_JOBS',
    '',
    'Comma-separated ids of catalog jobs this deployment does not run (set by infra from omittedJobs); they are not watched.',
  ),
});

export type WatchdogConfig = ReturnType<typeof watchdogConfig.parse>;
