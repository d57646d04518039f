/**
 * The admin-API and device-API stand-ins answer the refusals the probes meet as ENX does: status,
 * errorCode and its deprecated twin error_code, and ENX's message (pkg/controller/verifyapi/verify.go,
 * pkg/controller/certapi/certificate.go, pkg/controller/codes/logic.go, pkg/api/api.go). Keys are
 * made as ENX makes them (api-key-contract.test.ts checks that part).
 */
import { randomBytes } from 'node:crypto';
import { mintApiKey, readApiKeySecrets } from '../../functions/jobs/e2e/api-key';
import { API_KEY_TYPE, ensureE2eRealm } from '../../functions/jobs/e2e/bootstrap';
import { resetE2eTables, startE2eWorld } from '../support/upstreams';
import type { E2eWorld } from '../support/upstreams';

jest.setTimeout(30_000);

let world: E2eWorld;
beforeAll(async () => {
  world = await startE2eWorld();
});
afterAll(async () => world?.close());

let keys: { admin: string; device: string };
beforeEach(async () => {
  await resetE2eTables(world);
  const realmId = (await ensureE2eRealm(world.db.pool, new Date())).id;
  const secrets = await readApiKeySecrets(world.db.pool, world.secretStore);
  const make = async (type: number) => {
    const key = mintApiKey(secrets, realmId);
    await world.db.pool.query(
      `INSERT INTO authorized_apps (realm_id, name, api_key_preview, api_key, api_key_type) VALUES ($1, $2, $3, $4, $5)`,
      [realmId, `contract-${type}`, key.preview, key.stored, type],
    );
    return key.full;
  };
  keys = { admin: await make(API_KEY_TYPE.admin), device: await make(API_KEY_TYPE.device) };
});

async function post(base: string, path: string, key: string, body: unknown) {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-API-Key': key },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const enxError = (error: string, code: string) => ({ error, errorCode: code, error_code: code });
const admin = (path: string, body: unknown) => post(world.upstreams.adminApi, path, keys.admin, body);
const device = (path: string, body: unknown) => post(world.upstreams.deviceApi, path, keys.device, body);

describe('device API', () => {
  it('answers an unknown code 400 code_invalid, and a used one the same way', async () => {
    expect(await device('/api/verify', { code: '00000000' })).toEqual({
      status: 400,
      body: enxError('verification code invalid', 'code_invalid'),
    });
    const issued = await admin('/api/issue', { testType: 'confirmed' });
    expect(issued.status).toBe(200);
    expect((await device('/api/verify', { code: issued.body.code })).status).toBe(200);
    expect(await device('/api/verify', { code: issued.body.code })).toEqual({
      status: 400,
      body: enxError('verification code invalid', 'code_invalid'),
    });
  });

  it('answers an unknown token 400 token_invalid, a spent one 400 token_expired, a short HMAC 400 hmac_invalid', async () => {
    const hmac = randomBytes(32).toString('base64');
    expect(await device('/api/certificate', { token: 'nope', ekeyhmac: hmac })).toEqual({
      status: 400,
      body: enxError('verification token invalid', 'token_invalid'),
    });
    const issued = await admin('/api/issue', { testType: 'confirmed' });
    const verified = await device('/api/verify', { code: issued.body.code });
    const token = verified.body.token;
    expect(
      (await device('/api/certificate', { token, ekeyhmac: randomBytes(16).toString('base64') })).body,
    ).toMatchObject({ errorCode: 'hmac_invalid', error_code: 'hmac_invalid' });
    expect((await device('/api/certificate', { token, ekeyhmac: hmac })).status).toBe(200);
    expect(await device('/api/certificate', { token, ekeyhmac: hmac })).toEqual({
      status: 400,
      body: enxError('verification token invalid', 'token_expired'),
    });
  });
});

describe('admin API', () => {
  it('answers a uuid it does not know 404 code_not_found', async () => {
    expect(await admin('/api/checkcodestatus', { uuid: '00000000-0000-4000-8000-000000000000' })).toEqual({
      status: 404,
      body: enxError('code not found, it may have expired and been removed', 'code_not_found'),
    });
  });

  it("answers its own failure with ENX's generic 500 body", async () => {
    world.upstreams.faults.set('/api/issue', { mode: '500', times: 1 });
    expect(await admin('/api/issue', { testType: 'confirmed' })).toEqual({
      status: 500,
      body: enxError('internal error', 'internal_server_error'),
    });
  });
});
