/**
 * The simulated scheduler's tokens: valid at the simulation's virtual time for the runtime's
 * audience (or another one under the auth-broken fault), and reused for half their life.
 */
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { CallerTokens, SIMULATED_CALLER } from '../../simulator/caller-tokens';
import { startTokenIssuer } from '../../local/token-issuer';
import type { TokenIssuer } from '../../local/token-issuer';

const AUDIENCE = 'http://127.0.0.1/simulated';
const START = Date.parse('2026-03-27T00:00:00Z');

describe('CallerTokens', () => {
  let issuer: TokenIssuer;
  beforeAll(async () => {
    issuer = await startTokenIssuer();
  });
  afterAll(async () => issuer.close());

  const claims = async (authorization: string, atMs: number, audience = AUDIENCE) => {
    const keys = createRemoteJWKSet(new URL(issuer.jwksUrl));
    const token = authorization.replace(/^Bearer /, '');
    return (await jwtVerify(token, keys, { audience, issuer: issuer.issuer, currentDate: new Date(atMs) }))
      .payload;
  };

  it('mints a token valid at virtual time for the runtime, naming the scheduler', async () => {
    const tokens = new CallerTokens(issuer, AUDIENCE);
    const payload = await claims(await tokens.authorization(START, false), START + 60_000);
    expect(payload).toMatchObject({ email: SIMULATED_CALLER, iat: START / 1000 });
  });

  it('reuses a token for half its life, then mints a new one', async () => {
    const tokens = new CallerTokens(issuer, AUDIENCE);
    const first = await tokens.authorization(START, false);
    expect(await tokens.authorization(START + 29 * 60_000, false)).toBe(first);
    const later = await tokens.authorization(START + 31 * 60_000, false);
    expect(later).not.toBe(first);
    expect((await claims(later, START + 80 * 60_000)).iat).toBe(START / 1000 + 31 * 60);
  });

  it('gives the auth-broken fault a token for another audience', async () => {
    const tokens = new CallerTokens(issuer, AUDIENCE);
    const misdirected = await tokens.authorization(START, true);
    await expect(claims(misdirected, START)).rejects.toThrow(/aud/);
  });
});
