/**
 * The local secret store on a real PostgreSQL: the shared SecretStore contract, plus what only the
 * local one promises (payloads discarded on destroy, concurrent adders get distinct numbers, the
 * clock's time recorded).
 */
import { LocalSecretStore } from '../../functions/adapters/local-secret-store';
import { ManualClock } from '../support/manual-clock';
import { createTestDatabase } from '../support/database';
import type { TestDatabase } from '../support/database';
import { CONTRACT_PARENT, secretStoreContract } from '../support/secret-store-contract';

let db: TestDatabase;
let store: LocalSecretStore;
const clock = new ManualClock('2026-11-23T12:00:00Z');
let counter = 0;
const unique = () => `secret-${++counter}`;

beforeAll(async () => {
  db = await createTestDatabase();
  store = new LocalSecretStore(db.pool, clock);
});
afterAll(async () => db.drop());

describe('SecretStore contract', () => secretStoreContract(() => store, unique));

describe('local only', () => {
  it('records creation at the clock time and discards the payload of a destroyed version', async () => {
    const version = await store.addSecretVersion(CONTRACT_PARENT, 'cookie-keys', Buffer.from('s3cret'));
    clock.advance(60_000);
    await store.destroySecretVersion(version);
    const { rows } = await db.pool.query(
      'SELECT state, payload, created_at, destroyed_at FROM enx_jobs_local_secret_versions WHERE name = $1',
      [version],
    );
    expect(rows).toEqual([
      {
        state: 'DESTROYED',
        payload: Buffer.alloc(0),
        created_at: new Date('2026-11-23T12:00:00Z'),
        destroyed_at: new Date('2026-11-23T12:01:00Z'),
      },
    ]);
  });

  it('gives concurrent adders distinct, gap-free version numbers', async () => {
    const names = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        store.addSecretVersion(CONTRACT_PARENT, 'busy', Buffer.from(`v${i}`)),
      ),
    );
    expect(names.map((name) => Number(name.split('/').pop())).sort((a, b) => a - b)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8,
    ]);
  });

  it('never reuses a number, even after versions are destroyed', async () => {
    const first = await store.addSecretVersion(CONTRACT_PARENT, 'reuse', Buffer.from('a'));
    await store.destroySecretVersion(first);
    expect(await store.addSecretVersion(CONTRACT_PARENT, 'reuse', Buffer.from('b'))).toBe(
      `${CONTRACT_PARENT}/reuse/versions/2`,
    );
  });
});
