/**
 * Contract of the admin-API and device-API stand-ins' API-key check against ENX's source
 * (pkg/controller/middleware/apikey.go, pkg/database/authorized_app.go, pkg/controller/controller.go):
 * keys are built here by hand from ENX's algorithm, not with the probes' code, so a probe and a
 * stand-in sharing one misreading cannot both pass. Also: the probe's keys are exactly what ENX
 * stores (HMAC-SHA512 under the first api_key_database_hmac secret, base64url without padding).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { mintApiKey, readApiKeySecrets } from '../../functions/jobs/e2e/api-key';
import { ensureE2eRealm } from '../../functions/jobs/e2e/bootstrap';
import { resetE2eTables, startE2eWorld } from '../support/upstreams';
import type { E2eWorld } from '../support/upstreams';

jest.setTimeout(30_000);

let world: E2eWorld;
beforeAll(async () => {
  world = await startE2eWorld();
});
afterAll(async () => world?.close());
beforeEach(async () => resetE2eTables(world));

const UNAUTHORIZED_JSON = { error: 'unauthorized', errorCode: '', error_code: '' };
const sha512 = (key: Buffer, data: string) => createHmac('sha512', key).update(data).digest('base64url');

async function secretValues(type: string): Promise<Buffer[]> {
  const { rows } = await world.db.pool.query<{ reference: string }>(
    'SELECT reference FROM secrets WHERE type = $1 AND deleted_at IS NULL ORDER BY active DESC, created_at DESC',
    [type],
  );
  return Promise.all(rows.map((row) => world.secretStore.accessSecretVersion(row.reference)));
}

/** An API key as ENX's GenerateAPIKey + CreateAuthorizedApp make it, stored with `databaseKey`. */
async function enxKey(
  realmId: number,
  type: number,
  options: { databaseKey?: Buffer; signatureKey?: Buffer; keyRealm?: number; deleted?: boolean } = {},
) {
  const databaseKey = options.databaseKey ?? (await secretValues('api_key_database_hmac'))[0];
  const signatureKey = options.signatureKey ?? (await secretValues('api_key_signature_hmac'))[0];
  const key = randomBytes(64).toString('base64url');
  const signed = `${key}.${options.keyRealm ?? realmId}`;
  await world.db.pool.query(
    `INSERT INTO authorized_apps (realm_id, name, api_key_preview, api_key, api_key_type, created_at, updated_at, deleted_at)
     VALUES ($1, $2, $3, $4, $5, now(), now(), $6)`,
    [
      realmId,
      `contract-${key.slice(0, 8)}`,
      key.slice(0, 6),
      sha512(databaseKey, key),
      type,
      options.deleted ? new Date() : null,
    ],
  );
  return { v2: `${signed}.${sha512(signatureKey, signed)}`, v1: key };
}

async function call(url: string, apiKey: string | undefined, accept = 'application/json') {
  const response = await fetch(url, {
    method: 'POST',
    headers: { Accept: accept, ...(apiKey === undefined ? {} : { 'X-API-Key': apiKey }) },
    body: JSON.stringify({ testType: 'confirmed' }),
  });
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type'), text };
}

const issue = () => `${world.upstreams.adminApi}/api/issue`;
const verify = () => `${world.upstreams.deviceApi}/api/verify`;
const ADMIN = 1;
const DEVICE = 0;

describe('API keys the way ENX makes and checks them', () => {
  let realmId: number;
  beforeEach(async () => {
    realmId = (await ensureE2eRealm(world.db.pool, new Date())).id;
  });

  it("accepts a v2 key made by ENX's algorithm, and touches last_used_at", async () => {
    const { v2 } = await enxKey(realmId, ADMIN);
    expect((await call(issue(), v2)).status).toBe(200);
    const { rows } = await world.db.pool.query('SELECT last_used_at FROM authorized_apps');
    expect(rows[0].last_used_at).toBeInstanceOf(Date);
  });

  it('accepts a v1 key (no dots), looked up by its HMAC alone', async () => {
    const { v1 } = await enxKey(realmId, ADMIN);
    expect((await call(issue(), v1)).status).toBe(200);
  });

  it('accepts a key stored under an older api_key_database_hmac secret still consumable', async () => {
    const older = randomBytes(128);
    const reference = await world.secretStore.addSecretVersion(
      'projects/enx-test-project/secrets',
      'db-apikey-db-hmac',
      older,
    );
    await world.db.pool.query(
      `INSERT INTO secrets (type, reference, active, created_at, updated_at) VALUES ('api_key_database_hmac', $1, false, now() - interval '1 day', now())`,
      [reference],
    );
    try {
      const { v2 } = await enxKey(realmId, ADMIN, { databaseKey: older });
      expect((await call(issue(), v2)).status).toBe(200);
      await world.db.pool.query('UPDATE secrets SET deleted_at = now() WHERE reference = $1', [reference]);
      expect((await call(issue(), v2)).status).toBe(401);
    } finally {
      await world.db.pool.query('DELETE FROM secrets WHERE reference = $1', [reference]);
    }
  });

  it.each([
    ['no X-API-Key header', async () => undefined],
    [
      'a key nobody issued',
      async () => `${randomBytes(64).toString('base64url')}.1.${randomBytes(64).toString('base64url')}`,
    ],
    [
      'a signature under the wrong secret',
      async (realm: number) => (await enxKey(realm, ADMIN, { signatureKey: randomBytes(128) })).v2,
    ],
    [
      "a realm in the key that is not the app's",
      async (realm: number) => (await enxKey(realm, ADMIN, { keyRealm: realm + 1 })).v2,
    ],
    ['a soft-deleted app', async (realm: number) => (await enxKey(realm, ADMIN, { deleted: true })).v2],
    ['a device key on the admin API', async (realm: number) => (await enxKey(realm, DEVICE)).v2],
    [
      "a key stored with a SHA-256 digest (not ENX's)",
      async (realm: number) => {
        const key = randomBytes(32).toString('base64url');
        const [databaseKey] = await secretValues('api_key_database_hmac');
        await world.db.pool.query(
          `INSERT INTO authorized_apps (realm_id, name, api_key_preview, api_key, api_key_type) VALUES ($1, 'sha256', 'x', $2, 1)`,
          [realm, createHmac('sha256', databaseKey).update(key).digest('base64')],
        );
        return key;
      },
    ],
  ])("refuses %s with 401 and ENX's JSON body", async (_case, makeKey) => {
    const reply = await call(issue(), await makeKey(realmId));
    expect(reply.status).toBe(401);
    expect(reply.type).toMatch(/^application\/json/);
    expect(JSON.parse(reply.text)).toEqual(UNAUTHORIZED_JSON);
  });

  it('refuses an admin key on the device API', async () => {
    const { v2 } = await enxKey(realmId, ADMIN);
    const reply = await call(verify(), v2);
    expect([reply.status, JSON.parse(reply.text)]).toEqual([401, UNAUTHORIZED_JSON]);
  });

  it('answers a client that neither sends nor accepts JSON with the plain-text status', async () => {
    const response = await fetch(issue(), { method: 'POST', headers: { Accept: 'text/plain' } });
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await response.text()).toBe('Unauthorized\n');
  });

  it("the probe's keys are ENX's: signed with the first signing secret, stored as HMAC-SHA512 of the key part", async () => {
    const secrets = await readApiKeySecrets(world.db.pool, world.secretStore);
    const [database] = await secretValues('api_key_database_hmac');
    const [signature] = await secretValues('api_key_signature_hmac');
    const minted = mintApiKey(secrets, realmId);
    const [key, realm, sig] = minted.full.split('.');
    expect(Buffer.from(key, 'base64url')).toHaveLength(64);
    expect(realm).toBe(String(realmId));
    expect(sig).toBe(sha512(signature, `${key}.${realm}`));
    expect(minted.stored).toBe(sha512(database, key));
    expect(minted.stored).not.toMatch(/[=+/]/);
    expect(minted.preview).toBe(key.slice(0, 6));
  });
});
