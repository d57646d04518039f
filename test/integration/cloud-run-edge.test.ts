/**
 * The local Cloud Run edge in front of a function served as `npm start` serves it
 * (local/function-servers.ts): it refuses what Cloud Run refuses, before the function sees
 * anything, and forwards what it admits with the signature removed, which the runtime then accepts
 * because AUTH_EDGE=cloud-run, exactly as on Cloud Run.
 */
import { judgeAtEdge } from '../../local/cloud-run-edge';
import { serveFunction } from '../../local/function-servers';
import type { FunctionServer } from '../../local/function-servers';
import { startTokenIssuer } from '../../local/token-issuer';
import type { TokenIssuer } from '../../local/token-issuer';
import { Runtime } from '../../functions/core/runtime';
import { localWiring } from '../../local/wiring';
import { memoryWriter } from '../support/memory-writer';
import { createTestDatabase } from '../support/database';
import type { TestDatabase } from '../support/database';
import { testJob } from '../support/test-jobs';

const JOB = 'edge-probe';
const INVOKER = 'edge-probe-inv@enx-test-project.iam.gserviceaccount.com';
const OUTSIDER = 'someone-else@enx-test-project.iam.gserviceaccount.com';

describe('local Cloud Run edge', () => {
  let db: TestDatabase;
  let issuer: TokenIssuer;
  let fn: FunctionServer;
  let seenAuthorization: string[] = [];
  const logs = memoryWriter();
  const invokers = new Set([INVOKER]);

  beforeAll(async () => {
    db = await createTestDatabase(4);
    issuer = await startTokenIssuer();
    const definition = testJob(JOB, async () => ({ ran: true }));
    fn = await serveFunction(
      definition,
      (url) =>
        new Runtime(
          {
            DATABASE_URL: db.url,
            DB_MIGRATE: 'off',
            AUTH_EDGE: 'cloud-run',
            OIDC_ISSUER: issuer.issuer,
            OIDC_JWKS_URL: issuer.jwksUrl,
            OIDC_AUDIENCE: url,
            // The runtime's own list may be wider than IAM's: the edge must still refuse.
            OIDC_INVOKER_EMAILS: `${INVOKER},${OUTSIDER}`,
            SIGNALS_SINK: 'none',
          },
          localWiring,
          { writeLine: logs.write },
        ),
      { issuer: issuer.issuer, jwksUrl: issuer.jwksUrl, invokers: () => invokers },
    );
  });
  afterAll(async () => {
    await fn.closeServer();
    await fn.runtime.close();
    await issuer.close();
    await db.drop();
  });
  beforeEach(() => {
    seenAuthorization = [];
    logs.lines.length = 0;
  });

  async function call(authorization?: string) {
    const res = await fetch(fn.url, { headers: authorization ? { authorization } : {} });
    const body = await res.text();
    for (const entry of logs.entries()) {
      if (typeof entry.caller === 'string') seenAuthorization.push(entry.caller);
    }
    return { status: res.status, body, type: res.headers.get('content-type') ?? '' };
  }

  async function attempts(): Promise<number> {
    const { rows } = await db.pool.query(
      'SELECT count(*)::int AS n FROM enx_jobs_attempts WHERE job_id = $1',
      [JOB],
    );
    return rows[0].n as number;
  }

  it('admits the invoker, strips the signature, and the runtime runs the job', async () => {
    const before = await attempts();
    const res = await call(`Bearer ${await issuer.mint({ audience: fn.url, email: INVOKER })}`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ ok: true, status: 'succeeded', job: JOB });
    expect(await attempts()).toBe(before + 1);
    expect(seenAuthorization).toContain(INVOKER);
  });

  it('forwards the token with its signature replaced, as Cloud Run does', async () => {
    const token = await issuer.mint({ audience: fn.url, email: INVOKER });
    const verdict = await judgeAtEdge(`Bearer ${token}`, {
      issuer: issuer.issuer,
      jwksUrl: issuer.jwksUrl,
      audience: fn.url,
      invokers: () => invokers,
    });
    const [header, payload] = token.split('.');
    expect(verdict).toEqual({
      kind: 'admitted',
      email: INVOKER,
      forwardedAuthorization: `Bearer ${header}.${payload}.SIGNATURE_REMOVED_BY_GOOGLE`,
    });
  });

  const refusals: [string, () => Promise<string | undefined>, number][] = [
    ['no credentials', async () => undefined, 403],
    ['a Basic credential', async () => 'Basic dXNlcjpwYXNz', 403],
    [
      'a forged signature',
      async () => `Bearer ${await issuer.forge({ audience: fn.url, email: INVOKER })}`,
      401,
    ],
    [
      'a token for another audience',
      async () => `Bearer ${await issuer.mint({ audience: 'http://127.0.0.1:1', email: INVOKER })}`,
      401,
    ],
    [
      'an expired token',
      async () => `Bearer ${await issuer.mint({ audience: fn.url, email: INVOKER, ttlSeconds: -60 })}`,
      401,
    ],
    [
      'a token from another issuer',
      async () =>
        `Bearer ${await issuer.mint({ audience: fn.url, email: INVOKER, issuer: 'https://accounts.google.com' })}`,
      401,
    ],
    [
      'a stripped token (only Google may strip)',
      async () => {
        const [header, payload] = (await issuer.mint({ audience: fn.url, email: INVOKER })).split('.');
        return `Bearer ${header}.${payload}.SIGNATURE_REMOVED_BY_GOOGLE`;
      },
      401,
    ],
    [
      'a valid token of an identity without run.invoker',
      async () => `Bearer ${await issuer.mint({ audience: fn.url, email: OUTSIDER })}`,
      403,
    ],
  ];

  test.each(refusals)(
    'refuses %s with Cloud Run’s status, before the function',
    async (_name, credential, status) => {
      const before = await attempts();
      const res = await call(await credential());
      expect(res.status).toBe(status);
      // Google's front end answers, not the container: an HTML page, no JSON outcome, no ledger row.
      expect(res.type).toMatch(/text\/html/);
      expect(res.body).toMatch(status === 401 ? /401 Unauthorized/ : /403 Forbidden/);
      expect(await attempts()).toBe(before);
      expect(logs.lines).toEqual([]);
    },
  );

  it('follows the IAM policy as it changes', async () => {
    invokers.add(OUTSIDER);
    try {
      const res = await call(`Bearer ${await issuer.mint({ audience: fn.url, email: OUTSIDER })}`);
      expect(res.status).toBe(200);
    } finally {
      invokers.delete(OUTSIDER);
    }
  });
});
