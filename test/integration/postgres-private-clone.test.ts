/**
 * As root, PostgreSQL runs as the `postgres` user, which cannot walk into a private folder (mode
 * 700, as /root is). A clone there must still start its server: the binaries are copied to a
 * reachable folder, the data goes to a reachable stand-in, and what cannot work stops with one line.
 * Here the "clone" is a copy of the packaged binaries inside a 0700 folder. Only meaningful as root
 * (as anyone else the server runs as the caller, who reached the binaries already).
 */
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../../local/embedded-postgres';
import {
  canExecute,
  packagedBinaries,
  postgresSystemUser,
  reachableBinaries,
  reachableDataDir,
} from '../../local/postgres-binaries';
import type { PostgresBinaries } from '../../local/postgres-binaries';
import { LocalSetupError } from '../../local/setup-error';

const asRoot = process.getuid?.() === 0;
const rootOnly = asRoot ? describe : describe.skip;

rootOnly('PostgreSQL from a clone in a private folder, as root', () => {
  let work: string;
  let privateClone: PostgresBinaries;
  let copyRoot: string;

  beforeAll(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'enx-private-clone-'));
    chmodSync(work, 0o755);
    const clone = path.join(work, 'root-home');
    mkdirSync(clone, { mode: 0o700 });
    const nativeDir = path.join(clone, 'node_modules', 'native');
    cpSync(packagedBinaries().nativeDir, nativeDir, { recursive: true, verbatimSymlinks: true });
    // The copy is named after the platform package's version, read from beside native/.
    cpSync(
      path.join(packagedBinaries().nativeDir, '..', 'package.json'),
      path.join(clone, 'node_modules', 'package.json'),
    );
    privateClone = {
      nativeDir,
      initdb: path.join(nativeDir, 'bin', 'initdb'),
      postgres: path.join(nativeDir, 'bin', 'postgres'),
    };
    copyRoot = path.join(work, 'var-tmp');
    mkdirSync(copyRoot, { mode: 0o755 });
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('cannot run the binaries where they are (the EACCES the fix is for)', () => {
    expect(canExecute(privateClone.postgres, postgresSystemUser())).toBe(false);
  });

  it('starts a working server from a reachable copy, made once and reused', async () => {
    const server = await startEmbeddedPostgres({
      persistent: false,
      fast: true,
      binaries: { source: privateClone, copyRoot },
    });
    try {
      const client = new Client({ connectionString: server.url('postgres') });
      await client.connect();
      const { rows } = await client.query<{ one: number }>('SELECT 1 AS one');
      await client.end();
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await server.stop();
    }
    const again = reachableBinaries(postgresSystemUser(), { source: privateClone, copyRoot });
    expect(again.nativeDir.startsWith(copyRoot + path.sep)).toBe(true);
    expect(path.basename(again.nativeDir)).toMatch(/^enx-jobs-postgres-\d+\.\d+\.\d+.*-linux-x64$/);
  }, 60_000);

  it('stops with one line saying what to do when no reachable copy can be made', () => {
    const hidden = path.join(work, 'hidden-var-tmp');
    mkdirSync(hidden, { mode: 0o700 });
    let error: unknown;
    try {
      reachableBinaries(postgresSystemUser(), { source: privateClone, copyRoot: hidden });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(LocalSetupError);
    expect((error as Error).message).not.toContain('\n');
    expect((error as Error).message).toMatch(/the postgres user can run neither .*\(chmod o\+x\)/);
  });

  it('keeps the data of a private clone in a reachable stand-in named by the clone', () => {
    const user = postgresSystemUser();
    const wanted = path.join(work, 'root-home', '.data', 'pg');
    const relocated = reachableDataDir(wanted, user, copyRoot);
    expect(relocated).toMatch(new RegExp(`^${copyRoot}/enx-jobs-data-[0-9a-f]{12}/pg$`));
    expect(reachableDataDir(wanted, user, copyRoot)).toBe(relocated);
    expect(existsSync(path.dirname(relocated))).toBe(true);
    // A reachable folder is used as it is.
    expect(reachableDataDir(path.join(work, 'open', 'pg'), user, copyRoot)).toBe(
      path.join(work, 'open', 'pg'),
    );
  });

  it('refuses a stand-in folder that someone else could have planted', () => {
    const user = postgresSystemUser();
    const wanted = path.join(work, 'root-home', 'other', 'pg');
    const planted = path.dirname(reachableDataDir(wanted, user, copyRoot));
    chmodSync(planted, 0o777);
    expect(() => reachableDataDir(wanted, user, copyRoot)).toThrow(
      /not a root-owned folder that only root can write to/,
    );
  });
});
