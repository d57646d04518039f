/**
 * Starts the loopback upstreams the e2e probes call, each on its own 127.0.0.1 port like the real
 * services on their own hosts: the admin API, the device API, the key server (publish) and the
 * redirect service. They share the fleet's database and key manager, so codes land in
 * verification_codes, API keys are checked against authorized_apps and certificates are signed
 * with the realm keys rotation manages. One fault registry serves them all; every one of them
 * answers /__faults.
 */
import { randomBytes } from 'node:crypto';
import type { KeyManager, SecretStore } from '../../functions/ports';
import type { Db } from '../../functions/core/db';
import { localKeyLookup } from '../key-server-stats';
import { adminRoutes } from './admin-api';
import { ensureApiKeySecrets } from './api-key-secrets';
import type { SystemCertificateKey } from './certificates';
import { deviceRoutes } from './device-api';
import { Faults } from './faults';
import type { StandIn } from './http';
import { serveStandIn } from './http';
import { keyServerRoutes } from './key-server';
import { redirectRoutes } from './redirect';

export interface UpstreamsOptions {
  readonly db: Db;
  readonly keyManager: KeyManager;
  /** Where the api_key_* secrets' values live (the secrets table names the versions), as for ENX. */
  readonly secretStore: SecretStore;
  /** Where a first pair of api_key_* secrets is created when the database has none. */
  readonly secretsParent: string;
  readonly systemKey: SystemCertificateKey;
  /** The key server's one health authority (the probes' HEALTH_AUTHORITY_CODE). */
  readonly healthAuthorityId: string;
  readonly now?: () => Date;
  /** Region code of the realm the redirect stand-in plays; default the e2e realm (is_e2e). */
  readonly redirectRegionCode?: string;
}

export interface Upstreams {
  readonly adminApi: string;
  readonly deviceApi: string;
  readonly keyServer: string;
  readonly redirect: string;
  readonly faults: Faults;
  /** The environment that points the probes at these stand-ins. */
  env(): Record<string, string>;
  close(): Promise<void>;
}

export async function startUpstreams(options: UpstreamsOptions): Promise<Upstreams> {
  const now = options.now ?? (() => new Date());
  await ensureApiKeySecrets(options.db, options.secretStore, options.secretsParent, now());
  const faults = new Faults();
  const store = {
    db: options.db,
    secretStore: options.secretStore,
    codeHmacKey: randomBytes(32),
    now,
  };
  const started: StandIn[] = [];
  try {
    const serve = async (routes: Parameters<typeof serveStandIn>[0]) => {
      const standIn = await serveStandIn(routes, faults);
      started.push(standIn);
      return standIn.url;
    };
    const adminApi = await serve(adminRoutes(store));
    const deviceApi = await serve(
      deviceRoutes({ ...store, keyManager: options.keyManager, systemKey: options.systemKey }),
    );
    const keyServer = await serve(
      keyServerRoutes({
        db: options.db,
        keys: localKeyLookup(options.db, options.keyManager, options.systemKey),
        systemKey: options.systemKey,
        healthAuthorityId: options.healthAuthorityId,
        now,
      }),
    );
    const redirect = await serve(redirectRoutes({ db: options.db, regionCode: options.redirectRegionCode }));
    return {
      adminApi,
      deviceApi,
      keyServer,
      redirect,
      faults,
      env: () => ({
        VERIFICATION_ADMIN_API: adminApi,
        VERIFICATION_SERVER_API: deviceApi,
        KEY_SERVER: keyServer,
        ENX_REDIRECT_URL: redirect,
        HEALTH_AUTHORITY_CODE: options.healthAuthorityId,
      }),
      close: async () => {
        await Promise.all(started.map((standIn) => standIn.close()));
      },
    };
  } catch (error) {
    await Promise.all(started.map((standIn) => standIn.close()));
    throw error;
  }
}
