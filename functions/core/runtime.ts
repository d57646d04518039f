/**
 * One Runtime per function instance: the shared, lazily built dependencies every job handler uses.
 *
 * The runtime chooses nothing: its wiring, handed in at the edge, builds the signal sink and the
 * adapters (functions/wiring.ts for deployed functions, local/wiring.ts for the local fleet,
 * test/support for tests). What stays here is what every instance needs whatever its wiring: the
 * settings, the logger and its secret registry, the token verifier, the database pool and schema,
 * and each job's parsed settings.
 */
import { createOidcVerifier, noVerification } from './auth';
import type { InvocationVerifier } from './auth';
import type { Clock } from './clock';
import { systemClock } from './clock';
import type { ConfigSchema, Env } from './config';
import type { Db, DbSettings } from './db';
import { createPool } from './db';
import type { Logger, LineWriter, Severity } from './logger';
import { SecretRegistry, createLogger } from './logger';
import { resolvedAuthEdge, runtimeConfig } from './runtime-config';
import type { RuntimeSettings } from './runtime-config';
import type { SignalSink } from './signals';
import { guarded } from './signals';
import { socketDirectoryFor } from './cloud-sql-socket';
import type { CloudSqlTunnel, CloudSqlTunnelOpener } from './cloud-sql-socket';
import type { AdapterFactories, Adapters, LazyAdapters } from '../ports';
import { lazyAdapters } from '../ports';
import { migrate } from '../db/migrate';

/** Where the database is and who connects: the pool and a local pg_dump use the same. */
export type DatabaseAddress = Pick<
  DbSettings,
  'url' | 'host' | 'port' | 'database' | 'user' | 'password' | 'sslMode'
>;

/** What a wiring builds the sink and the adapters from: the runtime's own parts, never process.env. */
export interface RuntimeParts {
  readonly env: Env;
  readonly settings: RuntimeSettings;
  readonly clock: Clock;
  readonly logger: Logger;
  db(): Db;
  databaseAddress(): DatabaseAddress;
  /** Settings an adapter declares (SMTP_*, RATE_LIMIT_*), parsed once, like a job's. */
  jobConfig<C>(schema: ConfigSchema<C>): C;
}

/** What an entry decides for its runtimes: where signals go and how each adapter is built. */
export interface Wiring {
  /** Called once per runtime; both results may share clients (a Monitoring writer, say). */
  build(parts: RuntimeParts): { readonly signalSink: SignalSink; readonly adapters: AdapterFactories };
  /**
   * Opens the Cloud SQL connector's socket when CLOUD_SQL_INSTANCE is set; without one such an
   * instance refuses to reach the database, naming why.
   */
  readonly openCloudSqlTunnel?: CloudSqlTunnelOpener;
}

/** Replacements a test or a benchmark makes over its wiring. */
export interface RuntimeOverrides {
  clock?: Clock;
  logger?: Logger;
  writeLine?: LineWriter;
  sink?: SignalSink;
  verifier?: InvocationVerifier;
  db?: Db;
  /** Replaces some adapters; the rest are built by the wiring as usual. */
  adapters?: (db: Db) => Partial<Adapters>;
}

const SEVERITY: Record<RuntimeSettings['logLevel'], Severity> = {
  debug: 'DEBUG',
  info: 'INFO',
  warning: 'WARNING',
  error: 'ERROR',
};

export class Runtime implements RuntimeParts {
  readonly settings: RuntimeSettings;
  readonly clock: Clock;
  /** Values no log line, ledger row or answer of this runtime may carry. */
  readonly secrets = new SecretRegistry();
  readonly logger: Logger;
  readonly sink: SignalSink;
  readonly verifier: InvocationVerifier;
  private readonly factories: AdapterFactories;
  private pool?: Db;
  private built?: LazyAdapters;
  private schemaReady?: Promise<void>;
  /** The warm-up connection while it opens (warmUp): its error, or undefined; never rejects. */
  private warming?: Promise<Error | undefined>;
  /** The Cloud SQL connector's socket, opening; set with the pool when CLOUD_SQL_INSTANCE is. */
  private tunnel?: Promise<CloudSqlTunnel>;
  private readonly configs = new Map<ConfigSchema<unknown>, unknown>();

  /** Throws ConfigError when the shared settings are invalid: the instance must not start. */
  constructor(
    readonly env: Env,
    private readonly wiring: Wiring,
    private readonly overrides: RuntimeOverrides = {},
  ) {
    this.settings = runtimeConfig.parse(env);
    for (const field of runtimeConfig.fields) if (field.secret) this.secrets.add(env[field.env]);
    this.clock = overrides.clock ?? systemClock;
    this.logger =
      overrides.logger ??
      createLogger({
        write: overrides.writeLine,
        secrets: this.secrets,
        minSeverity: SEVERITY[this.settings.logLevel],
      });
    const wired = wiring.build(this);
    this.factories = wired.adapters;
    this.sink = guarded(overrides.sink ?? wired.signalSink, this.logger);
    this.verifier = overrides.verifier ?? this.defaultVerifier();
  }

  private defaultVerifier(): InvocationVerifier {
    const s = this.settings;
    if (s.authMode === 'none') {
      this.logger.warn(
        'AUTH_MODE=none: caller tokens are NOT verified; anyone who can reach this server can run jobs',
        { event: 'auth_disabled' },
      );
      return noVerification;
    }
    return createOidcVerifier(
      {
        issuer: s.oidcIssuer,
        jwksUrl: s.oidcJwksUrl,
        audience: s.oidcAudience,
        invokerEmails: s.oidcInvokerEmails,
        clockToleranceSeconds: s.oidcClockToleranceMs / 1000,
        edge: resolvedAuthEdge(s),
      },
      this.clock,
    );
  }

  databaseAddress(): DatabaseAddress {
    const s = this.settings;
    const viaConnector = s.cloudSqlInstance !== '' && s.databaseUrl === '';
    return {
      url: s.databaseUrl || undefined,
      host: viaConnector ? socketDirectoryFor(s.cloudSqlInstance) : s.dbHost,
      port: viaConnector ? 5432 : s.dbPort,
      database: s.dbName,
      user: s.dbUser,
      password: s.dbPassword || undefined,
      // Through the connector, TLS is the tunnel's own (mTLS to the instance).
      sslMode: viaConnector ? 'disable' : s.dbSslMode,
    };
  }

  /** What to check when the database cannot be reached, naming the settings in use. */
  databaseHint(): string {
    const s = this.settings;
    if (s.databaseUrl) return 'check DATABASE_URL';
    if (s.cloudSqlInstance) {
      return `check CLOUD_SQL_INSTANCE (${s.cloudSqlInstance}), CLOUD_SQL_IP_TYPE (${s.cloudSqlIpType}), DB_NAME, DB_USER and DB_PASSWORD`;
    }
    return `check DB_HOST (${s.dbHost}), DB_PORT (${s.dbPort}), DB_SSLMODE, DB_NAME, DB_USER and DB_PASSWORD; a private IP needs the function's VPC connector`;
  }

  db(): Db {
    if (!this.pool) {
      const s = this.settings;
      if (s.cloudSqlInstance !== '' && s.databaseUrl === '' && !this.overrides.db) this.openTunnel();
      this.pool =
        this.overrides.db ??
        createPool(
          {
            ...this.databaseAddress(),
            maxConnections: s.dbMaxConnections,
            connectTimeoutMs: s.dbConnectTimeoutMs,
            applicationName: s.cloudRunService || 'enx-jobs',
          },
          this.logger,
        );
    }
    return this.pool;
  }

  private openTunnel(): void {
    const s = this.settings;
    const open = this.wiring.openCloudSqlTunnel;
    this.tunnel = open
      ? open({
          instanceConnectionName: s.cloudSqlInstance,
          ipType: s.cloudSqlIpType,
          sqlAdminEndpoint: s.sqladminEndpoint || undefined,
        })
      : Promise.reject(
          new Error(
            'CLOUD_SQL_INSTANCE is set, but this entry was wired without the Cloud SQL connector; deploy the function from its archive (npm run build), or unset CLOUD_SQL_INSTANCE and set DB_HOST',
          ),
        );
    // A failed tunnel is reported by databaseReady(); opened again on the next request.
    this.tunnel.catch(() => undefined);
  }

  adapters(): Adapters {
    this.built ??= lazyAdapters(this.overrides.adapters?.(this.db()) ?? {}, this.factories);
    return this.built.adapters;
  }

  /**
   * Waits for the Cloud SQL connector's socket, when there is one; a failed one is retried next
   * time. A request that arrives while the warm-up connection is still opening waits for it rather
   * than opening a second one from the start, and meets its error, if any: a fresh one, so not
   * worth waiting out the connect timeout again. A warm-up that ended before is not looked at.
   */
  async databaseReady(): Promise<void> {
    const failed = await this.warming;
    if (failed) throw failed;
    this.db();
    if (!this.tunnel) return;
    try {
      await this.tunnel;
    } catch (error) {
      this.tunnel = undefined;
      this.pool = undefined;
      throw error;
    }
  }

  /**
   * Opens a database connection (and the Cloud SQL connector's socket) as the instance starts, so
   * that the first request finds it open: every attempt of every job needs the database, and
   * Cloud Run gives an instance CPU while it starts. Best effort: never throws, and a failure
   * reaches only a request that arrives while it is still connecting (databaseReady); later
   * requests open their own connection and report what is wrong.
   *
   * The promise resolves once the event loop has serviced I/O after the connect began, long
   * before the connection is ready: by then a socket that connected at once (loopback, the Cloud
   * SQL unix socket) has sent its startup message, and the database prepares the session while
   * the caller goes on with synchronous work. Without that turn the message waits behind the
   * Functions Framework building its server, and the first request waits for the session
   * (docs/decisions.md, "Cold start: the database session starts first"). It never waits on
   * the database itself.
   */
  warmUp(): Promise<void> {
    const warming = this.databaseReady()
      .then(() => this.db().connect())
      .then(
        (client) => {
          client.release();
          return undefined;
        },
        (error: unknown) => error as Error,
      );
    this.warming = warming;
    void warming.then(() => {
      if (this.warming === warming) this.warming = undefined;
    });
    return afterIoServiced();
  }

  /** Applies missing migrations once per instance (DB_MIGRATE=auto); a failure is retried next request. */
  async ensureSchema(): Promise<void> {
    await this.databaseReady();
    if (this.settings.dbMigrate === 'off') return;
    if (!this.schemaReady) {
      this.schemaReady = migrate(this.db()).then(
        (applied) => {
          if (applied.length > 0) this.logger.info('applied migrations', { event: 'migrated', applied });
        },
        (error) => {
          this.schemaReady = undefined;
          throw error;
        },
      );
    }
    return this.schemaReady;
  }

  /** Settings parsed once per instance (a job's, or an adapter's); throws ConfigError listing every problem. */
  jobConfig<C>(schema: ConfigSchema<C>): C {
    if (!this.configs.has(schema)) {
      const config = schema.parse(this.env);
      for (const field of schema.fields) if (field.secret) this.secrets.add(this.env[field.env]);
      this.configs.set(schema, config);
    }
    return this.configs.get(schema) as C;
  }

  async close(): Promise<void> {
    for (const adapter of this.built?.built() ?? []) await closeable(adapter)?.close();
    this.built = undefined;
    if (this.pool && !this.overrides.db) await this.pool.end();
    this.pool = undefined;
    (await this.tunnel?.catch(() => undefined))?.close();
    this.tunnel = undefined;
  }
}

/** An adapter that holds a connection (the Redis rate limiter) says so with a close() method. */
function closeable(adapter: unknown): { close(): Promise<void> | void } | undefined {
  const candidate = adapter as { close?: unknown } | null;
  return typeof candidate?.close === 'function' ? (candidate as { close(): Promise<void> }) : undefined;
}

/**
 * Resolves after the event loop's next poll phase. The first setImmediate runs at the end of the
 * current turn, before that turn polls again; the second at the end of the next turn, whose poll
 * has run the callbacks of I/O that completed meanwhile (Node.js, "The Node.js Event Loop").
 */
function afterIoServiced(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}
