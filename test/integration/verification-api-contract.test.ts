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

/**
 * User reports issued through the admin API, as e2e-user-report issues them (pkg/controller/issueapi
 * validate_code.go, gen_code.go, handle_issue.go; pkg/database/vercode.go and token.go; pkg/api/util.go).
 */
describe('user reports', () => {
  const PHONE = '+18558361987';
  const report = (body: Record<string, unknown> = {}) =>
    admin('/api/issue', { testType: 'user-report', phone: PHONE, ...body });

  it('issues a short-lived code tied to a new report of the phone', async () => {
    const issued = await report();
    expect(issued.status).toBe(200);
    expect(issued.body).toMatchObject({ code: expect.any(String), uuid: expect.any(String) });
    expect(issued.body.longExpiresAtTimestamp).toBe(issued.body.expiresAtTimestamp);
    const { rows } = await world.db.pool.query<{ code_claimed: boolean; nonce_required: boolean }>(
      `SELECT r.code_claimed, r.nonce_required FROM user_reports r
         JOIN verification_codes c ON c.user_report_id = r.id WHERE c.uuid = $1`,
      [issued.body.uuid],
    );
    expect(rows).toEqual([{ code_claimed: false, nonce_required: false }]);
  });

  it('answers a phone already reported 200 with only the expiry, issuing nothing', async () => {
    expect((await report()).status).toBe(200);
    const again = await report();
    expect(again.status).toBe(200);
    expect(Object.keys(again.body).sort()).toEqual(['expiresAt', 'expiresAtTimestamp', 'padding']);
    const { rows } = await world.db.pool.query(
      "SELECT 1 FROM verification_codes WHERE test_type = 'user-report'",
    );
    expect(rows).toHaveLength(1);
  });

  it('refuses a report without a phone 400 missing_phone, and a malformed phone 400 phone_number_invalid', async () => {
    expect(await admin('/api/issue', { testType: 'user-report' })).toEqual({
      status: 400,
      body: enxError('phone number is required when initiating a user report', 'missing_phone'),
    });
    expect((await report({ phone: '555-1234' })).body).toMatchObject({ errorCode: 'phone_number_invalid' });
  });

  it('refuses a realm that does not allow admin-issued user reports 400 unsupported_test_type', async () => {
    await world.db.pool.query('UPDATE realms SET allow_admin_user_report = false WHERE is_e2e');
    expect(await report()).toEqual({
      status: 400,
      body: enxError('unsupported test type: user-report', 'unsupported_test_type'),
    });
  });

  it('verifies a user-report code only when the phone accepts user-report, and claims its report once', async () => {
    const issued = await report();
    expect(await device('/api/verify', { code: issued.body.code, accept: ['confirmed'] })).toEqual({
      status: 412,
      body: enxError('verification code has unsupported test type', 'unsupported_test_type'),
    });
    const verified = await device('/api/verify', { code: issued.body.code, accept: ['user-report'] });
    expect(verified).toMatchObject({ status: 200, body: { testtype: 'user-report' } });
    const { rows } = await world.db.pool.query('SELECT code_claimed FROM user_reports');
    expect(rows).toEqual([{ code_claimed: true }]);
  });

  it('refuses an accept entry ENX does not know 400 invalid_test_type', async () => {
    expect(await device('/api/verify', { code: '00000000', accept: ['positive'] })).toEqual({
      status: 400,
      body: enxError('invalid accepted test type: positive', 'invalid_test_type'),
    });
  });
});
