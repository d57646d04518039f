/**
 * The loopback Logging API through the real @google-cloud/logging client: entries as Cloud Logging
 * files the runtime's JSON lines, the filters of functions/alerts/log-filters.ts, paging, ordering,
 * live tailing, and INVALID_ARGUMENT for what the stand-in (like the real API) will not take.
 */
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Logging } from '@google-cloud/logging';
import type { Entry, LoggingOptions } from '@google-cloud/logging';
import { jobLogFilter } from '../../functions/alerts/log-filters';
import { createLogger } from '../../functions/core/logger';
import { startFakeLogging } from '../../local/fake-google/logging-service';
import type { FakeLogging } from '../../local/fake-google/logging-service';

const PROJECT = 'enx-test-project';
let dir: string;
let file: string;
let fake: FakeLogging;
let logging: Logging;

/** Lines exactly as the runtime writes them for one attempt of `job`. */
function attemptLines(job: string, tick: string, attempt: number, outcome: 'succeeded' | 'failed') {
  const logger = createLogger({ write: (line) => appendFileSync(file, `${line}\n`) }).child({
    labels: { job, tick, attempt: String(attempt) },
  });
  logger.info('job started', { event: 'started' });
  if (outcome === 'failed')
    logger.error('job failed', { event: 'failed', errors: [`${job} broke on try ${attempt}`] });
  else logger.info('job succeeded', { event: 'succeeded', result: { purged: 3 } });
}

const codeOf = (error: unknown) => (error as { code?: number }).code;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'enx-logging-fake-'));
  file = path.join(dir, 'functions.jsonl');
  appendFileSync(file, 'not json, ignored\n');
  attemptLines('cleanup-worker', '2026-12-06T05:00:00.000Z', 1, 'failed');
  attemptLines('cleanup-worker', '2026-12-06T05:00:00.000Z', 2, 'succeeded');
  attemptLines('backup-worker', '2026-12-06T04:00:00.000Z', 1, 'failed');
  fake = await startFakeLogging({ logFile: file, projectId: PROJECT });
  // @google-cloud/logging types its own nested copy of google-auth-library; the client is the same.
  logging = new Logging(fake.clientOptions() as unknown as LoggingOptions);
});
afterAll(async () => {
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ListLogEntries', () => {
  it("files the runtime's lines as Cloud Run entries and answers the job filter, newest first by default", async () => {
    const [entries] = await logging.getEntries({ filter: jobLogFilter({ jobId: 'cleanup-worker' }) });
    expect(entries).toHaveLength(4);
    const events = entries.map((entry: Entry) => (entry.data as { event: string }).event);
    expect(events).toEqual(['succeeded', 'started', 'failed', 'started']);
    const failed = entries[2];
    expect(failed.metadata.severity).toBe('ERROR');
    expect(failed.metadata.labels).toEqual({
      job: 'cleanup-worker',
      tick: '2026-12-06T05:00:00.000Z',
      attempt: '1',
    });
    expect(failed.metadata.resource).toEqual(
      expect.objectContaining({
        type: 'cloud_run_revision',
        labels: expect.objectContaining({ service_name: 'cleanup-worker' }),
      }),
    );
    expect(failed.metadata.logName).toBe(`projects/${PROJECT}/logs/run.googleapis.com%2Fstdout`);
    // The special fields are lifted out of the payload; message and the rest stay.
    expect(failed.data).toEqual({
      message: 'job failed',
      event: 'failed',
      errors: ['cleanup-worker broke on try 1'],
    });
    expect(failed.metadata.timestamp).toBeInstanceOf(Date);
  });

  it('applies severity, tick, event groups and the time the client adds', async () => {
    const [warnings] = await logging.getEntries({
      filter: jobLogFilter({ jobId: 'cleanup-worker', severity: 'WARNING' }),
    });
    expect(warnings.map((entry) => entry.metadata.labels?.attempt)).toEqual(['1']);
    const [ends] = await logging.getEntries({
      filter: jobLogFilter({
        jobId: 'cleanup-worker',
        events: ['failed', 'succeeded'],
        tick: '2026-12-06T05:00:00.000Z',
      }),
      orderBy: 'timestamp asc',
    });
    expect(ends.map((entry) => (entry.data as { event: string }).event)).toEqual(['failed', 'succeeded']);
    const [future] = await logging.getEntries({
      filter: jobLogFilter({ jobId: 'cleanup-worker', since: new Date(Date.now() + 60_000) }),
    });
    expect(future).toEqual([]);
    const [fleet] = await logging.getEntries({ filter: 'labels.job:* AND severity>=ERROR' });
    expect(fleet.map((entry) => entry.metadata.labels?.job).sort()).toEqual([
      'backup-worker',
      'cleanup-worker',
    ]);
  });

  it('pages with a token that only its own query may use', async () => {
    const filter = jobLogFilter({ jobId: 'cleanup-worker' });
    const [first, next] = await logging.getEntries({ filter, pageSize: 3, autoPaginate: false });
    expect(first).toHaveLength(3);
    expect(next?.pageToken).toBeTruthy();
    const [rest, after] = await logging.getEntries({
      filter,
      pageSize: 3,
      autoPaginate: false,
      pageToken: next!.pageToken ?? undefined,
    });
    expect(rest).toHaveLength(1);
    expect(after).toBeNull();
    await expect(
      logging.getEntries({
        filter,
        orderBy: 'timestamp asc',
        pageSize: 3,
        autoPaginate: false,
        pageToken: next!.pageToken ?? undefined,
      }),
    ).rejects.toThrow(/page_token does not belong to this query/);
  });

  it.each([
    ['OR between comparisons', 'severity>=ERROR OR labels.job="x"', /OR between comparisons/],
    ['a regular expression', 'labels.job=~"clean.*"', /regular expressions/],
    ['free text', 'cleanup', /free-text search/],
    ['an unknown field', 'resourcetype="x"', /field "resourcetype"/],
    ['a bad severity', 'severity>=LOUD', /"LOUD" is not a severity/],
    ['a bad time', 'timestamp>="yesterday"', /not an RFC 3339 timestamp/],
    ['an unterminated string', 'labels.job="x', /unterminated string/],
  ])('refuses %s with INVALID_ARGUMENT', async (_what, filter, message) => {
    const error = await logging.getEntries({ filter }).catch((caught: unknown) => caught);
    expect(codeOf(error)).toBe(3);
    expect(String((error as Error).message)).toMatch(message);
  });

  it('refuses page sizes and orders the API does not permit', async () => {
    for (const request of [{ pageSize: 1001 }, { orderBy: 'severity desc' }]) {
      const error = await logging
        .getEntries({ ...request, autoPaginate: false })
        .catch((caught: unknown) => caught);
      expect(codeOf(error)).toBe(3);
    }
  });
});

describe('TailLogEntries', () => {
  it('streams the matching entries written after the session starts', async () => {
    const stream = logging.tailEntries({
      filter: jobLogFilter({ jobId: 'backup-worker', severity: 'ERROR' }),
    });
    const seen: string[] = [];
    const got = new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.on('data', (response: { entries: Entry[] }) => {
        for (const entry of response.entries) seen.push(String(entry.metadata.labels?.attempt));
        if (seen.length > 0) resolve();
      });
    });
    // Give the session a moment to open, then write: the earlier failure is not replayed.
    await new Promise((resolve) => setTimeout(resolve, 300));
    attemptLines('cleanup-worker', '2026-12-06T05:05:00.000Z', 1, 'failed');
    attemptLines('backup-worker', '2026-12-06T04:00:00.000Z', 2, 'failed');
    await got;
    (stream as unknown as { abort(): void }).abort();
    stream.end();
    expect(seen).toEqual(['2']);
  }, 15_000);

  it('refuses a filter it cannot parse', async () => {
    const stream = logging.tailEntries({ filter: 'NOT severity>=ERROR' });
    const error = await new Promise((resolve) => stream.on('error', resolve));
    expect(codeOf(error)).toBe(3);
  });
});
