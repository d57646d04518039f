/**
 * The enx-redirect service for one realm (the e2e realm, is_e2e, by default), as much of it as the probe
 * uses: the well-known files that tie the realm's domain to its apps, read from mobile_apps, and
 * the landing redirect by User-Agent: Android to an intent whose fallback is the Android app's URL,
 * iPhone and iPad to the iOS app's URL, anything else to the generic Exposure Notifications page.
 * All redirects are 303, as ENX answers.
 */
import type { Db } from '../../functions/core/db';
import type { Route } from './http';
import { json } from './http';

export const GENERIC_LANDING = 'https://www.google.com/covid19/exposurenotifications';

export interface RedirectOptions {
  readonly db: Db;
  /**
   * The region of the realm whose host this stand-in plays (ENX maps a host to a region); default
   * the e2e realm, whatever its region code.
   */
  readonly regionCode?: string;
}

interface AppRow {
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
      `SELECT a.os, a.url, a.app_id, a.sha FROM mobile_apps a JOIN realms r ON r.id = a.realm_id
        WHERE ${realm} AND r.deleted_at IS NULL AND a.deleted_at IS NULL
          AND NOT a.disable_redirect AND a.os = $1
        ORDER BY a.id`,
      options.regionCode === undefined ? [os] : [os, options.regionCode],
    );
    return rows;
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
    '/': async ({ headers }) => {
      const agent = String(headers['user-agent'] ?? '').toLowerCase();
      if (agent.includes('android')) {
        const [app] = await apps(2);
        if (app?.url) {
          const fallback = encodeURIComponent(app.url);
          return redirect(
            `intent:///#Intent;scheme=ens;package=${app.app_id ?? ''};action=android.intent.action.VIEW;` +
              `category=android.intent.category.BROWSABLE;S.browser_fallback_url=${fallback};end`,
          );
        }
      }
      if (agent.includes('iphone') || agent.includes('ipad')) {
        const [app] = await apps(1);
        if (app?.url) return redirect(app.url);
      }
      return redirect(GENERIC_LANDING);
    },
  };
}
