/**
 * The status page's HTML and the status server's routes, from a FleetStatus made here: the states
 * and alerts a running fleet rarely shows on demand (failing, paused, several alerts firing).
 */
import { timelineSlots } from '../../local/job-health';
import { renderJobPage, renderStatusPage } from '../../local/status-page';
import { startStatusServer } from '../../local/status-server';
import type { JobAction } from '../../local/status-server';
import type { FleetStatus, JobStatus } from '../../local/status';

const NOW = '2026-12-06T12:00:00.000Z';

function job(id: string, change: Partial<JobStatus> = {}): JobStatus {
  return {
    id,
    description: `${id} <does> things`,
    cron: '*/5 * * * *',
    timeZone: 'Etc/UTC',
    httpMethod: 'GET',
    url: 'http://127.0.0.1:1',
    timeoutMs: 60_000,
    attemptDeadlineMs: 80_000,
    retry: {
      retryCount: 2,
      minBackoffMs: 5_000,
      maxBackoffMs: 60_000,
      maxDoublings: 3,
      maxRetryDurationMs: 0,
    },
    nextScheduledAt: '2026-12-06T12:05:00.000Z',
    scheduler: { nextScheduledAt: '2026-12-06T12:05:00.000Z', inFlight: null, lastCall: null },
    tallies: {
      started: 1,
      succeeded: 1,
      failed: 0,
      skipped: 0,
      exhausted: 0,
      lastSuccessAt: null,
      countingSince: '2026-01-01T00:00:00.000Z',
    },
    lastTicks: [],
    lastAttempts: [],
    paused: false,
    windowMs: 1_800_000,
    lastSuccessAt: '2026-12-06T11:55:00.000Z',
    health: 'healthy',
    progress: 5 / 30,
    timeline: timelineSlots(
      [{ scheduledAt: '2026-12-06T11:55:00.000Z', state: 'failed', attempts: 3, nonRuns: 1, manual: false }],
      new Date(NOW),
    ),
    ...change,
  };
}

const status: FleetStatus = {
  generatedAt: NOW,
  startedAt: '2026-12-06T11:00:00.000Z',
  uptimeMs: 3_600_000,
  urls: { status: 'http://127.0.0.1:2', issuer: '', jwks: '', database: '', functions: {} },
  files: { dataDir: '/d', functionLog: '/d/logs/functions.jsonl', postgresLog: '/d/logs/postgres.log' },
  ledgerError: null,
  alerts: {
    evaluatedAt: NOW,
    error: null,
    firing: [
      {
        alertId: 'ForwardProgressFailed',
        severity: 'CRITICAL',
        subject: 'backup-worker',
        firing: true,
        value: 2,
        detail: 'late',
      },
      {
        alertId: 'JobFailureRate',
        severity: 'WARNING',
        subject: 'fleet',
        firing: true,
        value: 0.3,
        detail: '30 %',
      },
    ],
  },
  jobs: [
    job('cleanup-worker'),
    job('backup-worker', { health: 'failing', progress: 2, lastSuccessAt: null }),
    job('e2e-default', { health: 'paused', paused: true }),
  ],
};

describe('the status page', () => {
  const html = renderStatusPage(status, { actions: true });

  it('puts the firing alerts on top, each with its runbook', () => {
    expect(html).toContain('<h2 id="alerts">Alerts firing (2)</h2>');
    expect(html).toMatch(
      /<b>ForwardProgressFailed<\/b> backup-worker .*<a href="\/runbooks\/forward-progress-failed\.md">runbook<\/a>/,
    );
    expect(html).toMatch(
      /<b>JobFailureRate<\/b> fleet .*<a href="\/runbooks\/job-failure-rate\.md">runbook<\/a>/,
    );
    expect(html.indexOf('id="alerts"')).toBeLessThan(html.indexOf('table class="jobs"'));
  });

  it('gives each job its state, progress and timeline, with retries and duplicates marked', () => {
    expect(html).toMatch(
      /<tr data-job="backup-worker">[\s\S]*?<span class="health failing">failing<\/span>[\s\S]*?never[\s\S]*?class="bar over"[^>]*><span style="width:100%">/,
    );
    expect(html).toMatch(/<tr data-job="cleanup-worker">[\s\S]*?class="bar "[^>]*><span style="width:17%">/);
    expect(html).toMatch(
      /<span class="slot failed dup" title="11:45Z: 1 tick\(s\), 1 failed, 1 retried, 1 duplicate\/skipped answer\(s\)">/,
    );
    expect(html).toContain('cleanup-worker &lt;does&gt; things');
  });

  it('offers run now and pause, or resume for a paused job', () => {
    expect(html).toMatch(
      /<tr data-job="e2e-default">[\s\S]*?paused<\/span><\/td>[\s\S]*?action="\/jobs\/e2e-default\/run"[\s\S]*?action="\/jobs\/e2e-default\/resume"/,
    );
    expect(html).toMatch(/action="\/jobs\/cleanup-worker\/pause"/);
    expect(renderStatusPage(status, { actions: false })).not.toContain('<form');
  });

  it('has a details page per job, and none for an unknown one', () => {
    const details = renderJobPage(status, 'backup-worker', ['line one'], { actions: true })!;
    expect(details).toContain('<pre class="logs">line one</pre>');
    expect(details).toContain('npm run jobs -- --local triage backup-worker');
    expect(renderJobPage(status, 'nope', [], { actions: true })).toBeUndefined();
  });
});

describe('the status server', () => {
  it('acts on POST /jobs/<id>/<action>, answers 303 to the page, and says why an action failed', async () => {
    const acted: string[] = [];
    const server = await startStatusServer({
      port: 0,
      collect: async () => status,
      act: async (jobId: string, action: JobAction) => {
        if (action === 'resume')
          throw new Error('9 FAILED_PRECONDITION: Job e2e-default must be PAUSED to be resumed.');
        acted.push(`${action} ${jobId}`);
        return 'ok';
      },
      jobLog: () => ['a line'],
    });
    try {
      const post = (path: string) => fetch(`${server.url}${path}`, { method: 'POST', redirect: 'manual' });
      const paused = await post('/jobs/cleanup-worker/pause');
      expect(paused.status).toBe(303);
      expect(paused.headers.get('location')).toBe('/');
      expect(acted).toEqual(['pause cleanup-worker']);
      const refused = await post('/jobs/e2e-default/resume');
      expect(refused.status).toBe(409);
      expect(await refused.text()).toMatch(/must be PAUSED to be resumed/);
      expect((await post('/jobs/cleanup-worker/delete')).status).toBe(405);
      const forged = await fetch(`${server.url}/jobs/cleanup-worker/run`, {
        method: 'POST',
        redirect: 'manual',
        headers: { origin: 'http://elsewhere.example' },
      });
      expect(forged.status).toBe(403);
      expect(acted).toEqual(['pause cleanup-worker']);
      expect((await fetch(`${server.url}/jobs/backup-worker`)).status).toBe(200);
      expect((await fetch(`${server.url}/jobs/nope`)).status).toBe(404);
      const runbook = await fetch(`${server.url}/runbooks/failed-jobs.md`);
      expect(runbook.headers.get('content-type')).toMatch(/^text\/markdown/);
      expect((await fetch(`${server.url}/runbooks/../../package.json`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
