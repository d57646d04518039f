/**
 * A loopback stand-in for Cloud Scheduler's API (google.cloud.scheduler.v1.CloudScheduler), built
 * from the protos @google-cloud/scheduler ships (google/cloud/scheduler/v1/cloudscheduler.proto and
 * job.proto), speaking real gRPC on 127.0.0.1 through the shared fake mechanism (grpc-fake.ts).
 *
 * What it answers follows the proto's comments: PauseJob needs an ENABLED job and ResumeJob a
 * PAUSED one (otherwise FAILED_PRECONDITION); RunJob "dispatches the job, even if the job is already
 * running"; an unknown name is NOT_FOUND; a Job carries state, schedule, time_zone, schedule_time
 * (the next run) and last_attempt_time. The jobs themselves live in a backend: in memory for
 * tests, or the local fleet's own scheduler, so that pausing through the API really pauses it.
 */
import * as grpc from '@grpc/grpc-js';
import { loopbackClientOptions } from '../../functions/adapters/loopback-grpc';
import type { LoopbackClientOptions } from '../../functions/adapters/loopback-grpc';
import { grpcError, listenOnLoopback, loadService, recordingUnaryService } from './grpc-fake';
import type { InjectedFailure, RecordedCall, UnaryHandler } from './grpc-fake';

export interface RecordedSchedulerCall {
  readonly method: string;
  readonly name: string;
}

export interface SchedulerJobView {
  readonly id: string;
  readonly schedule: string;
  readonly timeZone: string;
  readonly state: 'ENABLED' | 'PAUSED';
  readonly nextRunAt: Date | null;
  readonly lastAttemptAt: Date | null;
}

/** Where the jobs live and what pausing, resuming and running them does. */
export interface SchedulerBackend {
  ids(): readonly string[];
  view(id: string): SchedulerJobView;
  pause(id: string): void;
  resume(id: string): void;
  run(id: string): void;
}

export interface FakeScheduler {
  readonly port: number;
  readonly calls: readonly RecordedSchedulerCall[];
  clearCalls(): void;
  readonly backend: SchedulerBackend;
  failNext(count: number, code: grpc.status, message?: string, method?: string): void;
  clientOptions(): LoopbackClientOptions;
  close(): Promise<void>;
}

const timestamp = (at: Date | null) =>
  at ? { seconds: String(Math.floor(at.getTime() / 1000)), nanos: 0 } : undefined;

function toJob(parent: string, view: SchedulerJobView): Record<string, unknown> {
  return {
    name: `${parent}/jobs/${view.id}`,
    schedule: view.schedule,
    timeZone: view.timeZone,
    state: view.state,
    scheduleTime: timestamp(view.nextRunAt),
    lastAttemptTime: timestamp(view.lastAttemptAt),
  };
}

/** Jobs held in memory: what a test needs when no fleet runs behind the API. */
export function memoryBackend(
  jobs: readonly { id: string; cron: string; timeZone: string }[],
): SchedulerBackend {
  const state = new Map(
    jobs.map((job) => [
      job.id,
      {
        schedule: job.cron,
        timeZone: job.timeZone,
        state: 'ENABLED' as 'ENABLED' | 'PAUSED',
        lastAttemptAt: null as Date | null,
      },
    ]),
  );
  const get = (id: string) => state.get(id)!;
  return {
    ids: () => [...state.keys()],
    view: (id) => ({ id, ...get(id), nextRunAt: null }),
    pause: (id) => void (get(id).state = 'PAUSED'),
    resume: (id) => void (get(id).state = 'ENABLED'),
    run: (id) => void (get(id).lastAttemptAt = new Date()),
  };
}

export async function startFakeScheduler(parent: string, backend: SchedulerBackend): Promise<FakeScheduler> {
  const service = loadService(
    'google/cloud/scheduler/v1/cloudscheduler.proto',
    '@google-cloud/scheduler',
    'google.cloud.scheduler.v1.CloudScheduler',
  );
  const recorded: RecordedCall[] = [];
  const failures: InjectedFailure[] = [];

  const idOf = (request: Record<string, unknown>): string => {
    const name = String(request.name ?? '');
    const id = name.startsWith(`${parent}/jobs/`) ? name.slice(`${parent}/jobs/`.length) : '';
    if (!backend.ids().includes(id)) throw grpcError(grpc.status.NOT_FOUND, `Job not found: ${name}`);
    return id;
  };
  const requireState = (id: string, wanted: 'ENABLED' | 'PAUSED', verb: string) => {
    if (backend.view(id).state !== wanted) {
      throw grpcError(grpc.status.FAILED_PRECONDITION, `Job ${id} must be ${wanted} to be ${verb}.`);
    }
  };
  const changed = (id: string, change: () => void) => {
    change();
    return toJob(parent, backend.view(id));
  };
  // Keyed by the proto's method names, which grpc-js accepts and the recorded calls then carry.
  const handlers: Record<string, UnaryHandler> = {
    GetJob: (request) => toJob(parent, backend.view(idOf(request))),
    PauseJob: (request) => {
      const id = idOf(request);
      requireState(id, 'ENABLED', 'paused');
      return changed(id, () => backend.pause(id));
    },
    ResumeJob: (request) => {
      const id = idOf(request);
      requireState(id, 'PAUSED', 'resumed');
      return changed(id, () => backend.resume(id));
    },
    RunJob: (request) => {
      const id = idOf(request);
      return changed(id, () => backend.run(id));
    },
    ListJobs: (request) =>
      request.parent === parent
        ? { jobs: backend.ids().map((id) => toJob(parent, backend.view(id))) }
        : { jobs: [] },
  };
  const server = new grpc.Server();
  server.addService(service, recordingUnaryService(handlers, recorded, failures));
  const port = await listenOnLoopback(server);
  return {
    port,
    get calls() {
      return recorded.map((call) => ({
        method: call.method,
        name: String(call.request.name ?? call.request.parent ?? ''),
      }));
    },
    clearCalls: () => void (recorded.length = 0),
    backend,
    failNext(count, code, message = 'injected failure', method) {
      failures.push({ count, code, message, method });
    },
    clientOptions: () => loopbackClientOptions(`127.0.0.1:${port}`, parent.split('/')[1] ?? 'enx-local'),
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
