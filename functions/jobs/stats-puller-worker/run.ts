/**
 * stats-puller-worker: pulls each realm's daily publish statistics from the key server and upserts
 * them into key_server_stats_days (enx-jobs.md §8). Realms are pulled by a small pool of workers; a
 * realm that fails is reported and the others still land, and the run then fails naming every
 * failed realm. Unlike the original, the run always waits for the realms in flight before it
 * settles, also when its signal aborts, so nothing writes after the attempt has been recorded.
 */
import type { Db, DbClient } from '../../core/db';
import { withTransaction } from '../../core/db';
import { describeError, StepsFailedError } from '../../core/errors';
import type { JobContext, JobResult } from '../../core/job-spec';
import type { StatsDay } from './client';
import { pullStats } from './client';
import type { StatsPullerConfig } from './config';
import { keyServerBaseUrl } from './config';
import { identityFor, realmSigningColumns, signStatsToken } from './signer';
import type { RealmSigningRow, SignerIdentity } from './signer';

interface StatsRow extends RealmSigningRow {
  readonly key_server_url_override: string | null;
  readonly key_server_audience_override: string | null;
}

/**
 * A token is reused for this long by every realm with the same signer and audience (the original
 * caches its signers for CERTIFICATE_SIGNER_CACHE_DURATION, 1m). Realms on the system key then
 * share one signature instead of one KMS call each; the token stays valid for 5 minutes, far
 * longer than any request that uses it.
 */
const TOKEN_REUSE_MS = 60_000;

class TokenCache {
  private readonly tokens = new Map<string, { mintedAt: number; token: Promise<string> }>();
  constructor(private readonly context: JobContext) {}

  get(identity: SignerIdentity, audience: string): Promise<string> {
    const key = JSON.stringify([identity.keyVersion, identity.kid, identity.issuer, audience]);
    const now = this.context.clock.now();
    const cached = this.tokens.get(key);
    if (cached && now.getTime() - cached.mintedAt < TOKEN_REUSE_MS) return cached.token;
    const token = signStatsToken(this.context.adapters.keyManager, identity, audience, now);
    this.tokens.set(key, { mintedAt: now.getTime(), token });
    // A failed signature is not kept: the next realm asks the key manager again.
    token.catch(() => {
      if (this.tokens.get(key)?.token === token) this.tokens.delete(key);
    });
    return token;
  }
}

/** Postgres allows 65,535 parameters per statement; 8 per day keeps a chunk well inside it. */
const DAYS_PER_STATEMENT = 1000;

/**
 * Writes a realm's days, all in one transaction: a realm is either fully updated or untouched.
 * publish_requests is stored by OSType index, [unknown, ios, android], which is not the JSON order.
 */
export async function upsertDays(db: Db, realmId: number, days: readonly StatsDay[]): Promise<number> {
  if (days.length === 0) return 0;
  // One statement is atomic on its own; only a response longer than one chunk (years of days)
  // needs an explicit transaction, and the common case saves its BEGIN and COMMIT round trips.
  if (days.length <= DAYS_PER_STATEMENT) return upsertChunk(db, realmId, days);
  return withTransaction(db, async (client) => {
    let written = 0;
    for (let start = 0; start < days.length; start += DAYS_PER_STATEMENT) {
      written += await upsertChunk(client, realmId, days.slice(start, start + DAYS_PER_STATEMENT));
    }
    return written;
  });
}

async function upsertChunk(db: Db | DbClient, realmId: number, chunk: readonly StatsDay[]): Promise<number> {
  const params: unknown[] = [];
  const tuples = chunk.map((day) => {
    params.push(
      realmId,
      day.day,
      [day.publishRequests.unknown, day.publishRequests.ios, day.publishRequests.android],
      day.totalTeksPublished,
      day.requestsWithRevisions,
      day.tekAgeDistribution,
      day.onsetToUploadDistribution,
      day.requestsMissingOnsetDate,
    );
    const base = params.length - 8;
    return `($${base + 1}, $${base + 2}, $${base + 3}::bigint[], $${base + 4}, $${base + 5}, $${base + 6}::bigint[], $${base + 7}::bigint[], $${base + 8})`;
  });
  const result = await db.query(
    `INSERT INTO key_server_stats_days (realm_id, day, publish_requests, total_teks_published,
       revision_requests, tek_age_distribution, onset_to_upload_distribution, request_missing_onset_date)
     VALUES ${tuples.join(', ')}
     ON CONFLICT (realm_id, day) DO UPDATE SET
       publish_requests = EXCLUDED.publish_requests,
       total_teks_published = EXCLUDED.total_teks_published,
       revision_requests = EXCLUDED.revision_requests,
       tek_age_distribution = EXCLUDED.tek_age_distribution,
       onset_to_upload_distribution = EXCLUDED.onset_to_upload_distribution,
       request_missing_onset_date = EXCLUDED.request_missing_onset_date`,
    params,
  );
  return result.rowCount ?? 0;
}

async function fetchRealm(
  context: JobContext,
  config: StatsPullerConfig,
  tokens: TokenCache,
  row: StatsRow,
): Promise<StatsDay[]> {
  if (row.realm_id === 0) {
    // The model allows a "system realm" row, but realm 0 has no signer and the original's save
    // hook rejects it, so such a row could never work: say so instead of failing obscurely.
    throw new Error(
      'configuration error: key_server_stats has a row for realm_id 0 (the system realm); stats are pulled per realm, delete that row',
    );
  }
  const baseUrl = row.key_server_url_override?.trim()
    ? keyServerBaseUrl(row.key_server_url_override)
    : config.keyServerUrl;
  const audience = row.key_server_audience_override?.trim() || config.audience;
  const token = await tokens.get(identityFor(row, config), audience);
  return pullStats({
    baseUrl,
    token,
    timeoutMs: config.downloadTimeoutMs,
    sizeLimitBytes: config.sizeLimitBytes,
    signal: context.abortSignal,
    onRetry: (attempt, error) =>
      context.logger.warn(
        `realm ${row.realm_id}: retrying stats pull (${attempt}): ${describeError(error)}`,
        {
          event: 'stats_pull_retry',
          realmId: row.realm_id,
        },
      ),
  });
}

export async function runStatsPuller(context: JobContext, config: StatsPullerConfig): Promise<JobResult> {
  // Each realm's signer comes with the list, so a realm costs no lookups before its request.
  const signing = realmSigningColumns('s.realm_id');
  const { rows } = await context.db.query<StatsRow>(
    `SELECT s.realm_id, s.key_server_url_override, s.key_server_audience_override, ${signing.select}
       FROM key_server_stats s ${signing.joins}
      ORDER BY s.realm_id`,
  );
  const tokens = new TokenCache(context);
  const failures: { realmId: number; step: string; error: string }[] = [];
  let realmsPulled = 0;
  let daysUpserted = 0;
  let next = 0;

  const fail = (realmId: number, error: unknown) => {
    const message = describeError(error);
    failures.push({ realmId, step: `realm ${realmId}`, error: message });
    if (!context.abortSignal.aborted) {
      context.logger.error(`failed to pull stats for realm ${realmId}: ${message}`, {
        event: 'stats_pull_failed',
        realmId,
      });
    }
  };

  // Each worker takes the next realm until none are left or the signal aborts; a worker never
  // throws, so Promise.all below settles only once every realm in flight has finished. A worker
  // writes one realm while it fetches the next: the key server, not the database, sets the pace,
  // and at most one write per worker is in flight, so memory stays bounded by the worker count.
  const worker = async () => {
    let writing: Promise<void> = Promise.resolve();
    while (next < rows.length && !context.abortSignal.aborted) {
      const row = rows[next];
      next += 1;
      try {
        const days = await fetchRealm(context, config, tokens, row);
        await writing;
        writing = upsertDays(context.db, row.realm_id, days).then(
          (upserted) => {
            daysUpserted += upserted;
            realmsPulled += 1;
          },
          (error: unknown) => fail(row.realm_id, error),
        );
      } catch (error) {
        fail(row.realm_id, error);
      }
    }
    await writing;
  };
  await Promise.all(Array.from({ length: Math.min(config.maxWorkers, rows.length) }, worker));

  // Realms finish in any order; the report lists them by realm so it reads the same every run.
  failures.sort((a, b) => a.realmId - b.realmId);
  const summary = {
    realms: rows.length,
    realmsPulled,
    realmsFailed: failures.length,
    daysUpserted,
    ...(failures.length > 0 ? { failedRealms: failures.map((failure) => failure.step) } : {}),
  };
  if (context.abortSignal.aborted) throw context.abortSignal.reason;
  if (failures.length > 0) {
    throw new StepsFailedError(
      failures.map(({ step, error }) => ({ step, error })),
      summary,
    );
  }
  return summary;
}
