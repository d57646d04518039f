/**
 * The admit stage: whether a request may run the job at all, before anything is claimed. The
 * request must look exactly like Cloud Scheduler's call to an HTTP target (checked 2026-12-06
 * against https://cloud.google.com/scheduler/docs/reference/rpc/google.cloud.scheduler.v1#httptarget):
 *
 * - the job's HTTP method (infra sets HttpTarget.http_method from the catalog); anything else 405;
 * - the function's root: Cloud Functions hands the function `/`; `/<job id>` is accepted too, as
 *   the path of the function's cloudfunctions.net URL. Anything else is 404;
 * - no body: infra sets none, and the scheduler only sends one when HttpTarget.body is set.
 *   Any body is 413: no body is expected, so every byte is over the limit;
 * - a valid OIDC token (auth.ts): 401 or 403;
 * - X-CloudScheduler-ScheduleTime, when present, a tick of the job's cron that has come, or a
 *   recent time off the cron, read as a forced run (tick.ts); anything else 400. Without it the
 *   request is a manual run, a tick of its own.
 *
 * Cheap checks come first, so a wrong request costs no token verification.
 */
import type { Request } from '@google-cloud/functions-framework';
import type { Caller, InvocationVerifier } from './auth';
import { AuthError, describeError } from './errors';
import type { JobSpec } from './job-spec';
import type { Refused } from './outcome';
import { SCHEDULE_TIME_HEADER, TickError, admitScheduledTick, tickFromHeader } from './tick';
import type { Tick } from './tick';

export interface Admitted {
  readonly kind: 'admitted';
  readonly caller: Caller;
  readonly tick: Tick;
}

export async function admit(
  spec: JobSpec<unknown>,
  req: Request,
  verifier: InvocationVerifier,
  now: Date,
): Promise<Admitted | Refused> {
  const malformed = checkShape(spec, req);
  if (malformed) return malformed;
  let caller: Caller;
  try {
    caller = await verifier.verify(req.get('authorization'));
  } catch (error) {
    if (error instanceof AuthError) return refuse('auth', error.status, error.message);
    return refuse('misconfigured', 500, `the caller could not be verified: ${describeError(error)}`);
  }
  try {
    const tick = admitScheduledTick(tickFromHeader(req.get(SCHEDULE_TIME_HEADER), now), spec, now);
    return { kind: 'admitted', caller, tick };
  } catch (error) {
    if (error instanceof TickError) return refuse('tick', 400, error.message);
    return refuse('misconfigured', 500, `the job's schedule cannot be read: ${describeError(error)}`);
  }
}

/** Method, path and body: what any request must have before its token is even looked at. */
function checkShape(spec: JobSpec<unknown>, req: Request): Refused | undefined {
  if (req.method !== spec.httpMethod) {
    return refuse('method', 405, `${spec.id} is called with ${spec.httpMethod}, not ${req.method}`, {
      Allow: spec.httpMethod,
    });
  }
  if (req.path !== '/' && req.path !== `/${spec.id}`) {
    return refuse('path', 404, `${spec.id} is served at / only, not at ${req.path}`);
  }
  const bytes = bodyBytes(req);
  if (bytes > 0) {
    return refuse('body', 413, `${spec.id} takes no request body; this one has ${bytes} bytes`);
  }
  return undefined;
}

/** The body's size: as declared, or as the Functions Framework read it (chunked uploads). */
function bodyBytes(req: Request): number {
  const declared = Number(req.get('content-length') ?? 0);
  const read = req.rawBody?.length ?? 0;
  return Math.max(Number.isFinite(declared) ? declared : 0, read);
}

function refuse(
  reason: Refused['reason'],
  status: Refused['status'],
  error: string,
  headers?: Record<string, string>,
): Refused {
  return headers
    ? { kind: 'refused', reason, status, error, headers }
    : { kind: 'refused', reason, status, error };
}
