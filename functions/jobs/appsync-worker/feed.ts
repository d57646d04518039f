/**
 * The published app list (enx-jobs.md §1): fetched over HTTP with a timeout and a size limit,
 * checked as the original's shared client checked it (status, Content-Type, `{error}` bodies), then
 * validated by hand into typed entries. Every message names what an operator would look at: the URL
 * and the setting for transport problems, `apps[i].field` for a bad entry.
 */

import { readBodyLimited } from '../../core/http-body';
import { deadlineSignal } from '../../core/timeout';

export interface FeedTranslation {
  readonly lang: string;
  readonly message: string;
}

export interface FeedLocalization {
  readonly msgid: string;
  readonly translations: readonly FeedTranslation[];
}

export interface FeedApp {
  /** Position in the feed's `apps`, so later errors can name the entry. */
  readonly index: number;
  readonly region: string;
  readonly android: {
    readonly namespace: string;
    readonly appName: string;
    readonly packageName: string;
    /** As published; normalised (and checked) per realm by normaliseFingerprints. */
    readonly fingerprints: string;
  };
  readonly agencyColor: string;
  readonly agencyImage: string;
  readonly defaultLocale: string;
  readonly webReportLearnMoreUrl: string;
  readonly localizations: readonly FeedLocalization[];
  readonly headless: boolean;
}

export interface FetchOptions {
  readonly timeoutMs: number;
  readonly sizeLimitBytes: number;
  /** The job's own signal: its timeout aborts the request too. */
  readonly signal: AbortSignal;
}

/** The feed cannot be used; the run fails before anything is written. */
export class FeedError extends Error {
  override readonly name = 'FeedError';
}

type Json = unknown;

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requiredString(value: Json, path: string): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw new FeedError(`${path} must be a non-empty string`);
  return value;
}

/** Missing or null reads as empty, as Go's decoder left absent fields at their zero value. */
function optionalString(value: Json, path: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new FeedError(`${path} must be a string`);
  return value;
}

function optionalBoolean(value: Json, path: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw new FeedError(`${path} must be true or false`);
  return value;
}

function optionalArray(value: Json, path: string): readonly Json[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new FeedError(`${path} must be an array`);
  return value;
}

function parseLocalization(value: Json, path: string): FeedLocalization {
  if (!isObject(value)) throw new FeedError(`${path} must be an object`);
  const msgid = requiredString(value.msgid, `${path}.msgid`);
  const translations = optionalArray(value.translations, `${path}.translations`).map((item, index) => {
    const where = `${path}.translations[${index}]`;
    if (!isObject(item)) throw new FeedError(`${where} must be an object`);
    return {
      lang: requiredString(item.lang, `${where}.lang`),
      message: optionalString(item.message, `${where}.message`),
    };
  });
  return { msgid, translations };
}

function parseApp(value: Json, index: number): FeedApp {
  const path = `apps[${index}]`;
  if (!isObject(value)) throw new FeedError(`${path} must be an object`);
  const target = value.android_target;
  if (!isObject(target)) throw new FeedError(`${path}.android_target must be an object`);
  optionalBoolean(value.is_enx, `${path}.is_enx`);
  return {
    index,
    region: requiredString(value.region, `${path}.region`).trim(),
    android: {
      namespace: optionalString(target.namespace, `${path}.android_target.namespace`),
      appName: optionalString(target.app_name, `${path}.android_target.app_name`).trim(),
      packageName: requiredString(target.package_name, `${path}.android_target.package_name`).trim(),
      fingerprints: requiredString(
        target.sha256_cert_fingerprints,
        `${path}.android_target.sha256_cert_fingerprints`,
      ),
    },
    agencyColor: optionalString(value.agency_color, `${path}.agency_color`).trim(),
    agencyImage: optionalString(value.agency_image, `${path}.agency_image`).trim(),
    defaultLocale: optionalString(value.default_locale, `${path}.default_locale`).trim(),
    webReportLearnMoreUrl: optionalString(
      value.web_report_learn_more_url,
      `${path}.web_report_learn_more_url`,
    ).trim(),
    localizations: optionalArray(value.localizations, `${path}.localizations`).map((item, at) =>
      parseLocalization(item, `${path}.localizations[${at}]`),
    ),
    headless: optionalBoolean(value.headless, `${path}.headless`),
  };
}

/** A feed entry whose structure is wrong, with its region when that much could be read. */
export interface RejectedEntry {
  readonly index: number;
  /** Upper case, as realms are looked up; undefined when the entry has no readable region. */
  readonly region: string | undefined;
  readonly error: string;
}

export interface Feed {
  readonly apps: readonly FeedApp[];
  readonly rejected: readonly RejectedEntry[];
}

function readableRegion(value: Json): string | undefined {
  if (!isObject(value) || typeof value.region !== 'string' || value.region.trim() === '') return undefined;
  return value.region.trim().toUpperCase();
}

/**
 * A decoded feed body into typed entries. A body that is not a feed at all fails whole. An entry
 * of the wrong structure is set aside with its error: the feed is Google's and lists every region,
 * so the caller decides per region (run.ts) whether it matters here. Value rules that belong to
 * one realm (the color, the fingerprints, the locales) are checked when that realm syncs.
 */
export function parseFeed(body: Json): Feed {
  if (!isObject(body)) throw new FeedError('the feed must be a JSON object with an "apps" array');
  const reported = body.error ?? body.Error;
  if (reported !== undefined && reported !== null && reported !== '') {
    throw new FeedError(
      `the feed reported an error: ${typeof reported === 'string' ? reported : JSON.stringify(reported)}`,
    );
  }
  if (!Array.isArray(body.apps)) throw new FeedError('apps must be an array');
  const apps: FeedApp[] = [];
  const rejected: RejectedEntry[] = [];
  body.apps.forEach((value: Json, index: number) => {
    try {
      apps.push(parseApp(value, index));
    } catch (error) {
      if (!(error instanceof FeedError)) throw error;
      rejected.push({ index, region: readableRegion(value), error: error.message });
    }
  });
  return { apps, rejected };
}

const FINGERPRINT = /^[0-9A-F]{2}(:[0-9A-F]{2}){31}$/;

/**
 * SHA-256 certificate fingerprints in the form the server stores them (its BeforeSave): upper
 * case, one per line, each 95 characters (AA:BB:...:FF). Accepts commas or newlines between them
 * and stray spaces, so a feed value in any of those forms matches its stored form.
 */
export function normaliseFingerprints(raw: string): string {
  const entries = raw
    .toUpperCase()
    .split(/[,\r\n]+/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) throw new Error('has no fingerprint');
  entries.forEach((entry, index) => {
    if (!FINGERPRINT.test(entry)) {
      throw new Error(
        `fingerprint ${index + 1} ("${entry}") is not a SHA-256 fingerprint: 32 hex pairs joined by ':' (95 characters)`,
      );
    }
  });
  return entries.join('\n');
}

const COLOR = /^#[0-9a-f]{6}$/;

/** The server's realm validation for agency_background_color, after lower-casing as the original did. */
export function normaliseColor(raw: string): string {
  const color = raw.trim().toLowerCase();
  if (!COLOR.test(color)) throw new Error(`"${raw}" is not a color like #1a2b3c`);
  return color;
}

const LANGUAGE = /^[a-z]{2,8}$/;

/**
 * The locale a dynamic translation is stored under: the tag's base language, lower case (`en_US`
 * → `en`, `pt-BR` → `pt`, `fil-PH` → `fil`). ENX's only reader, internal/i18n/i18n.go LookupDynamic,
 * matches a request's language against the stored locales and then reads the matched tag's base
 * language (Canonicalize: `tag.Raw()` base), so a row under `en_us` or `pt-br` is never read. The
 * original truncated to two letters, which reached `en` but turned `fil` into `fi` (Finnish).
 */
export function dynamicLocale(lang: string): string {
  const base = lang.trim().toLowerCase().split(/[-_]/)[0];
  if (!LANGUAGE.test(base)) throw new Error(`"${lang}" does not start with a language code like en or fil`);
  return base;
}

/** Reads at most `limit` bytes; past it, stops reading and fails instead of truncating. */
function readLimited(response: Response, limit: number, url: string): Promise<string> {
  return readBodyLimited(
    response,
    limit,
    () =>
      new FeedError(
        `the feed at ${url} is larger than APP_SYNC_SIZE_LIMIT (${limit} bytes); raise the limit if the feed really grew`,
      ),
  );
}

/** GET the feed and validate it; throws FeedError (or the job's abort reason) when it is unusable. */
export async function fetchFeed(url: string, options: FetchOptions): Promise<Feed> {
  const deadline = deadlineSignal(options.signal, options.timeoutMs);
  const signal = deadline.signal;
  try {
    const response = await fetch(url, {
      headers: { Accept: 'application/json', 'User-Agent': 'enx-jobs/appsync-worker' },
      signal,
      redirect: 'follow',
    });
    if (response.status < 200 || response.status > 299) {
      await response.body?.cancel().catch(() => undefined);
      throw new FeedError(
        `the feed at ${url} answered HTTP ${response.status}; check the feed service or APP_SYNC_URL`,
      );
    }
    const contentType = response.headers.get('content-type') ?? '';
    if (!contentType.toLowerCase().startsWith('application/json')) {
      await response.body?.cancel().catch(() => undefined);
      throw new FeedError(
        `the feed at ${url} has Content-Type "${contentType}", not application/json; check APP_SYNC_URL`,
      );
    }
    const text = await readLimited(response, options.sizeLimitBytes, url);
    let body: Json;
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw new FeedError(`the feed at ${url} is not valid JSON: ${(error as Error).message}`);
    }
    try {
      return parseFeed(body);
    } catch (error) {
      throw new FeedError(`the feed at ${url} is malformed: ${(error as Error).message}`);
    }
  } catch (error) {
    if (options.signal.aborted) throw options.signal.reason;
    if (deadline.timedOut) {
      throw new FeedError(
        `fetching the feed at ${url} took longer than APP_SYNC_TIMEOUT (${options.timeoutMs} ms)`,
      );
    }
    if (error instanceof FeedError) throw error;
    throw new FeedError(`could not fetch the feed at ${url}: ${(error as Error).message}`, { cause: error });
  } finally {
    deadline.clear();
  }
}
