/**
 * One Runtime per function instance: the shared, lazily built dependencies every job handler uses.
 * Tests and the local fleet build their own with overrides; deployed functions use the default one
 * built from process.env.
 */
import { createOidcVerifier, noVerification } from './auth';
import type { InvocationVerifier } from './auth';
import type { Clock } from './clock';
import { systemClock } from './clock';
import type { ConfigSchema, Env } from './config';
import type { Db } from './db';
import { createPool } from './db';
import type { Logger, LineWriter, Severity } from './logger';
import { createLogger, processSecrets } from './logger';
import { resolvedAuthEdge, runtimeConfig } from './runtime-config';
import type { RuntimeSettings } from './runtime-config';
import type { SignalSink } from './signals';
import { discardSignals, guarded, LocalSignalSink } from './signals';
import type { Adapters } from '../adapters';
import { lazyAdapters } from '../adapters';
import { CloudMonitoringSink } from '../adapters/cloud-monitoring-sink';
import { LocalGauges } from '../adapters/gauges';
import { LocalKeyManager } from '../adapters/local-key-manager';
import { LocalSecretStore } from '../adapters/local-secret-store';
import { LocalDatabaseExport } from '../adapters/local-database-export';
import { CloudSqlExport } from '../adapters/cloud-sql-export';
import { cloudSqlExportConfig } from '../adapters/cloud-sql-export-config';
import { GoogleKmsKeyManager } from '../adapters/google-kms-key-manager';
import { GoogleSecretStore } from '../adapters/google-secret-store';
import { loopbackHttpEndpoint } from '../adapters/loopback';
import { socketDirectoryFor } from './cloud-sql-socket';
import type { CloudSqlTunnel, CloudSqlTunnelOpener } from './cloud-sql-socket';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { GoogleAuth } from 'google-auth-library';
import type { DatabaseExport } from '../adapters/database-export';
import { pgConnection } from '../adapters/pg-connection';
import type { SecretStore } from '../adapters/secret-store';
import { unavailableKeyManager } from '../adapters/key-manager';
import { unavailableDatabaseExport } from '../adapters/database-export';
import { unavailableSecretStore } from '../adapters/secret-store';
import type { KeyManager } from '../adapters/key-manager';
import { loopbackClientOptions } from '../adapters/loopback';
import { MetricServiceClient } from '@google-cloud/monitoring';
import { migrate } from '../db/migrate';
import type { RateLimiter } from '../adapters/rate-limiter';
import { noopRateLimiter, rateLimiterConfig } from '../adapters/rate-limiter';
import { RedisRateLimiter } from '../adapters/redis-rate-limiter';
import type { Mailer } from '../adapters/mailer';
import { createSmtpMailer } from '../adapters/smtp-mailer';
import { smtpConfig } from '../adapters/smtp-settings';

export interface RuntimeOverrides {
  clock?: Clock;
  logger?: Logger;
  writeLine?: LineWriter;
  sink?: SignalSink;
  verifier?: InvocationVerifier;
  db?: Db;
  /** Replaces some adapters; the rest are built from the settings as usual. */
  adapters?: (db: Db) => Partial<Adapters>;
  /**
   * Opens the Cloud SQL connector's socket when CLOUD_SQL_INSTANCE is set. The deployed entry
   * (functions/index.ts) hands in the connector; without an opener such an instance refuses to
   * reach the database, naming why.
   */
  openCloudSqlTunnel?: CloudSqlTunnelOpener;
}

const SEVERITY: Record<RuntimeSettings['logLevel'], Severity> = {
  debug: 'DEBUG',
  info: 'INFO',
  warning: 'WARNING',
  error: 'ERROR',
};

export class Runtime {
  readonly settings: RuntimeSettings;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly sink: SignalSink;
  readonly verifier: InvocationVerifier;
  private pool?: Db;
  private monitoringSink?: CloudMonitoringSink;
  /** The watchdog's gauges when they are not sent to Cloud Monitoring; the local status page reads them. */
  readonly localGauges = new LocalGauges();
  private builtAdapters?: Adapters;
  /** Kept apart so close() can end its Redis connection. */
  private builtRateLimiter?: RateLimiter;
  private schemaReady?: Promise<void>;
  /** The Cloud SQL connector's socket, opening; set with the pool when CLOUD_SQL_INSTANCE is. */
  private tunnel?: Promise<CloudSqlTunnel>;
  private readonly jobConfigs = new Map<string, unknown>();

  /** Throws ConfigError when the shared settings are invalid: the instance must not start. */
  constructor(
    readonly env: Env = process.env,
    private readonly overrides: RuntimeOverrides = {},
  ) {
    this.settings = runtimeConfig.parse(env);
    for (const field of runtimeConfig.fields) if (field.secret) processSecrets.add(env[field.env]);
    this.clock = overrides.clock ?? systemClock;
    this.logger =
      overrides.logger ??
      createLogger({ write: overrides.writeLine, minSeverity: SEVERITY[this.settings.logLevel] });
    this.sink = guarded(overrides.sink ?? this.defaultSink(), this.logger);
    this.verifier =
      overrides.verifier ??
      (this.settings.authMode === 'none'
        ? noVerification
        : createOidcVerifier(
            {
              issuer: this.settings.oidcIssuer,
              jwksUrl: this.settings.oidcJwksUrl,
              audience: this.settings.oidcAudience,
              invokerEmails: this.settings.oidcInvokerEmails,
              clockToleranceSeconds: this.settings.oidcClockToleranceMs / 1000,
              edge: resolvedAuthEdge(this.settings),
            },
            this.clock,
          ));
    if (this.settings.authMode === 'none') {
      this.logger.warn(
        'AUTH_MODE=none: caller tokens are NOT verified; anyone who can reach this server can run jobs',
        {
          event: 'auth_disabled',
        },
      );
    }
  }

  private defaultSink(): SignalSink {
    switch (this.settings.signalsSink) {
      case 'none':
        return discardSignals;
      case 'local':
        return new LocalSignalSink();
      case 'cloud-monitoring':
        return this.monitoring();
    }
  }

  /** The Cloud Monitoring writer, shared by the signal sink and the watchdog's gauges. */
  private monitoring(): CloudMonitoringSink {
    if (!this.monitoringSink) {
      const s = this.settings;
      const client = new MetricServiceClient(
        s.monitoringEndpoint
          ? loopbackClientOptions(s.monitoringEndpoint, s.projectId)
          : { projectId: s.projectId },
      );
      this.monitoringSink = new CloudMonitoringSink(
        client,
        { projectId: s.projectId, location: s.region },
        this.db(),
        this.clock,
      );
    }
    return this.monitoringSink;
  }

  /** Where the database is and who connects: the pool and the local pg_dump use the same. */
  private databaseAddress() {
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
      sslMode: viaConnector ? ('disable' as const) : s.dbSslMode,
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
      if (s.cloudSqlInstance !== '' && s.databaseUrl === '' && !this.overrides.db) {
        const open = this.overrides.openCloudSqlTunnel;
        this.tunnel = open
          ? open({
              instanceConnectionName: s.cloudSqlInstance,
              ipType: s.cloudSqlIpType,
              sqlAdminEndpoint: s.sqladminEndpoint ? loopbackHttpEndpoint(s.sqladminEndpoint) : undefined,
            })
          : Promise.reject(
              new Error(
                'CLOUD_SQL_INSTANCE is set, but this entry was built without the Cloud SQL connector; deploy functions/index.ts, or unset CLOUD_SQL_INSTANCE and set DB_HOST',
              ),
            );
        // A failed tunnel is reported by databaseReady(); opened again on the next request.
        this.tunnel.catch(() => undefined);
      }
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

  adapters(): Adapters {
    if (!this.builtAdapters) {
      const chosen = this.overrides.adapters?.(this.db()) ?? {};
      const defaults: { [K in keyof Adapters]: () => Adapters[K] } = {
        keyManager: () => this.keyManager(),
        gauges: () =>
          this.settings.signalsSink === 'cloud-monitoring' ? this.monitoring() : this.localGauges,
        secretStore: () => this.secretStore(),
        databaseExport: () => this.databaseExport(),
        rateLimiter: () => this.rateLimiter(),
        mailer: () => this.mailer(),
      };
      this.builtAdapters = lazyAdapters(chosen, defaults);
    }
    return this.builtAdapters;
  }

  /**
   * The SMTP mailer, from the SMTP_* settings the emailer jobs declare (parsed on first use, once,
   * like a job's settings, so an instance that never mails never needs them).
   */
  private mailer(): Mailer {
    return createSmtpMailer(this.jobConfig('smtp', smtpConfig));
  }

  /**
   * The rate limiter, from the RATE_LIMIT_* settings the modeler declares (parsed here, on first
   * use, so an instance of another job never needs them). The Redis one connects on its first write.
   */
  private rateLimiter(): RateLimiter {
    const settings = this.jobConfig('rate-limiter', rateLimiterConfig);
    this.builtRateLimiter =
      settings.rateLimitType === 'REDIS' ? new RedisRateLimiter(settings) : noopRateLimiter;
    return this.builtRateLimiter;
  }

  /**
   * The key manager the settings ask for. Choices that cannot work here do not stop the instance:
   * jobs that never touch keys (the watchdog, most of cleanup) run, and only a call into the key
   * manager fails, with the reason.
   */
  private keyManager(): KeyManager {
    const s = this.settings;
    if (s.keyManager === 'google-cloud-kms') {
      const client = new KeyManagementServiceClient(this.googleClientOptions(s.kmsEndpoint));
      return new GoogleKmsKeyManager(client, { protectionLevel: s.kmsProtectionLevel });
    }
    if (s.cloudRunService === '') return new LocalKeyManager(this.db(), this.clock);
    return unavailableKeyManager(
      'KEY_MANAGER=local keeps keys in the database and is refused on Cloud Run; set KEY_MANAGER=google-cloud-kms',
    );
  }

  /** A Google gRPC client's options: a loopback stand-in when its endpoint setting is set. */
  private googleClientOptions(endpoint: string) {
    const s = this.settings;
    return endpoint ? loopbackClientOptions(endpoint, s.projectId) : { projectId: s.projectId || undefined };
  }

  /** The secret store the settings ask for; like the key manager, a refused choice fails only its calls. */
  private secretStore(): SecretStore {
    const s = this.settings;
    if (s.secretManager === 'google-secret-manager') {
      const client = new SecretManagerServiceClient(this.googleClientOptions(s.secretManagerEndpoint));
      return new GoogleSecretStore(client);
    }
    if (s.cloudRunService === '') return new LocalSecretStore(this.db(), this.clock);
    return unavailableSecretStore(
      'SECRET_MANAGER=local keeps secret values in the database and is refused on Cloud Run; set SECRET_MANAGER=google-secret-manager',
    );
  }

  /** The database export the settings ask for; a refused choice or bad setting fails only the export. */
  private databaseExport(): DatabaseExport {
    const s = this.settings;
    if (s.databaseExport === 'cloud-sql') {
      try {
        const config = this.jobConfig('cloud-sql-export', cloudSqlExportConfig);
        return new CloudSqlExport({
          instance: config.backupInstance,
          bucket: config.backupBucket,
          databaseName: config.backupDatabaseName,
          ...this.sqlAdminAccess(),
        });
      } catch (error) {
        return unavailableDatabaseExport((error as Error).message);
      }
    }
    if (s.cloudRunService !== '') {
      return unavailableDatabaseExport(
        'DATABASE_EXPORT=local-pg-dump writes to the local disk and is refused on Cloud Run; set DATABASE_EXPORT=cloud-sql',
      );
    }
    return new LocalDatabaseExport(this.db(), {
      connection: pgConnection(this.databaseAddress()),
      directory: s.localBackupDir,
      pgDumpPath: s.pgDumpPath,
    });
  }

  /**
   * Where the Cloud SQL Admin API is and how requests are authorized: a loopback stand-in gets no
   * credentials at all; Google's gets the function's service account token (cloud-platform scope).
   */
  private sqlAdminAccess(): { endpoint?: string; authorize: () => Promise<Record<string, string>> } {
    const endpoint = this.settings.sqladminEndpoint;
    if (endpoint) return { endpoint: loopbackHttpEndpoint(endpoint), authorize: async () => ({}) };
    const auth = new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
    return { authorize: async () => Object.fromEntries((await auth.getRequestHeaders()).entries()) };
  }

  /** Waits for the Cloud SQL connector's socket, when there is one; a failed one is retried next time. */
  async databaseReady(): Promise<void> {
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

  /** The job's settings, parsed once per instance; throws ConfigError listing every problem. */
  jobConfig<C>(jobId: string, schema: ConfigSchema<C>): C {
    if (!this.jobConfigs.has(jobId)) {
      const config = schema.parse(this.env);
      for (const field of schema.fields) if (field.secret) processSecrets.add(this.env[field.env]);
      this.jobConfigs.set(jobId, config);
    }
    return this.jobConfigs.get(jobId) as C;
  }

  async close(): Promise<void> {
    await this.builtRateLimiter?.close();
    this.builtRateLimiter = undefined;
    if (this.pool && !this.overrides.db) await this.pool.end();
    this.pool = undefined;
    (await this.tunnel?.catch(() => undefined))?.close();
    this.tunnel = undefined;
  }
}
