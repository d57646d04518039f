/**
 * The key-server stand-ins refuse as google/exposure-notifications-server does, for the refusals
 * the jobs meet: publish (internal/publish/publish.go: 401 unknown_health_authority_id, 401
 * health_authority_verification_certificate_invalid for any certificate problem, 400 bad_request,
 * 400 missing_revision_token) and stats (internal/publish/stats.go: 401 "unauthorized").
 */
import { startKeyServerStats } from '../../local/key-server-stats';
import type { KeyServerStats } from '../../local/key-server-stats';
import { HEALTH_AUTHORITY, resetE2eTables, startE2eWorld } from '../support/upstreams';
import type { E2eWorld } from '../support/upstreams';

jest.setTimeout(30_000);

let world: E2eWorld;
let stats: KeyServerStats;
beforeAll(async () => {
  world = await startE2eWorld();
  stats = await startKeyServerStats({ keys: async () => undefined });
});
afterAll(async () => {
  await stats?.close();
  await world?.close();
});
beforeEach(async () => resetE2eTables(world));

const KEY = {
  key: Buffer.alloc(16, 1).toString('base64'),
  rollingStartNumber: 2_900_000,
  rollingPeriod: 144,
  transmissionRisk: 0,
};

async function publish(body: Record<string, unknown>) {
  const response = await fetch(`${world.upstreams.keyServer}/v1/publish`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ healthAuthorityID: HEALTH_AUTHORITY, temporaryExposureKeys: [KEY], ...body }),
  });
  return { status: response.status, body: (await response.json()) as { error?: string; code?: string } };
}

describe('publish', () => {
  it('refuses an unknown health authority 401 unknown_health_authority_id', async () => {
    const reply = await publish({ healthAuthorityID: 'com.example.other', verificationPayload: 'x.y.z' });
    expect([reply.status, reply.body.code]).toEqual([401, 'unknown_health_authority_id']);
  });

  it('refuses a certificate that is not one 401 health_authority_verification_certificate_invalid', async () => {
    for (const payload of ['', 'not-a-jwt']) {
      const reply = await publish({ verificationPayload: payload, hmacKey: 'AAAA' });
      expect([reply.status, reply.body.code]).toEqual([
        401,
        'health_authority_verification_certificate_invalid',
      ]);
      expect(reply.body.error).toMatch(/^unable to validate diagnosis verification: /);
    }
  });

  it('refuses an upload without keys 400 bad_request', async () => {
    const reply = await publish({ temporaryExposureKeys: [], verificationPayload: 'x' });
    expect([reply.status, reply.body.code]).toEqual([400, 'bad_request']);
  });
});

describe('stats', () => {
  it.each([
    ['no Authorization header', undefined, 'Authorization header is not in `Bearer <token>` format'],
    ['a token that is not a JWT', 'Bearer nope', expect.any(String)],
  ])('refuses %s 401 with code "unauthorized"', async (_case, authorization, message) => {
    const response = await fetch(`${stats.url}/v1/stats`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        ...(authorization ? { Authorization: authorization } : {}),
      },
      body: '{}',
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: message, code: 'unauthorized', padding: '' });
  });
});
