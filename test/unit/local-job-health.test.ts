import { jobHealth, progressRatio, TIMELINE_SLOTS, timelineSlots } from '../../local/job-health';
import type { HealthInput, TimelineTick } from '../../local/job-health';

const NOW = new Date('2026-12-06T12:00:00Z');
const base: HealthInput = {
  paused: false,
  lastSuccessAt: '2026-12-06T11:50:00Z',
  lastFinishedState: 'succeeded',
  windowMs: 30 * 60_000,
  expectedSince: new Date('2026-12-06T11:00:00Z'),
  now: NOW,
};

describe('jobHealth', () => {
  it.each<[string, Partial<HealthInput>, string]>([
    ['a recent success', {}, 'healthy'],
    ['a paused schedule, whatever else', { lastFinishedState: 'failed' }, 'healthy'],
    ['a failed latest tick', { lastFinishedState: 'failed' }, 'failing'],
    ['an exhausted latest tick', { lastFinishedState: 'exhausted' }, 'failing'],
    ['a success older than the window', { lastSuccessAt: '2026-12-06T11:00:00Z' }, 'late'],
    [
      'no tick yet, within the window of the start',
      { lastSuccessAt: null, lastFinishedState: null, expectedSince: new Date('2026-12-06T11:55:00Z') },
      'never ran',
    ],
    [
      'no success for longer than the window since the start',
      { lastSuccessAt: null, lastFinishedState: null },
      'late',
    ],
  ])('%s', (what, change, expected) => {
    const input = { ...base, ...change, paused: what.startsWith('a paused') };
    expect(jobHealth(input)).toBe(what.startsWith('a paused') ? 'paused' : expected);
  });

  it('measures progress as time since the last success over the window', () => {
    expect(progressRatio(base)).toBeCloseTo(1 / 3);
    expect(progressRatio({ ...base, lastSuccessAt: null })).toBe(2);
  });
});

describe('timelineSlots', () => {
  const tick = (scheduledAt: string, state: string, attempts = 1, nonRuns = 0): TimelineTick => ({
    scheduledAt,
    state,
    attempts,
    nonRuns,
    manual: false,
  });

  it('folds 24 hours of ticks into fixed slots, showing the worst outcome and counting retries and duplicates', () => {
    const slots = timelineSlots(
      [
        tick('2026-12-05T11:00:00Z', 'succeeded'), // older than a day: left out
        tick('2026-12-06T11:46:00Z', 'succeeded'),
        tick('2026-12-06T11:50:00Z', 'succeeded', 3, 1),
        tick('2026-12-06T11:55:00Z', 'failed', 4),
        tick('2026-12-06T11:31:00Z', 'succeeded', 2),
        tick('2026-12-06T11:20:00Z', 'running'),
      ],
      NOW,
    );
    expect(slots).toHaveLength(TIMELINE_SLOTS);
    const last = slots[TIMELINE_SLOTS - 1];
    expect(last).toEqual(
      expect.objectContaining({
        startAt: '2026-12-06T11:45:00.000Z',
        outcome: 'failed',
        ticks: 3,
        failed: 1,
        retried: 2,
        nonRuns: 1,
      }),
    );
    expect(slots[TIMELINE_SLOTS - 2].outcome).toBe('retried');
    expect(slots[TIMELINE_SLOTS - 3].outcome).toBe('running');
    expect(slots.filter((slot) => slot.outcome !== 'empty')).toHaveLength(3);
  });
});
