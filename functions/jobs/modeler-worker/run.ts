/**
 * modeler-worker (enx-jobs.md §6): for each live realm, refits the abuse-prevention limit (realms
 * with abuse prevention on) and pushes it to the rate limiter as the realm's daily quota, and
 * recomputes the code-claim-ratio anomaly model (every realm). Each model of each realm is an
 * independent step: a realm with broken statistics fails with the day named and nothing of it
 * written, the other realms are still modelled, and the run then fails naming every failed step.
 *
 * A limit is saved before its quota is pushed. If the push fails, the database holds the new limit
 * (consistent on its own) and the run fails; the retry models again and pushes again, since every
 * run pushes every modelled realm's quota, changed or not.
 */
import { METRICS } from '../../alerts/metrics';
import { modelerWorker } from '../../catalog';
import { DAY_MS } from '../../core/duration';
import type { JobContext, JobResult } from '../../core/job-spec';
import { writeJobMetrics } from '../../core/step-metrics';
import { runSteps } from '../../core/steps';
import type { Step, StepReport } from '../../core/steps';
import { describeError } from '../../core/errors';
import type { QuotaOutcome } from '../../ports/rate-limiter';
import { RateLimiterUnavailableError } from '../../ports/rate-limiter';
import { predictLimit } from './abuse-model';
import { buildAnomalyModel, isAnomalous } from './anomaly-model';
import type { ModelerConfig } from './config';
import { claimDays, listRealms, recentIssuedDays, saveAnomalyModel, saveLimit } from './store';
import type { RealmRow } from './store';

/** The server's quota is a daily one (the original's Set(key, limit, 24h)). */
export const QUOTA_INTERVAL_MS = DAY_MS;
/** The summary lists this many limit changes; the count is always complete. */
const LISTED_CHANGES = 20;

type Outcome =
  | { readonly model: 'abuse'; readonly kind: 'too-little-data'; readonly days: number }
  | { readonly model: 'abuse'; readonly kind: 'gone' | 'disabled' }
  | {
      readonly model: 'abuse';
      readonly kind: 'modelled';
      readonly realmId: number;
      readonly from: number;
      readonly to: number;
      readonly effective: number;
      readonly quota: QuotaOutcome;
    }
  | { readonly model: 'anomaly'; readonly kind: 'too-little-data'; readonly ratios: number }
  | {
      readonly model: 'anomaly';
      readonly kind: 'modelled';
      readonly realmId: number;
      readonly changed: boolean;
      readonly anomalous: boolean;
    };

function realmLabel(realm: RealmRow): string {
  return `realm ${realm.id} (${realm.name})`;
}

export async function runModeler(context: JobContext, config: ModelerConfig): Promise<JobResult> {
  const { db, logger } = context;
  const now = context.clock.now();
  // realm_stats dates are UTC days; today's row is still filling up.
  const today = now.toISOString().slice(0, 10);
  const limiter = context.adapters.rateLimiter;
  const realms = await listRealms(db);

  if (limiter.store === 'noop' && realms.some((realm) => realm.abuse_prevention_enabled)) {
    logger.notice(
      'RATE_LIMIT_TYPE=NOOP: limits are saved in the database but no quota reaches a rate limiter',
      { event: 'rate_limiter_noop' },
    );
  }

  // Once Redis is found unreachable, the other realms do not each wait out the timeout again.
  let limiterDown: string | undefined;
  const pushQuota = async (realm: RealmRow, effective: number): Promise<QuotaOutcome> => {
    if (limiterDown !== undefined) throw new Error(`quota not pushed: ${limiterDown}`);
    try {
      return await limiter.applyQuota(realm.id, effective, QUOTA_INTERVAL_MS);
    } catch (error) {
      if (error instanceof RateLimiterUnavailableError) limiterDown = describeError(error);
      throw error;
    }
  };

  const abuseStep = async (realm: RealmRow): Promise<Outcome> => {
    const prediction = predictLimit(await recentIssuedDays(db, realm.id, today), {
      min: config.minValue,
      max: config.maxValue,
    });
    if (prediction.kind === 'too-little-data') {
      logger.info(`${realmLabel(realm)}: abuse-prevention model skipped, not enough data`, {
        event: 'abuse_model_skipped',
        realmId: realm.id,
        completeDays: prediction.days,
      });
      return { model: 'abuse', kind: 'too-little-data', days: prediction.days };
    }
    const saved = await saveLimit(db, realm.id, prediction.limit, now);
    if (saved.kind !== 'saved') {
      logger.notice(
        `${realmLabel(realm)} was ${saved.kind === 'gone' ? 'deleted' : 'switched off'} during the run; left alone`,
        {
          event: 'abuse_model_skipped',
          realmId: realm.id,
        },
      );
      return { model: 'abuse', kind: saved.kind };
    }
    if (saved.from !== saved.to) {
      logger.info(`${realmLabel(realm)}: abuse-prevention limit ${saved.from} → ${saved.to}`, {
        event: 'abuse_limit_changed',
        realmId: realm.id,
        from: saved.from,
        to: saved.to,
        effective: saved.effective,
        predicted: prediction.raw,
      });
    }
    let quota: QuotaOutcome;
    try {
      quota = await pushQuota(realm, saved.effective);
    } catch (error) {
      throw new Error(
        `limit ${saved.to} saved, but its quota of ${saved.effective} was not pushed to the rate limiter: ${describeError(error)}`,
      );
    }
    return {
      model: 'abuse',
      kind: 'modelled',
      realmId: realm.id,
      from: saved.from,
      to: saved.to,
      effective: saved.effective,
      quota,
    };
  };

  const anomalyStep = async (realm: RealmRow): Promise<Outcome> => {
    const model = buildAnomalyModel(await claimDays(db, realm.id, today), today);
    if (model.kind === 'too-little-data') {
      logger.debug(`${realmLabel(realm)}: anomaly model skipped, not enough data`, {
        event: 'anomaly_model_skipped',
        realmId: realm.id,
        ratios: model.ratios,
      });
      return { model: 'anomaly', kind: 'too-little-data', ratios: model.ratios };
    }
    const changed = await saveAnomalyModel(db, realm.id, model, now);
    const anomalous = isAnomalous(model, { allowedStdevs: config.anomalyAllowedStdevs, isE2e: realm.is_e2e });
    if (anomalous) {
      logger.warn(`${realmLabel(realm)}: code-claim ratio anomaly`, {
        event: 'codes_claimed_ratio_anomaly',
        realmId: realm.id,
        last: model.last,
        mean: model.mean,
        stddev: model.stddev,
        allowedStdevs: config.anomalyAllowedStdevs,
      });
    }
    return { model: 'anomaly', kind: 'modelled', realmId: realm.id, changed, anomalous };
  };

  const steps: Step<Outcome>[] = realms.flatMap((realm) => [
    ...(realm.abuse_prevention_enabled
      ? [{ name: `abuse-prevention ${realmLabel(realm)}`, run: () => abuseStep(realm) }]
      : []),
    { name: `anomaly ${realmLabel(realm)}`, run: () => anomalyStep(realm) },
  ]);

  const summarise = (report: StepReport<Outcome>): Record<string, unknown> => {
    const outcomes = Object.values(report.results);
    const abuse = outcomes.filter((outcome) => outcome.model === 'abuse');
    const modelled = abuse.flatMap((outcome) => (outcome.kind === 'modelled' ? [outcome] : []));
    const changes = modelled.filter((outcome) => outcome.from !== outcome.to);
    const anomaly = outcomes.filter((outcome) => outcome.model === 'anomaly');
    const anomalyModelled = anomaly.flatMap((outcome) => (outcome.kind === 'modelled' ? [outcome] : []));
    return {
      rateLimiter: limiter.store,
      realms: realms.length,
      abusePrevention: {
        realmsEnabled: realms.filter((realm) => realm.abuse_prevention_enabled).length,
        modelled: modelled.length,
        limitsChanged: changes.length,
        tooLittleData: abuse.filter((outcome) => outcome.kind === 'too-little-data').length,
        changedDuringRun: abuse.filter((outcome) => outcome.kind === 'gone' || outcome.kind === 'disabled')
          .length,
        quotasSet: modelled.filter((outcome) => outcome.quota === 'set').length,
        quotasKept: modelled.filter((outcome) => outcome.quota === 'kept').length,
      },
      limitChanges: changes
        .slice(0, LISTED_CHANGES)
        .map(({ realmId, from, to, effective }) => ({ realm: realmId, from, to, effective })),
      anomaly: {
        modelled: anomalyModelled.length,
        tooLittleData: anomaly.filter((outcome) => outcome.kind === 'too-little-data').length,
        updated: anomalyModelled.filter((outcome) => outcome.changed).length,
        anomalousRealms: anomalyModelled
          .filter((outcome) => outcome.anomalous)
          .map((outcome) => outcome.realmId),
      },
    };
  };
  const result = summarise(await runSteps(steps, { logger, signal: context.abortSignal, summarise }));
  const anomalous = (result.anomaly as { anomalousRealms: readonly number[] }).anomalousRealms.length;
  await writeJobMetrics(context, [
    { metric: METRICS.modelerAnomalies, jobId: modelerWorker.id, value: anomalous },
  ]);
  return result;
}
