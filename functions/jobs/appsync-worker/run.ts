/**
 * appsync-worker: syncs Google's published list of Android EN Express apps into the realms it
 * names (enx-jobs.md §1). The feed is fetched and validated first, so a feed that is not one changes
 * nothing; a malformed entry fails only its own realm, or is skipped when no realm here uses it; then each realm syncs in its own transaction, as an independent step: a realm that fails
 * is rolled back and named, the others still sync, and the run fails so the alert sees it.
 */
import { withTransaction } from '../../core/db';
import type { JobContext, JobResult } from '../../core/job-spec';
import { runSteps } from '../../core/steps';
import type { Step, StepReport } from '../../core/steps';
import type { AppsyncConfig } from './config';
import { fetchFeed, FeedError } from './feed';
import type { FeedApp, RejectedEntry } from './feed';
import { syncRealm } from './sync';
import type { RealmRef, RealmSyncResult } from './sync';

/** Feed entries by region code, upper case (realms store and look it up that way), feed order kept. */
export function groupByRegion(apps: readonly FeedApp[]): Map<string, FeedApp[]> {
  const groups = new Map<string, FeedApp[]>();
  for (const app of apps) {
    const region = app.region.toUpperCase();
    const group = groups.get(region) ?? [];
    group.push(app);
    groups.set(region, group);
  }
  return groups;
}

/**
 * A malformed entry for a region this deployment serves fails that realm, naming the entry (the
 * realm is not synced from half its entries); one for any other region, or without a readable
 * region, is logged and skipped, because the operator can do nothing about Google's feed and the
 * other realms must still sync.
 */
function splitRejected(
  rejected: readonly RejectedEntry[],
  realms: ReadonlyMap<string, RealmRef>,
  logger: JobContext['logger'],
): Map<string, RejectedEntry[]> {
  const ours = new Map<string, RejectedEntry[]>();
  for (const entry of rejected) {
    if (entry.region !== undefined && realms.has(entry.region)) {
      ours.set(entry.region, [...(ours.get(entry.region) ?? []), entry]);
      continue;
    }
    logger.warn(`skipping a malformed feed entry for a region with no realm here: ${entry.error}`, {
      event: 'appsync_entry_skipped',
      index: entry.index,
      region: entry.region ?? null,
    });
  }
  return ours;
}

function malformedEntriesError(realm: RealmRef, entries: readonly RejectedEntry[]): FeedError {
  return new FeedError(
    `the feed's entry for ${realm.regionCode} is malformed, so realm ${realm.name} was not synced: ${entries
      .map((entry) => entry.error)
      .join('; ')}`,
  );
}

export async function runAppsync(context: JobContext, config: AppsyncConfig): Promise<JobResult> {
  const { apps, rejected } = await fetchFeed(config.feedUrl, {
    timeoutMs: config.timeoutMs,
    sizeLimitBytes: config.sizeLimitBytes,
    signal: context.abortSignal,
  });
  const groups = groupByRegion(apps);
  const regions = new Set([...groups.keys(), ...rejected.flatMap((entry) => entry.region ?? [])]);
  const { rows } = await context.db.query<{ id: number; name: string; region: string }>(
    `SELECT id, name, UPPER(region_code) AS region FROM realms
      WHERE deleted_at IS NULL AND UPPER(region_code) = ANY($1::text[])`,
    [[...regions]],
  );
  const realms = new Map<string, RealmRef>(
    rows.map((row) => [row.region, { id: row.id, name: row.name, regionCode: row.region }]),
  );

  const malformed = splitRejected(rejected, realms, context.logger);
  const skippedRegions = [...groups.keys()].filter((region) => !realms.has(region));
  for (const region of skippedRegions) {
    // Google's feed lists every region; most have no realm on a given server. Not an error.
    context.logger.debug('no realm corresponds to region, skipping', {
      event: 'appsync_region_skipped',
      region,
    });
  }

  const steps: Step<RealmSyncResult>[] = [...realms.values()].map((realm) => ({
    name: `${realm.name} (${realm.regionCode})`,
    run: async () => {
      const bad = malformed.get(realm.regionCode);
      if (bad) throw malformedEntriesError(realm, bad);
      return withTransaction(context.db, (client) =>
        syncRealm(client, realm, groups.get(realm.regionCode) ?? [], {
          clock: context.clock,
          logger: context.logger,
        }),
      );
    },
  }));

  const summarise = (report: StepReport<RealmSyncResult>): Record<string, unknown> => {
    const results = Object.values(report.results);
    const sum = (pick: (result: RealmSyncResult) => number) =>
      results.reduce((total, result) => total + pick(result), 0);
    return {
      feedEntries: apps.length + rejected.length,
      malformedEntries: rejected.length,
      realmsSynced: results.length,
      realmsUpdated: results.filter((result) => result.fieldsChanged.length > 0).length,
      translations: {
        added: sum((result) => result.translations.added),
        updated: sum((result) => result.translations.updated),
        deleted: sum((result) => result.translations.deleted),
      },
      appsAdded: sum((result) => result.appsAdded.length),
      skippedRegions,
    };
  };
  return summarise(await runSteps(steps, { logger: context.logger, signal: context.abortSignal, summarise }));
}
