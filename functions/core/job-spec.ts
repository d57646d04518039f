/**
 * What the catalog says about a job, and the shape of a job's logic. Infra, the local scheduler,
 * the alert windows, the runbooks' job list and the tests are all derived from these specs.
 */
import type { ConfigSchema } from './config';
import type { Clock } from './clock';
import type { Db } from './db';
import type { Logger, SecretRegistry } from './logger';
import type { Tick } from './tick';
import type { Adapters } from '../ports';
import { declaredAdapters } from '../ports';

/** Cloud Scheduler's retry settings for the job (RetryConfig). */
export interface RetryPolicy {
  /** Retries after the first attempt, 0-5 (Cloud Scheduler's range). */
  readonly retryCount: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly maxDoublings: number;
  /** 0 means no limit besides retryCount. */
  readonly maxRetryDurationMs: number;
}

export interface JobSpec<Config = unknown> {
  /** kebab-case; the function name, entry point, scheduler job, metric label and log query all use it. */
  readonly id: string;
  /** One line for the runbooks and the status page. */
  readonly description: string;
  /** unix-cron (5 fields) and an IANA time zone, exactly as Cloud Scheduler takes them. */
  readonly schedule: { readonly cron: string; readonly timeZone: string };
  /** HTTP method the scheduler uses. */
  readonly httpMethod: 'GET' | 'POST';
  /** The runtime aborts the job after this long, records the attempt as failed and frees the lock. */
  readonly timeoutMs: number;
  /**
   * Cloud Scheduler's attempt deadline, also the function's request timeout. Longer than
   * timeoutMs, so the runtime has time to record the outcome before the scheduler gives up.
   */
  readonly attemptDeadlineMs: number;
  readonly retry: RetryPolicy;
  /**
   * What becomes of a scheduled tick that arrives while another tick of the job is running (jobs
   * never overlap). 'covered-by-next': it is answered 200 skipped, since the next tick does the
   * same work (a purge, a sync). 'must-run': the tick's work belongs to it (the day's mail), so it
   * is answered 409 deferred and Cloud Scheduler retries it after the running tick has ended; a
   * tick whose last retry is deferred too is exhausted, like one whose last retry failed.
   * Every catalog job states it (test/unit/catalog.test.ts); a spec without it is 'covered-by-next'.
   */
  readonly skippedTick?: SkippedTick;
  /** ForwardProgressFailed fires after this many scheduled ticks in a row without a success. */
  readonly missedTicksBeforeAlert: number;
  /** The job's own settings; parsed once per instance. */
  readonly config: ConfigSchema<Config>;
  /**
   * Project-level IAM roles the job's service account needs beyond database access. Never a Cloud
   * KMS role: those go in kmsGrants, on the one key or key ring the job uses.
   */
  readonly roles: readonly string[];
  /** Cloud KMS roles, each granted on a single key or key ring of the fleet (least privilege). */
  readonly kmsGrants?: readonly KmsGrant[];
  readonly memoryMb: number;
}

export type SkippedTick = 'covered-by-next' | 'must-run';

/** The fleet's KMS resources a job can be granted a role on (infra/constructs/shared.ts). */
export type KmsResource = 'token-signing-key' | 'certificate-signing-key' | 'realm-key-ring';

export interface KmsGrant {
  /** A predefined role (roles/cloudkms.*) or a custom one (custom:<name>, infra/custom-roles.ts). */
  readonly role: string;
  readonly on: KmsResource;
}

/** Everything a job may use. Jobs never read process.env or the system clock themselves. */
export interface JobContext<Config = unknown> {
  /** The job's own catalog entry: its id, schedule and limits, never restated by the job. */
  readonly spec: JobSpec<Config>;
  readonly db: Db;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Aborted when the job's timeout passes; long loops check it between units of work. */
  readonly abortSignal: AbortSignal;
  readonly tick: Tick;
  readonly attempt: number;
  readonly adapters: Adapters;
  /**
   * The runtime's secret registry: a value the job learns at run time (an API key it minted, say)
   * is added here, and no log line, ledger row or answer of the runtime carries it from then on.
   */
  readonly secrets: SecretRegistry;
}

/** A small summary of what the run did (rows purged, keys rotated, mails sent); kept in the ledger. */
export type JobResult = Readonly<Record<string, unknown>>;

export type JobRun<Config> = (context: JobContext<Config>, config: Config) => Promise<JobResult>;

export interface JobDefinition<Config = unknown> {
  readonly spec: JobSpec<Config>;
  readonly run: JobRun<Config>;
  /** The adapters the job calls; its deployed archive holds these and no other (scripts/build.ts). */
  readonly adapters: readonly (keyof Adapters)[];
}

/**
 * Ties a spec to its logic with the config types checked against each other. The job sees only the
 * adapters it declares: using another fails at once, in every test, rather than in a deployed
 * function whose archive was built without it.
 */
export function defineJob<Config>(
  spec: JobSpec<Config>,
  run: JobRun<Config>,
  adapters: readonly (keyof Adapters)[] = [],
): JobDefinition<Config> {
  return {
    spec,
    adapters,
    run: (context, config) =>
      run({ ...context, adapters: declaredAdapters(context.adapters, adapters, spec.id) }, config),
  };
}

/**
 * Cloud Scheduler's defaults, used where a job has no reason to differ, except the minimum backoff:
 * 10 s instead of 5 s, so two attempts of one tick never write a metric series faster than Cloud
 * Monitoring accepts (one point per series per 5-10 s).
 */
export const DEFAULT_BACKOFF = {
  minBackoffMs: 10_000,
  maxBackoffMs: 3_600_000,
  maxDoublings: 5,
  maxRetryDurationMs: 0,
} as const;

/**
 * A job of any configuration type, for lists of jobs. The handler only ever passes a job the
 * config its own schema parsed, so the erased type is never mixed up.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyJobDefinition = JobDefinition<any>;
