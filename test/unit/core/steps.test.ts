import { StepsFailedError, TimeoutError } from '../../../functions/core/errors';
import { SecretRegistry, createLogger } from '../../../functions/core/logger';
import { memoryWriter } from '../../support/memory-writer';
import { runSteps, runStepsInSlices } from '../../../functions/core/steps';
import type { SlicedStep, Step, StepReport } from '../../../functions/core/steps';

const summarise = (report: StepReport<number>) => ({ counts: { ...report.results } });

function setup() {
  const out = memoryWriter();
  return { out, logger: createLogger({ write: out.write, secrets: new SecretRegistry() }) };
}

function step(name: string, run: () => Promise<number>, ran: string[]): Step<number> {
  return {
    name,
    run: async () => {
      ran.push(name);
      return run();
    },
  };
}

describe('runSteps', () => {
  it('runs every step in order and reports each result and duration', async () => {
    const { logger } = setup();
    const ran: string[] = [];
    const report = await runSteps(
      [step('a', async () => 1, ran), step('b', async () => 2, ran), step('c', async () => 3, ran)],
      { logger, summarise },
    );
    expect(ran).toEqual(['a', 'b', 'c']);
    expect(report.results).toEqual({ a: 1, b: 2, c: 3 });
    expect(Object.keys(report.durationsMs)).toEqual(['a', 'b', 'c']);
    for (const ms of Object.values(report.durationsMs)) expect(ms).toBeGreaterThanOrEqual(0);
  });

  test.each([
    [['a'], ['b', 'c']],
    [['b'], ['a', 'c']],
    [['a', 'c'], ['b']],
    [['a', 'b', 'c'], []],
  ])('when %p fail, the others (%p) still run and keep their results', async (failing, working) => {
    const { logger, out } = setup();
    const ran: string[] = [];
    const steps = ['a', 'b', 'c'].map((name, index) =>
      step(
        name,
        async () => {
          if (failing.includes(name)) throw new Error(`${name} broke`);
          return index + 1;
        },
        ran,
      ),
    );
    const error = await runSteps(steps, { logger, summarise }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(ran).toEqual(['a', 'b', 'c']);
    expect(error).toBeInstanceOf(StepsFailedError);
    const failure = error as StepsFailedError;
    expect(failure.failures).toEqual(failing.map((name) => ({ step: name, error: `${name} broke` })));
    for (const name of failing) expect(failure.message).toContain(`${name}: ${name} broke`);
    expect(failure.message).toMatch(new RegExp(`^${failing.length} step\\(s\\) failed`));
    expect(Object.keys((failure.partial as { counts: object }).counts)).toEqual(working);
    expect(
      out
        .entries()
        .filter((entry) => entry.event === 'step_failed')
        .map((entry) => entry.step),
    ).toEqual(failing);
    expect(out.entries().every((entry) => entry.severity === 'ERROR')).toBe(true);
  });

  it('stops before the next step once the attempt is aborted, with the abort reason', async () => {
    const { logger } = setup();
    const controller = new AbortController();
    const ran: string[] = [];
    const timeout = new TimeoutError(1000);
    const steps = [
      step(
        'a',
        async () => {
          controller.abort(timeout);
          return 1;
        },
        ran,
      ),
      step('b', async () => 2, ran),
    ];
    await expect(runSteps(steps, { logger, signal: controller.signal, summarise })).rejects.toBe(timeout);
    expect(ran).toEqual(['a']);
  });

  it('reports an abort during a step as the abort, not as a step failure', async () => {
    const { logger, out } = setup();
    const controller = new AbortController();
    const timeout = new TimeoutError(1000);
    const ran: string[] = [];
    const steps = [
      step(
        'a',
        async () => {
          controller.abort(timeout);
          throw new Error('query canceled');
        },
        ran,
      ),
      step('b', async () => 2, ran),
    ];
    await expect(runSteps(steps, { logger, signal: controller.signal, summarise })).rejects.toBe(timeout);
    expect(ran).toEqual(['a']);
    expect(out.lines).toEqual([]);
  });
});

describe('runStepsInSlices', () => {
  /**
   * A fake clock and steps whose batches each take 10 ms of it: `work` batches to finish, yielding
   * when the slice expires (after at least one batch, as the batch walkers do).
   */
  function sliced(work: Record<string, number>, budgetMs: number) {
    let clock = 0;
    const left = { ...work };
    const calls: string[] = [];
    const steps: SlicedStep<number>[] = Object.keys(work).map((name) => ({
      name,
      run: async (slice) => {
        calls.push(name);
        let done = 0;
        do {
          clock += 10;
          left[name] -= 1;
          done += 1;
        } while (left[name] > 0 && !slice.expired());
        return { value: done, complete: left[name] === 0 };
      },
    }));
    const { logger } = setup();
    const run = () =>
      runStepsInSlices(steps, {
        logger,
        budgetMs,
        now: () => clock,
        combine: (a, b) => a + b,
        summarise: (report) => ({ ...report.results }),
      });
    return { run, calls, left };
  }

  it('runs every step in the first round even when step 1 alone could use the whole budget', async () => {
    const { run, calls, left } = sliced({ backlog: 1000, b: 2, c: 2, d: 2 }, 400);
    const report = await run();
    expect(calls.slice(0, 4)).toEqual(['backlog', 'b', 'c', 'd']);
    expect(report.results).toMatchObject({ b: 2, c: 2, d: 2 });
    // The time the short steps did not need went back to the backlog in later rounds.
    expect(report.results.backlog).toBeGreaterThanOrEqual(400 / 10 - 6 - 1);
    expect(report.incomplete).toEqual(['backlog']);
    expect(left.backlog).toBeGreaterThan(0);
  });

  it('shares what is left between several steps with backlogs, and finishes what fits', async () => {
    const { run } = sliced({ a: 30, b: 5, c: 30 }, 1000);
    const report = await run();
    expect(report.results).toEqual({ a: 30, b: 5, c: 30 });
    expect(report.incomplete).toEqual([]);
  });

  it('gives every step at least one batch past the budget, never a second round', async () => {
    const { run, calls } = sliced({ a: 10, b: 10, c: 10 }, 0);
    const report = await run();
    expect(calls).toEqual(['a', 'b', 'c']);
    expect(report.results).toEqual({ a: 1, b: 1, c: 1 });
    expect(report.incomplete).toEqual(['a', 'b', 'c']);
  });
});
