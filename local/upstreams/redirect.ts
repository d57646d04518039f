/**
 * The enx-redirect service for one realm (the e2e realm, is_e2e, by default), as much of it as the probe
 * uses: the well-known files that tie the realm's domain to its apps, read from mobile_apps, and
 * the landing redirect by User-Agent.
 *
 * Mirrors: pkg/controller/redirect/index.go (303 redirects; 404 when nothing matches),
 * helpers.go decideRedirect (Android: the headless picker for a headless app, else without a query
 * the app's URL, with one an intent falling back to it; iOS, "iphone" or "macintosh": the app's URL
 * or ens://onboarding; anything else: the generic page without a query, 404 with one), appstore.go
 * (the first active app per OS not disable_redirect), pkg/controller/associated/android.go and
 * ios.go (the well-known files). Not mirrored: the host-to-region map (one realm per stand-in), the
 * ens:// deep link of ENX Express realms, the app-data cache.
 */
import type { Db } from '../../functions/core/db';
import type { Route } from './http';
import { json } from './http';

/** pkg/controller/redirect/redirect.go. */
export const GENERIC_LANDING = 'https://www.google.com/covid19/exposurenotifications/';
const IOS_ONBOARDING = 'ens://onboarding';
const headlessPicker = (region: string) => `ensonboarding://picker/${region.toLowerCase()}`;

export interface RedirectOptions {
  readonly db: Db;
  /**
   * The region of the realm whose host this stand-in plays (ENX maps a host to a region); default
   * the e2e realm, whatever its region code.
   */
  readonly regionCode?: string;
}

interface AppRow {
  readonly region: string;
  readonly headless: boolean;
  readonly os: number;
  readonly url: string | null;
  readonly app_id: string | null;
  readonly sha: string | null;
}

const redirect = (location: string) => ({ status: 303, headers: { Location: location } });

export function redirectRoutes(options: RedirectOptions): Record<string, Route> {
  const realm = options.regionCode === undefined ? 'r.is_e2e' : 'upper(r.region_code) = upper($2)';
  const apps = async (os: number) => {
    const { rows } = await options.db.query<AppRow>(
      `SELECT r.region_code AS region, a.headless, a.os, a.url, a.app_id, a.sha
         FROM mobile_apps a JOIN realms r ON r.id = a.realm_id
        WHERE ${realm} AND r.deleted_at IS NULL AND a.deleted_at IS NULL
          AND NOT a.disable_redirect AND a.os = $1
        ORDER BY a.id`,
      options.regionCode === undefined ? [os] : [os, options.regionCode],
    );
    return rows;
  };
  const realmRegion = async () => {
    const { rows } = await options.db.query<{ region: string }>(
      `SELECT r.region_code AS region FROM realms r WHERE ${realm.replace('$2', '$1')} AND r.deleted_at IS NULL LIMIT 1`,
      options.regionCode === undefined ? [] : [options.regionCode],
    );
    return rows[0]?.region ?? '';
  };
  const landing: Route = async ({ headers, path, query }) => {
    const agent = String(headers['user-agent'] ?? '').toLowerCase();
    const noQuery = [...query.keys()].length === 0;
    if (agent.includes('android')) {
      const [app] = await apps(2);
      const region = app?.region ?? (await realmRegion());
      if (app?.headless) return redirect(headlessPicker(region));
      if (noQuery) return redirect(app?.url || headlessPicker(region));
      if (app?.app_id && app.url) return redirect(intentUrl(path, query, region, app.app_id, app.url));
      return redirect(headlessPicker(region));
    }
    if (agent.includes('iphone') || agent.includes('macintosh')) {
      const [app] = await apps(1);
      if (app?.url) return redirect(app.url);
      return noQuery ? redirect(IOS_ONBOARDING) : NOT_FOUND;
    }
    return noQuery ? redirect(GENERIC_LANDING) : NOT_FOUND;
  };
  return {
    '/.well-known/assetlinks.json': async () =>
      json(
        200,
        (await apps(2)).map((app) => ({
          relation: ['delegate_permission/common.handle_all_urls'],
          target: {
            namespace: 'android_app',
            package_name: app.app_id,
            sha256_cert_fingerprints: (app.sha ?? '').split('\n').filter(Boolean),
          },
        })),
      ),
    '/.well-known/apple-app-site-association': async () =>
      json(200, {
        applinks: { apps: [], details: (await apps(1)).map((app) => ({ appID: app.app_id, paths: ['*'] })) },
      }),
    '/': landing,
    '/*': landing,
  };
}

/** controller.NotFound for a client that takes neither HTML nor JSON. */
const NOT_FOUND = { status: 404, text: 'Not Found\n' };

/** helpers.go buildIntentURL. */
function intentUrl(
  path: string,
  query: URLSearchParams,
  region: string,
  appId: string,
  fallback: string,
): string {
  const params = new URLSearchParams(query);
  params.set('r', region);
  params.sort();
  const suffix =
    `#Intent;scheme=ens;package=${appId};action=android.intent.action.VIEW;` +
    `category=android.intent.category.BROWSABLE;S.browser_fallback_url=${encodeURIComponent(fallback)};end`;
  return `intent:${path.replace(/^\//, '')}?${params.toString()}${suffix}`;
}
