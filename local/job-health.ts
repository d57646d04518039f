/**
 * What the status page says about one job at a glance: its state word, its forward progress against
 * the ForwardProgressFailed window, and its last 24 hours of ticks folded into a fixed number of
 * time slots (a job ticking every minute and one ticking every four hours get rows of one width).
 * Pure functions of the ledger rows, so they are tested without a fleet.
 */

export type JobHealth = 'healthy' | 'late' | 'failing' | 'paused' | 'never ran';

/** One tick of the last day as the ledger has it. */
export interface TimelineTick {
  readonly scheduledAt: string;
  /** running | succeeded | failed | exhausted | skipped */
  readonly state: string;
  /** Tries made (1 = no retry). */
  readonly attempts: number;
  /** Answers that ran nothing for this tick: duplicate deliveries and overlap skips. */
  readonly nonRuns: number;
  readonly manual: boolean;
}

export type SlotOutcome = 'empty' | 'succeeded' | 'retried' | 'failed' | 'running' | 'skipped';

export interface TimelineSlot {
  readonly startAt: string;
  readonly outcome: SlotOutcome;
  readonly ticks: number;
  readonly failed: number;
  /** Ticks that needed more than one try. */
  readonly retried: number;
  readonly nonRuns: number;
}

export const TIMELINE_MS = 24 * 3_600_000;
export const TIMELINE_SLOTS = 96;

/** Worst first: a slot shows the worst thing that happened in it. */
const SEVERITY: readonly SlotOutcome[] = ['failed', 'running', 'retried', 'skipped', 'succeeded', 'empty'];

function tickOutcome(tick: TimelineTick): SlotOutcome {
  if (tick.state === 'failed' || tick.state === 'exhausted') return 'failed';
  if (tick.state === 'running') return 'running';
  if (tick.state === 'skipped') return 'skipped';
  return tick.attempts > 1 ? 'retried' : 'succeeded';
}

export function timelineSlots(ticks: readonly TimelineTick[], now: Date): TimelineSlot[] {
  const slotMs = TIMELINE_MS / TIMELINE_SLOTS;
  const start = now.getTime() - TIMELINE_MS;
  const slots = Array.from({ length: TIMELINE_SLOTS }, (_, index) => ({
    startAt: new Date(start + index * slotMs).toISOString(),
    outcome: 'empty' as SlotOutcome,
    ticks: 0,
    failed: 0,
    retried: 0,
    nonRuns: 0,
  }));
  for (const tick of ticks) {
    const index = Math.floor((Date.parse(tick.scheduledAt) - start) / slotMs);
    const slot = slots[Math.min(index, TIMELINE_SLOTS - 1)];
    if (!slot || index < 0) continue;
    const outcome = tickOutcome(tick);
    slot.ticks += 1;
    if (outcome === 'failed') slot.failed += 1;
    if (tick.attempts > 1) slot.retried += 1;
    slot.nonRuns += tick.nonRuns;
    if (SEVERITY.indexOf(outcome) < SEVERITY.indexOf(slot.outcome)) slot.outcome = outcome;
  }
  return slots;
}

export interface HealthInput {
  readonly paused: boolean;
  readonly lastSuccessAt: string | null;
  /** The latest finished tick's state, if any tick finished. */
  readonly lastFinishedState: string | null;
  readonly windowMs: number;
  /** Since when the job has been expected to succeed (the fleet's start when it never has). */
  readonly expectedSince: Date;
  readonly now: Date;
}

/** Time since the last success (or since expected) over the window: above 1 the job is late. */
export function progressRatio(input: HealthInput): number {
  const from = input.lastSuccessAt ? Date.parse(input.lastSuccessAt) : input.expectedSince.getTime();
  return Math.max(0, input.now.getTime() - from) / input.windowMs;
}

export function jobHealth(input: HealthInput): JobHealth {
  if (input.paused) return 'paused';
  if (input.lastFinishedState === 'failed' || input.lastFinishedState === 'exhausted') return 'failing';
  if (progressRatio(input) > 1) return 'late';
  if (!input.lastSuccessAt && !input.lastFinishedState) return 'never ran';
  return 'healthy';
}
