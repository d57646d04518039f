/**
 * Production wiring: which signal sink and which adapters a deployed function's runtime gets, from
 * its settings. The one place that names Google's implementations; the runtime (core/runtime.ts)
 * only receives them.
 *
 * Every Google client, and nodemailer and ioredis, is loaded on its adapter's first call
 * (adapters/deferred.ts): a cold start pays only for what its job touches. A function's own
 * archive (scripts/build.ts) goes further: the build sets ENX_OMIT_<ADAPTER> to "true" for every
 * adapter its job does not declare, esbuild folds the test below to a constant, and the adapter's
 * code is left out of the bundle. Outside a bundle (tsx, jest) the variables are unset and every
 * adapter is wired. The local
 * implementations (keys, secrets and dumps in the local database) are not wired here at all; the
 * local fleet adds them (local/wiring.ts), so a deployed archive cannot even contain them.
 */
import type { CloudSqlTunnelOpener } from './core/cloud-sql-socket';
import type { RuntimeParts, Wiring } from './core/runtime';
import type { SignalSink } from './core/signals';
import { LocalSignalSink, discardSignals } from './core/signals';
import type { AdapterFactories } from './ports';
import type { DatabaseExport } from './ports/database-export';
import { unavailableDatabaseExport } from './ports/database-export';
import type { GaugeWriter, MetricsExport } from './ports/gauges';
import { LocalGauges } from './ports/gauges';
import type { KeyManager } from './ports/key-manager';
import { unavailableKeyManager } from './ports/key-manager';
import type { Mailer } from './ports/mailer';
import type { RateLimiter } from './ports/rate-limiter';
import { noopRateLimiter } from './ports/rate-limiter';
import type { SecretStore } from './ports/secret-store';
import { unavailableSecretStore } from './ports/secret-store';
import { deferred } from './adapters/deferred';
import { StoredGauges, StoredSignalSink } from './db/stored-signals';
import { cloudSqlExportConfig } from './adapters/cloud-sql-export-config';
import { rateLimiterConfig } from './adapters/rate-limiter';
import { smtpConfig } from './adapters/smtp-settings';

/** Loaded on first use only: the connector brings the SQL Admin client, which most instances never need. */
const openCloudSqlTunnel: CloudSqlTunnelOpener = (settings) =>
  import('./adapters/cloud-sql-tunnel').then((tunnel) => tunnel.openCloudSqlTunnel(settings));

/** A Google gRPC client's options: a loopback stand-in when its endpoint setting is set. */
async function googleClientOptions(parts: RuntimeParts, endpoint: string) {
  const projectId = parts.settings.projectId;
  if (!endpoint) return { projectId: projectId || undefined };
  const { loopbackClientOptions } = await import('./adapters/loopback-grpc');
  return loopbackClientOptions(endpoint, projectId);
}

/** The fleet-watchdog's writer to Cloud Monitoring; the client loads on its first write. */
function cloudMonitoringExport(parts: RuntimeParts): MetricsExport {
  const s = parts.settings;
  return deferred(async () => {
    const [{ CloudMonitoringExport }, { createMonitoringWriter }] = await Promise.all([
      import('./adapters/cloud-monitoring-export'),
      import('./adapters/monitoring-writer'),
    ]);
    const writer = await createMonitoringWriter({ projectId: s.projectId, endpoint: s.monitoringEndpoint });
    return new CloudMonitoringExport(writer, { projectId: s.projectId, location: s.region }, parts.clock);
  });
}

function keyManager(parts: RuntimeParts): KeyManager {
  const s = parts.settings;
  if (s.keyManager !== 'google-cloud-kms')
    return unavailableKeyManager(localOnly('KEY_MANAGER', s.keyManager));
  return deferred(async () => {
    const [{ KeyManagementServiceClient }, { GoogleKmsKeyManager }] = await Promise.all([
      import('@google-cloud/kms'),
      import('./adapters/google-kms-key-manager'),
    ]);
    const client = new KeyManagementServiceClient(await googleClientOptions(parts, s.kmsEndpoint));
    return new GoogleKmsKeyManager(client, { protectionLevel: s.kmsProtectionLevel });
  });
}

function secretStore(parts: RuntimeParts): SecretStore {
  const s = parts.settings;
  if (s.secretManager !== 'google-secret-manager') {
    return unavailableSecretStore(localOnly('SECRET_MANAGER', s.secretManager));
  }
  return deferred(async () => {
    const [{ SecretManagerServiceClient }, { GoogleSecretStore }] = await Promise.all([
      import('@google-cloud/secret-manager'),
      import('./adapters/google-secret-store'),
    ]);
    return new GoogleSecretStore(
      new SecretManagerServiceClient(await googleClientOptions(parts, s.secretManagerEndpoint)),
    );
  });
}

/** A bad BACKUP_* setting fails only the export, naming the setting. */
function databaseExport(parts: RuntimeParts): DatabaseExport {
  const s = parts.settings;
  if (s.databaseExport !== 'cloud-sql') {
    return unavailableDatabaseExport(localOnly('DATABASE_EXPORT', s.databaseExport));
  }
  let config: ReturnType<typeof cloudSqlExportConfig.parse>;
  try {
    config = parts.jobConfig(cloudSqlExportConfig);
  } catch (error) {
    return unavailableDatabaseExport((error as Error).message);
  }
  return deferred(async () => {
    const { CloudSqlExport } = await import('./adapters/cloud-sql-export');
    return new CloudSqlExport({
      instance: config.backupInstance,
      bucket: config.backupBucket,
      databaseName: config.backupDatabaseName,
      ...(await sqlAdminAccess(s.sqladminEndpoint)),
    });
  });
}

/**
 * Where the Cloud SQL Admin API is and how requests are authorized: a loopback stand-in gets no
 * credentials at all; Google's gets the function's service account token (cloud-platform scope).
 */
async function sqlAdminAccess(
  endpoint: string,
): Promise<{ endpoint?: string; authorize: () => Promise<Record<string, string>> }> {
  if (endpoint) {
    const { loopbackHttpEndpoint } = await import('./adapters/loopback');
    return { endpoint: loopbackHttpEndpoint(endpoint), authorize: async () => ({}) };
  }
  const { GoogleAuth } = await import('google-auth-library');
  const auth = new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
  return { authorize: async () => Object.fromEntries((await auth.getRequestHeaders()).entries()) };
}

/**
 * The rate limiter, from the RATE_LIMIT_* settings the modeler declares (parsed on first use, so an
 * instance of another job never needs them). The Redis one connects on its first write.
 */
function rateLimiter(parts: RuntimeParts): RateLimiter {
  const settings = parts.jobConfig(rateLimiterConfig);
  if (settings.rateLimitType !== 'REDIS') return noopRateLimiter;
  return deferred(
    async () => new (await import('./adapters/redis-rate-limiter')).RedisRateLimiter(settings),
    { store: 'redis' },
  );
}

/** The SMTP mailer, from the SMTP_* settings the emailers declare, parsed on first use. */
function mailer(parts: RuntimeParts): Mailer {
  const settings = parts.jobConfig(smtpConfig);
  return deferred(async () => (await import('./adapters/smtp-mailer')).createSmtpMailer(settings));
}

/** Why a local choice fails here: the deployed wiring has no local implementation to give. */
function localOnly(setting: string, value: string): string {
  const google = {
    KEY_MANAGER: 'google-cloud-kms',
    SECRET_MANAGER: 'google-secret-manager',
    DATABASE_EXPORT: 'cloud-sql',
  };
  return `${setting}=${value} is only wired in the local fleet (npm start), not in a deployed function; set ${setting}=${google[setting as keyof typeof google]}`;
}

const notInArchive = (adapter: string) => (): never => {
  throw new Error(
    `this function's archive was built without the ${adapter} adapter, which its job does not declare (functions/jobs.ts)`,
  );
};

/**
 * The sink and the adapters the settings ask for. With SIGNALS_SINK=cloud-monitoring a function
 * records its signals in the database and only the fleet-watchdog writes to Cloud Monitoring
 * (db/stored-signals.ts says why); otherwise one in-memory LocalGauges takes both kinds of gauges.
 */
export function productionAdapters(parts: RuntimeParts): {
  signalSink: SignalSink;
  adapters: AdapterFactories;
} {
  const toCloudMonitoring = parts.settings.signalsSink === 'cloud-monitoring';
  let local: LocalGauges | undefined;
  const localGauges = () => (local ??= new LocalGauges());
  const sinks: Record<typeof parts.settings.signalsSink, () => SignalSink> = {
    'cloud-monitoring': () => new StoredSignalSink(parts.db(), parts.clock),
    local: () => new LocalSignalSink(),
    none: () => discardSignals,
  };
  const gauges = (): GaugeWriter =>
    toCloudMonitoring ? new StoredGauges(parts.db(), parts.clock) : localGauges();
  return {
    signalSink: sinks[parts.settings.signalsSink](),
    // Each test is spelled out: esbuild replaces a `process.env.ENX_OMIT_*` only where it is
    // written literally, and folds the condition only where it stands alone.
    adapters: {
      keyManager:
        process.env.ENX_OMIT_KEY_MANAGER === 'true' ? notInArchive('keyManager') : () => keyManager(parts),
      gauges: process.env.ENX_OMIT_GAUGES === 'true' ? notInArchive('gauges') : gauges,
      metricsExport:
        process.env.ENX_OMIT_METRICS_EXPORT === 'true'
          ? notInArchive('metricsExport')
          : (): MetricsExport => (toCloudMonitoring ? cloudMonitoringExport(parts) : localGauges()),
      secretStore:
        process.env.ENX_OMIT_SECRET_STORE === 'true' ? notInArchive('secretStore') : () => secretStore(parts),
      databaseExport:
        process.env.ENX_OMIT_DATABASE_EXPORT === 'true'
          ? notInArchive('databaseExport')
          : () => databaseExport(parts),
      rateLimiter:
        process.env.ENX_OMIT_RATE_LIMITER === 'true' ? notInArchive('rateLimiter') : () => rateLimiter(parts),
      mailer: process.env.ENX_OMIT_MAILER === 'true' ? notInArchive('mailer') : () => mailer(parts),
    },
  };
}

export const productionWiring: Wiring = { build: productionAdapters, openCloudSqlTunnel };
