/**
 * The local export runs the real pg_dump against the test PostgreSQL. Where a test is about a
 * failure pg_dump will not produce on demand (an old version, a truncated file, a hang, an error
 * reported with exit 0), PG_DUMP_PATH points at a small shell wrapper around the real one.
 */
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalDatabaseExport, endsLikeCompleteDump } from '../../functions/adapters/local-database-export';
import { pgConnection } from '../../functions/adapters/pg-connection';
import { PG_DUMP } from '../../local/system-tools';
import { createTestDatabase } from '../support/database';
import { requireSystemTool } from '../support/system-tools';
import type { TestDatabase } from '../support/database';

let REAL_PG_DUMP: string;
let db: TestDatabase;
let work: string;
let backups: string;

/** An executable shell script standing in for pg_dump; `$REAL` is the real one. */
function wrapper(name: string, body: string): string {
  const file = path.join(work, name);
  writeFileSync(file, `#!/bin/sh\nREAL='${REAL_PG_DUMP}'\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

const exporter = (options: { pgDumpPath?: string; url?: string } = {}) =>
  new LocalDatabaseExport(db.pool, {
    connection: pgConnection({
      url: options.url ?? db.url,
      host: '',
      port: 0,
      database: '',
      user: '',
      sslMode: 'disable',
    }),
    directory: backups,
    pgDumpPath: options.pgDumpPath,
  });

/** Everything left in the backup folder, recursively: a failed export must leave nothing behind. */
const leftovers = () => readdirSync(backups, { recursive: true }).map(String).sort();

beforeAll(async () => {
  REAL_PG_DUMP = requireSystemTool(PG_DUMP);
  db = await createTestDatabase(3);
  await db.pool.query(
    `INSERT INTO enx_jobs_local_secrets (name, created_at) VALUES ('projects/p/secrets/marker-row-7f3a', now())`,
  );
  work = mkdtempSync(path.join(os.tmpdir(), 'enx-export-test-'));
});
beforeEach(() => {
  backups = path.join(work, `backups-${Math.random().toString(36).slice(2)}`);
});
afterAll(async () => {
  await db.drop();
  rmSync(work, { recursive: true, force: true });
});

describe('a successful export', () => {
  it('writes a complete plain dump under the object name, creating folders, and reports its size', async () => {
    const result = await exporter().exportDatabase({ objectName: 'database/2026-11-23T12-00-00Z.sql' });
    const file = path.join(backups, 'database', '2026-11-23T12-00-00Z.sql');
    expect(result.uri).toBe(file);
    const dump = readFileSync(file, 'utf8');
    expect(result.sizeBytes).toBe(Buffer.byteLength(dump));
    expect(dump).toContain('CREATE TABLE public.enx_jobs_local_secrets');
    expect(dump).toContain('projects/p/secrets/marker-row-7f3a');
    expect(endsLikeCompleteDump(dump.slice(-1024))).toBe(true);
    expect(result.operation).toMatch(/^pg_dump 15\.\d+ of database "enx_test_\w+" on 127\.0\.0\.1:\d+$/);
    expect(leftovers()).toEqual(['database', 'database/2026-11-23T12-00-00Z.sql']);
  });

  it('passes the password in PGPASSWORD only, never on the command line', async () => {
    const seen = path.join(work, 'seen.txt');
    const spy = wrapper(
      'spy-pg-dump',
      `[ "$1" = "--version" ] || { echo "argv: $*" > '${seen}'; echo "password set: \${PGPASSWORD:+yes}" >> '${seen}'; }\nexec "$REAL" "$@"`,
    );
    await exporter({ pgDumpPath: spy }).exportDatabase({ objectName: 'spied.sql' });
    const password = new URL(db.url).password;
    expect(password.length).toBeGreaterThan(0);
    const record = readFileSync(seen, 'utf8');
    expect(record).toContain('password set: yes');
    expect(record).toMatch(/^argv: --format=plain --no-password --file=\S+spied\.sql\.partial-[0-9a-f]{8}$/m);
    expect(record).not.toContain(password);
  });

  it('replaces an earlier dump of the same name whole', async () => {
    await exporter().exportDatabase({ objectName: 'same.sql' });
    writeFileSync(path.join(backups, 'same.sql'), 'stale');
    await exporter().exportDatabase({ objectName: 'same.sql' });
    expect(readFileSync(path.join(backups, 'same.sql'), 'utf8')).toContain(
      '-- PostgreSQL database dump complete',
    );
  });
});

describe('refusals and failures, each leaving no file behind', () => {
  it.each([['../escape.sql'], ['/tmp/absolute.sql'], [''], ['a/../../b.sql']])(
    'refuses the object name %j',
    async (objectName) => {
      await expect(exporter().exportDatabase({ objectName })).rejects.toThrow(
        /must be a relative path inside/,
      );
      expect(existsSync(backups)).toBe(false);
    },
  );

  it('refuses a pg_dump older than the server, naming both versions and what to install', async () => {
    const old = wrapper('old-pg-dump', `echo "pg_dump (PostgreSQL) 14.11"`);
    await expect(exporter({ pgDumpPath: old }).exportDatabase({ objectName: 'x.sql' })).rejects.toThrow(
      /is version 14 but the server runs PostgreSQL 15; .*install postgresql-client-15/,
    );
    expect(existsSync(backups)).toBe(false);
  });

  it('names PG_DUMP_PATH when the configured pg_dump cannot run', async () => {
    await expect(
      exporter({ pgDumpPath: path.join(work, 'no-such-pg-dump') }).exportDatabase({ objectName: 'x.sql' }),
    ).rejects.toThrow(/cannot run .*no-such-pg-dump --version .*check PG_DUMP_PATH/);
  });

  it("fails with pg_dump's own message when it cannot dump, and removes the partial file", async () => {
    const url = db.url.replace(/\/enx_test_\w+$/, '/enx_no_such_database');
    await expect(exporter({ url }).exportDatabase({ objectName: 'x.sql' })).rejects.toThrow(
      /pg_dump of database "enx_no_such_database" on 127\.0\.0\.1:\d+ failed \(exit 1\): .*database "enx_no_such_database" does not exist/,
    );
    expect(leftovers()).toEqual([]);
  });

  it('refuses a dump without its trailer even when pg_dump exited 0', async () => {
    const truncating = wrapper(
      'truncating-pg-dump',
      `[ "$1" = "--version" ] && exec "$REAL" --version\n"$REAL" "$@" || exit $?\nfor a in "$@"; do case "$a" in --file=*) f="\${a#--file=}";; esac; done\nhead -c 2000 "$f" > "$f.cut" && mv "$f.cut" "$f"`,
    );
    await expect(
      exporter({ pgDumpPath: truncating }).exportDatabase({ objectName: 'x.sql' }),
    ).rejects.toThrow(
      /the dump of database "enx_test_\w+" .* is incomplete \(2000 bytes, no "-- PostgreSQL database dump complete" trailer/,
    );
    expect(leftovers()).toEqual([]);
  });

  it('refuses a run that exited 0 but reported an error', async () => {
    const lying = wrapper(
      'lying-pg-dump',
      `[ "$1" = "--version" ] && exec "$REAL" --version\n"$REAL" "$@"\necho "pg_dump: error: query failed: out of shared memory" >&2\nexit 0`,
    );
    await expect(exporter({ pgDumpPath: lying }).exportDatabase({ objectName: 'x.sql' })).rejects.toThrow(
      /exited 0 but reported errors: pg_dump: error: query failed: out of shared memory/,
    );
    expect(leftovers()).toEqual([]);
  });

  it('stops pg_dump when the signal aborts, and keeps nothing', async () => {
    const pidFile = path.join(work, 'hang.pid');
    const hanging = wrapper(
      'hanging-pg-dump',
      `[ "$1" = "--version" ] && exec "$REAL" --version\necho $$ > '${pidFile}'\nfor a in "$@"; do case "$a" in --file=*) f="\${a#--file=}";; esac; done\necho "-- partial" > "$f"\nexec sleep 30`,
    );
    const controller = new AbortController();
    const started = Date.now();
    const exported = exporter({ pgDumpPath: hanging }).exportDatabase({
      objectName: 'x.sql',
      signal: controller.signal,
    });
    while (!existsSync(pidFile)) await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort(new Error('deadline'));
    await expect(exported).rejects.toThrow(/was aborted; pg_dump was stopped and its partial output removed/);
    expect(Date.now() - started).toBeLessThan(5_000);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(() => process.kill(pid, 0)).toThrow();
    expect(leftovers()).toEqual([]);
  });

  it('does not start when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('too late'));
    await expect(
      exporter().exportDatabase({ objectName: 'x.sql', signal: controller.signal }),
    ).rejects.toThrow('too late');
    expect(existsSync(backups)).toBe(false);
  });
});

describe('endsLikeCompleteDump', () => {
  const trailer = '--\n-- PostgreSQL database dump complete\n--\n\n';
  it.each([
    [
      'with the \\unrestrict line of current minor releases',
      `SET x;\n${trailer}\\unrestrict abcDEF123\n\n`,
      true,
    ],
    ['without it (older minor releases)', `SET x;\n${trailer}`, true],
    ['cut before the trailer', 'SET x;\nCOPY public.t (a) FROM stdin;\n1\n', false],
    ['with rows after the trailer', `${trailer}INSERT INTO t VALUES (1);\n`, false],
    ['empty', '', false],
  ])('%s', (_name, tail, complete) => expect(endsLikeCompleteDump(tail)).toBe(complete));
});
