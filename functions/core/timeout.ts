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
