/**
 * The key server's stats API client (enx-jobs.md §8): POST {base}/v1/stats with a bearer token,
 * a per-request timeout, a size limit enforced while reading, a content-type check and strict
 * validation of the answer. Every failure is retried (the original retries 401s and {"error"}
 * bodies too) with a constant backoff, until the attempts run out or the job's signal aborts.
 */

import { readBodyLimited } from '../../core/http-body';
import { deadlineSignal } from '../../core/timeout';

export interface PublishRequests {
  readonly unknown: number;
  readonly ios: number;
  readonly android: number;
}

export interface StatsDay {
  /** UTC midnight. */
  readonly day: Date;
  readonly publishRequests: PublishRequests;
  readonly totalTeksPublished: number;
  readonly requestsWithRevisions: number;
  readonly tekAgeDistribution: readonly number[];
  readonly onsetToUploadDistribution: readonly number[];
  readonly requestsMissingOnsetDate: number;
}

/** The answer is not what the stats API promises; the message names the offending field. */
export class StatsResponseError extends Error {
  override readonly name = 'StatsResponseError';
}

export interface PullOptions {
  /** The key server's base URL; /v1/stats is appended. */
  readonly baseUrl: string;
  readonly token: string;
  readonly timeoutMs: number;
  readonly sizeLimitBytes: number;
  /** The job's signal: cuts the request in flight and stops further retries. */
  readonly signal: AbortSignal;
  /** Retries after the first attempt; the original's is 3. */
  readonly retries?: number;
  readonly backoffMs?: number;
  /** Called before each retry, for the log. */
  readonly onRetry?: (attempt: number, error: Error) => void;
}

export const DEFAULT_RETRIES = 3;
export const DEFAULT_BACKOFF_MS = 500;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A count: absent means 0 (the Go struct's zero value), anything but a non-negative integer is refused. */
function count(value: unknown, field: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new StatsResponseError(`${field} is ${JSON.stringify(value)}, not a non-negative integer`);
  }
  return value;
}

function counts(value: unknown, field: string): number[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new StatsResponseError(`${field} is not an array`);
  return value.map((item, index) => count(item, `${field}[${index}]`));
}

function utcMidnight(value: unknown, field: string): Date {
  if (typeof value !== 'string') throw new StatsResponseError(`${field} is not a string`);
  const day = new Date(value);
  if (Number.isNaN(day.getTime()) || !/^\d{4}-\d{2}-\d{2}T/.test(value)) {
    throw new StatsResponseError(`${field} "${value}" is not an RFC 3339 time`);
  }
  if (day.getTime() % 86_400_000 !== 0) {
    throw new StatsResponseError(`${field} "${value}" is not a UTC midnight`);
  }
  return day;
}

/**
 * Validates a parsed stats document. Null days (gaps the key server leaves) are skipped, as the
 * original's nil check does; when a day appears twice the later entry wins.
 */
export function parseStatsResponse(document: unknown): StatsDay[] {
  if (!isRecord(document)) throw new StatsResponseError('the response is not a JSON object');
  if (document.error !== undefined && document.error !== null && document.error !== '') {
    const code = typeof document.code === 'string' && document.code !== '' ? ` (${document.code})` : '';
    throw new StatsResponseError(`the key server answered error${code}: ${String(document.error)}`);
  }
  if (document.days === undefined || document.days === null) return [];
  if (!Array.isArray(document.days)) throw new StatsResponseError('days is not an array');
  const byDay = new Map<number, StatsDay>();
  document.days.forEach((entry: unknown, index) => {
    const field = `days[${index}]`;
    if (entry === null) return;
    if (!isRecord(entry)) throw new StatsResponseError(`${field} is not an object`);
    const publish = entry.publish_requests ?? {};
    if (!isRecord(publish)) throw new StatsResponseError(`${field}.publish_requests is not an object`);
    const day = utcMidnight(entry.day, `${field}.day`);
    byDay.set(day.getTime(), {
      day,
      publishRequests: {
        unknown: count(publish.unknown, `${field}.publish_requests.unknown`),
        ios: count(publish.ios, `${field}.publish_requests.ios`),
        android: count(publish.android, `${field}.publish_requests.android`),
      },
      totalTeksPublished: count(entry.total_teks_published, `${field}.total_teks_published`),
      requestsWithRevisions: count(entry.requests_with_revisions, `${field}.requests_with_revisions`),
      tekAgeDistribution: counts(entry.tek_age_distribution, `${field}.tek_age_distribution`),
      onsetToUploadDistribution: counts(
        entry.onset_to_upload_distribution,
        `${field}.onset_to_upload_distribution`,
      ),
      requestsMissingOnsetDate: count(
        entry.requests_missing_onset_date,
        `${field}.requests_missing_onset_date`,
      ),
    });
  });
  return [...byDay.values()].sort((a, b) => a.day.getTime() - b.day.getTime());
}

function readLimited(response: Response, limit: number): Promise<string> {
  return readBodyLimited(
    response,
    limit,
    (bytes) =>
      new StatsResponseError(
        bytes === undefined
          ? `the response is over the ${limit}-byte limit`
          : `the response is ${bytes} bytes, over the ${limit}-byte limit`,
      ),
  );
}

async function pullOnce(options: PullOptions): Promise<StatsDay[]> {
  const deadline = deadlineSignal(options.signal, options.timeoutMs);
  const signal = deadline.signal;
  try {
    const response = await fetch(`${options.baseUrl}/v1/stats`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${options.token}`,
        'Content-Type': 'application/json',
        Accept: 'application/json',
        'User-Agent': 'en/keyserver-client',
      },
      body: JSON.stringify({ padding: '' }),
      signal,
      redirect: 'error',
    });
    const contentType = response.headers.get('content-type') ?? '';
    if (!response.ok) {
      const snippet = (await readLimited(response, 512).catch(() => '')).slice(0, 200);
      throw new Error(`the key server answered HTTP ${response.status}${snippet ? `: ${snippet}` : ''}`);
    }
    if (!/^application\/json\b/i.test(contentType.trim())) {
      await response.body?.cancel().catch(() => undefined);
      throw new StatsResponseError(`the response is ${contentType || 'untyped'}, not application/json`);
    }
    const text = await readLimited(response, options.sizeLimitBytes);
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      throw new StatsResponseError(`the response is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
    }
    return parseStatsResponse(document);
  } catch (error) {
    if (deadline.timedOut && !options.signal.aborted) {
      throw new Error(`the request took longer than ${options.timeoutMs} ms and was abandoned`);
    }
    throw error;
  } finally {
    deadline.clear();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Pulls a realm's stats, retrying every failure; throws the last error when all attempts failed. */
export async function pullStats(options: PullOptions): Promise<StatsDay[]> {
  const retries = options.retries ?? DEFAULT_RETRIES;
  const backoffMs = options.backoffMs ?? DEFAULT_BACKOFF_MS;
  let lastError: Error = new Error('no attempt was made');
  for (let attempt = 0; attempt <= retries; attempt += 1) {
    if (options.signal.aborted) break;
    if (attempt > 0) {
      options.onRetry?.(attempt, lastError);
      await sleep(backoffMs, options.signal);
      if (options.signal.aborted) break;
    }
    try {
      return await pullOnce(options);
    } catch (error) {
      lastError = error instanceof Error ? error : new Error(String(error));
    }
  }
  if (options.signal.aborted) {
    throw new Error(`stopped: the job was aborted (${lastError.message})`);
  }
  throw new Error(`${lastError.message} (after ${retries + 1} attempts)`);
}
