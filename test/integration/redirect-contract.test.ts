/**
 * The redirect stand-in answers as ENX's enx-redirect (pkg/controller/redirect/index.go and
 * helpers.go decideRedirect) for the requests the probe and a phone make: 303 to the app's URL
 * without a query, an intent with one on Android, the headless picker for a headless app, iOS to its
 * app or ens://onboarding, the generic page for anything else, and 404 where ENX has no answer.
 */
import { ensureE2eApps, ensureE2eRealm, E2E_REGION_CODE } from '../../functions/jobs/e2e/bootstrap';
import { GENERIC_LANDING } from '../../local/upstreams/redirect';
import { resetE2eTables, startE2eWorld } from '../support/upstreams';
import type { E2eWorld } from '../support/upstreams';

jest.setTimeout(30_000);

let world: E2eWorld;
beforeAll(async () => {
  world = await startE2eWorld();
});
afterAll(async () => world?.close());

let realmId: number;
beforeEach(async () => {
  await resetE2eTables(world);
  realmId = (await ensureE2eRealm(world.db.pool, new Date())).id;
  await ensureE2eApps(world.db.pool, realmId, new Date());
});

async function visit(path: string, userAgent: string) {
  const response = await fetch(`${world.upstreams.redirect}${path}`, {
    headers: { 'User-Agent': userAgent },
    redirect: 'manual',
  });
  return { status: response.status, location: response.headers.get('location') };
}

const region = E2E_REGION_CODE.toLowerCase();

it('sends each phone without a query to its app, and anything else to the generic page', async () => {
  expect(await visit('/', 'Mozilla/5.0 (Linux; Android 13)')).toEqual({
    status: 303,
    location: 'https://android.test.app',
  });
  expect(await visit('/', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)')).toEqual({
    status: 303,
    location: 'https://ios.test.app',
  });
  expect(await visit('/', 'curl/8')).toEqual({ status: 303, location: GENERIC_LANDING });
});

it('turns a link with a query into an intent on Android, with the region and the app as fallback', async () => {
  const { status, location } = await visit('/v?c=12345678', 'Android');
  expect(status).toBe(303);
  expect(location).toBe(
    `intent:v?c=12345678&r=${E2E_REGION_CODE}#Intent;scheme=ens;package=com.example.e2e.android;` +
      'action=android.intent.action.VIEW;category=android.intent.category.BROWSABLE;' +
      'S.browser_fallback_url=https%3A%2F%2Fandroid.test.app;end',
  );
});

it('answers 404 for a link with a query from a browser, as ENX does', async () => {
  expect((await visit('/v?c=12345678', 'curl/8')).status).toBe(404);
});

it('sends Android to the headless picker for a headless app, and iOS without an app to onboarding', async () => {
  await world.db.pool.query('UPDATE mobile_apps SET headless = true WHERE os = 2');
  await world.db.pool.query('UPDATE mobile_apps SET deleted_at = now() WHERE os = 1');
  expect(await visit('/', 'Android')).toEqual({ status: 303, location: `ensonboarding://picker/${region}` });
  expect(await visit('/', 'iPhone')).toEqual({ status: 303, location: 'ens://onboarding' });
  expect((await visit('/?c=1', 'iPhone')).status).toBe(404);
});
