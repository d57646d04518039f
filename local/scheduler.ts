/**
 * The local Cloud Scheduler: one loop per job that follows the job's cron and time zone from the
 * catalog and calls the function the way Cloud Scheduler does (see scheduler-http.ts for the wire
 * format), with its retry rules (retry-policy.ts) and its no-overlap rule: "execution n+1 will not
 * begin until execution n has finished"; a tick whose time passes while the previous one is still
 * outstanding runs late, and ticks missed entirely (a long run, a suspended laptop) collapse into
 * the latest one instead of firing in a burst.
 *
 * Time and the network are injected (clock, sleep, call), so the loop runs under a fake clock in
 * the unit tests; croner only computes the next scheduled times (paused, it never sets a timer).
 */
import { setMaxListeners } from 'node:events';
import { Cron } from 'croner';
import type { RetryPolicy } from '../functions/core/job-spec';
import { planRetry } from './retry-policy';
import type { RetryDecision } from './retry-policy';

export interface ScheduledJob {
  readonly id: string;
  readonly cron: string;
  readonly timeZone: string;
  readonly httpMethod: 'GET' | 'POST';
  /** The function's URL, which is also the OIDC audience the token is minted for. */
  readonly url: string;
  readonly retry: RetryPolicy;
  /** Cloud Scheduler's attempt deadline: the client gives up on an answer after this long. */
  readonly attemptDeadlineMs: number;
}

export interface CallRequest {
  readonly job: ScheduledJob;
  readonly scheduleTime: Date;
  /**
   * A run-now call (Cloud Scheduler's RunJob). Its scheduleTime is the second it was dispatched:
   * the only statement Google makes is Firebase's, that a manually triggered schedule carries the
   * execution time (ScheduledEvent reference, read 2026-12-06). The runtime admits that as a forced
   * run (core/tick.ts admitScheduledTick; docs/decisions.md, issue 14).
   */
  readonly manual?: boolean;
  /** Aborted when the scheduler stops and the grace period for in-flight calls is over. */
  readonly signal: AbortSignal;
}

/** What came back: an HTTP status and body, or no answer at all (deadline, refused, interrupted). */
export interface CallResult {
  readonly status?: number;
  readonly body?: unknown;
  readonly error?: string;
}

export type Trigger = 'schedule' | 'run-now';

export type NextStep =
  { readonly kind: 'done' } | RetryDecision | { readonly kind: 'stop'; readonly reason: 'scheduler-stopped' };

export interface AttemptReport extends CallResult {
  readonly jobId: string;
  readonly trigger: Trigger;
  readonly tickAt: Date;
  readonly attempt: number;
  /** retryCount + 1: the attempts Cloud Scheduler would make for a tick that keeps failing. */
  readonly maxAttempts: number;
  readonly startedAt: Date;
  readonly durationMs: number;
  /** 2xx: Cloud Scheduler's only notion of success. */
  readonly ok: boolean;
  readonly next: NextStep;
}

export interface InFlightCall {
  readonly tickAt: Date;
  readonly attempt: number;
  readonly startedAt: Date;
  readonly trigger: Trigger;
}

export interface SchedulerClock {
  now(): number;
  /** Resolves after `ms`, or as soon as `signal` aborts; never rejects. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemSchedulerClock: SchedulerClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal.addEventListener('abort', done, { once: true });
    }),
};

export interface SchedulerDeps {
  readonly clock?: SchedulerClock;
  call(request: CallRequest): Promise<CallResult>;
  onAttempt?(report: AttemptReport): void;
  /** Ticks that came and went while the job was busy or the machine slept; `tickAt` runs instead. */
  onMissedTicks?(jobId: string, missed: number, tickAt: Date): void;
}

/**
 * Sleeps are cut into pieces of at most this long and the clock is read again after each, so a
 * suspended machine or a clock change does not leave a tick waiting on a stale timer.
 */
const MAX_SLEEP_MS = 60_000;

interface JobState {
  readonly cron: Cron;
  nextTickAt: Date | null;
  inFlight: InFlightCall | null;
  lastAttempt: AttemptReport | null;
}

export class Scheduler {
  private readonly clock: SchedulerClock;
  private readonly states = new Map<string, JobState>();
  /** Stops the loops: no new attempt starts, sleeps end early. */
  private readonly stopping = new AbortController();
  /** Interrupts calls still in flight once the grace period is over. */
  private readonly interrupt = new AbortController();
  private loops: Promise<void>[] | undefined;
  /** Jobs whose ticks pass without a call (Cloud Scheduler's PAUSED state). */
  private readonly paused = new Set<string>();
  /** Runs asked for with runNow(), awaited by stop() like the loops. */
  private readonly manualRuns = new Set<Promise<void>>();

  constructor(
    readonly jobs: readonly ScheduledJob[],
    private readonly deps: SchedulerDeps,
  ) {
    this.clock = deps.clock ?? systemSchedulerClock;
    // Every job's loop (and each call in flight) listens on these two signals: a dozen jobs pass
    // Node's default leak warning of 10 without any leak, so the bound follows the catalog.
    for (const signal of [this.stopping.signal, this.interrupt.signal])
      setMaxListeners(4 * jobs.length + 10, signal);
    for (const job of jobs) {
      // An invalid pattern or time zone throws here, before anything runs.
      const cron = new Cron(job.cron, { timezone: job.timeZone, paused: true, mode: '5-part' });
      this.states.set(job.id, { cron, nextTickAt: null, inFlight: null, lastAttempt: null });
    }
  }

  start(options: { runNow?: boolean } = {}): void {
    if (this.loops) throw new Error('the scheduler is already started');
    this.loops = this.jobs.map((job) => this.loop(job, this.state(job.id), options.runNow ?? false));
  }

  /** The next scheduled time of the job, or null when it has none (or the scheduler stopped). */
  nextTickAt(jobId: string): Date | null {
    return this.states.get(jobId)?.nextTickAt ?? null;
  }

  inFlight(jobId: string): InFlightCall | null {
    return this.states.get(jobId)?.inFlight ?? null;
  }

  lastAttempt(jobId: string): AttemptReport | null {
    return this.states.get(jobId)?.lastAttempt ?? null;
  }

  isPaused(jobId: string): boolean {
    this.state(jobId);
    return this.paused.has(jobId);
  }

  /** Ticks pass without a call until resume(); a call in flight finishes (and retries) as usual. */
  pause(jobId: string): void {
    this.state(jobId);
    this.paused.add(jobId);
  }

  resume(jobId: string): void {
    this.state(jobId);
    this.paused.delete(jobId);
  }

  /**
   * Cloud Scheduler's RunJob: one manual run, reported under the current second, dispatched at once,
   * even while the job is paused or already running (the runtime's lock and ledger sort that out).
   * Returns the time it is reported under.
   */
  runNow(jobId: string): Date {
    const state = this.state(jobId);
    if (this.stopped) throw new Error('the scheduler is stopping');
    const job = this.jobs.find((candidate) => candidate.id === jobId)!;
    const tickAt = new Date(Math.floor(this.clock.now() / 1000) * 1000);
    const run: Promise<void> = this.runTick(job, state, tickAt, state.nextTickAt, 'run-now').finally(() =>
      this.manualRuns.delete(run),
    );
    this.manualRuns.add(run);
    return tickAt;
  }

  /**
   * Stops scheduling, waits up to `graceMs` for calls in flight to answer, then interrupts the rest
   * (the function keeps running its attempt; the ledger settles it). Returns how many were cut off.
   */
  async stop(graceMs = 10_000): Promise<{ interrupted: number }> {
    this.stopping.abort();
    for (const state of this.states.values()) state.cron.stop();
    if (!this.loops && this.manualRuns.size === 0) return { interrupted: 0 };
    const all = Promise.all([...(this.loops ?? []), ...this.manualRuns]);
    const graceOver = new AbortController();
    const finishedInTime = await Promise.race([
      all.then(() => true),
      this.clock.sleep(graceMs, graceOver.signal).then(() => false),
    ]);
    graceOver.abort();
    let interrupted = 0;
    if (!finishedInTime) {
      interrupted = [...this.states.values()].filter((state) => state.inFlight).length;
      this.interrupt.abort();
      await all;
    }
    return { interrupted };
  }

  private state(jobId: string): JobState {
    const state = this.states.get(jobId);
    if (!state) throw new Error(`job ${jobId} is not scheduled`);
    return state;
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async loop(job: ScheduledJob, state: JobState, runNow: boolean): Promise<void> {
    if (runNow) {
      // Dispatched like a scheduled tick (same ledger and retry path), as a manual run: see CallRequest.
      const tickAt = new Date(Math.floor(this.clock.now() / 1000) * 1000);
      state.nextTickAt = state.cron.nextRun(tickAt);
      await this.runTick(job, state, tickAt, state.nextTickAt, 'run-now');
    }
    let tickAt = state.cron.nextRun(new Date(this.clock.now()));
    while (tickAt && !this.stopped) {
      state.nextTickAt = tickAt;
      await this.sleepUntil(tickAt.getTime());
      if (this.stopped) break;
      let following = state.cron.nextRun(tickAt);
      let missed = 0;
      while (following && following.getTime() <= this.clock.now()) {
        missed += 1;
        tickAt = following;
        following = state.cron.nextRun(tickAt);
      }
      if (missed > 0) this.deps.onMissedTicks?.(job.id, missed, tickAt);
      state.nextTickAt = following;
      if (!this.paused.has(job.id)) await this.runTick(job, state, tickAt, following, 'schedule');
      tickAt = following;
    }
    state.nextTickAt = null;
  }

  private async runTick(
    job: ScheduledJob,
    state: JobState,
    tickAt: Date,
    nextTickAt: Date | null,
    trigger: Trigger,
  ): Promise<void> {
    const firstAttemptAtMs = this.clock.now();
    for (let attempt = 1; !this.stopped; attempt += 1) {
      const startedAtMs = this.clock.now();
      state.inFlight = { tickAt, attempt, startedAt: new Date(startedAtMs), trigger };
      let result: CallResult;
      try {
        result = await this.deps.call({
          job,
          scheduleTime: tickAt,
          manual: trigger === 'run-now',
          signal: this.interrupt.signal,
        });
      } catch (error) {
        result = { error: error instanceof Error ? error.message : String(error) };
      } finally {
        state.inFlight = null;
      }
      const endedAtMs = this.clock.now();
      const ok = result.status !== undefined && result.status >= 200 && result.status < 300;
      const next: NextStep = ok
        ? { kind: 'done' }
        : this.stopped
          ? { kind: 'stop', reason: 'scheduler-stopped' }
          : planRetry(job.retry, {
              retriesDone: attempt - 1,
              firstAttemptAtMs,
              nowMs: endedAtMs,
              nextTickAtMs: nextTickAt?.getTime() ?? null,
            });
      const report: AttemptReport = {
        ...result,
        jobId: job.id,
        trigger,
        tickAt,
        attempt,
        maxAttempts: job.retry.retryCount + 1,
        startedAt: new Date(startedAtMs),
        durationMs: endedAtMs - startedAtMs,
        ok,
        next,
      };
      state.lastAttempt = report;
      this.deps.onAttempt?.(report);
      if (next.kind !== 'retry') return;
      await this.sleepUntil(next.atMs);
    }
  }

  private async sleepUntil(atMs: number): Promise<void> {
    while (!this.stopped && this.clock.now() < atMs) {
      await this.clock.sleep(Math.min(atMs - this.clock.now(), MAX_SLEEP_MS), this.stopping.signal);
    }
  }
}
