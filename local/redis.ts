/**
 * A throwaway redis-server child on 127.0.0.1: the rate limiter's store for the local fleet (where
 * modeler-worker pushes realm quotas, as it does to Memorystore in production) and for the tests.
 * Nothing is persisted (no RDB snapshots, no append-only file); the data lives as long as the
 * process. Redis is not an npm package: the binary comes from the system (Debian's redis-server,
 * installed by local/system-tools.ts where possible), and callers that can do without it check
 * redisServerBinary() first.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './embedded-postgres';
import { findExecutable, installHint, REDIS_SERVER } from './system-tools';

export interface RedisServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The AUTH password the server requires; empty when none. */
  readonly password: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export interface RedisStartOptions {
  /** Require this password (AUTH); default none. */
  readonly password?: string;
  /** The server's log lines. */
  readonly onLog?: (line: string) => void;
  /**
   * A process group of its own (the local fleet): Ctrl-C then reaches only Node, which stops Redis
   * after the jobs that use it. By default Redis shares the caller's group (tests).
   */
  readonly ownProcessGroup?: boolean;
  /** How long to wait for "ready". Default 10 s. */
  readonly startTimeoutMs?: number;
}

/** The redis-server on PATH (or in the usual Debian places), or undefined when there is none. */
export function redisServerBinary(): string | undefined {
  return findExecutable(REDIS_SERVER.command);
}

const READY = /Ready to accept connections/;
/** Another process took the port between freePort() and the bind: pick another. */
const PORT_TAKEN = /Address already in use|Could not create server TCP listening socket/;
const PORT_ATTEMPTS = 3;
const STOP_GRACE_MS = 3_000;

export async function startRedisServer(options: RedisStartOptions = {}): Promise<RedisServer> {
  const binary = redisServerBinary();
  if (!binary) {
    throw new Error(`redis-server is missing (${REDIS_SERVER.neededBy}): run ${installHint([REDIS_SERVER])}`);
  }
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt += 1) {
    try {
      return await startOnce(binary, await freePort(), options);
    } catch (error) {
      lastError = error as Error;
      if (!PORT_TAKEN.test(lastError.message)) throw lastError;
    }
  }
  throw lastError ?? new Error('redis-server did not start');
}

async function startOnce(binary: string, port: number, options: RedisStartOptions): Promise<RedisServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'enx-redis-'));
  const password = options.password ?? '';
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--daemonize',
    'no',
    '--logfile',
    '',
    ...(password ? ['--requirepass', password] : []),
  ];
  const child = spawn(binary, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.ownProcessGroup ?? false,
  });
  // Never outlive the Node process, whatever way it ends.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const cleanUp = () => {
    process.removeListener('exit', killOnExit);
    rmSync(dir, { recursive: true, force: true });
  };

  const output: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server did not get ready within ${options.startTimeoutMs ?? 10_000} ms`));
    }, options.startTimeoutMs ?? 10_000);
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        output.push(line);
        options.onLog?.(line);
        if (READY.test(line)) {
          clearTimeout(timer);
          resolve();
        }
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new Error(
          `redis-server exited (${signal ?? code}) before it was ready: ${output.slice(-3).join(' | ')}`,
        ),
      );
    });
  }).catch((error: unknown) => {
    cleanUp();
    throw error;
  });

  let stopped: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    port,
    password,
    pid: child.pid ?? 0,
    stop: () => (stopped ??= stopChild(child).finally(cleanUp)),
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * The local fleet's Redis, when the machine has redis-server; otherwise one console line and
 * undefined, and modeler-worker runs with the no-op limiter (limits still saved, no quotas).
 */
export async function startFleetRedis(out: (line: string) => void): Promise<RedisServer | undefined> {
  if (!redisServerBinary()) {
    out(
      'redis-server not found: modeler-worker saves limits but pushes no quotas (RATE_LIMIT_TYPE=NOOP); apt-get install redis-server to see them',
    );
    return undefined;
  }
  return startRedisServer({ password: randomBytes(12).toString('hex'), ownProcessGroup: true });
}

/**
 * A fixed HMAC key for local quota keys, so `redis-cli` users can find a realm's bucket from run
 * to run. Local only: it protects nothing, and production reads the server's key from Secret
 * Manager.
 */
export const LOCAL_RATE_LIMIT_HMAC_KEY = Buffer.from('enx-jobs local rate-limit key').toString('base64');

/** The modeler's rate-limiter settings for the local fleet: its own Redis, or NOOP without one. */
export function localRateLimitEnv(redis: Pick<RedisServer, 'host' | 'port' | 'password'> | undefined) {
  if (!redis) return { RATE_LIMIT_TYPE: 'NOOP' };
  return {
    RATE_LIMIT_TYPE: 'REDIS',
    RATE_LIMIT_HMAC_KEY: LOCAL_RATE_LIMIT_HMAC_KEY,
    RATE_LIMIT_REDIS_HOST: redis.host,
    RATE_LIMIT_REDIS_PORT: String(redis.port),
    RATE_LIMIT_REDIS_PASSWORD: redis.password,
  };
}
