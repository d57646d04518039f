/**
 * The lifecycle every job runs in, as one HTTP handler per job, in four stages:
 *
 *   admit (method, path, body, token, tick) → claim (lock, orphans, ledger) →
 *   execute (timeout, job) → settle (ledger, unlock)
 *
 * The pipeline returns one Outcome, and report() alone turns it into the log line, the metrics
 * and the HTTP answer. Every stage's rule comes from design.md "What the runtime guarantees every
 * job"; the stages live in their own modules (admit.ts, claim.ts, execute.ts, report.ts).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Request, Response } from '@google-cloud/functions-framework';
import { admit } from './admit';
import { claim } from './claim';
import { execute, settle } from './execute';
import type { JobDefinition } from './job-spec';
import type { Logger } from './logger';
import type { Outcome } from './outcome';
import { report, reportAbandoned } from './report';
import type { Runtime } from './runtime';
import type { Tick } from './tick';
import type { AttemptIdentity } from './ledger';
import { traceFromHeader } from './trace';

export type HttpHandler = (req: Request, res: Response) => Promise<void>;

export function createJobHandler<C>(definition: JobDefinition<C>, runtime: Runtime): HttpHandler {
  return async (req, res) => {
    const request = arrival(definition.spec.id, runtime, req);
    const { outcome, logger } = await runPipeline(definition, runtime, req, request);
    const answer = await report(outcome, {
      jobId: definition.spec.id,
      logger,
      sink: runtime.sink,
      startedAt: request.startedAt,
      finishedAt: runtime.clock.now(),
      arrivedAt: request.arrivedAt,
    });
    if (answer.headers) res.set(answer.headers);
    res.status(answer.status).json(answer.body);
  };
}

interface Arrival {
  readonly startedAt: Date;
  readonly arrivedAt: number;
  readonly executionId: string;
  readonly trace: ReturnType<typeof traceFromHeader>;
  readonly logger: Logger;
}

function arrival(jobId: string, runtime: Runtime, req: Request): Arrival {
  const executionId = req.get('function-execution-id') ?? randomBytes(6).toString('hex');
  const trace = traceFromHeader(req.get('x-cloud-trace-context'), runtime.settings.projectId);
  return {
    startedAt: runtime.clock.now(),
    arrivedAt: performance.now(),
    executionId,
    trace,
    logger: runtime.logger.child({ labels: { job: jobId, execution_id: executionId }, ...trace }),
  };
}

/** The four stages; returns the outcome and the logger labelled with what became known. */
async function runPipeline<C>(
  definition: JobDefinition<C>,
  runtime: Runtime,
  req: Request,
  request: Arrival,
): Promise<{ outcome: Outcome; logger: Logger }> {
  const { spec } = definition;
  const admitted = await admit(spec, req, runtime.verifier, request.startedAt);
  if (admitted.kind === 'refused') return { outcome: admitted, logger: request.logger };
  const { tick, caller } = admitted;
  let logger = request.logger.child({ labels: { tick: tick.id } });
  const claimed = await claim(spec, runtime, identity(spec.id, tick, request), logger);
  if (claimed.kind === 'claimed' || claimed.kind === 'duplicate') {
    const context = { jobId: spec.id, logger, sink: runtime.sink, startedAt: request.startedAt };
    await reportAbandoned(claimed.abandoned, context);
  }
  if (claimed.kind !== 'claimed') return { outcome: claimed, logger };

  logger = logger.child({ labels: { attempt: String(claimed.attempt) } });
  try {
    logger.info('job started', { event: 'started', caller: caller.email, manual: tick.manual });
    await runtime.sink.attemptStarted({
      jobId: spec.id,
      tickId: tick.id,
      attempt: claimed.attempt,
      startedAt: request.startedAt,
    });
    const ran = await execute(definition, runtime, claimed, { tick, logger, arrivedAt: request.arrivedAt });
    return { outcome: await settle(ran, claimed, runtime.clock.now()), logger };
  } finally {
    // settle() has released it already; this only matters if something above threw.
    await claimed.lock.release();
  }
}

function identity(jobId: string, tick: Tick, request: Arrival): AttemptIdentity {
  return {
    jobId,
    tick,
    now: request.startedAt,
    executionId: request.executionId,
    trace: request.trace.trace,
  };
}
