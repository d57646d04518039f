/**
 * The four probe jobs over the shared flows. A run bootstraps the e2e realm (idempotent), sweeps
 * what dead runs left, makes its own API keys, runs its flow as timed steps and deletes its keys
 * whatever happened. Success returns each step's latency; a failure is a StepsFailedError naming
 * the step that broke (with the latencies of the steps up to it as the partial result), so the
 * ledger, the log line and the HTTP answer all say where the system is broken.
 */
import { performance } from 'node:perf_hooks';
import { METRICS } from '../../alerts/metrics';
import { e2eDefault, e2eRedirect, e2eRevise, e2eUserReport } from '../../catalog';
import { describeError, StepsFailedError } from '../../core/errors';
import type { JobContext, JobResult } from '../../core/job-spec';
import { stepPoints, writeJobMetrics } from '../../core/step-metrics';
import { readApiKeySecrets } from './api-key';
import { createRunKeys, deleteRunKeys, ensureE2eApps, ensureE2eRealm, sweepLeftovers } from './bootstrap';
import type { RunKeys } from './bootstrap';
import type { E2eFlowConfig, E2eRedirectConfig } from './config';
import type { CodeFlow } from './flow';
import { runCodeFlow, runRedirectFlow, TEST_PHONE } from './flow';
import { Probe, ProbeStepError } from './http';
import { deleteUserReport, phoneHashes } from './user-report';

const USER_AGENT = { flow: 'en/e2e-client', redirect: 'en/enxredirect-client' } as const;

/** Each probe's job id, by flow: the latency series of a step belong to the probe's job. */
const JOB_OF_FLOW = {
  default: e2eDefault.id,
  revise: e2eRevise.id,
  'user-report': e2eUserReport.id,
  redirect: e2eRedirect.id,
} as const;

/**
 * Runs `work`; a step failure becomes the run's failure, carrying the latencies measured so far.
 * Either way the latencies measured are written as the probe's per-step metric.
 */
async function asRun<T extends Record<string, unknown>>(
  context: JobContext,
  probe: Probe,
  flow: keyof typeof JOB_OF_FLOW,
  work: () => Promise<T>,
): Promise<JobResult> {
  try {
    return await timedRun(probe, flow, work);
  } finally {
    await writeJobMetrics(context, stepPoints(METRICS.e2eStepLatency, JOB_OF_FLOW[flow], probe.stepsMs));
  }
}

async function timedRun<T extends Record<string, unknown>>(
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

/**
 * e2e-user-report only: the test phone's report is cleared before the flow (what a dead run left;
 * the original's step 0) and after it (the clean-up), so the next run can report again.
 */
interface PhoneReport {
  readonly hashes: readonly string[];
  readonly removedBefore: number;
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
    return await asRun(context, probe, flow, async () => {
      const now = clock.now();
      const { realmId, swept, report } = await probe.step('bootstrap', async () => {
        const realm = await ensureE2eRealm(db, now);
        const leftovers = await sweepLeftovers(db, realm.id, now);
        const secrets = await readApiKeySecrets(db, context.adapters.secretStore);
        const phoneReport = flow === 'user-report' ? await clearPhoneReport(context, now) : undefined;
        keys = await createRunKeys(db, realm.id, secrets, now);
        context.secrets.add(keys.admin);
        context.secrets.add(keys.device);
        return { realmId: realm.id, swept: leftovers, report: phoneReport };
      });
      if (swept.staleKeys + swept.legacyApps > 0) {
        logger.notice('removed e2e API keys and apps that earlier runs left behind', {
          event: 'e2e_leftovers_removed',
          ...swept,
        });
      }
      const outcome = await runCodeFlow(probe, flow, config, keys as RunKeys, now);
      if (!report) return { realmId, ...outcome };
      const removed = await probe.step('cleanup', () => deleteUserReport(db, report.hashes, clock.now()));
      return { realmId, ...outcome, userReportsRemoved: { before: report.removedBefore, after: removed } };
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

async function clearPhoneReport(context: JobContext, now: Date): Promise<PhoneReport> {
  const hashes = await phoneHashes(context.db, context.adapters.secretStore, TEST_PHONE);
  return { hashes, removedBefore: await deleteUserReport(context.db, hashes, now) };
}

export function runE2eDefault(context: JobContext, config: E2eFlowConfig): Promise<JobResult> {
  return runCodeProbe(context, config, 'default');
}

export function runE2eRevise(context: JobContext, config: E2eFlowConfig): Promise<JobResult> {
  return runCodeProbe(context, config, 'revise');
}

export function runE2eUserReport(context: JobContext, config: E2eFlowConfig): Promise<JobResult> {
  return runCodeProbe(context, config, 'user-report');
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
  return asRun(context, probe, 'redirect', async () => {
    const now = context.clock.now();
    const realmId = await probe.step('bootstrap', async () => {
      const realm = await ensureE2eRealm(context.db, now);
      await ensureE2eApps(context.db, realm.id, now);
      return realm.id;
    });
    return { realmId, ...(await runRedirectFlow(probe, config.redirectUrl)) };
  });
}
