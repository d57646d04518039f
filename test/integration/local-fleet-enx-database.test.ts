/**
 * Every job runs against an ENX-shaped database: the local fleet (`npm start -- --run-now
 * --enx-schema test/fixtures/enx-database.sql`) builds its database from ENX's schema facts and rows
 * instead of the local stand-in schema, puts our migrations on top, and fires every job once.
 */
import path from 'node:path';
import { jobDefinitions } from '../../functions/jobs';
import { disposeLocalFleet, fetchStatus, startLocalFleet, waitFor } from '../support/local-fleet-process';
import type { LocalFleet } from '../support/local-fleet-process';

const START_LIMIT_MS = 90_000;
const RUN_LIMIT_MS = 90_000;
const FIXTURE = path.join(__dirname, '..', 'fixtures', 'enx-database.sql');

describe('every job on an ENX-shaped database (npm start -- --enx-schema)', () => {
  let fleet: LocalFleet | undefined;
  beforeAll(async () => {
    fleet = await startLocalFleet(START_LIMIT_MS, ['--enx-schema', FIXTURE]);
  }, START_LIMIT_MS + 10_000);
  afterAll(() => disposeLocalFleet(fleet), 60_000);

  it('applies our migrations but not the local stand-in of the ENX schema', () => {
    const database = fleet!.lines.find((line) => /^\s+database\s/.test(line))!;
    expect(database).toMatch(/applied 0002_run_ledger, 0003_local_adapters, /);
    expect(database).not.toMatch(/0001_enx_schema/);
  });

  it(
    'runs every job once, each succeeding',
    async () => {
      const outcomes = await waitFor('every job to finish its first tick', RUN_LIMIT_MS, async () => {
        const status = await fetchStatus(fleet!.statusUrl);
        const states = Object.fromEntries(
          status.jobs.map((job) => [job.id, job.lastAttempts.find((row) => row.state !== 'running')?.state]),
        );
        return Object.values(states).every((state) => state !== undefined) ? states : undefined;
      });
      const expected = Object.fromEntries(
        jobDefinitions.map((definition) => [definition.spec.id, 'succeeded']),
      );
      expect(outcomes).toEqual(expected);
    },
    RUN_LIMIT_MS + 10_000,
  );
});
