/**
 * Every fault a stand-in can be told to inject fails the probe at the step that notices it, with a
 * message naming the step's URL, what came back and what was expected; plus a wrong API key, an
 * unreachable upstream, and a revision refused by the key server.
 */
import { randomBytes } from 'node:crypto';
import { onlyAdapters } from '../support/only-adapters';
import type { SecretStore } from '../../functions/ports/secret-store';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { systemClock } from '../../functions/core/clock';
import type { Env } from '../../functions/core/config';
import { StepsFailedError } from '../../functions/core/errors';
import { e2eFlowConfig, e2eRedirectConfig } from '../../functions/jobs/e2e/config';
import { runE2eDefault, runE2eRedirect, runE2eRevise } from '../../functions/jobs/e2e/run';
import type { Fault } from '../../local/upstreams/faults';
import { resetE2eTables, startE2eWorld } from '../support/upstreams';
import type { E2eWorld } from '../support/upstreams';

jest.setTimeout(30_000);

let world: E2eWorld;
beforeAll(async () => {
  world = await startE2eWorld();
});
afterAll(async () => world?.close());
beforeEach(async () => resetE2eTables(world));

type Probe = 'default' | 'revise' | 'redirect';

async function failureOf(
  probe: Probe,
  env: Env = {},
  secretStore?: SecretStore,
): Promise<{ step: string; error: string; partial: Record<string, unknown> }> {
  const { context: shared } = world.context(systemClock);
  const context = secretStore
    ? { ...shared, adapters: onlyAdapters({ keyManager: shared.adapters.keyManager, secretStore }) }
    : shared;
  const run =
    probe === 'redirect'
      ? runE2eRedirect(context, e2eRedirectConfig.parse({ ...world.env, ...env }))
      : (probe === 'default' ? runE2eDefault : runE2eRevise)(
          context,
          e2eFlowConfig.parse({ ...world.env, ...env }),
        );
  const error = await run.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(StepsFailedError);
  const failure = error as StepsFailedError;
  expect(failure.failures).toHaveLength(1);
  return { ...failure.failures[0], partial: failure.partial };
}

/** A loopback port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const URL = 'http://127\\.0\\.0\\.1:\\d+';

describe('injected faults fail the step that notices them', () => {
  it.each<[string, Probe, Fault, string, RegExp]>([
    [
      'admin API answering 500',
      'default',
      { mode: '500' },
      'issue',
      new RegExp(
        `^POST ${URL}/api/issue answered HTTP 500 with error \\(internal_server_error\\) "internal error"; expected HTTP 200 with a code and its uuid$`,
      ),
    ],
    [
      'device API answering malformed JSON',
      'default',
      { mode: 'malformed-json' },
      'verify',
      new RegExp(
        `^POST ${URL}/api/verify answered HTTP 200 with a body that is not JSON: \\{"certificate": "trunc; expected HTTP 200 with a verification token for a confirmed test$`,
      ),
    ],
    [
      'code status answering slower than E2E_REQUEST_TIMEOUT',
      'default',
      { mode: 'slow', delayMs: 5000 },
      'code-status',
      new RegExp(
        `^POST ${URL}/api/checkcodestatus did not answer within 2000 ms; expected HTTP 200 with claimed: true`,
      ),
    ],
    [
      'a token that has expired when the certificate is asked for',
      'default',
      { mode: 'expired-token' },
      'certificate',
      /\/api\/certificate answered HTTP 400 with error \(token_expired\) "verification token expired"/,
    ],
    [
      'a certificate signed with the wrong key',
      'default',
      { mode: 'wrong-signature' },
      'publish',
      /\/v1\/publish answered HTTP 401 with error \(health_authority_verification_certificate_invalid\) "unable to validate diagnosis verification: the certificate's signature does not verify with key v1"/,
    ],
    [
      'an expired certificate',
      'default',
      { mode: 'expired-token' },
      'publish',
      /\/v1\/publish answered HTTP 401 with error \(health_authority_verification_certificate_invalid\) "unable to validate diagnosis verification: the certificate has expired"; expected HTTP 200 accepting the keys, with a revision token$/,
    ],
    ['the key server answering 500', 'revise', { mode: '500' }, 'publish', /\/v1\/publish answered HTTP 500/],
    [
      'assetlinks.json that does not parse',
      'redirect',
      { mode: 'malformed-json' },
      'assetlinks',
      new RegExp(`^GET ${URL}/\\.well-known/assetlinks\\.json answered a body that is not JSON`),
    ],
    [
      'the landing page answering 500',
      'redirect',
      { mode: '500' },
      'redirect-android',
      new RegExp(
        `^GET ${URL}/ answered HTTP 500 without a Location; expected HTTP 303 to a Location containing android\\.test\\.app for User-Agent android$`,
      ),
    ],
  ])('%s', async (_what, probe, fault, step, message) => {
    const path = {
      issue: '/api/issue',
      verify: '/api/verify',
      'code-status': '/api/checkcodestatus',
      certificate: '/api/verify',
      publish:
        fault.mode === 'wrong-signature' || fault.mode === 'expired-token'
          ? '/api/certificate'
          : '/v1/publish',
      assetlinks: '/.well-known/assetlinks.json',
      'redirect-android': '/',
    }[step] as string;
    world.upstreams.faults.set(path, fault);
    const failure = await failureOf(probe);
    expect(failure.step).toBe(step);
    expect(failure.error).toMatch(message);
    // The latencies of the steps up to the failure are kept as the partial result.
    expect(failure.partial).toMatchObject({
      failedStep: step,
      stepsMs: expect.objectContaining({ [step]: expect.any(Number) }),
    });
  });

  it('a fault limited to one request lets the next run pass (the probe goes green again)', async () => {
    world.upstreams.faults.set('/api/issue', { mode: '500', times: 1 });
    await failureOf('default');
    const { context } = world.context(systemClock);
    await expect(runE2eDefault(context, e2eFlowConfig.parse(world.env))).resolves.toMatchObject({
      flow: 'default',
    });
  });

  it('an API key the verification server does not know fails the first call', async () => {
    // The probe reads other secret values than the server (say another project's Secret Manager).
    const store = world.secretStore;
    const otherValues: SecretStore = {
      addSecretVersion: (...args) => store.addSecretVersion(...args),
      destroySecretVersion: (name) => store.destroySecretVersion(name),
      listSecretVersions: (name) => store.listSecretVersions(name),
      accessSecretVersion: async () => randomBytes(128),
    };
    const failure = await failureOf('default', {}, otherValues);
    expect(failure.step).toBe('issue');
    expect(failure.error).toMatch(/answered HTTP 401 with error "unauthorized"/);
  });

  it('an upstream that is not listening fails naming the URL', async () => {
    const closed = await closedPort();
    const failure = await failureOf('default', { KEY_SERVER: `http://127.0.0.1:${closed}` });
    expect(failure.step).toBe('publish');
    expect(failure.error).toBe(
      `POST http://127.0.0.1:${closed}/v1/publish failed (ECONNREFUSED); expected HTTP 200 accepting the keys, with a revision token`,
    );
  });

  it('a health authority the key server does not serve is refused at publish', async () => {
    const failure = await failureOf('default', { HEALTH_AUTHORITY_CODE: 'com.example.other' });
    expect(failure.step).toBe('publish');
    expect(failure.error).toMatch(/unknown healthAuthorityID "com\.example\.other"/);
  });
});

describe('the job timeout', () => {
  it('cuts a request in flight and fails the run with the timeout, not as a step failure', async () => {
    world.upstreams.faults.set('/api/verify', { mode: 'slow', delayMs: 10_000 });
    const controller = new AbortController();
    const { context } = world.context(systemClock, controller.signal);
    const reason = new Error('the attempt timed out');
    setTimeout(() => controller.abort(reason), 300);
    const started = Date.now();
    await expect(
      runE2eDefault(context, e2eFlowConfig.parse({ ...world.env, E2E_REQUEST_TIMEOUT: '20s' })),
    ).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(3000);
    // Its API keys are still deleted.
    const { rows } = await world.db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM authorized_apps',
    );
    expect(rows[0].n).toBe(0);
  });
});

describe('the fault control', () => {
  it('refuses modes that make no sense for an endpoint and unknown endpoints, saying what is allowed', () => {
    expect(() => world.upstreams.faults.set('/api/issue', { mode: 'wrong-signature' })).toThrow(
      'mode "wrong-signature" does not apply to /api/issue; use one of slow, 500, malformed-json',
    );
    expect(() => world.upstreams.faults.set('/api/nope', { mode: '500' })).toThrow(
      /is not a stand-in endpoint/,
    );
  });

  it('is reachable over HTTP on every stand-in, as an operator uses it', async () => {
    const set = await fetch(`${world.upstreams.keyServer}/__faults`, {
      method: 'POST',
      body: JSON.stringify({ path: '/api/certificate', mode: '500' }),
    });
    expect(set.status).toBe(200);
    expect(await set.json()).toEqual({ '/api/certificate': { mode: '500' } });
    const failure = await failureOf('default');
    expect(failure.step).toBe('certificate');
    const bad = await fetch(`${world.upstreams.adminApi}/__faults`, {
      method: 'POST',
      body: '{"mode":"500"}',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/"path" .* is required/);
    await fetch(`${world.upstreams.redirect}/__faults`, { method: 'DELETE' });
    expect(world.upstreams.faults.list()).toEqual({});
  });
});
