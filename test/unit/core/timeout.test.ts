import { TimeoutError } from '../../../functions/core/errors';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { deadlineSignal, runWithTimeout } from '../../../functions/core/timeout';

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

/** A full garbage collection, on demand: V8's gc() exposed for a fresh context. */
function collectGarbage(): void {
  setFlagsFromString('--expose_gc');
  (runInNewContext('gc') as () => void)();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('deadlineSignal', () => {
  it('aborts when its time is up, with the reason AbortSignal.timeout gives, even after a collection', async () => {
    // Nothing but the listener refers to the deadline, as when a job hands its signal to a
    // request and waits: on Node.js 20 AbortSignal.any([parent, AbortSignal.timeout(ms)]) never
    // fires here (nodejs/node#57736).
    const parent = new AbortController();
    let reason: unknown;
    deadlineSignal(parent.signal, 50).signal.addEventListener('abort', function (this: AbortSignal) {
      reason = this.reason;
    });
    for (let i = 0; i < 3; i += 1) {
      collectGarbage();
      await sleep(10);
    }
    await sleep(200);
    expect(reason).toBeInstanceOf(DOMException);
    expect((reason as DOMException).name).toBe('TimeoutError');
  });

  it("aborts with the parent, for the parent's reason, and then has not timed out", () => {
    const parent = new AbortController();
    const deadline = deadlineSignal(parent.signal, 60_000);
    parent.abort(new Error('the job was stopped'));
    expect(deadline.signal.reason).toEqual(new Error('the job was stopped'));
    expect(deadline.timedOut).toBe(false);
    deadline.clear();
  });

  it('is aborted from the start under a parent that already was', () => {
    const parent = new AbortController();
    parent.abort('stopped');
    const deadline = deadlineSignal(parent.signal, 60_000);
    expect(deadline.signal.aborted).toBe(true);
    deadline.clear();
  });

  it('says it timed out once the time is up, and never after clear()', async () => {
    const timing = deadlineSignal(undefined, 20);
    const cleared = deadlineSignal(undefined, 20);
    cleared.clear();
    await sleep(100);
    expect([timing.timedOut, timing.signal.aborted]).toEqual([true, true]);
    expect([cleared.timedOut, cleared.signal.aborted]).toEqual([false, false]);
  });
});
