import { TimeoutError } from '../../../functions/core/errors';
import { runWithTimeout } from '../../../functions/core/timeout';

/** Settles when `promise` does, recording how; lets a test look at a promise without awaiting it. */
function watch<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

describe('runWithTimeout', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('returns the work result and leaves no timer behind', async () => {
    let seen: AbortSignal | undefined;
    const result = await runWithTimeout(1000, async (signal) => {
      seen = signal;
      return { purged: 3 };
    });
    expect(result).toEqual({ purged: 3 });
    expect(seen?.aborted).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('passes the work error through unchanged', async () => {
    const boom = new Error('boom');
    await expect(runWithTimeout(1000, async () => Promise.reject(boom))).rejects.toBe(boom);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('aborts the signal with a TimeoutError when the deadline passes', async () => {
    let seen: AbortSignal | undefined;
    const run = watch(
      runWithTimeout(1000, (signal) => {
        seen = signal;
        return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      }),
    );
    await jest.advanceTimersByTimeAsync(999);
    expect(run.settled).toBe(false);
    expect(seen?.aborted).toBe(false);

    await jest.advanceTimersByTimeAsync(1);
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBeInstanceOf(TimeoutError);
    expect(run.error).toBeInstanceOf(TimeoutError);
    expect((run.error as TimeoutError).timeoutMs).toBe(1000);
    expect((run.error as TimeoutError).message).toMatch(
      /timed out after 1000 ms.*timeoutMs in functions\/catalog\.ts/,
    );
  });

  it('settles at the deadline even when the work ignores the signal', async () => {
    let finish: (value: string) => void = () => undefined;
    const run = watch(runWithTimeout(500, () => new Promise<string>((resolve) => (finish = resolve))));
    await jest.advanceTimersByTimeAsync(500);
    expect(run.error).toBeInstanceOf(TimeoutError);
    // The late result is dropped: the attempt was already settled as timed out.
    finish('late');
    await Promise.resolve();
    expect(run.value).toBeUndefined();
  });
});
