/**
 * One scheduler attempt on the wire, as Cloud Scheduler sends it to an HTTP target with an OIDC
 * token: the job's method, a fresh ID token minted for the function's URL (the audience), the
 * X-CloudScheduler headers the runtime reads (the schedule time names the tick), and the attempt
 * deadline as a client timeout. An answer that does not arrive in time is a failed attempt, like
 * Cloud Scheduler's DEADLINE_EXCEEDED; the function itself is not stopped.
 */
import { request } from 'node:http';
import { formatDurationMs } from '../functions/core/duration';
import type { CallRequest, CallResult } from './scheduler';

export type TokenMinter = (audience: string) => Promise<string>;

/**
 * The headers of one attempt. A run-now call's schedule time is the second it was dispatched
 * (CallRequest.manual).
 */
export function schedulerHeaders(jobId: string, scheduleTime: Date, token: string): Record<string, string> {
  return {
    authorization: `Bearer ${token}`,
    'user-agent': 'Google-Cloud-Scheduler',
    'x-cloudscheduler': 'true',
    'x-cloudscheduler-jobname': jobId,
    'x-cloudscheduler-scheduletime': scheduleTime.toISOString(),
    'content-length': '0',
  };
}

export function createHttpCaller(mintToken: TokenMinter): (call: CallRequest) => Promise<CallResult> {
  return async ({ job, scheduleTime, signal }) => {
    if (signal.aborted) return { error: 'interrupted: the scheduler is stopping' };
    let token: string;
    try {
      token = await mintToken(job.url);
    } catch (error) {
      return { error: `could not mint an ID token: ${(error as Error).message}` };
    }
    return new Promise<CallResult>((resolve) => {
      let settled = false;
      let deadlineHit = false;
      const finish = (result: CallResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        resolve(result);
      };
      // agent: false closes the connection after each attempt, so stopping the fleet never waits
      // on an idle keep-alive socket.
      const req = request(
        job.url,
        {
          method: job.httpMethod,
          agent: false,
          signal,
          headers: schedulerHeaders(job.id, scheduleTime, token),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', (error) => finish({ status: res.statusCode, error: error.message }));
          res.on('end', () => finish({ status: res.statusCode, body: parseBody(Buffer.concat(chunks)) }));
        },
      );
      const deadline = setTimeout(() => {
        deadlineHit = true;
        req.destroy();
      }, job.attemptDeadlineMs);
      req.on('error', (error) => {
        if (deadlineHit) {
          finish({
            error: `no answer within the attempt deadline (${formatDurationMs(job.attemptDeadlineMs)})`,
          });
        } else if (signal.aborted) {
          finish({ error: 'interrupted: the scheduler is stopping' });
        } else {
          finish({ error: error.message });
        }
      });
      req.end();
    });
  };
}

function parseBody(buffer: Buffer): unknown {
  const text = buffer.toString('utf8');
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
