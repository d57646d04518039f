/**
 * Crash injection for the rotation jobs: the key manager, the secret store and the job's database
 * are wrapped so that the N-th call at a boundary fails, either
 *
 * - `fail`: that one call throws (before it happens, or after it happened with its answer lost) and
 *   the job carries on with its error handling, as with a transient KMS or database error; or
 * - `kill`: that call and every later one throw, as if the instance died there (open transactions
 *   roll back, as they do when a connection drops: ROLLBACK is let through).
 *
 * Every call is a boundary: "created in KMS" and "recorded" are separate calls, so are "recorded"
 * and "activated" and every BEGIN and COMMIT in between. The upstream stand-ins (local KMS and
 * secret store) use the raw database; only the job's own view goes through the wrapper.
 *
 * Also here: snapshots of the key and secret state, and the invariants checked after every run.
 */
import type { Pool, PoolClient } from 'pg';
import type { KeyManager } from '../../functions/ports/key-manager';
import type { SecretStore } from '../../functions/ports/secret-store';
import type { Db } from '../../functions/core/db';

export class InjectedCrash extends Error {
  override readonly name = 'InjectedCrash';
}

export type CrashMode = 'fail' | 'kill';

/** Where a crash happens: the point-th boundary, before or after the call it names. */
export interface CrashPoint {
  readonly call: number;
  readonly when: 'before' | 'after';
  readonly mode: CrashMode;
}

export class CrashPlan {
  private count = 0;
  private point?: CrashPoint;
  private killed = false;
  /** Labels of the calls made so far in this run (for naming the crash point in a failure). */
  readonly labels: string[] = [];
  fired?: string;

  arm(point: CrashPoint | undefined): void {
    this.count = 0;
    this.point = point;
    this.killed = false;
    this.fired = undefined;
    this.labels.length = 0;
  }

  get calls(): number {
    return this.count;
  }

  /** Runs one boundary call, crashing around it as planned. */
  async around<T>(label: string, call: () => Promise<T>): Promise<T> {
    this.count += 1;
    this.labels.push(label);
    const point = this.point;
    if (this.killed) throw new InjectedCrash(`killed before ${label}`);
    if (point && point.call === this.count && point.when === 'before') this.crash(`before ${label}`);
    const result = await call();
    if (point && point.call === this.count && point.when === 'after') this.crash(`after ${label}`);
    return result;
  }

  private crash(where: string): never {
    this.fired = `${this.point?.mode} ${where} (call ${this.count})`;
    if (this.point?.mode === 'kill') this.killed = true;
    throw new InjectedCrash(`injected ${this.fired}`);
  }
}

function wrapMethods<T extends object>(inner: T, plan: CrashPlan, prefix: string): T {
  return new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        plan.around(`${prefix}.${String(property)}`, () =>
          (value as (...a: unknown[]) => Promise<unknown>).apply(target, args),
        );
    },
  });
}

export function crashingKeyManager(inner: KeyManager, plan: CrashPlan): KeyManager {
  return wrapMethods(inner, plan, 'kms');
}

export function crashingSecretStore(inner: SecretStore, plan: CrashPlan): SecretStore {
  return wrapMethods(inner, plan, 'secrets');
}

function statementLabel(args: unknown[]): string {
  const text = typeof args[0] === 'string' ? args[0] : String((args[0] as { text?: string })?.text);
  return `db:${text.trim().split(/\s+/).slice(0, 3).join(' ')}`;
}

/** ROLLBACK always goes through: a dead instance's transactions end when its connection drops. */
function isRollback(args: unknown[]): boolean {
  return typeof args[0] === 'string' && args[0].trim().toUpperCase() === 'ROLLBACK';
}

function wrapClient(client: PoolClient, plan: CrashPlan): PoolClient {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'query') {
        return (...args: unknown[]) =>
          isRollback(args)
            ? (target.query as (...a: unknown[]) => Promise<unknown>).apply(target, args)
            : plan.around(statementLabel(args), () =>
                (target.query as (...a: unknown[]) => Promise<unknown>).apply(target, args),
              );
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** The job's database: every statement, on the pool or on a transaction's client, is a boundary. */
export function crashingDb(pool: Pool, plan: CrashPlan): Db {
  return new Proxy(pool, {
    get(target, property, receiver) {
      if (property === 'query') {
        return (...args: unknown[]) =>
          plan.around(statementLabel(args), () =>
            (target.query as (...a: unknown[]) => Promise<unknown>).apply(target, args),
          );
      }
      if (property === 'connect') {
        return async () => wrapClient(await target.connect(), plan);
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as Db;
}

/** Tables whose state the rotation jobs and their upstream stand-ins own; snapshot and restore. */
export const KEY_STATE_TABLES = [
  'token_signing_keys',
  'signing_keys',
  'secrets',
  'audit_entries',
  'enx_jobs_local_kms_versions',
  'enx_jobs_local_kms_keys',
  'enx_jobs_local_secret_versions',
  'enx_jobs_local_secrets',
] as const;

export async function saveSnapshot(pool: Pool, name: string): Promise<void> {
  for (const table of KEY_STATE_TABLES) {
    await pool.query(`DROP TABLE IF EXISTS snap_${name}_${table}`);
    await pool.query(`CREATE TABLE snap_${name}_${table} AS SELECT * FROM ${table}`);
  }
}

export async function restoreSnapshot(pool: Pool, name: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`TRUNCATE ${KEY_STATE_TABLES.join(', ')}`);
    // Parents before children (versions reference their keys).
    for (const table of [...KEY_STATE_TABLES].reverse()) {
      await client.query(`INSERT INTO ${table} SELECT * FROM snap_${name}_${table}`);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}

export interface InvariantSettings {
  readonly tokenKey: string;
  readonly keyRing: string;
  readonly secretsParent: string;
  readonly maxKeyVersions: number;
  /** Realm keys: a retired key may be destroyed only this long after retirement. */
  readonly realmGraceMs: number;
  readonly secretActivationTtlMs: number;
  readonly secretDestroyTtlMs: number;
}

interface Version {
  name: string;
  state: string;
  created_at: Date;
  destroyed_at: Date | null;
}

/**
 * The invariants, checked against the database and the upstream stand-ins after every run. It
 * remembers what it saw between checks (which keys were once active, which secrets once live), so
 * "never destroyed while in use" can be judged after the rows are gone.
 */
export class KeyInvariants {
  private tokenEverActive = false;
  private readonly realmsEverActive = new Set<number>();
  private readonly typesEverActive = new Set<string>();
  /** Realm key versions seen in live rows, with their retirement time when seen inactive. */
  private readonly realmLive = new Map<string, { retiredAt?: Date }>();
  /** Secret versions seen live: were they ever active, when were they retired, marked. */
  private readonly secretLive = new Map<string, { active: boolean; retiredAt?: Date; markedAt?: Date }>();
  checks = 0;

  constructor(
    private readonly pool: Pool,
    private readonly settings: InvariantSettings,
  ) {}

  private async versions(where: string, params: unknown[], table: string): Promise<Version[]> {
    const { rows } = await this.pool.query<Version>(
      `SELECT name, state, created_at, destroyed_at FROM ${table} WHERE ${where}`,
      params,
    );
    return rows;
  }

  /** Throws naming every broken invariant. `settled` adds the ones a normal run must restore. */
  async check(context: string, options: { settled: boolean }): Promise<void> {
    this.checks += 1;
    const problems: string[] = [];
    const s = this.settings;

    // Token-signing key.
    const { rows: tokenRows } = await this.pool.query<{ key_version_id: string; is_active: boolean }>(
      'SELECT key_version_id, is_active FROM token_signing_keys',
    );
    const tokenVersions = await this.versions('key_name = $1', [s.tokenKey], 'enx_jobs_local_kms_versions');
    const activeTokens = tokenRows.filter((row) => row.is_active);
    if (activeTokens.length > 1) problems.push(`${activeTokens.length} active token keys`);
    if (this.tokenEverActive && activeTokens.length !== 1) problems.push('the active token key was lost');
    if (activeTokens.length === 1) {
      this.tokenEverActive = true;
      const version = tokenVersions.find((v) => v.name === activeTokens[0].key_version_id);
      if (version?.state !== 'ENABLED') problems.push(`the active token key's version is ${version?.state}`);
    }
    if (tokenVersions.some((v) => v.state !== 'ENABLED')) {
      problems.push('a token key version was destroyed (only cleanup-worker may, and it did not run)');
    }
    const tokenRecorded = new Set(tokenRows.map((row) => row.key_version_id));
    const tokenOrphans = tokenVersions.filter((v) => v.state === 'ENABLED' && !tokenRecorded.has(v.name));
    if (tokenOrphans.length > (options.settled ? 0 : 1)) {
      problems.push(`${tokenOrphans.length} unrecorded token key version(s)`);
    }

    // Realm certificate keys.
    const { rows: realmRows } = await this.pool.query<{
      realm_id: number;
      key_id: string;
      active: boolean;
      updated_at: Date;
      deleted_at: Date | null;
    }>('SELECT realm_id, key_id, active, updated_at, deleted_at FROM signing_keys');
    const realmVersions = await this.versions(
      'key_name LIKE $1',
      [`${s.keyRing}/cryptoKeys/realm-%`],
      'enx_jobs_local_kms_versions',
    );
    const byName = new Map(realmVersions.map((v) => [v.name, v]));
    const realmIds = new Set(realmRows.map((row) => row.realm_id));
    for (const realm of realmIds) {
      const live = realmRows.filter((row) => row.realm_id === realm && row.deleted_at === null);
      const active = live.filter((row) => row.active);
      if (active.length > 1) problems.push(`realm ${realm} has ${active.length} active keys`);
      if (this.realmsEverActive.has(realm) && active.length === 0)
        problems.push(`realm ${realm} lost its active key`);
      if (active.length > 0) this.realmsEverActive.add(realm);
      if (live.length > s.maxKeyVersions) {
        problems.push(`realm ${realm} has ${live.length} keys, over DB_MAX_KEY_VERSIONS ${s.maxKeyVersions}`);
      }
    }
    for (const row of realmRows) {
      const version = byName.get(row.key_id);
      if (row.deleted_at === null) {
        if (version?.state !== 'ENABLED') problems.push(`live realm key ${row.key_id} is ${version?.state}`);
        const seen = this.realmLive.get(row.key_id) ?? {};
        seen.retiredAt = row.active ? undefined : row.updated_at;
        this.realmLive.set(row.key_id, seen);
      }
    }
    for (const version of realmVersions) {
      const seen = this.realmLive.get(version.name);
      if (version.state !== 'ENABLED' && seen) {
        if (!seen.retiredAt || !version.destroyed_at) {
          problems.push(`realm key ${version.name} was destroyed while active`);
        } else if (version.destroyed_at.getTime() - seen.retiredAt.getTime() < s.realmGraceMs) {
          problems.push(`realm key ${version.name} was destroyed inside its grace after retirement`);
        }
      }
    }
    const realmRecorded = new Set(realmRows.map((row) => row.key_id));
    const realmLiveRecorded = new Set(
      realmRows.filter((row) => row.deleted_at === null).map((row) => row.key_id),
    );
    const keysWithVersions = new Set(
      realmVersions.map((v) => v.name.replace(/\/cryptoKeyVersions\/.*$/, '')),
    );
    for (const key of keysWithVersions) {
      const unrecorded = realmVersions.filter(
        (v) => v.name.startsWith(`${key}/`) && v.state === 'ENABLED' && !realmRecorded.has(v.name),
      );
      if (unrecorded.length > 1) problems.push(`${unrecorded.length} unrecorded versions of ${key}`);
    }
    if (options.settled) {
      const stray = realmVersions.filter((v) => v.state === 'ENABLED' && !realmLiveRecorded.has(v.name));
      if (stray.length > 0) {
        problems.push(
          `realm key versions enabled without a live row: ${stray.map((v) => v.name).join(', ')}`,
        );
      }
    }

    // Secrets.
    const { rows: secretRows } = await this.pool.query<{
      type: string;
      reference: string;
      active: boolean;
      created_at: Date;
      updated_at: Date;
      deleted_at: Date | null;
    }>('SELECT type, reference, active, created_at, updated_at, deleted_at FROM secrets');
    const secretVersions = await this.versions(
      'secret_name LIKE $1',
      [`${s.secretsParent}/%`],
      'enx_jobs_local_secret_versions',
    );
    const secretByName = new Map(secretVersions.map((v) => [v.name, v]));
    for (const type of new Set(secretRows.map((row) => row.type))) {
      const active = secretRows.filter((row) => row.type === type && row.active && row.deleted_at === null);
      if (this.typesEverActive.has(type) && active.length === 0)
        problems.push(`${type} lost its last active secret`);
      if (active.length > 0) this.typesEverActive.add(type);
    }
    for (const row of secretRows) {
      const version = secretByName.get(row.reference);
      if (row.deleted_at === null && version?.state !== 'ENABLED') {
        problems.push(`live secret ${row.reference} is ${version?.state}`);
      }
      const seen = this.secretLive.get(row.reference);
      if (row.deleted_at === null) {
        const entry = seen ?? { active: false };
        entry.active ||= row.active;
        if (!row.active && row.updated_at > row.created_at) entry.retiredAt = row.updated_at;
        this.secretLive.set(row.reference, entry);
      } else if (seen && !seen.markedAt) {
        seen.markedAt = row.deleted_at;
        if (seen.active) {
          const retiredAt = row.updated_at;
          if (row.deleted_at.getTime() - retiredAt.getTime() < s.secretActivationTtlMs) {
            problems.push(
              `secret ${row.reference} was marked for deletion inside its grace after retirement`,
            );
          }
        }
      }
    }
    for (const version of secretVersions) {
      const seen = this.secretLive.get(version.name);
      if (version.state === 'DESTROYED' && seen) {
        if (!seen.markedAt || !version.destroyed_at) {
          problems.push(`secret ${version.name} was destroyed while in use`);
        } else if (version.destroyed_at.getTime() - seen.markedAt.getTime() <= s.secretDestroyTtlMs) {
          problems.push(`secret ${version.name} was destroyed before SECRET_DESTROY_TTL passed`);
        }
      }
    }
    const secretRecorded = new Set(secretRows.map((row) => row.reference));
    const secretsWithVersions = new Set(secretVersions.map((v) => v.name.replace(/\/versions\/\d+$/, '')));
    for (const secret of secretsWithVersions) {
      const unrecorded = secretVersions.filter(
        (v) => v.name.startsWith(`${secret}/`) && v.state !== 'DESTROYED' && !secretRecorded.has(v.name),
      );
      if (unrecorded.length > (options.settled ? 0 : 1)) {
        problems.push(`${unrecorded.length} unrecorded versions of ${secret}`);
      }
    }
    if (
      secretByName.size > 0 &&
      [...secretByName.values()].some((v) => v.state === 'DESTROYED' && !v.destroyed_at)
    ) {
      problems.push('a destroyed secret version has no destruction time');
    }

    if (problems.length > 0) throw new Error(`${context}: ${problems.join('; ')}`);
  }
}
