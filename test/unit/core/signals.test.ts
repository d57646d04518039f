import { SecretRegistry, createLogger } from '../../../functions/core/logger';
import { memoryWriter } from '../../support/memory-writer';
import { LocalSignalSink, guarded } from '../../../functions/core/signals';
import { fanOut } from '../../support/fan-out';
import type { AttemptFinished, SignalSink } from '../../../functions/core/signals';

const started = { jobId: 'j', tickId: 't', attempt: 1, startedAt: new Date('2026-11-23T20:05:00Z') };
const finished = (outcome: AttemptFinished['outcome'], exhausted = false): AttemptFinished => ({
  ...started,
  outcome,
  exhausted,
  finishedAt: new Date('2026-11-23T20:05:01Z'),
  durationMs: 1000,
});

describe('LocalSignalSink', () => {
  it('tallies attempts by outcome and remembers the last success', async () => {
    const sink = new LocalSignalSink();
    await sink.attemptStarted(started);
    await sink.attemptFinished(finished('failed', true));
    await sink.attemptFinished(finished('succeeded'));
    await sink.attemptFinished(finished('skipped'));
    expect(sink.tallies.get('j')).toMatchObject({
      started: 1,
      succeeded: 1,
      failed: 1,
      skipped: 1,
      exhausted: 1,
      lastSuccessAt: '2026-11-23T20:05:01.000Z',
    });
  });

  it('tallies refused requests by reason', async () => {
    const sink = new LocalSignalSink();
    const at = new Date('2026-11-23T20:05:00Z');
    await sink.requestRefused({ jobId: 'j', reason: 'tick', at });
    await sink.requestRefused({ jobId: 'j', reason: 'tick', at });
    await sink.requestRefused({ jobId: 'j', reason: 'method', at });
    expect(sink.tallies.get('j')?.refused).toEqual({ tick: 2, method: 1 });
  });

  it('keeps only the most recent signals', async () => {
    const sink = new LocalSignalSink(2);
    for (const outcome of ['failed', 'skipped', 'succeeded'] as const)
      await sink.attemptFinished(finished(outcome));
    expect(sink.finished.map((signal) => signal.outcome)).toEqual(['skipped', 'succeeded']);
  });
});

describe('guarded', () => {
  const broken: Record<string, SignalSink> = {
    rejecting: {
      attemptStarted: () => Promise.reject(new Error('monitoring is down')),
      attemptFinished: () => Promise.reject(new Error('monitoring is down')),
      requestRefused: () => Promise.reject(new Error('monitoring is down')),
    },
    throwing: {
      attemptStarted: () => {
        throw new Error('monitoring is down');
      },
      attemptFinished: () => {
        throw new Error('monitoring is down');
      },
      requestRefused: () => {
        throw new Error('monitoring is down');
      },
    },
  };

  test.each(Object.keys(broken))('turns a %s sink into warnings', async (kind) => {
    const out = memoryWriter();
    const sink = guarded(broken[kind], createLogger({ write: out.write, secrets: new SecretRegistry() }));
    await expect(sink.attemptStarted(started)).resolves.toBeUndefined();
    await expect(sink.attemptFinished(finished('succeeded'))).resolves.toBeUndefined();
    await expect(
      sink.requestRefused({ jobId: 'j', reason: 'auth', at: new Date() }),
    ).resolves.toBeUndefined();
    expect(out.entries()).toEqual([
      expect.objectContaining({
        severity: 'WARNING',
        event: 'metrics_write_failed',
        job: 'j',
        error: 'monitoring is down',
      }),
      expect.objectContaining({
        severity: 'WARNING',
        event: 'metrics_write_failed',
        job: 'j',
        error: 'monitoring is down',
      }),
      expect.objectContaining({
        severity: 'WARNING',
        event: 'metrics_write_failed',
        job: 'j',
        error: 'monitoring is down',
      }),
    ]);
  });

  it('sends to every sink of a fan-out', async () => {
    const a = new LocalSignalSink();
    const b = new LocalSignalSink();
    await fanOut(a, b).attemptFinished(finished('succeeded'));
    await fanOut(a, b).requestRefused({ jobId: 'j', reason: 'body', at: new Date() });
    expect(a.tallies.get('j')).toMatchObject({ succeeded: 1, refused: { body: 1 } });
    expect(b.tallies.get('j')).toMatchObject({ succeeded: 1, refused: { body: 1 } });
  });
});
