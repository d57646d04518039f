/**
 * appsync-worker (enx-jobs.md §1) against a real PostgreSQL and a real feed served over HTTP on
 * 127.0.0.1: what a good feed changes (and what it leaves alone), that a second run changes
 * nothing, that every kind of broken feed fails the run with nothing written, that a bad realm
 * entry fails only that realm, and the original's bugs (wiped branding, truncated locales, dashed
 * message ids, unnormalised fingerprints, soft-deleted name collisions) staying fixed.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { cleanupWorker } from '../../functions/catalog';
import { ManualClock } from '../support/manual-clock';
import type { Env } from '../../functions/core/config';
import type { Db } from '../../functions/core/db';
import { StepsFailedError } from '../../functions/core/errors';
import { appsyncConfig } from '../../functions/jobs/appsync-worker/config';
import { runAppsync } from '../../functions/jobs/appsync-worker/run';
import { startAppFeed } from '../../local/app-feed';
import { seedDemoData } from '../../local/demo-data';
import { createTestDatabase } from '../support/database';
import type { TestDatabase } from '../support/database';
import { TEST_TOKEN_SIGNING_KEY, createHarness, ledgerAttempts } from '../support/harness';
import { cleanupContext, insertRow } from '../support/seed-cleanup';

const NOW = new Date('2026-11-23T12:00:00Z');
const EARLIER = new Date('2026-01-01T00:00:00Z');
const fingerprint = (pair: string) => Array.from({ length: 32 }, () => pair).join(':');
const FP_WA = fingerprint('A1');
const FP_CA_1 = fingerprint('C1');
const FP_CA_2 = fingerprint('C2');

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A feed server whose answer each test sets. */
class FeedServer {
  handler: Handler = (_req, res) => res.writeHead(404).end();
  requests = 0;
  private server?: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.requests += 1;
      this.handler(req, res);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/apps.json`;
  }

  json(body: unknown): void {
    this.raw(200, 'application/json; charset=utf-8', JSON.stringify(body));
  }

  raw(status: number, contentType: string, body: string): void {
    this.handler = (_req, res) => res.writeHead(status, { 'content-type': contentType }).end(body);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

function app(region: string, fields: Record<string, unknown> = {}, target: Record<string, unknown> = {}) {
  return {
    region,
    is_enx: true,
    android_target: {
      namespace: 'android_app',
      package_name: `gov.${region.toLowerCase().replace('-', '')}.enx`,
      sha256_cert_fingerprints: FP_WA,
      ...target,
    },
    agency_color: '',
    agency_image: '',
    default_locale: '',
    web_report_learn_more_url: '',
    localizations: [],
    headless: false,
    ...fields,
  };
}

/** Washington has branding of its own and translations, California has an app and a translation. */
async function seedRealms(db: Db): Promise<{ wa: number; ca: number }> {
  await db.query(
    'TRUNCATE realms, mobile_apps, dynamic_translations, audit_entries RESTART IDENTITY CASCADE',
  );
  await insertRow(db, 'realms', {
    name: 'Washington',
    region_code: 'US-WA',
    agency_background_color: '#000000',
    agency_image: 'https://wa.example/old-logo.png',
    default_locale: 'es',
    user_report_learn_more_url: 'https://wa.example/old',
    created_at: EARLIER,
    updated_at: EARLIER,
  });
  await insertRow(db, 'realms', {
    name: 'California',
    region_code: 'US-CA',
    created_at: EARLIER,
    updated_at: EARLIER,
  });
  await insertRow(db, 'realms', {
    name: 'Gone',
    region_code: 'US-GO',
    deleted_at: EARLIER,
    created_at: EARLIER,
    updated_at: EARLIER,
  });
  for (const [realm_id, message_id, locale, message] of [
    [1, 'agency-name', 'en', 'Old name'],
    [1, 'obsolete-msg', 'en', 'Gone soon'],
    // As the original wrote them, and as ENX's reader finds them: under the base language.
    [1, 'agency-name', 'es', 'Departamento de Salud'],
    [1, 'enx-onboarding-title', 'pt', 'Bem-vindo'],
    [2, 'agency-name', 'en', 'California'],
  ] as const) {
    await insertRow(db, 'dynamic_translations', {
      realm_id,
      message_id,
      locale,
      message,
      created_at: EARLIER,
      updated_at: EARLIER,
    });
  }
  await insertRow(db, 'mobile_apps', {
    name: 'CA Notify',
    realm_id: 2,
    url: 'https://play.google.com/store/apps/details?id=gov.ca.enx',
    os: 2,
    app_id: 'gov.ca.enx',
    sha: `${FP_CA_1}\n${FP_CA_2}`,
    created_at: EARLIER,
    updated_at: EARLIER,
  });
  return { wa: 1, ca: 2 };
}

/** Every row appsync may touch, for "nothing changed" comparisons. */
async function snapshot(db: Db): Promise<unknown> {
  const tables = ['realms', 'mobile_apps', 'dynamic_translations', 'audit_entries'];
  const result: Record<string, unknown> = {};
  for (const table of tables) result[table] = (await db.query(`SELECT * FROM ${table} ORDER BY id`)).rows;
  return result;
}

const GOOD_FEED = {
  apps: [
    app(
      'US-WA',
      {
        agency_color: '#AABBCC',
        // Empty: Washington keeps its image (the original wiped it).
        agency_image: '',
        default_locale: 'en',
        web_report_learn_more_url: 'https://wa.example/learn-more',
        localizations: [
          {
            msgid: 'agency-name',
            translations: [
              { lang: 'en_US', message: 'Washington State Department of Health' },
              { lang: 'es-419', message: 'Departamento de Salud' },
              { lang: 'pt-BR', message: 'Departamento de Saúde (Brasil)' },
              { lang: 'pt-PT', message: 'Departamento de Saúde (Portugal)' },
            ],
          },
          { msgid: 'enx-onboarding-title', translations: [{ lang: 'pt-BR', message: 'Bem-vindo' }] },
        ],
        headless: true,
      },
      { app_name: 'WA Notify' },
    ),
    // Lower case region, no app name, California's fingerprints in another order, case and separator.
    app('us-ca', {}, { sha256_cert_fingerprints: `${FP_CA_2.toLowerCase()}, ${FP_CA_1.toLowerCase()}` }),
    // A second California app, under the generated name.
    app('US-CA', {}, { package_name: 'gov.ca.enx.beta', sha256_cert_fingerprints: fingerprint('CB') }),
  ],
};

describe('appsync-worker', () => {
  let database: TestDatabase;
  const feed = new FeedServer();
  const clock = new ManualClock(NOW);

  beforeAll(async () => {
    database = await createTestDatabase();
    await feed.start();
  });
  afterAll(async () => {
    await feed.stop();
    await database.drop();
  });
  beforeEach(() => {
    clock.set(NOW);
  });

  const config = (env: Env = {}) => appsyncConfig.parse({ APP_SYNC_URL: feed.url, ...env });
  const run = (env: Env = {}) => {
    const { context, logs } = cleanupContext(database.pool, clock);
    return { result: runAppsync(context, config(env)), logs };
  };

  describe('a good feed', () => {
    it('updates branding with non-empty values, syncs translations, adds missing apps and audits it all', async () => {
      const db = database.pool;
      await seedRealms(db);
      feed.json(GOOD_FEED);

      const { result, logs } = run();
      await expect(result).resolves.toEqual({
        feedEntries: 3,
        malformedEntries: 0,
        realmsSynced: 2,
        realmsUpdated: 1,
        translations: { added: 1, updated: 1, deleted: 2 },
        appsAdded: 2,
        skippedRegions: [],
      });

      const realms = await db.query(
        `SELECT name, agency_background_color, agency_image, default_locale, user_report_learn_more_url, updated_at
           FROM realms ORDER BY id`,
      );
      expect(realms.rows).toEqual([
        {
          name: 'Washington',
          agency_background_color: '#aabbcc',
          agency_image: 'https://wa.example/old-logo.png',
          default_locale: 'en',
          user_report_learn_more_url: 'https://wa.example/learn-more',
          updated_at: NOW,
        },
        // Nothing in the feed for California's branding: the row is not even rewritten.
        {
          name: 'California',
          agency_background_color: null,
          agency_image: null,
          default_locale: null,
          user_report_learn_more_url: null,
          updated_at: EARLIER,
        },
        {
          name: 'Gone',
          agency_background_color: null,
          agency_image: null,
          default_locale: null,
          user_report_learn_more_url: null,
          updated_at: EARLIER,
        },
      ]);

      const translations = await db.query(
        'SELECT realm_id, message_id, locale, message, updated_at FROM dynamic_translations ORDER BY realm_id, message_id, locale',
      );
      expect(translations.rows).toEqual([
        {
          realm_id: 1,
          message_id: 'agency-name',
          locale: 'en',
          message: 'Washington State Department of Health',
          updated_at: NOW,
        },
        // The original's es row: the feed's es-419 reads as es, same message, so it is left alone.
        {
          realm_id: 1,
          message_id: 'agency-name',
          locale: 'es',
          message: 'Departamento de Salud',
          updated_at: EARLIER,
        },
        // pt-BR and pt-PT both read as pt: the first listed is kept, the collision logged.
        {
          realm_id: 1,
          message_id: 'agency-name',
          locale: 'pt',
          message: 'Departamento de Saúde (Brasil)',
          updated_at: NOW,
        },
        // Unchanged message with a dashed id: kept as it was.
        {
          realm_id: 1,
          message_id: 'enx-onboarding-title',
          locale: 'pt',
          message: 'Bem-vindo',
          updated_at: EARLIER,
        },
      ]);
      const collisions = logs.lines
        .map((line) => JSON.parse(line))
        .filter((line) => line.event === 'appsync_locale_collision')
        .map((line) => [line.severity, line.messageId, line.kept, line.dropped]);
      expect(collisions).toEqual([['WARNING', 'agency-name', 'pt-br', 'pt-pt']]);

      const apps = await db.query(
        `SELECT name, realm_id, url, os, app_id, sha, headless, disable_redirect, created_at, updated_at, deleted_at
           FROM mobile_apps ORDER BY id`,
      );
      expect(apps.rows).toEqual([
        expect.objectContaining({ name: 'CA Notify', realm_id: 2 }),
        {
          name: 'WA Notify',
          realm_id: 1,
          url: 'https://play.google.com/store/apps/details?id=gov.uswa.enx',
          os: 2,
          app_id: 'gov.uswa.enx',
          sha: FP_WA,
          headless: true,
          disable_redirect: true,
          created_at: NOW,
          updated_at: NOW,
          deleted_at: null,
        },
        {
          name: 'US-CA Android App',
          realm_id: 2,
          url: 'https://play.google.com/store/apps/details?id=gov.ca.enx.beta',
          os: 2,
          app_id: 'gov.ca.enx.beta',
          sha: fingerprint('CB'),
          headless: false,
          disable_redirect: true,
          created_at: NOW,
          updated_at: NOW,
          deleted_at: null,
        },
      ]);

      const audit = await db.query(
        'SELECT realm_id, actor_id, actor_display, action, target_id, target_display, diff, created_at FROM audit_entries ORDER BY id',
      );
      const realmAudit = (action: string, from: string, to: string) => ({
        realm_id: 1,
        actor_id: 'system:1',
        actor_display: 'System',
        action,
        target_id: 'realms:1',
        target_display: 'Washington',
        diff: JSON.stringify({ from, to }),
        created_at: NOW,
      });
      const appAudit = (realm_id: number, id: number, name: string) => ({
        realm_id,
        actor_id: 'system:1',
        actor_display: 'System',
        action: 'created mobile app',
        target_id: `mobile_apps:${id}`,
        target_display: name,
        diff: null,
        created_at: NOW,
      });
      expect(audit.rows).toEqual([
        realmAudit('updated agency background color', '#000000', '#aabbcc'),
        realmAudit('updated default locale', 'es', 'en'),
        realmAudit(
          'updated user report learn more url',
          'https://wa.example/old',
          'https://wa.example/learn-more',
        ),
        appAudit(1, 2, 'WA Notify'),
        appAudit(2, 3, 'US-CA Android App'),
      ]);
    });

    it('changes nothing on a second run', async () => {
      const db = database.pool;
      await seedRealms(db);
      feed.json(GOOD_FEED);
      await run().result;
      const after = await snapshot(db);

      clock.set(new Date(NOW.getTime() + 4 * 3600_000));
      await expect(run().result).resolves.toEqual({
        feedEntries: 3,
        malformedEntries: 0,
        realmsSynced: 2,
        realmsUpdated: 0,
        translations: { added: 0, updated: 0, deleted: 0 },
        appsAdded: 0,
        skippedRegions: [],
      });
      expect(await snapshot(db)).toEqual(after);
    });

    it('adds an app listed twice in one feed once', async () => {
      const db = database.pool;
      await seedRealms(db);
      feed.json({
        apps: [app('US-WA'), app('US-WA', {}, { sha256_cert_fingerprints: FP_WA.toLowerCase() })],
      });
      await expect(run().result).resolves.toMatchObject({ appsAdded: 1 });
      expect((await db.query('SELECT name FROM mobile_apps WHERE realm_id = 1')).rows).toEqual([
        { name: 'US-WA Android App' },
      ]);
    });

    it('skips a region no realm has (or only a deleted realm has), with a log line, and succeeds', async () => {
      const db = database.pool;
      await seedRealms(db);
      feed.json({
        apps: [
          app('US-ZZ'),
          app('US-GO', { agency_color: '#123456' }),
          app('US-WA', { default_locale: 'en' }),
        ],
      });
      const { result, logs } = run();
      await expect(result).resolves.toMatchObject({
        realmsSynced: 1,
        realmsUpdated: 1,
        appsAdded: 1,
        skippedRegions: ['US-ZZ', 'US-GO'],
      });
      const skipped = logs.lines
        .map((line) => JSON.parse(line))
        .filter((line) => line.event === 'appsync_region_skipped')
        .map((line) => [line.severity, line.region]);
      expect(skipped).toEqual([
        ['DEBUG', 'US-ZZ'],
        ['DEBUG', 'US-GO'],
      ]);
      expect(
        (await db.query('SELECT count(*)::int AS n FROM mobile_apps WHERE realm_id = 3')).rows[0].n,
      ).toBe(0);
    });

    it('deletes the translations of a realm whose feed entry has none', async () => {
      const db = database.pool;
      await seedRealms(db);
      feed.json({ apps: [app('US-WA')] });
      await expect(run().result).resolves.toMatchObject({
        translations: { added: 0, updated: 0, deleted: 4 },
      });
      expect((await db.query('SELECT realm_id FROM dynamic_translations')).rows).toEqual([{ realm_id: 2 }]);
    });
  });

  describe('a broken feed fails the run and changes nothing', () => {
    const oversized = JSON.stringify({ apps: [app('US-WA', { agency_image: 'x'.repeat(5000) })] });
    it.each<[string, () => void, Env, RegExp]>([
      ['bad JSON', () => feed.raw(200, 'application/json', '{"apps": ['), {}, /is not valid JSON/],
      [
        'a wrong content type',
        () => feed.raw(200, 'text/html', '<html>maintenance</html>'),
        {},
        /has Content-Type "text\/html", not application\/json/,
      ],
      [
        'an oversized body (declared length)',
        () => feed.raw(200, 'application/json', oversized),
        { APP_SYNC_SIZE_LIMIT: '1000' },
        /is larger than APP_SYNC_SIZE_LIMIT \(1000 bytes\)/,
      ],
      [
        'an oversized body (streamed, no length)',
        () => {
          feed.handler = (_req, res) => {
            res.writeHead(200, { 'content-type': 'application/json' });
            // Chunked: the limit has to be enforced while reading.
            for (let i = 0; i < 10; i += 1) res.write(oversized.slice(i * 600, (i + 1) * 600));
            res.end(oversized.slice(6000));
          };
        },
        { APP_SYNC_SIZE_LIMIT: '1000' },
        /is larger than APP_SYNC_SIZE_LIMIT \(1000 bytes\)/,
      ],
      [
        'HTTP 500',
        () => feed.raw(500, 'application/json', JSON.stringify(GOOD_FEED)),
        {},
        /answered HTTP 500/,
      ],
      [
        'an {error} body',
        () => feed.json({ error: 'feed is being rebuilt' }),
        {},
        /reported an error: feed is being rebuilt/,
      ],
    ])('%s', async (_name, serve, env, message) => {
      const db = database.pool;
      await seedRealms(db);
      const before = await snapshot(db);
      serve();
      await expect(run(env).result).rejects.toThrow(message);
      expect(await snapshot(db)).toEqual(before);
    });

    it('a malformed entry for a region with no realm here is logged and skipped; the others sync', async () => {
      const db = database.pool;
      await seedRealms(db);
      feed.json({ apps: [app('US-ZZ', {}, { package_name: '' }), { junk: true }, ...GOOD_FEED.apps] });
      const { result, logs } = run();
      await expect(result).resolves.toMatchObject({
        feedEntries: 5,
        malformedEntries: 2,
        realmsSynced: 2,
      });
      const skipped = logs.lines
        .map((line) => JSON.parse(line))
        .filter((line) => line.event === 'appsync_entry_skipped')
        .map((line) => [line.severity, line.region, line.index]);
      expect(skipped).toEqual([
        ['WARNING', 'US-ZZ', 0],
        ['WARNING', null, 1],
      ]);
    });

    it('a malformed entry for a realm here fails that realm only, naming the entry', async () => {
      const db = database.pool;
      await seedRealms(db);
      const before = await snapshot(db);
      feed.json({ apps: [...GOOD_FEED.apps, app('US-CA', {}, { package_name: '' })] });
      const error = await run().result.then(
        () => undefined,
        (caught: unknown) => caught as StepsFailedError,
      );
      expect(error).toBeInstanceOf(StepsFailedError);
      expect(error?.failures).toEqual([
        {
          step: 'California (US-CA)',
          error: expect.stringMatching(
            /entry for US-CA is malformed, so realm California was not synced: apps\[3\]\.android_target\.package_name must be a non-empty string/,
          ),
        },
      ]);
      const caRows = (snap: unknown) =>
        JSON.stringify(
          (snap as Record<string, { realm_id?: number; id: number }[]>).mobile_apps.filter(
            (row) => row.realm_id === 2,
          ),
        );
      expect(caRows(await snapshot(db))).toBe(caRows(before));
      const wa = await db.query('SELECT agency_background_color FROM realms WHERE id = 1');
      expect(wa.rows[0].agency_background_color).toBe('#aabbcc');
    });

    it('a feed that does not answer in APP_SYNC_TIMEOUT', async () => {
      const db = database.pool;
      await seedRealms(db);
      const before = await snapshot(db);
      feed.handler = () => undefined;
      await expect(run({ APP_SYNC_TIMEOUT: '1s' }).result).rejects.toThrow(
        /took longer than APP_SYNC_TIMEOUT \(1000 ms\)/,
      );
      expect(await snapshot(db)).toEqual(before);
    });

    it('a feed server that is not there', async () => {
      const db = database.pool;
      await seedRealms(db);
      const before = await snapshot(db);
      await expect(run({ APP_SYNC_URL: 'http://127.0.0.1:9/apps.json' }).result).rejects.toThrow(
        /could not fetch the feed at http:\/\/127\.0\.0\.1:9\/apps\.json/,
      );
      expect(await snapshot(db)).toEqual(before);
    });
  });

  it('fails a realm with a bad color (naming it), rolls it back whole, syncs the others, and fails the run', async () => {
    const db = database.pool;
    await seedRealms(db);
    const washington = async () => ({
      realm: (await db.query('SELECT * FROM realms WHERE id = 1')).rows,
      translations: (await db.query('SELECT * FROM dynamic_translations WHERE realm_id = 1 ORDER BY id'))
        .rows,
      apps: (await db.query('SELECT * FROM mobile_apps WHERE realm_id = 1')).rows,
      audit: (await db.query('SELECT * FROM audit_entries WHERE realm_id = 1')).rows,
    });
    const before = await washington();
    feed.json({
      apps: [
        app('US-WA', { agency_color: '#AABBCC', default_locale: 'en' }),
        app('US-WA', { agency_color: 'teal' }, { sha256_cert_fingerprints: fingerprint('A2') }),
        app('US-CA', { agency_color: '#00FF00' }, { sha256_cert_fingerprints: fingerprint('CC') }),
      ],
    });

    const failure = await run().result.catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StepsFailedError);
    const stepsFailed = failure as StepsFailedError;
    expect(stepsFailed.failures).toEqual([
      { step: 'Washington (US-WA)', error: 'apps[1].agency_color: "teal" is not a color like #1a2b3c' },
    ]);
    expect(stepsFailed.message).toMatch(/Washington \(US-WA\)/);
    expect(stepsFailed.partial).toMatchObject({ realmsSynced: 1, realmsUpdated: 1, appsAdded: 1 });
    expect(await washington()).toEqual(before);
    expect((await db.query('SELECT agency_background_color FROM realms WHERE id = 2')).rows).toEqual([
      { agency_background_color: '#00ff00' },
    ]);
    expect((await db.query('SELECT count(*)::int AS n FROM mobile_apps WHERE realm_id = 2')).rows[0].n).toBe(
      2,
    );
  });

  it('fails a realm with a bad fingerprint, naming the entry, and keeps it untouched', async () => {
    const db = database.pool;
    await seedRealms(db);
    feed.json({ apps: [app('US-WA', { default_locale: 'en' }, { sha256_cert_fingerprints: 'AB:CD' })] });
    const failure = (await run().result.catch((error: unknown) => error)) as StepsFailedError;
    expect(failure.failures).toEqual([
      {
        step: 'Washington (US-WA)',
        error: expect.stringMatching(
          /^apps\[0\]\.android_target\.sha256_cert_fingerprints fingerprint 1 \("AB:CD"\)/,
        ),
      },
    ]);
    expect((await db.query('SELECT default_locale FROM realms WHERE id = 1')).rows).toEqual([
      { default_locale: 'es' },
    ]);
  });

  it('gives a new app a unique name when a soft-deleted app holds the generated one', async () => {
    const db = database.pool;
    await seedRealms(db);
    await insertRow(db, 'mobile_apps', {
      name: 'WA Notify',
      realm_id: 1,
      url: 'https://play.google.com/store/apps/details?id=gov.wa.old',
      os: 2,
      app_id: 'gov.wa.old',
      sha: fingerprint('0F'),
      created_at: EARLIER,
      updated_at: EARLIER,
      deleted_at: new Date(NOW.getTime() - 24 * 3600_000),
    });
    feed.json({ apps: [app('US-WA', {}, { app_name: 'wa notify' })] });
    await expect(run().result).resolves.toMatchObject({ appsAdded: 1 });
    const { rows } = await db.query<{ name: string }>(
      'SELECT name FROM mobile_apps WHERE realm_id = 1 AND deleted_at IS NULL',
    );
    expect(rows).toEqual([{ name: expect.stringMatching(/^wa notify [A-Za-z0-9_-]{8}$/) }]);
    // And the next run finds the app by its fingerprint: no third row.
    await expect(run().result).resolves.toMatchObject({ appsAdded: 0 });
    expect((await db.query('SELECT count(*)::int AS n FROM mobile_apps WHERE realm_id = 1')).rows[0].n).toBe(
      2,
    );
  });

  it('matches a stored fingerprint given in lower case with commas: no duplicate app', async () => {
    const db = database.pool;
    await seedRealms(db);
    feed.json({
      apps: [
        app('US-CA', {}, { sha256_cert_fingerprints: `${FP_CA_1.toLowerCase()},${FP_CA_2.toLowerCase()}` }),
      ],
    });
    await expect(run().result).resolves.toMatchObject({ appsAdded: 0 });
    expect((await db.query('SELECT name FROM mobile_apps WHERE realm_id = 2')).rows).toEqual([
      { name: 'CA Notify' },
    ]);
  });

  it("syncs local mode's loopback feed into the demo realms", async () => {
    const db = database.pool;
    await db.query(
      'TRUNCATE realms, mobile_apps, dynamic_translations, audit_entries RESTART IDENTITY CASCADE',
    );
    const thresholds = cleanupWorker.config.parse({ TOKEN_SIGNING_KEY: TEST_TOKEN_SIGNING_KEY });
    await seedDemoData(db, { now: NOW, thresholds });
    const local = await startAppFeed();
    try {
      const { context } = cleanupContext(db, clock);
      const sync = () => runAppsync(context, appsyncConfig.parse({ APP_SYNC_URL: local.url }));
      await expect(sync()).resolves.toMatchObject({
        realmsSynced: 2,
        realmsUpdated: 2,
        translations: { added: 6, updated: 0, deleted: 0 },
        appsAdded: 2,
        skippedRegions: ['US-ZZ'],
      });
      await expect(sync()).resolves.toMatchObject({ realmsUpdated: 0, appsAdded: 0 });
      const { rows } = await db.query(
        `SELECT r.region_code, a.name, a.headless FROM mobile_apps a JOIN realms r ON r.id = a.realm_id
          WHERE a.app_id LIKE 'gov.%' ORDER BY 1`,
      );
      expect(rows).toEqual([
        { region_code: 'US-DS', name: 'Demo State EN Express', headless: false },
        { region_code: 'US-DT', name: 'us-dt Android App', headless: true },
      ]);
    } finally {
      await local.close();
    }
  });

  it('over HTTP answers 200 with the result summary, kept in the ledger', async () => {
    feed.json(GOOD_FEED);
    const harness = await createHarness({ env: { APP_SYNC_URL: feed.url } });
    try {
      await seedRealms(harness.db.pool);
      const res = await harness.invoke('appsync-worker');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        ok: true,
        status: 'succeeded',
        result: {
          realmsSynced: 2,
          realmsUpdated: 1,
          translations: { added: 1, updated: 1, deleted: 2 },
          appsAdded: 2,
          skippedRegions: [],
        },
      });
      const attempts = await ledgerAttempts(harness.db, 'appsync-worker');
      expect(attempts).toEqual([expect.objectContaining({ state: 'succeeded', result: res.body.result })]);
    } finally {
      await harness.close();
    }
  });
});
