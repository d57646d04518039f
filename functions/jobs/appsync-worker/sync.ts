/**
 * One realm's sync (enx-jobs.md §1, steps 3b-3f), inside one transaction so a bad entry never
 * leaves the realm half-synced: branding and locale fields, dynamic translations, missing Android
 * apps. The original's bugs are fixed here:
 * - an empty feed value never overwrites what the realm has (the original wiped branding);
 * - translations are stored under the base language ENX's reader looks up (feed.ts dynamicLocale;
 *   3-letter languages whole, where the original cut `fil` to `fi`), tags that collide there
 *   (pt-BR, pt-PT) are logged instead of the last silently winning, and message ids may contain
 *   '-': translations are keyed on the (message id, locale) pair, never on a joined string;
 * - fingerprints are compared in the stored, normalised form, whatever form the feed used;
 * - a generated name taken by any row, soft-deleted ones included (the unique constraint covers
 *   them), gets a random suffix instead of failing every run until cleanup purges the old row;
 * - only the columns that change are updated, never the whole row.
 */
import { SYSTEM_ACTOR, writeAudit } from '../../db/audit';
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../core/clock';
import type { DbClient } from '../../core/db';
import type { Logger } from '../../core/logger';
import type { FeedApp } from './feed';
import { dynamicLocale, normaliseColor, normaliseFingerprints } from './feed';

export const ANDROID = 2;

export interface RealmRef {
  readonly id: number;
  readonly name: string;
  readonly regionCode: string;
}

export interface RealmSyncResult {
  /** Realm columns changed, by column name. */
  readonly fieldsChanged: readonly string[];
  readonly translations: { readonly added: number; readonly updated: number; readonly deleted: number };
  readonly appsAdded: readonly string[];
}

/** Realm columns appsync owns, with the audit wording of the server's SaveRealm. */
const BRANDING = [
  { column: 'agency_background_color', action: 'updated agency background color' },
  { column: 'agency_image', action: 'updated agency image' },
  { column: 'default_locale', action: 'updated default locale' },
  { column: 'user_report_learn_more_url', action: 'updated user report learn more url' },
] as const;
type BrandingColumn = (typeof BRANDING)[number]['column'];

/**
 * The values the feed asks for: per column, the last non-empty value among the realm's entries.
 * A bad color is this realm's error, named by its entry.
 */
export function desiredBranding(entries: readonly FeedApp[]): Partial<Record<BrandingColumn, string>> {
  const wanted: Partial<Record<BrandingColumn, string>> = {};
  for (const entry of entries) {
    if (entry.agencyColor !== '') {
      try {
        wanted.agency_background_color = normaliseColor(entry.agencyColor);
      } catch (error) {
        throw new Error(`apps[${entry.index}].agency_color: ${(error as Error).message}`);
      }
    }
    if (entry.agencyImage !== '') wanted.agency_image = entry.agencyImage;
    if (entry.defaultLocale !== '') wanted.default_locale = entry.defaultLocale;
    if (entry.webReportLearnMoreUrl !== '') wanted.user_report_learn_more_url = entry.webReportLearnMoreUrl;
  }
  return wanted;
}

export interface WantedTranslation {
  readonly messageId: string;
  readonly locale: string;
  readonly message: string;
}

/** Two feed tags that store under the same locale for one message; one of them is dropped. */
export interface LocaleCollision {
  readonly messageId: string;
  readonly locale: string;
  readonly kept: string;
  readonly dropped: string;
}

/** Runs `parse`, prefixing its error with the feed path it was about. */
function withEntry<T>(where: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new Error(`${where}: ${(error as Error).message}`);
  }
}

interface Candidate extends WantedTranslation {
  readonly tag: string;
}

/**
 * Of two tags that share a base language (pt-BR, pt-PT), the bare base (`pt`) wins, else the one
 * listed first; the same tag listed twice keeps its last message, as the original's map did.
 */
function preferred(current: Candidate, next: Candidate): Candidate {
  if (next.tag === current.tag) return next;
  const bare = (candidate: Candidate) => candidate.tag === candidate.locale;
  return bare(next) && !bare(current) ? next : current;
}

/**
 * The translations the feed asks for, one per (message id, stored locale), and the tags that
 * collided on the way (feed/dynamicLocale). A tag that has no language code fails, naming the entry.
 */
export function desiredTranslations(entries: readonly FeedApp[]): {
  wanted: Map<string, WantedTranslation>;
  collisions: LocaleCollision[];
} {
  const chosen = new Map<string, Candidate>();
  const collisions: LocaleCollision[] = [];
  for (const entry of entries) {
    entry.localizations.forEach((localization, at) => {
      localization.translations.forEach((translation, index) => {
        const where = `apps[${entry.index}].localizations[${at}].translations[${index}].lang`;
        const candidate: Candidate = {
          messageId: localization.msgid,
          locale: withEntry(where, () => dynamicLocale(translation.lang)),
          message: translation.message,
          tag: translation.lang.trim().toLowerCase(),
        };
        const key = translationKey(candidate.messageId, candidate.locale);
        const current = chosen.get(key);
        const kept = current ? preferred(current, candidate) : candidate;
        if (current && current.tag !== candidate.tag) {
          const dropped = kept === candidate ? current : candidate;
          collisions.push({
            messageId: kept.messageId,
            locale: kept.locale,
            kept: kept.tag,
            dropped: dropped.tag,
          });
        }
        chosen.set(key, kept);
      });
    });
  }
  const wanted = new Map<string, WantedTranslation>();
  for (const [key, { messageId, locale, message }] of chosen) wanted.set(key, { messageId, locale, message });
  return { wanted, collisions };
}

/** A tuple as a map key: JSON keeps the parts apart whatever characters they hold. */
export function translationKey(messageId: string, locale: string): string {
  return JSON.stringify([messageId, locale]);
}

/** The same set of certificates compares equal whatever the order they were listed in. */
export function fingerprintSetKey(normalised: string): string {
  return normalised.split('\n').sort().join('\n');
}

/** The name the original gave a new app: the feed's app_name, else "<region> Android App". */
export function generatedAppName(entry: FeedApp): string {
  return entry.android.appName !== '' ? entry.android.appName : `${entry.region} Android App`;
}

/** A name no row of the realm's Android apps uses (citext: compared case-insensitively). */
export function uniqueAppName(base: string, taken: ReadonlySet<string>, random = randomSuffix): string {
  let name = base;
  while (taken.has(name.toLowerCase())) name = `${base} ${random()}`;
  return name;
}

/** 8 base64url characters, as the original appended on a name collision. */
function randomSuffix(): string {
  return randomBytes(6).toString('base64url');
}

async function syncBranding(
  client: DbClient,
  realm: RealmRef,
  entries: readonly FeedApp[],
  now: Date,
): Promise<string[]> {
  const wanted = desiredBranding(entries);
  // FOR UPDATE: an admin saving the realm at the same moment waits instead of being overwritten.
  const { rows } = await client.query<Record<BrandingColumn, string | null>>(
    `SELECT ${BRANDING.map((field) => field.column).join(', ')} FROM realms
      WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`,
    [realm.id],
  );
  if (rows.length === 0) throw new Error(`realm ${realm.id} was deleted during the sync`);
  const current = rows[0];
  const changes = BRANDING.filter((field) => {
    const value = wanted[field.column];
    return value !== undefined && value !== (current[field.column] ?? '');
  });
  if (changes.length === 0) return [];
  const assignments = changes.map((field, index) => `${field.column} = $${index + 2}`);
  await client.query(
    `UPDATE realms SET ${assignments.join(', ')}, updated_at = $${changes.length + 2} WHERE id = $1`,
    [realm.id, ...changes.map((field) => wanted[field.column]), now],
  );
  for (const field of changes) {
    await writeAudit(client, SYSTEM_ACTOR, {
      realmId: realm.id,
      action: field.action,
      target: { id: `realms:${realm.id}`, display: realm.name },
      diff: JSON.stringify({ from: current[field.column], to: wanted[field.column] }),
      now,
    });
  }
  return changes.map((field) => field.column);
}

async function syncTranslations(
  client: DbClient,
  realm: RealmRef,
  entries: readonly FeedApp[],
  now: Date,
  logger: Logger,
): Promise<RealmSyncResult['translations']> {
  const { wanted, collisions } = desiredTranslations(entries);
  for (const collision of collisions) {
    logger.warn(
      `the feed has translations in ${collision.kept} and ${collision.dropped} for "${collision.messageId}"; the server reads one per language (${collision.locale}), ${collision.kept} is kept`,
      { event: 'appsync_locale_collision', realm: realm.regionCode, ...collision },
    );
  }
  const { rows } = await client.query<{ id: string; message_id: string; locale: string; message: string }>(
    'SELECT id, message_id, locale, message FROM dynamic_translations WHERE realm_id = $1',
    [realm.id],
  );
  const updates: { id: string; message: string }[] = [];
  const deletes: string[] = [];
  const existing = new Set<string>();
  for (const row of rows) {
    // ENX lower-cases the locale when it loads rows (internal/i18n/i18n.go SetDynamicTranslations).
    const key = translationKey(row.message_id, row.locale.toLowerCase());
    const item = wanted.get(key);
    if (!item) deletes.push(row.id);
    else {
      existing.add(key);
      if (item.message !== row.message) updates.push({ id: row.id, message: item.message });
    }
  }
  const inserts = [...wanted.entries()].filter(([key]) => !existing.has(key)).map(([, item]) => item);
  // One statement per kind of change, whatever the number of rows.
  if (inserts.length > 0) {
    await client.query(
      `INSERT INTO dynamic_translations (realm_id, message_id, locale, message, created_at, updated_at)
       SELECT $1, t.message_id, t.locale, t.message, $5, $5
         FROM unnest($2::text[], $3::text[], $4::text[]) AS t(message_id, locale, message)`,
      [
        realm.id,
        inserts.map((item) => item.messageId),
        inserts.map((item) => item.locale),
        inserts.map((item) => item.message),
        now,
      ],
    );
  }
  if (updates.length > 0) {
    await client.query(
      `UPDATE dynamic_translations AS d SET message = t.message, updated_at = $3
         FROM unnest($1::bigint[], $2::text[]) AS t(id, message) WHERE d.id = t.id`,
      [updates.map((item) => item.id), updates.map((item) => item.message), now],
    );
  }
  if (deletes.length > 0) {
    await client.query('DELETE FROM dynamic_translations WHERE id = ANY($1::bigint[])', [deletes]);
  }
  return { added: inserts.length, updated: updates.length, deleted: deletes.length };
}

async function syncApps(
  client: DbClient,
  realm: RealmRef,
  entries: readonly FeedApp[],
  now: Date,
  logger: Logger,
): Promise<string[]> {
  const { rows } = await client.query<{ name: string; sha: string | null; deleted: boolean }>(
    'SELECT name, sha, deleted_at IS NOT NULL AS deleted FROM mobile_apps WHERE realm_id = $1 AND os = $2',
    [realm.id, ANDROID],
  );
  const takenNames = new Set(rows.map((row) => row.name.toLowerCase()));
  const knownFingerprints = new Set<string>();
  for (const row of rows) {
    if (row.deleted || !row.sha) continue;
    try {
      knownFingerprints.add(fingerprintSetKey(normaliseFingerprints(row.sha)));
    } catch {
      // A row saved before the server normalised fingerprints: compare it as stored.
      knownFingerprints.add(row.sha);
    }
  }
  const added: { name: string; packageName: string; sha: string; headless: boolean }[] = [];
  for (const entry of entries) {
    let sha: string;
    try {
      sha = normaliseFingerprints(entry.android.fingerprints);
    } catch (error) {
      throw new Error(
        `apps[${entry.index}].android_target.sha256_cert_fingerprints ${(error as Error).message}`,
      );
    }
    const key = fingerprintSetKey(sha);
    if (knownFingerprints.has(key)) continue;
    const name = uniqueAppName(generatedAppName(entry), takenNames);
    // Seen from here on, so a feed listing the same app twice adds it once (the original's cache
    // was not refreshed after its own inserts).
    knownFingerprints.add(key);
    takenNames.add(name.toLowerCase());
    added.push({ name, packageName: entry.android.packageName, sha, headless: entry.headless });
    logger.info('app not found during sync, adding', {
      event: 'appsync_app_added',
      realmId: realm.id,
      app: name,
      packageName: entry.android.packageName,
    });
  }
  if (added.length === 0) return [];
  // Two statements per realm however many apps are new (a first sync of a large feed adds
  // thousands); ids are assigned in feed order.
  const inserted = await client.query<{ id: number; name: string }>(
    `INSERT INTO mobile_apps
       (created_at, updated_at, name, realm_id, url, os, app_id, sha, headless, disable_redirect)
     SELECT $1, $1, t.name, $2, t.url, $3, t.app_id, t.sha, t.headless, true
       FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::boolean[])
            WITH ORDINALITY AS t(name, url, app_id, sha, headless, position)
      ORDER BY t.position
     RETURNING id, name`,
    [
      now,
      realm.id,
      ANDROID,
      added.map((app) => app.name),
      added.map(
        (app) => `https://play.google.com/store/apps/details?id=${encodeURIComponent(app.packageName)}`,
      ),
      added.map((app) => app.packageName),
      added.map((app) => app.sha),
      added.map((app) => app.headless),
    ],
  );
  const created = [...inserted.rows].sort((a, b) => a.id - b.id);
  await client.query(
    `INSERT INTO audit_entries (realm_id, actor_id, actor_display, action, target_id, target_display, created_at)
     SELECT $1, $2, $3, 'created mobile app', t.target_id, t.target_display, $4
       FROM unnest($5::text[], $6::text[]) WITH ORDINALITY AS t(target_id, target_display, position)
      ORDER BY t.position`,
    [
      realm.id,
      SYSTEM_ACTOR.id,
      SYSTEM_ACTOR.display,
      now,
      created.map((row) => `mobile_apps:${row.id}`),
      created.map((row) => row.name),
    ],
  );
  return created.map((row) => row.name);
}

/** Syncs one realm from its feed entries; the caller runs this inside the realm's transaction. */
export async function syncRealm(
  client: DbClient,
  realm: RealmRef,
  entries: readonly FeedApp[],
  deps: { clock: Clock; logger: Logger },
): Promise<RealmSyncResult> {
  const now = deps.clock.now();
  const fieldsChanged = await syncBranding(client, realm, entries, now);
  const translations = await syncTranslations(client, realm, entries, now, deps.logger);
  deps.logger.info('synced translations', {
    event: 'appsync_translations',
    realmId: realm.id,
    ...translations,
  });
  const appsAdded = await syncApps(client, realm, entries, now, deps.logger);
  return { fieldsChanged, translations, appsAdded };
}
