/**
 * rotation-worker: the token-signing-key step and one step per system secret type, every five
 * minutes. ENX ran these as two scheduler jobs; both are age-driven and idempotent, so one job
 * running both loses nothing and a run with nothing due only reads. Steps are independent (a KMS
 * outage does not stop secret rotation, one secret type failing does not stop the others); the run
 * fails afterwards naming every failed step, with what the others did kept as the result.
 */
import type { JobContext, JobResult } from '../../core/job-spec';
import { runSteps } from '../../core/steps';
import type { Step, StepReport } from '../../core/steps';
import type { RotationConfig } from './config';
import { secretAges } from './config';
import { rotateSecretType } from './secrets';
import type { SecretTypeResult } from './secrets';
import { SECRET_TYPES } from './secret-types';
import { rotateTokenSigningKey } from './token-key';
import type { TokenKeyResult } from './token-key';

export const TOKEN_KEY_STEP = 'token-signing-key';
export const secretStep = (type: string) => `secret ${type}`;

type StepResult = TokenKeyResult | SecretTypeResult;

function summarise(report: StepReport<StepResult>): Record<string, unknown> {
  const token = report.results[TOKEN_KEY_STEP] as TokenKeyResult | undefined;
  const secrets: SecretTypeResult = {
    created: 0,
    adopted: 0,
    activated: 0,
    retired: 0,
    markedForDeletion: 0,
    purged: 0,
    orphansRecorded: 0,
  };
  for (const kind of SECRET_TYPES) {
    const result = report.results[secretStep(kind.type)] as SecretTypeResult | undefined;
    if (!result) continue;
    for (const key of Object.keys(secrets) as (keyof SecretTypeResult)[]) secrets[key] += result[key];
  }
  return {
    ...(token ? { tokenSigningKey: token } : {}),
    secrets,
    secretTypesRotated: SECRET_TYPES.filter((kind) => report.results[secretStep(kind.type)]).length,
  };
}

export async function runRotation(context: JobContext, config: RotationConfig): Promise<JobResult> {
  const { db, clock, logger, abortSignal: signal } = context;
  const ages = secretAges(config);
  const steps: Step<StepResult>[] = [
    {
      name: TOKEN_KEY_STEP,
      run: () =>
        rotateTokenSigningKey(
          { db, clock, logger, signal, keyManager: context.adapters.keyManager },
          { keyName: config.tokenSigningKey, maxAgeMs: config.tokenSigningKeyMaxAgeMs },
        ),
    },
    ...SECRET_TYPES.map((kind) => ({
      name: secretStep(kind.type),
      run: () =>
        rotateSecretType(
          { db, clock, logger, signal, secretStore: context.adapters.secretStore },
          {
            parent: config.secretsParent,
            kind,
            ages: ages[kind.type],
            activationTtlMs: config.secretActivationTtlMs,
            destroyTtlMs: config.secretDestroyTtlMs,
          },
        ),
    })),
  ];
  const report = await runSteps(steps, { logger, signal, summarise });
  return summarise(report);
}
