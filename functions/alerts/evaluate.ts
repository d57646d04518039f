/**
 * The verdict of every alert rule over a snapshot of the fleet: pure, so the local evaluator, the
 * watchdog's gauges and the time-travel simulator all judge the same way Cloud Monitoring's
 * policies are built to.
 */
import type { AttemptOutcome } from '../core/signals';
import type { AlertCondition, AlertId, AlertRule, Severity, Sustain, TickOutcome } from './rules';
import { WATCHDOG_JOB } from './rules';

export interface FinishedAttempt {
  readonly jobId: string;
  readonly outcome: AttemptOutcome;
  readonly finishedAt: Date;
  readonly exhausted: boolean;
}

export interface JobProgress {
  readonly jobId: string;
  readonly windowMs: number;
  readonly lastSuccessAt?: Date;
  /** Since when the job has been expected to run (first seen in the catalog by the watchdog). */
  readonly expectedSince: Date;
  /** Attempts recorded as running past their deadline. */
  readonly overdueAttempts: number;
}

/** A failed attempt as Cloud Scheduler logs it (AttemptFinished with a status other than OK). */
export interface SchedulerFailure {
  readonly jobId: string;
  /** The entry's jsonPayload.status: a google.rpc.Code name such as PERMISSION_DENIED. */
  readonly status: string;
  readonly at: Date;
}

/** A request the runtime refused before the job ran (the refused_requests counter). */
export interface Refusal {
  readonly jobId: string;
  /** auth, method, path, body, tick or misconfigured. */
  readonly reason: string;
  readonly at: Date;
}

export interface FleetSnapshot {
  readonly now: Date;
  readonly jobs: readonly JobProgress[];
  /** Finished attempts within the longest look-back any rule needs. */
  readonly attempts: readonly FinishedAttempt[];
  /** When any job (other than the watchdog) last finished an attempt, if ever. */
  readonly lastActivityAt?: Date;
  /**
   * Signals from outside the ledger, within the look-back: Cloud Scheduler's failed attempts
   * (its logs) and the runtime's refusals. loadSnapshot cannot fill them (a refused or unreachable
   * request leaves no ledger row); the local fleet and the simulator, which play Cloud Scheduler,
   * do (local/outside-signals.ts). On Google Cloud the two rules read the log-based metric and
   * refused_requests instead.
   */
  readonly schedulerFailures?: readonly SchedulerFailure[];
  readonly refusals?: readonly Refusal[];
}

export interface Verdict {
  readonly alertId: AlertId;
  readonly severity: Severity;
  /** The job id for per-job rules, "fleet" otherwise. */
  readonly subject: string;
  readonly firing: boolean;
  /** The measured value the rule compared (a ratio, seconds idle, ...). */
  readonly value: number;
  /**
   * Too little data to change the alert's state either way (an empty window, or a breach measured
   * on fewer attempts than the rule needs): a firing alert keeps firing, a quiet one stays quiet,
   * as a Cloud Monitoring incident does while its condition has no data.
   */
  readonly holds?: boolean;
  readonly detail: string;
}

/** Time since last success (or since expected) over the window; above 1 the job is late. */
export function forwardProgressRatio(job: JobProgress, now: Date): number {
  const since = job.lastSuccessAt ?? job.expectedSince;
  return Math.max(0, now.getTime() - since.getTime()) / job.windowMs;
}

/** Seconds since any counted job last finished an attempt, or undefined without recent history. */
export function fleetIdleSeconds(snapshot: FleetSnapshot, historyMs: number): number | undefined {
  const last = snapshot.lastActivityAt?.getTime();
  if (last === undefined || last < snapshot.now.getTime() - historyMs) return undefined;
  return Math.max(0, snapshot.now.getTime() - last) / 1000;
}

const percent = (value: number) => `${(value * 100).toFixed(1)} %`;
const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;
const MINUTE_MS = 60_000;

/** The job whose own attempts the fleet rates leave out: it runs every minute and judges the rest. */
export const RATE_EXCLUDED_JOBS: readonly string[] = [WATCHDOG_JOB];

/** A tick's final outcome from one attempt: only the last attempt of a failed tick counts. */
export function tickOutcome(attempt: FinishedAttempt): TickOutcome | undefined {
  if (attempt.outcome === 'failed') return attempt.exhausted ? 'failed' : undefined;
  return attempt.outcome;
}

/** The whole minutes at or before `atMs`, newest first, covering `spanMs` (at least one). */
function minutesBack(atMs: number, spanMs: number): number[] {
  const latest = Math.floor(atMs / MINUTE_MS) * MINUTE_MS;
  const count = Math.max(1, Math.ceil(spanMs / MINUTE_MS));
  return Array.from({ length: count }, (_, index) => latest - index * MINUTE_MS);
}

/**
 * Whether an incident is open under Sustain at `atMs`: some minute within the last `recoverMs`
 * ends a run of `forMs` in which every minute breached. Stateless, so Cloud Monitoring's PromQL
 * (count_over_time inside max_over_time, subqueries at a 1-minute step) computes the same.
 */
export function sustainedOpen(
  atMs: number,
  sustain: Sustain,
  breached: (minuteMs: number) => boolean,
): boolean {
  const memo = new Map<number, boolean>();
  const at = (minuteMs: number) => {
    let value = memo.get(minuteMs);
    if (value === undefined) memo.set(minuteMs, (value = breached(minuteMs)));
    return value;
  };
  return minutesBack(atMs, sustain.recoverMs).some((end) =>
    minutesBack(end, sustain.forMs).every((minute) => at(minute)),
  );
}

const within = (atMs: number, windowMs: number) => (time: Date) =>
  time.getTime() > atMs - windowMs && time.getTime() <= atMs;

/** The measured ratio of a rate rule over the window ending at `atMs`. */
function measureRatio(
  condition: Extract<AlertCondition, { kind: 'ratio' }>,
  attempts: readonly FinishedAttempt[],
  atMs: number,
) {
  const inWindow = within(atMs, condition.windowMs);
  let numerator = 0;
  let denominator = 0;
  for (const attempt of attempts) {
    const outcome = tickOutcome(attempt);
    if (outcome === undefined || !inWindow(attempt.finishedAt) || RATE_EXCLUDED_JOBS.includes(attempt.jobId))
      continue;
    if (condition.denominator.includes(outcome)) denominator += 1;
    if (condition.numerator.includes(outcome)) numerator += 1;
  }
  const ratio = denominator === 0 ? (condition.comparison === 'above' ? 0 : 1) : numerator / denominator;
  const enough = denominator >= condition.minTicks;
  const breached =
    enough && (condition.comparison === 'above' ? ratio > condition.threshold : ratio < condition.threshold);
  return { numerator, denominator, ratio, enough, breached };
}

type Base = Pick<Verdict, 'alertId' | 'severity'>;

function forwardProgressVerdicts(base: Base, snapshot: FleetSnapshot): Verdict[] {
  return snapshot.jobs.map((job) => {
    const ratio = forwardProgressRatio(job, snapshot.now);
    const since = job.lastSuccessAt
      ? `last success ${job.lastSuccessAt.toISOString()}`
      : `no success since it was first expected at ${job.expectedSince.toISOString()}`;
    return {
      ...base,
      subject: job.jobId,
      firing: ratio > 1,
      value: ratio,
      detail: `${since}; window ${minutes(job.windowMs)}`,
    };
  });
}

function exhaustedVerdicts(
  base: Base,
  snapshot: FleetSnapshot,
  condition: Extract<AlertCondition, { kind: 'exhausted' }>,
): Verdict[] {
  const recent = snapshot.attempts.filter(
    (a) => a.exhausted && within(snapshot.now.getTime(), condition.windowMs)(a.finishedAt),
  );
  return snapshot.jobs.map((job) => {
    const count = recent.filter((attempt) => attempt.jobId === job.jobId).length;
    return {
      ...base,
      subject: job.jobId,
      firing: count > 0,
      value: count,
      detail: `${count} exhausted tick(s) in the last ${minutes(condition.windowMs)}`,
    };
  });
}

function ratioVerdict(
  base: Base,
  snapshot: FleetSnapshot,
  condition: Extract<AlertCondition, { kind: 'ratio' }>,
): Verdict {
  const now = snapshot.now.getTime();
  const firing = sustainedOpen(
    now,
    condition,
    (minute) => measureRatio(condition, snapshot.attempts, minute).breached,
  );
  const latest = measureRatio(condition, snapshot.attempts, minutesBack(now, 0)[0]);
  const volume = latest.enough ? '' : `; fewer than ${condition.minTicks} ticks, too few to judge`;
  return {
    ...base,
    subject: 'fleet',
    firing,
    value: latest.ratio,
    detail: `${latest.numerator}/${latest.denominator} ticks (${percent(latest.ratio)}) in the last ${minutes(condition.windowMs)}; threshold ${condition.comparison} ${percent(condition.threshold)} for ${minutes(condition.forMs)}${volume}`,
  };
}

interface OutsideEvent {
  readonly jobId: string;
  readonly at: Date;
}

/**
 * One verdict per job and label (a scheduler status, a refusal reason) of events from outside the
 * ledger: open under the rule's Sustain while `breached` holds for that job's events.
 */
function eventVerdicts<T extends OutsideEvent>(
  base: Base,
  snapshot: FleetSnapshot,
  condition: Sustain,
  events: readonly T[],
  labelOf: (event: T) => string,
  rule: {
    readonly breached: (mine: readonly T[], jobId: string, minute: number) => boolean;
    readonly describe: (count: number, label: string) => string;
  },
): Verdict[] {
  const now = snapshot.now.getTime();
  const subjects = new Map<string, T[]>();
  for (const event of events) {
    const key = JSON.stringify([event.jobId, labelOf(event)]);
    subjects.set(key, [...(subjects.get(key) ?? []), event]);
  }
  return [...subjects].map(([key, mine]) => {
    const [jobId, label] = JSON.parse(key) as [string, string];
    const count = mine.filter((event) => within(now, condition.windowMs)(event.at)).length;
    return {
      ...base,
      subject: jobId,
      firing: sustainedOpen(now, condition, (minute) => rule.breached(mine, jobId, minute)),
      value: count,
      detail: rule.describe(count, label),
    };
  });
}

/** Per job and status: failed scheduler attempts in the window and no success of the job in it. */
function schedulerVerdicts(
  base: Base,
  snapshot: FleetSnapshot,
  condition: Extract<AlertCondition, { kind: 'scheduler-failures' }>,
): Verdict[] {
  const inWindow = (minute: number) => within(minute, condition.windowMs);
  return eventVerdicts(base, snapshot, condition, snapshot.schedulerFailures ?? [], (f) => f.status, {
    breached: (mine, jobId, minute) =>
      mine.some((failure) => inWindow(minute)(failure.at)) &&
      !snapshot.attempts.some(
        (a) => a.jobId === jobId && a.outcome === 'succeeded' && inWindow(minute)(a.finishedAt),
      ),
    describe: (count, status) =>
      `${count} failed scheduler attempt(s) with status ${status} and no success in the last ${minutes(condition.windowMs)}`,
  });
}

/** Per job and reason: refused requests in the window. */
function refusalVerdicts(
  base: Base,
  snapshot: FleetSnapshot,
  condition: Extract<AlertCondition, { kind: 'refusals' }>,
): Verdict[] {
  return eventVerdicts(base, snapshot, condition, snapshot.refusals ?? [], (r) => r.reason, {
    breached: (mine, _jobId, minute) =>
      mine.some((refusal) => within(minute, condition.windowMs)(refusal.at)),
    describe: (count, reason) =>
      `${count} request(s) refused (reason ${reason}) in the last ${minutes(condition.windowMs)}`,
  });
}

function stalledVerdict(
  base: Base,
  snapshot: FleetSnapshot,
  condition: Extract<AlertCondition, { kind: 'stalled' }>,
): Verdict {
  const idle = fleetIdleSeconds(snapshot, condition.historyMs);
  return {
    ...base,
    subject: 'fleet',
    firing: idle !== undefined && idle * 1000 > condition.idleMs,
    value: idle ?? 0,
    detail:
      idle === undefined
        ? 'no attempts in the recent history; nothing to stall'
        : `last attempt finished ${Math.round(idle)} s ago; limit ${minutes(condition.idleMs)}`,
  };
}

export function evaluate(rules: readonly AlertRule[], snapshot: FleetSnapshot): Verdict[] {
  return rules.flatMap((rule): Verdict[] => {
    const base = { alertId: rule.id, severity: rule.severity };
    const condition = rule.condition;
    switch (condition.kind) {
      case 'forward-progress':
        return forwardProgressVerdicts(base, snapshot);
      case 'exhausted':
        return exhaustedVerdicts(base, snapshot, condition);
      case 'ratio':
        return [ratioVerdict(base, snapshot, condition)];
      case 'scheduler-failures':
        return schedulerVerdicts(base, snapshot, condition);
      case 'refusals':
        return refusalVerdicts(base, snapshot, condition);
      case 'stalled':
        return [stalledVerdict(base, snapshot, condition)];
    }
  });
}

/** How far back a snapshot must load attempts: a window, plus its duration and recovery hold. */
export function lookbackMs(rules: readonly AlertRule[]): number {
  return Math.max(
    0,
    ...rules.map((rule) => {
      const condition = rule.condition;
      if (condition.kind === 'exhausted') return condition.windowMs;
      if ('forMs' in condition) return condition.windowMs + condition.forMs + condition.recoverMs + MINUTE_MS;
      return 0;
    }),
  );
}
