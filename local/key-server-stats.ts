/**
 * A loopback stand-in for the key server's stats API (POST /v1/stats), for the local fleet, the
 * tests and the benchmark. It checks the bearer token the way the key server does (ES256 against
 * the public key named by its kid, the audience, the expiry) and answers a deterministic stats
 * document per realm covering the last few days. It can be told to misbehave, per realm or for
 * every realm, so the job's failure handling is exercised against a real HTTP peer.
 *
 * Mirrors google/exposure-notifications-server: internal/publish/stats.go (401 with code
 * "unauthorized" for a missing, malformed or unverifiable bearer token, 500 "error reading stats"
 * with code "internal_error"), internal/verification/authenticate_stats.go (the token check),
 * pkg/api/v1/stats_types.go (the document and the {"error", "code", "padding"} body).
 *
 * Which realm asks: the realm's own key says it (kid r<realm>v<id>); a realm on the system key is
 * told apart by a URL prefix /realms/<id>, which a key_server_url_override can carry. Anything
 * else is realm 0, "the default", which only `all` misbehaviour reaches.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';
import type { KeyManager } from '../functions/ports';
import type { Db } from '../functions/core/db';

export type Misbehaviour =
  | { readonly kind: 'slow'; readonly delayMs: number }
  | { readonly kind: 'fail' }
  | { readonly kind: 'garbage' }
  | { readonly kind: 'wrong-shape' }
  | { readonly kind: 'unauthorised' };

/** The public key (SPKI PEM) for a kid, or undefined when the kid is unknown. */
export type KeyLookup = (kid: string) => Promise<string | undefined>;

export interface KeyServerStatsOptions {
  readonly keys: KeyLookup;
  /** Accepted token audiences; default ['keyserver']. */
  readonly audiences?: readonly string[];
  /** How many days (ending yesterday) each document covers; default 5. */
  readonly days?: number;
  readonly now?: () => Date;
  /** Delay every answer by this long (a key server that answers in, say, 50 ms). */
  readonly latencyMs?: number;
  readonly port?: number;
}

export interface KeyServerCounters {
  /** Requests received, including refused ones. */
  requests: number;
  /** Requests being answered right now, and the most there ever were at once. */
  inFlight: number;
  maxInFlight: number;
  /** Requests per realm, as the stand-in identified them. */
  readonly byRealm: Map<number, number>;
}

export interface KeyServerStats {
  /** The base URL (no /v1): what KEY_SERVER_URL is set to. */
  readonly url: string;
  /** The base URL a realm on the system key uses (as its key_server_url_override) to be told apart. */
  realmUrl(realmId: number): string;
  readonly counters: KeyServerCounters;
  /** Sets (or with undefined clears) misbehaviour for one realm or for all. */
  misbehave(target: number | 'all', behaviour: Misbehaviour | undefined): void;
  /** The document the stand-in answers for a realm now, for assertions. */
  documentFor(realmId: number): StatsDocument;
  resetCounters(): void;
  close(): Promise<void>;
}

export interface StatsDocumentDay {
  day: string;
  publish_requests: { unknown: number; android: number; ios: number };
  total_teks_published: number;
  requests_with_revisions: number;
  tek_age_distribution: number[];
  onset_to_upload_distribution: number[];
  requests_missing_onset_date: number;
}

export interface StatsDocument {
  days: StatsDocumentDay[];
  padding: string;
}

const DAY_MS = 86_400_000;

/** A small deterministic pseudo-random number in [0, modulo) from a realm, a day and a label. */
function pick(realmId: number, day: string, label: string, modulo: number): number {
  const digest = createHash('sha256').update(`${realmId}/${day}/${label}`).digest();
  return digest.readUInt32BE(0) % modulo;
}

/** Realistic-looking counts: a few dozen uploads a day, split mostly between iOS and Android. */
export function statsDocument(realmId: number, now: Date, dayCount = 5): StatsDocument {
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const days = Array.from({ length: dayCount }, (_, index) => {
    const day = new Date(midnight - (dayCount - index) * DAY_MS).toISOString();
    const ios = 10 + pick(realmId, day, 'ios', 40);
    const android = 10 + pick(realmId, day, 'android', 50);
    const unknown = pick(realmId, day, 'unknown', 3);
    const uploads = ios + android + unknown;
    const tekAge = Array.from({ length: 17 }, (_, age) =>
      age < 14 ? pick(realmId, day, `tek${age}`, uploads) : 0,
    );
    const onset = Array.from({ length: 31 }, (_, offset) =>
      offset < 15 ? pick(realmId, day, `onset${offset}`, Math.max(1, uploads >> 2)) : 0,
    );
    return {
      day,
      publish_requests: { unknown, android, ios },
      total_teks_published: uploads * (8 + pick(realmId, day, 'teks', 6)),
      requests_with_revisions: pick(realmId, day, 'revisions', 5),
      tek_age_distribution: tekAge,
      onset_to_upload_distribution: onset,
      requests_missing_onset_date: pick(realmId, day, 'missing-onset', 7),
    };
  });
  return { days, padding: '' };
}

function send(response: ServerResponse, status: number, body: string, type = 'application/json'): void {
  response.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  response.end(body);
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

export async function startKeyServerStats(options: KeyServerStatsOptions): Promise<KeyServerStats> {
  const audiences = options.audiences ?? ['keyserver'];
  const now = options.now ?? (() => new Date());
  const behaviours = new Map<number | 'all', Misbehaviour>();
  const counters: KeyServerCounters = { requests: 0, inFlight: 0, maxInFlight: 0, byRealm: new Map() };
  const timers = new Set<NodeJS.Timeout>();
  // The stand-in shares a process with the job in tests and the benchmark, so its own CPU per
  // request is kept small: imported keys and rendered documents are reused.
  const importedKeys = new Map<string, ReturnType<typeof importSPKI>>();
  const rendered = new Map<string, string>();
  const documentJson = (realmId: number): string => {
    const at = now();
    const key = `${realmId}/${at.toISOString().slice(0, 10)}`;
    let json = rendered.get(key);
    if (json === undefined) {
      if (rendered.size > 10_000) rendered.clear();
      json = JSON.stringify(statsDocument(realmId, at, options.days));
      rendered.set(key, json);
    }
    return json;
  };
  const delay = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  /** The realm a verified token and path belong to. */
  const realmOf = (kid: string, path: string): number => {
    const fromKid = /^r(\d+)v\d+$/.exec(kid);
    if (fromKid) return Number(fromKid[1]);
    const fromPath = /^\/realms\/(\d+)\//.exec(path);
    return fromPath ? Number(fromPath[1]) : 0;
  };

  const verify = async (header: string | undefined): Promise<string> => {
    const token = /^Bearer (.+)$/.exec(header ?? '')?.[1];
    if (!token) throw new Error('Authorization header is not in `Bearer <token>` format');
    const { kid, alg } = decodeProtectedHeader(token);
    if (alg !== 'ES256') throw new Error(`alg ${String(alg)} is not ES256`);
    if (!kid) throw new Error('token has no kid');
    const pem = await options.keys(kid);
    if (!pem) throw new Error(`unknown kid ${kid}`);
    let key = importedKeys.get(pem);
    if (!key) {
      key = importSPKI(pem, 'ES256');
      importedKeys.set(pem, key);
    }
    await jwtVerify(token, await key, {
      audience: [...audiences],
      algorithms: ['ES256'],
      currentDate: now(),
      requiredClaims: ['iss', 'iat', 'exp'],
    });
    return kid;
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', 'http://stand-in').pathname;
    // For callers in another process (the benchmark runs the stand-in in a child process).
    if (request.method === 'GET' && path === '/_counters') {
      const { requests, maxInFlight } = counters;
      send(response, 200, JSON.stringify({ requests, maxInFlight }));
      return;
    }
    if (request.method !== 'POST' || !path.endsWith('/v1/stats')) {
      send(response, 404, JSON.stringify({ error: 'not found' }));
      return;
    }
    await readBody(request);
    let kid: string;
    try {
      kid = await verify(request.headers.authorization);
    } catch (error) {
      send(
        response,
        401,
        JSON.stringify({ error: (error as Error).message, code: 'unauthorized', padding: '' }),
      );
      return;
    }
    const realmId = realmOf(kid, path);
    counters.byRealm.set(realmId, (counters.byRealm.get(realmId) ?? 0) + 1);
    if (options.latencyMs) await delay(options.latencyMs);
    const behaviour = behaviours.get(realmId) ?? behaviours.get('all');
    switch (behaviour?.kind) {
      case 'slow':
        await delay(behaviour.delayMs);
        break;
      case 'fail':
        send(
          response,
          500,
          JSON.stringify({ error: 'error reading stats', code: 'internal_error', padding: '' }),
        );
        return;
      case 'garbage':
        send(response, 200, '<html>this is not the stats you are looking for');
        return;
      case 'wrong-shape':
        send(response, 200, JSON.stringify({ days: [{ day: 'yesterday', publish_requests: 'many' }] }));
        return;
      case 'unauthorised':
        send(response, 401, JSON.stringify({ error: 'unauthorized', code: 'unauthorized', padding: '' }));
        return;
      default:
        break;
    }
    if (!response.destroyed) send(response, 200, documentJson(realmId));
  };

  const server = createServer((request, response) => {
    counters.requests += 1;
    counters.inFlight += 1;
    counters.maxInFlight = Math.max(counters.maxInFlight, counters.inFlight);
    let counted = true;
    const done = () => {
      if (!counted) return;
      counted = false;
      counters.inFlight -= 1;
    };
    response.on('close', done);
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, JSON.stringify({ error: String(error) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    realmUrl: (realmId) => `${url}/realms/${realmId}`,
    counters,
    misbehave(target, behaviour) {
      if (behaviour) behaviours.set(target, behaviour);
      else behaviours.delete(target);
    },
    documentFor: (realmId) => statsDocument(realmId, now(), options.days),
    resetCounters() {
      counters.requests = 0;
      counters.maxInFlight = counters.inFlight;
      counters.byRealm.clear();
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Public keys as the key server would have them registered: the system key under its kid, and
 * every realm key (kid r<realm>v<id>) looked up in signing_keys and read from the key manager.
 */
export function localKeyLookup(
  db: Db,
  keyManager: KeyManager,
  system: { readonly kid: string; readonly keyVersion: string },
): KeyLookup {
  return async (kid) => {
    if (kid === system.kid) return keyManager.getPublicKeyPem(system.keyVersion);
    const match = /^r(\d+)v(\d+)$/.exec(kid);
    if (!match) return undefined;
    const { rows } = await db.query<{ key_id: string }>(
      'SELECT key_id FROM signing_keys WHERE realm_id = $1 AND id = $2 AND deleted_at IS NULL',
      [Number(match[1]), Number(match[2])],
    );
    return rows.length === 0 ? undefined : keyManager.getPublicKeyPem(rows[0].key_id);
  };
}
