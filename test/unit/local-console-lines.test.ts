import { formatAttemptLine, summariseResult, tickLabel } from '../../local/console-lines';
import type { AttemptReport } from '../../local/scheduler';

const report = (overrides: Partial<AttemptReport>): AttemptReport => ({
  jobId: 'cleanup-worker',
  trigger: 'schedule',
  tickAt: new Date('2026-01-01T00:05:00Z'),
  attempt: 1,
  maxAttempts: 4,
  startedAt: new Date('2026-01-01T00:05:00.010Z'),
  durationMs: 412,
  ok: true,
  status: 200,
  next: { kind: 'done' },
  ...overrides,
});

describe('summariseResult', () => {
  it('keeps non-zero counts, list lengths and nested non-zero counters; drops durations', () => {
    expect(
      summariseResult({
        purged: { API_KEYS: 2, USER: 0, AUDIT_ENTRY: 5 },
        destroyedKeyVersions: ['a', 'b'],
        stepDurationsMs: { API_KEYS: 3 },
        mailsSent: 0,
        keysRotated: 1,
      }),
    ).toBe('purged API_KEYS=2 AUDIT_ENTRY=5  destroyedKeyVersions=2  keysRotated=1');
  });

  it('is empty when nothing happened or there is no result', () => {
    expect(summariseResult({ purged: { API_KEYS: 0 }, destroyedKeyVersions: [] })).toBe('');
    expect(summariseResult(undefined)).toBe('');
  });
});

describe('formatAttemptLine', () => {
  const now = new Date('2026-01-01T00:05:01Z');

  it('shows job, tick, attempt, outcome, duration and counts of a success', () => {
    const line = formatAttemptLine(
      report({ body: { status: 'succeeded', result: { purged: { API_KEYS: 2, USER: 0 } } } }),
      now,
    );
    expect(line).toMatch(/cleanup-worker +tick 00:05:00Z +try 1\/4 +succeeded +412 ms +purged API_KEYS=2$/);
  });

  it('shows the errors of a failure and what the scheduler does next', () => {
    const line = formatAttemptLine(
      report({
        ok: false,
        status: 500,
        body: { status: 'failed', errors: ['API_KEYS: relation missing'] },
        next: { kind: 'retry', retry: 1, delayMs: 5000, atMs: 0 },
      }),
      now,
    );
    expect(line).toContain('failed 500');
    expect(line).toContain('API_KEYS: relation missing → retry 1 in 5.0 s');
  });

  it('says when no answer came', () => {
    const line = formatAttemptLine(
      report({
        ok: false,
        status: undefined,
        error: 'no answer within the attempt deadline (4m30s)',
        next: { kind: 'stop', reason: 'retries-exhausted' },
      }),
      now,
    );
    expect(line).toContain('no answer');
    expect(line).toContain('tick given up');
  });

  it('labels ticks of other days with their date', () => {
    expect(tickLabel(new Date('2025-12-31T23:55:00Z'), now)).toBe('2025-12-31T23:55:00Z');
  });
});
