/**
 * The operator CLI (npm run jobs) through the real @google-cloud/scheduler client, against a
 * loopback CloudScheduler built from the protos the package ships.
 */
import { catalog } from '../../functions/catalog';
import { memoryBackend, startFakeScheduler } from '../../local/fake-google/scheduler-service';
import type { FakeScheduler } from '../../local/fake-google/scheduler-service';
import { parseCli, runCli } from '../../scripts/scheduler-cli';

const PARENT = 'projects/enx-test-project/locations/europe-west1';

describe('npm run jobs', () => {
  let fake: FakeScheduler;
  beforeAll(async () => {
    fake = await startFakeScheduler(
      PARENT,
      memoryBackend(
        catalog.map((job) => ({ id: job.id, cron: job.schedule.cron, timeZone: job.schedule.timeZone })),
      ),
    );
  });
  afterAll(async () => fake.close());
  beforeEach(() => {
    fake.clearCalls();
  });

  const run = async (...argv: string[]) => {
    const lines: string[] = [];
    const endpoint = fake.clientOptions();
    await runCli(
      parseCli([
        ...argv,
        '--project',
        'enx-test-project',
        '--location',
        'europe-west1',
        '--endpoint',
        `127.0.0.1:${endpoint.port}`,
      ]),
      (line) => lines.push(line),
    );
    return lines;
  };

  it('runs one job now', async () => {
    const lines = await run('run', 'cleanup-worker');
    expect(fake.calls).toEqual([{ method: 'RunJob', name: `${PARENT}/jobs/cleanup-worker` }]);
    expect(lines).toEqual([
      expect.stringMatching(/^asked to run now: cleanup-worker +ENABLED +\*\/5 \* \* \* \* \(Etc\/UTC\)/),
    ]);
  });

  it('pauses and resumes every job of the catalog', async () => {
    const paused = await run('pause', 'all');
    expect(fake.calls.map((call) => call.method)).toEqual(catalog.map(() => 'PauseJob'));
    expect(paused.every((line) => / PAUSED /.test(line))).toBe(true);
    const status = await run('status', 'appsync-worker');
    expect(status).toEqual([expect.stringMatching(/^appsync-worker +PAUSED/)]);
    await run('resume', 'all');
    expect(catalog.every((job) => fake.backend.view(job.id).state === 'ENABLED')).toBe(true);
  });

  it.each([
    [['frobnicate', 'cleanup-worker'], /unknown command "frobnicate"/],
    [['run', 'cleanup'], /"cleanup" is not a job of the catalog; the jobs are cleanup-worker, /],
    [['run'], /name a job/],
    [['run', 'cleanup-worker', '--project'], /--project needs a value/],
  ])('refuses %j with a clear message', (argv, message) => {
    expect(() => parseCli(argv, {})).toThrow(message);
  });

  it('needs the project and the scheduler region', () => {
    expect(() => parseCli(['run', 'cleanup-worker'], {})).toThrow(/--project is required/);
    expect(() => parseCli(['run', 'cleanup-worker', '--project', 'p'], {})).toThrow(/--location is required/);
  });
});
