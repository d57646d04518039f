/**
 * `npm run jobs -- logs|triage` through the real @google-cloud/logging and @google-cloud/scheduler
 * clients, against the loopback Logging API (reading a log file written by the runtime's own
 * logger) and the loopback Cloud Scheduler API.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { catalog } from '../../functions/catalog';
import { createLogger } from '../../functions/core/logger';
import { startFakeLogging } from '../../local/fake-google/logging-service';
import type { FakeLogging } from '../../local/fake-google/logging-service';
import { memoryBackend, startFakeScheduler } from '../../local/fake-google/scheduler-service';
import type { FakeScheduler } from '../../local/fake-google/scheduler-service';
import { localApisFile } from '../../local/google-apis';
import { LocalSetupError } from '../../local/setup-error';
import { parseCli, runCli } from '../../scripts/scheduler-cli';

const PROJECT = 'enx-test-project';
const LOCATION = 'europe-west1';
const TICK = new Date(Date.now() - 20 * 60_000);
TICK.setUTCSeconds(0, 0);
let dir: string;
let file: string;
let logging: FakeLogging;
let scheduler: FakeScheduler;

function attempt(job: string, tick: Date, number: number, outcome: 'succeeded' | 'failed', error = '') {
  const logger = createLogger({ write: (line) => appendFileSync(file, `${line}\n`) }).child({
    labels: { job, tick: tick.toISOString(), attempt: String(number) },
  });
  logger.info('job started', { event: 'started' });
  if (outcome === 'failed')
    logger.error(`job failed: ${error}`, { event: 'failed', errors: [error], durationMs: 12 });
  else logger.info('job succeeded', { event: 'succeeded', durationMs: 40, result: {} });
}

const run = async (...argv: string[]) => {
  const lines: string[] = [];
  const endpoints = [
    '--endpoint',
    `127.0.0.1:${scheduler.port}`,
    '--logging-endpoint',
    `127.0.0.1:${logging.port}`,
  ];
  await runCli(parseCli([...argv, '--project', PROJECT, '--location', LOCATION, ...endpoints]), (line) =>
    lines.push(line),
  );
  return lines;
};

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'enx-jobs-cli-'));
  file = path.join(dir, 'functions.jsonl');
  attempt('cleanup-worker', TICK, 1, 'failed', 'the run ledger is unavailable: connection refused');
  attempt('cleanup-worker', TICK, 2, 'succeeded');
  attempt('backup-worker', TICK, 1, 'failed', 'pg_dump of database "x" failed (exit 1): permission denied');
  logging = await startFakeLogging({ logFile: file, projectId: PROJECT });
  scheduler = await startFakeScheduler(
    `projects/${PROJECT}/locations/${LOCATION}`,
    memoryBackend(
      catalog.map((job) => ({ id: job.id, cron: job.schedule.cron, timeZone: job.schedule.timeZone })),
    ),
  );
});
afterAll(async () => {
  await Promise.all([logging.close(), scheduler.close()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('jobs logs', () => {
  it('prints one line per event, oldest first, with tick, attempt, event and errors', async () => {
    const lines = await run('logs', 'cleanup-worker', '--since', '1h');
    expect(lines[0]).toMatch(
      /^# 4 entries of cleanup-worker since .* · https:\/\/console\.cloud\.google\.com\/logs\/query;query=/,
    );
    const tick = TICK.toISOString().slice(11, 19);
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(new RegExp(`tick ${tick}Z +try 1 +INFO +started +job started$`)),
      expect.stringMatching(
        /try 1 +ERROR +failed +the run ledger is unavailable: connection refused \(12 ms\)$/,
      ),
      expect.stringMatching(/try 2 +INFO +started/),
      expect.stringMatching(/try 2 +INFO +succeeded +job succeeded \(40 ms\)$/),
    ]);
  });

  it('narrows by severity, tick and time', async () => {
    const warnings = await run('logs', 'cleanup-worker', '--since', '1h', '--severity', 'warning');
    expect(warnings.slice(1)).toEqual([expect.stringMatching(/ERROR +failed/)]);
    const otherTick = await run(
      'logs',
      'cleanup-worker',
      '--since',
      '1h',
      '--tick',
      new Date(TICK.getTime() + 300_000).toISOString(),
    );
    expect(otherTick).toHaveLength(1);
    const sameTick = await run(
      'logs',
      'cleanup-worker',
      '--since',
      '1h',
      '--tick',
      TICK.toISOString().replace('.000Z', 'Z'),
    );
    expect(sameTick).toHaveLength(5);
    // --since also takes a time: nothing was logged after a minute from now.
    expect(
      await run('logs', 'cleanup-worker', '--since', new Date(Date.now() + 60_000).toISOString()),
    ).toHaveLength(1);
  });

  it('follows new entries until stopped', async () => {
    const lines: string[] = [];
    const stop = new AbortController();
    const endpoints = ['--logging-endpoint', `127.0.0.1:${logging.port}`];
    const following = runCli(
      parseCli(['logs', 'e2e-default', '--follow', '--project', PROJECT, ...endpoints]),
      (line) => lines.push(line),
      stop.signal,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    attempt('e2e-default', new Date(), 1, 'failed', 'verify: 500 from the device API');
    const deadline = Date.now() + 10_000;
    while (!lines.some((line) => line.includes('verify: 500')) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    stop.abort();
    await following;
    expect(lines).toContain('# following new entries (Ctrl-C stops)');
    expect(lines.filter((line) => / failed +verify: 500 from the device API/.test(line))).toHaveLength(1);
  }, 20_000);

  it.each([
    [['logs', 'cleanup-worker', '--since', 'yesterday'], /--since "yesterday" is neither a duration/],
    [['logs', 'cleanup-worker', '--severity', 'LOUD'], /--severity "LOUD" is not one of DEFAULT, DEBUG/],
    [['logs', 'cleanup-worker', '--tick', 'soon'], /--tick "soon" is not a schedule time/],
    [['triage', 'all'], /triage takes one job, not all/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseCli([...argv, '--project', PROJECT, '--location', LOCATION], {})).toThrow(message);
  });
});

describe('jobs triage', () => {
  it('shows a recovered job as healthy, with its scheduler state, attempts, window, runbook and query', async () => {
    const lines = await run('triage', 'cleanup-worker');
    const text = lines.join('\n');
    expect(lines[0]).toMatch(/^triage of cleanup-worker \(project enx-test-project, europe-west1\)/);
    expect(text).toMatch(/^scheduler +ENABLED +\*\/5 \* \* \* \* \(Etc\/UTC\)/m);
    expect(text).toMatch(/^last success +\S+ \(\S+ ago\); window \S+: within$/m);
    expect(text).toMatch(/the run ledger is unavailable: connection refused/);
    expect(text).toMatch(/^alerts +none firing$/m);
    expect(text).toMatch(/^runbook +docs\/runbooks\/forward-progress-failed\.md$/m);
    expect(text).toMatch(
      /^query +resource\.type="cloud_run_revision" resource\.labels\.service_name="cleanup-worker" severity>=WARNING$/m,
    );
    expect(text).toMatch(/^next step +healthy: nothing to do$/m);
  });

  it('names the failing cause and ForwardProgressFailed for a job with no success', async () => {
    const text = (await run('triage', 'backup-worker')).join('\n');
    expect(text).toMatch(/^last success +none since .*: OVERDUE$/m);
    expect(text).toMatch(/^alerts +ForwardProgressFailed \(no success in the logs of the last /m);
    expect(text).toMatch(
      /^next step +the last attempt ended "failed": pg_dump of database "x" failed \(exit 1\): permission denied\. Fix that cause, then run it once: npm run jobs -- run backup-worker$/m,
    );
  });

  it('says to resume a paused schedule, and says nothing calls a job without logs', async () => {
    scheduler.backend.pause('cleanup-worker');
    try {
      expect((await run('triage', 'cleanup-worker')).join('\n')).toMatch(
        /^next step +the schedule is paused: resume it/m,
      );
    } finally {
      scheduler.backend.resume('cleanup-worker');
    }
    expect((await run('triage', 'modeler-worker')).join('\n')).toMatch(
      /^next step +no attempt in the logs: nothing calls the job/m,
    );
  });
});

describe('--local', () => {
  it("reads the running fleet's endpoints from <data dir>/local-apis.json", () => {
    const apis = {
      project: 'enx-local',
      location: 'local',
      logging: '127.0.0.1:1',
      scheduler: '127.0.0.1:2',
      status: 'http://127.0.0.1:3',
    };
    writeFileSync(localApisFile(dir), JSON.stringify(apis));
    const request = parseCli(['triage', 'cleanup-worker', '--local', '--data-dir', dir], {});
    expect(request).toEqual(
      expect.objectContaining({
        project: 'enx-local',
        location: 'local',
        endpoints: { scheduler: '127.0.0.1:2', logging: '127.0.0.1:1' },
        statusUrl: 'http://127.0.0.1:3',
      }),
    );
  });

  it('says in one line to start the fleet when none runs', () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'enx-no-fleet-'));
    try {
      expect(() => parseCli(['logs', 'cleanup-worker', '--local', '--data-dir', empty], {})).toThrow(
        LocalSetupError,
      );
      expect(() => parseCli(['logs', 'cleanup-worker', '--local', '--data-dir', empty], {})).toThrow(
        /^no local fleet is running \(.*local-apis\.json is missing\): start one with npm start$/,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
