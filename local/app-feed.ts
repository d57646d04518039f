/**
 * A loopback stand-in for the published app list (www.gstatic.com/exposurenotifications/apps.json)
 * that appsync-worker fetches: serves a JSON file on 127.0.0.1, read on every request so an operator
 * can edit the file while the fleet runs and see the next sync pick it up.
 *
 * Google publishes no schema for the feed; what is known of it is what ENX decodes:
 * internal/appsync/app_sync.go (AppsResponse: `apps[]` with region, is_enx, android_target
 * {namespace, app_name, package_name, sha256_cert_fingerprints}, agency_color, agency_image,
 * default_locale, web_report_learn_more_url, localizations[{msgid, translations[{lang, message}]}],
 * headless) and internal/clients/app_sync.go + clients.go (GET, a 2xx status and an
 * application/json Content-Type are required). The fixture (fixtures/apps.json) follows that
 * shape; this server adds nothing to it and answers like a static file host: 200 with the file,
 * 404 for any other path.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import path from 'node:path';

/** Two entries for the demo realms (US-DS, US-DT) and one for a region no realm has. */
export const DEFAULT_APP_FEED_FILE = path.join(__dirname, 'fixtures', 'apps.json');

export interface AppFeed {
  /** The feed's URL: what the functions get as APP_SYNC_URL. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startAppFeed(file: string = DEFAULT_APP_FEED_FILE): Promise<AppFeed> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/apps.json') {
      res.writeHead(404).end();
      return;
    }
    readFile(file).then(
      (body) => res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(body),
      (error: Error) =>
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`cannot read ${file}: ${error.message}`),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/apps.json`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
