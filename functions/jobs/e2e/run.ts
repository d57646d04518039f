/**
 * The three probe jobs over the shared flows. A run bootstraps the e2e realm (idempotent), sweeps
 * what dead runs left, makes its own API keys, runs its flow as timed steps and deletes its keys
 * whatever happened. Success returns each step's latency; a failure is a StepsFailedError naming
 * the step that broke (with the latencies of the steps up to it as the partial result), so the
 * ledger, the log line and the HTTP answer all say where the system is broken.
 */
import { performance } from 'node:perf_hooks';
import { describeError, StepsFailedError } from '../../core/errors';
import type { JobContext, JobResult } from '../../core/job-spec';

import { readApiKeySecrets } from './api-key';
import { createRunKeys, deleteRunKeys, ensureE2eApps, ensureE2eRealm, sweepLeftovers } from './bootstrap';
import type { RunKeys } from './bootstrap';
import type { E2eFlowConfig, E2eRedirectConfig } from './config';
import type { CodeFlow } from './flow';
import { runCodeFlow, runRedirectFlow } from './flow';
import { Probe, ProbeStepError } from './http';

const USER_AGENT = { flow: 'en/e2e-client', redirect: 'en/enxredirect-client' } as const;

/** Runs `work`; a step failure becomes the run's failure, carrying the latencies measured so far. */
async function asRun<T extends Record<string, unknown>>(
  probe: Probe,
  flow: string,
  work: () => Promise<T>,
): Promise<JobResult> {
  const started = performance.now();
  try {
    const outcome = await work();
    return { flow, ...outcome, stepsMs: probe.stepsMs, totalMs: Math.round(performance.now() - started) };
  } catch (error) {
    if (!(error instanceof ProbeStepError)) throw error;
    throw new StepsFailedError([{ step: error.step, error: error.message }], {
      flow,
      failedStep: error.step,
      stepsMs: probe.stepsMs,
    });
  }
}

async function runCodeProbe(context: JobContext, config: E2eFlowConfig, flow: CodeFlow): Promise<JobResult> {
  const { db, clock, logger } = context;
  const probe = new Probe({
    timeoutMs: config.requestTimeoutMs,
    signal: context.abortSignal,
    userAgent: USER_AGENT.flow,
  });
  let keys: RunKeys | undefined;
  try {
    return await asRun(probe, flow, async () => {
      const now = clock.now();
      const { realmId, swept } = await probe.step('bootstrap', async () => {
        const realm = await ensureE2eRealm(db, now);
        const leftovers = await sweepLeftovers(db, realm.id, now);
        const secrets = await readApiKeySecrets(db, context.adapters.secretStore);
        keys = await createRunKeys(db, realm.id, secrets, now);
        context.secrets.add(keys.admin);
        context.secrets.add(keys.device);
        return { realmId: realm.id, swept: leftovers };
      });
      if (swept.staleKeys + swept.legacyApps > 0) {
        logger.notice('removed e2e API keys and apps that earlier runs left behind', {
          event: 'e2e_leftovers_removed',
          ...swept,
        });
      }
      const outcome = await runCodeFlow(probe, flow, config, keys as RunKeys, now);
      return { realmId, ...outcome };
    });
  } finally {
    if (keys) {
      const created = keys;
      // A key left here is swept by a later run (STALE_KEY_AGE_MS); it must not turn a good probe red.
      await deleteRunKeys(db, created).catch((error: unknown) =>
        logger.warn(
          `could not delete this run's e2e API keys; a later run sweeps them: ${describeError(error)}`,
          {
            event: 'e2e_keys_not_deleted',
          },
        ),
      );
    }
  }
}

export function runE2eDefault(context: JobContext, config: E2eFlowConfig): Promise<JobResult> {
  return runCodeProbe(context, config, 'default');
}

export function runE2eRevise(context: JobContext, config: E2eFlowConfig): Promise<JobResult> {
  return runCodeProbe(context, config, 'revise');
}

/**
 * The redirect service serves the e2e realm's apps from the database, so the probe makes sure they
 * are there (and the realm) before asking for them; it needs no API keys.
 */
export async function runE2eRedirect(context: JobContext, config: E2eRedirectConfig): Promise<JobResult> {
  const probe = new Probe({
    timeoutMs: config.requestTimeoutMs,
    signal: context.abortSignal,
    userAgent: USER_AGENT.redirect,
  });
  return asRun(probe, 'redirect', async () => {
    const now = context.clock.now();
    const realmId = await probe.step('bootstrap', async () => {
      const realm = await ensureE2eRealm(context.db, now);
      await ensureE2eApps(context.db, realm.id, now);
      return realm.id;
    });
    return { realmId, ...(await runRedirectFlow(probe, config.redirectUrl)) };
  });
}
