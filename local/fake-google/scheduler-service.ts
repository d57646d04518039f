/**
 * A loopback stand-in for Cloud Scheduler's API, built from the protos @google-cloud/scheduler
 * ships, speaking real gRPC on 127.0.0.1. It keeps a job per catalog id, records every request, and
 * answers pause/resume/run/get/list as Cloud Scheduler does (state changes, last attempt time).
 */
import * as grpc from '@grpc/grpc-js';
import { listenOnLoopback, loadService } from './grpc-fake';
import { loopbackClientOptions } from '../../functions/adapters/loopback';
import type { LoopbackClientOptions } from '../../functions/adapters/loopback';

export interface RecordedSchedulerCall {
  readonly method: string;
  readonly name: string;
}

interface FakeJob {
  name: string;
  schedule: string;
  timeZone: string;
  state: 'ENABLED' | 'PAUSED';
  lastAttemptTime?: { seconds: number };
}

export interface FakeScheduler {
  readonly calls: RecordedSchedulerCall[];
  readonly jobs: Map<string, FakeJob>;
  clientOptions(): LoopbackClientOptions;
  close(): Promise<void>;
}

export async function startFakeScheduler(
  parent: string,
  jobs: readonly { id: string; cron: string; timeZone: string }[],
): Promise<FakeScheduler> {
  const service = loadService(
    'google/cloud/scheduler/v1/cloudscheduler.proto',
    '@google-cloud/scheduler',
    'google.cloud.scheduler.v1.CloudScheduler',
  );
  const calls: RecordedSchedulerCall[] = [];
  const state = new Map<string, FakeJob>(
    jobs.map((job) => [
      `${parent}/jobs/${job.id}`,
      { name: `${parent}/jobs/${job.id}`, schedule: job.cron, timeZone: job.timeZone, state: 'ENABLED' },
    ]),
  );
  type Call = grpc.ServerUnaryCall<{ name?: string; parent?: string }, unknown>;
  const onJob =
    (method: string, change: (job: FakeJob) => void) =>
    (call: Call, callback: grpc.sendUnaryData<unknown>) => {
      const name = call.request.name ?? '';
      calls.push({ method, name });
      const job = state.get(name);
      if (!job) {
        callback(
          { code: grpc.status.NOT_FOUND, details: `Job not found: ${name}` } as grpc.ServiceError,
          null,
        );
        return;
      }
      change(job);
      callback(null, job);
    };
  const server = new grpc.Server();
  server.addService(service, {
    getJob: onJob('GetJob', () => undefined),
    pauseJob: onJob('PauseJob', (job) => (job.state = 'PAUSED')),
    resumeJob: onJob('ResumeJob', (job) => (job.state = 'ENABLED')),
    runJob: onJob('RunJob', (job) => (job.lastAttemptTime = { seconds: Math.floor(Date.now() / 1000) })),
    listJobs: (call: Call, callback: grpc.sendUnaryData<unknown>) => {
      calls.push({ method: 'ListJobs', name: call.request.parent ?? '' });
      callback(null, { jobs: [...state.values()] });
    },
  });
  const port = await listenOnLoopback(server);
  return {
    calls,
    jobs: state,
    clientOptions: () => loopbackClientOptions(`127.0.0.1:${port}`, 'enx-local'),
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
