/**
 * Runs a job under a deadline. The job gets an AbortSignal; when the deadline passes the signal
 * fires and the attempt is settled as timed out at once, whether or not the job notices, so the
 * outcome is recorded and the lock released in time. Jobs check the signal between units of work
 * (batches, realms) and stop there.
 */
import { TimeoutError } from './errors';

export async function runWithTimeout<T>(
  timeoutMs: number,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new TimeoutError(timeoutMs);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    return await Promise.race([work(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A signal for one piece of work with its own time limit inside a job (a request, an export). */
export interface Deadline {
  /** Aborts when the parent does (with its reason) or when the time is up. */
  readonly signal: AbortSignal;
  /** True once the time limit, not the parent, aborted the signal. */
  readonly timedOut: boolean;
  /** Stops the timer and lets go of the parent; call it when the work is over. */
  clear(): void;
}

/**
 * What `AbortSignal.any([parent, AbortSignal.timeout(ms)])` means, built so that it fires. On
 * Node.js 20 a timeout signal that only such a composite refers to can be garbage collected
 * before its time, and the composite then never aborts (nodejs/node#57736). Reproduced on
 * 20.20.2 with a forced collection, not on 24.22.3 (2026-12-07); the deployed runtime is 24, the
 * local fleet and the tests run on 20, where backup-worker's BACKUP_TIMEOUT test hung this way on
 * a busy machine. Here the timer holds the controller, so nothing the deadline needs can be
 * collected. The abort reason is the one AbortSignal.timeout gives, so errors read the same.
 */
export function deadlineSignal(parent: AbortSignal | undefined, timeoutMs: number): Deadline {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
  }, timeoutMs);
  // Like AbortSignal.timeout's, the timer alone does not keep the process running.
  timer.unref();
  const onParentAbort = () => controller.abort(parent?.reason);
  if (parent?.aborted) onParentAbort();
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    clear() {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}
