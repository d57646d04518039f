/**
 * A deployed instance opens its database connection as it starts (Runtime.warmUp, called by
 * functions/deployed.ts and the local fleet), so the first request finds it open; a database that
 * cannot be reached then is left for the first request to report.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { Runtime } from '../../functions/core/runtime';
import { productionWiring } from '../../functions/wiring';
import { memoryWriter } from '../support/memory-writer';
import { createTestDatabase } from '../support/database';
import { eventually } from '../support/test-jobs';
import type { TestDatabase } from '../support/database';

/** The connections this database has from the runtime's application name. */
async function connectionsOf(db: TestDatabase, application: string): Promise<number> {
  const { rows } = await db.pool.query<{ count: string }>(
    'SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2',
    [db.name, application],
  );
  return Number(rows[0].count);
}

/** What a deployed instance needs besides its database. */
const OIDC = {
  OIDC_ISSUER: 'https://accounts.google.com',
  OIDC_AUDIENCE: 'https://warm-up-test.example.com',
  OIDC_INVOKER_EMAILS: 'scheduler@enx-test.iam.gserviceaccount.com',
};

/** A deployed instance's runtime (production wiring) on the given settings. */
function instance(env: Record<string, string>): Runtime {
  return new Runtime({ ...OIDC, DB_SSLMODE: 'disable', ...env }, productionWiring, {
    writeLine: memoryWriter().write,
  });
}

/**
 * A database that takes connections on its own thread and answers nothing: it counts the bytes it
 * receives and keeps the protocol number of the first message, where the test thread can read
 * them while it is blocked (as an instance is while the framework builds its server).
 */
const SILENT_DATABASE = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const seen = new Int32Array(workerData.seen);
const server = net.createServer((socket) => {
  socket.on('error', () => undefined);
  socket.once('data', (chunk) => Atomics.store(seen, 1, chunk.readInt32BE(4)));
  socket.on('data', (chunk) => {
    Atomics.add(seen, 0, chunk.length);
    Atomics.notify(seen, 0);
  });
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
`;

/** PostgreSQL's startup message names protocol 3.0 (the wire protocol's StartupMessage). */
const PROTOCOL_3_0 = 196608;

describe('Runtime.warmUp', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(2);
  });
  afterAll(async () => db.drop());

  it('opens one database connection before any request, and keeps it for the first one', async () => {
    const runtime = instance({ DATABASE_URL: db.url, K_SERVICE: 'warm-up-test' });
    try {
      expect(await connectionsOf(db, 'warm-up-test')).toBe(0);
      void runtime.warmUp();
      await eventually(
        async () => (await connectionsOf(db, 'warm-up-test')) === 1,
        'the warm-up connection',
        5_000,
      );
      // Idle in the pool, not a second connection, is what the first query uses.
      await runtime.db().query('SELECT 1');
      expect(await connectionsOf(db, 'warm-up-test')).toBe(1);
      expect(runtime.db().totalCount).toBe(1);
    } finally {
      await runtime.close();
    }
  });

  it('has sent the startup message when it resolves, so the database works while the instance is busy', async () => {
    const seen = new Int32Array(new SharedArrayBuffer(8));
    const database = new Worker(SILENT_DATABASE, { eval: true, workerData: { seen: seen.buffer } });
    const [port] = (await once(database, 'message')) as [number];
    const runtime = instance({
      DATABASE_URL: `postgres://enx@127.0.0.1:${port}/enx`,
      DB_CONNECT_TIMEOUT: '2s',
    });
    try {
      await runtime.warmUp();
      // Blocked, as while the framework builds its server: nothing more happens on this thread,
      // so whatever the database receives was sent before warmUp resolved.
      Atomics.wait(seen, 0, 0, 5_000);
      expect(Atomics.load(seen, 0)).toBeGreaterThan(8);
      expect(Atomics.load(seen, 1)).toBe(PROTOCOL_3_0);
    } finally {
      await database.terminate();
      await runtime.close();
    }
  });

  it('makes a request that arrives while it connects wait for that connection, not open another', async () => {
    const runtime = instance({ DATABASE_URL: db.url, K_SERVICE: 'warm-up-early' });
    try {
      void runtime.warmUp();
      // What the first request's claim does right away (core/claim.ts): ready, then a query.
      await runtime.databaseReady();
      await runtime.db().query('SELECT 1');
      expect(runtime.db().totalCount).toBe(1);
    } finally {
      await runtime.close();
    }
  });

  it('leaves an unreachable database to the first request, without an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const runtime = instance({ DATABASE_URL: 'postgres://enx@127.0.0.1:9/enx', DB_CONNECT_TIMEOUT: '1s' });
    try {
      void runtime.warmUp();
      // A request arriving meanwhile meets the warm-up's own error instead of waiting out another.
      await expect(runtime.databaseReady()).rejects.toThrow(/ECONNREFUSED/);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(unhandled).toEqual([]);
      // Once it has ended, a request connects for itself.
      await expect(runtime.databaseReady()).resolves.toBeUndefined();
      await expect(runtime.db().query('SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await runtime.close();
    }
  });
});
