/**
 * The local fleet's Cloud Logging and Cloud Scheduler APIs: the loopback stand-ins in fake-google/,
 * the first reading the functions' JSON log, the second driving the fleet's own scheduler, so that
 * `npm run jobs -- --local logs|triage|pause|resume|run` and the status page's buttons act on the
 * running fleet exactly as they would on Google's APIs.
 *
 * Where they listen is written to <dataDir>/local-apis.json while the fleet runs; `--local` reads it.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import { startFakeLogging } from './fake-google/logging-service';
import { startFakeScheduler } from './fake-google/scheduler-service';
import type { SchedulerBackend } from './fake-google/scheduler-service';
import { LOCAL_PROJECT } from './local-env';
import type { Scheduler } from './scheduler';
import { LocalSetupError } from './setup-error';

/** The scheduler's region in local mode (the parent is projects/enx-local/locations/local). */
export const LOCAL_LOCATION = 'local';

export interface LocalApis {
  readonly project: string;
  readonly location: string;
  /** host:port of the Logging API. */
  readonly logging: string;
  /** host:port of the Cloud Scheduler API. */
  readonly scheduler: string;
  /** The status server's base URL (firing alerts). */
  readonly status: string;
}

export interface RunningApis {
  readonly logging: string;
  readonly scheduler: string;
  /** Writes the pointer file once the status URL is known. */
  publish(statusUrl: string): LocalApis;
  /** Runs, pauses or resumes a job through the Cloud Scheduler API, as `npm run jobs` does. */
  act(jobId: string, action: 'run' | 'pause' | 'resume'): Promise<string>;
  stop(): Promise<void>;
}

export const localApisFile = (dataDir: string) => path.join(dataDir, 'local-apis.json');

/** The fleet's scheduler seen as Cloud Scheduler jobs. */
export function fleetSchedulerBackend(scheduler: Scheduler): SchedulerBackend {
  const job = (id: string) => scheduler.jobs.find((candidate) => candidate.id === id)!;
  return {
    ids: () => scheduler.jobs.map((candidate) => candidate.id),
    view: (id) => ({
      id,
      schedule: job(id).cron,
      timeZone: job(id).timeZone,
      state: scheduler.isPaused(id) ? 'PAUSED' : 'ENABLED',
      nextRunAt: scheduler.nextTickAt(id),
      lastAttemptAt: scheduler.inFlight(id)?.startedAt ?? scheduler.lastAttempt(id)?.startedAt ?? null,
    }),
    pause: (id) => scheduler.pause(id),
    resume: (id) => scheduler.resume(id),
    run: (id) => void scheduler.runNow(id),
  };
}

export async function startLocalGoogleApis(options: {
  readonly dataDir: string;
  readonly functionLog: string;
  readonly scheduler: Scheduler;
}): Promise<RunningApis> {
  const logging = await startFakeLogging({ logFile: options.functionLog, projectId: LOCAL_PROJECT });
  const scheduler = await startFakeScheduler(
    `projects/${LOCAL_PROJECT}/locations/${LOCAL_LOCATION}`,
    fleetSchedulerBackend(options.scheduler),
  );
  const file = localApisFile(options.dataDir);
  return {
    logging: `127.0.0.1:${logging.port}`,
    scheduler: `127.0.0.1:${scheduler.port}`,
    publish(statusUrl) {
      const apis: LocalApis = {
        project: LOCAL_PROJECT,
        location: LOCAL_LOCATION,
        logging: `127.0.0.1:${logging.port}`,
        scheduler: `127.0.0.1:${scheduler.port}`,
        status: statusUrl,
      };
      writeFileSync(file, `${JSON.stringify(apis, null, 2)}\n`);
      return apis;
    },
    async act(jobId, action) {
      const client = new CloudSchedulerClient(scheduler.clientOptions());
      const name = `projects/${LOCAL_PROJECT}/locations/${LOCAL_LOCATION}/jobs/${jobId}`;
      try {
        const [job] =
          action === 'run'
            ? await client.runJob({ name })
            : action === 'pause'
              ? await client.pauseJob({ name })
              : await client.resumeJob({ name });
        return `${jobId}: ${action} → ${String(job.state)}`;
      } finally {
        await client.close();
      }
    },
    async stop() {
      rmSync(file, { force: true });
      await Promise.all([logging.close(), scheduler.close()]);
    },
  };
}

/** The running fleet's APIs, or one line saying to start the fleet. */
export function readLocalApis(dataDir: string): LocalApis {
  const file = localApisFile(dataDir);
  if (!existsSync(file)) {
    throw new LocalSetupError(`no local fleet is running (${file} is missing): start one with npm start`);
  }
  return JSON.parse(readFileSync(file, 'utf8')) as LocalApis;
}
