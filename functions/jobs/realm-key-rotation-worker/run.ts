/**
 * realm-key-rotation-worker: rotates the certificate-signing keys of every realm with
 * auto_rotate_certificate_key (enx-jobs.md §7.2). Each realm's create, activate and destroy stages
 * are separate steps: one failing does not stop the others or the other realms. Unlike the original,
 * which logged per-realm failures and reported success, the run then fails naming each realm and
 * stage, so the success heartbeat is never recorded over a failure and the alert fires.
 */
import type { JobContext, JobResult } from '../../core/job-spec';
import { runSteps } from '../../core/steps';
import type { Step, StepReport } from '../../core/steps';
import type { RealmKeyRotationConfig } from './config';
import { activateRealmKey, createRealmKey, destroyRealmKeys } from './realm-keys';
import type { CreateResult, Realm } from './realm-keys';

type StageResult = CreateResult | number;

function summarise(realms: readonly Realm[]) {
  return (report: StepReport<StageResult>): Record<string, unknown> => {
    const totals = {
      keysCreated: 0,
      keysAdopted: 0,
      keysActivated: 0,
      keysDestroyed: 0,
      orphansDestroyed: 0,
    };
    for (const [name, value] of Object.entries(report.results)) {
      if (name.endsWith(' create')) {
        const created = value as CreateResult;
        totals.keysCreated += created.created;
        totals.keysAdopted += created.adopted;
        totals.orphansDestroyed += created.orphansDestroyed;
      } else if (name.endsWith(' activate')) totals.keysActivated += value as number;
      else if (name.endsWith(' destroy')) totals.keysDestroyed += value as number;
    }
    return { realms: realms.length, ...totals };
  };
}

export async function runRealmKeyRotation(
  context: JobContext,
  config: RealmKeyRotationConfig,
): Promise<JobResult> {
  const { rows } = await context.db.query<{ id: number; certificate_duration: string | null }>(
    `SELECT id, certificate_duration::text FROM realms
      WHERE auto_rotate_certificate_key AND deleted_at IS NULL ORDER BY id`,
  );
  const realms: Realm[] = rows.map((row) => ({
    id: row.id,
    certificateDurationS: Number(row.certificate_duration ?? 0),
  }));
  const deps = {
    db: context.db,
    clock: context.clock,
    logger: context.logger,
    signal: context.abortSignal,
    keyManager: context.adapters.keyManager,
  };
  const steps: Step<StageResult>[] = realms.flatMap((realm) => [
    { name: `realm ${realm.id} create`, run: () => createRealmKey(deps, config, realm) },
    { name: `realm ${realm.id} activate`, run: () => activateRealmKey(deps, config, realm) },
    { name: `realm ${realm.id} destroy`, run: () => destroyRealmKeys(deps, config, realm) },
  ]);
  const report = await runSteps(steps, {
    logger: context.logger,
    signal: context.abortSignal,
    summarise: summarise(realms),
  });
  return summarise(realms)(report);
}
