import { FaultPlan } from '../../simulator/faults';
import { seededRandom, streamFor } from '../../simulator/random';
import { ALWAYS, describeFault } from '../../simulator/scenario';

const window = { fromMs: 1_000, toMs: 2_000 };

describe('seeded randomness', () => {
  it('repeats from the same seed and differs from another', () => {
    const draws = (seed: number) => {
      const random = seededRandom(seed);
      return Array.from({ length: 5 }, () => random());
    };
    expect(draws(42)).toEqual(draws(42));
    expect(draws(42)).not.toEqual(draws(43));
    expect(draws(42).every((draw) => draw >= 0 && draw < 1)).toBe(true);
  });

  it('gives each name a stream of its own', () => {
    expect(streamFor(42, 'a')()).toBe(streamFor(42, 'a')());
    expect(streamFor(42, 'a')()).not.toBe(streamFor(42, 'b')());
  });

  it('hits a probability about as often as it says', () => {
    const random = seededRandom(7);
    const hits = Array.from({ length: 10_000 }, () => random() < 0.15).filter(Boolean).length;
    expect(hits / 10_000).toBeCloseTo(0.15, 1);
  });
});

describe('FaultPlan', () => {
  const never = () => {
    throw new Error('no draw expected');
  };

  it('applies windows as [from, to)', () => {
    const plan = new FaultPlan([{ kind: 'fail', jobId: 'a', window }]);
    expect(plan.behaviour('a', 999, never)).toBe('succeed');
    expect(plan.behaviour('a', 1_000, never)).toBe('fail');
    expect(plan.behaviour('a', 1_999, never)).toBe('fail');
    expect(plan.behaviour('a', 2_000, never)).toBe('succeed');
    expect(plan.behaviour('b', 1_500, never)).toBe('succeed');
  });

  it('lets a timeout win over a failure, and a failure over a probable one, drawing only when needed', () => {
    const plan = new FaultPlan([
      { kind: 'fail-rate', jobId: 'a', probability: 1, window: ALWAYS },
      { kind: 'fail', jobId: 'a', window },
      { kind: 'timeout', jobId: 'a', window: { fromMs: 1_500, toMs: 2_000 } },
    ]);
    expect(plan.behaviour('a', 1_600, never)).toBe('timeout');
    expect(plan.behaviour('a', 1_200, never)).toBe('fail');
    expect(plan.behaviour('a', 5_000, () => 0.99)).toBe('fail');
  });

  it('fails with the probability given, by the draw', () => {
    const plan = new FaultPlan([{ kind: 'fail-rate', jobId: 'a', probability: 0.25, window: ALWAYS }]);
    expect(plan.behaviour('a', 0, () => 0.2)).toBe('fail');
    expect(plan.behaviour('a', 0, () => 0.25)).toBe('succeed');
  });

  it('blocks requests for outages, the fleet outage and jobs never deployed', () => {
    const plan = new FaultPlan([
      { kind: 'outage', jobId: 'a', window },
      { kind: 'fleet-outage', window: { fromMs: 5_000, toMs: 6_000 } },
      { kind: 'never-deployed', jobId: 'c' },
    ]);
    expect(plan.blocked('a', 1_500)).toBe('outage');
    expect(plan.blocked('a', 2_500)).toBeUndefined();
    expect(plan.blocked('b', 1_500)).toBeUndefined();
    expect(plan.blocked('b', 5_500)).toBe('fleet-outage');
    expect(plan.blocked('c', 0)).toBe('never-deployed');
  });

  it('duplicates requests inside the window only', () => {
    const plan = new FaultPlan([{ kind: 'duplicate', jobId: 'a', window }]);
    expect(plan.duplicated('a', 1_000)).toBe(true);
    expect(plan.duplicated('a', 2_000)).toBe(false);
    expect(plan.duplicated('b', 1_000)).toBe(false);
  });

  it('describes each fault in one line', () => {
    expect(
      describeFault({
        kind: 'fail-rate',
        jobId: 'a',
        probability: 0.15,
        window: { fromMs: Date.parse('2026-03-28T10:00:00Z'), toMs: Infinity },
      }),
    ).toBe('a: 15.0 % of attempts fail from 2026-03-28T10:00Z');
    expect(describeFault({ kind: 'never-deployed', jobId: 'a' })).toBe(
      'a: never deployed, never receives a request',
    );
  });
});

describe('the faults that cause silence', () => {
  it('fails a flaky job by the draw, but never on the last attempt of a tick', () => {
    const plan = new FaultPlan([{ kind: 'flaky', jobId: 'a', probability: 0.5, window: ALWAYS }]);
    expect(plan.behaviour('a', 0, () => 0.1)).toBe('fail');
    expect(plan.behaviour('a', 0, () => 0.9)).toBe('succeed');
    expect(plan.behaviour('a', 0, () => 0.1, true)).toBe('succeed');
  });

  it('answers 404, refuses the caller, or takes the database away inside the window only', () => {
    const plan = new FaultPlan([
      { kind: 'not-found', jobId: 'a', window },
      { kind: 'auth-broken', jobId: 'b', window },
      { kind: 'database-outage', window },
    ]);
    expect([plan.notFound('a', 1_500), plan.notFound('a', 2_000), plan.notFound('b', 1_500)]).toEqual([
      true,
      false,
      false,
    ]);
    expect([plan.authBroken('b', 1_500), plan.authBroken('a', 1_500)]).toEqual([true, false]);
    expect([plan.databaseDown(999), plan.databaseDown(1_000)]).toEqual([false, true]);
  });
});
