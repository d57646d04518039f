/**
 * The local fleet's wiring: production's (functions/wiring.ts), plus the local implementations the
 * deployed archives never contain: keys, secret versions and dumps kept in and next to the local
 * database. Which one a function gets still follows its settings (KEY_MANAGER, SECRET_MANAGER,
 * DATABASE_EXPORT), whose local values local-env.ts sets; a test can point one at a loopback Google
 * stand-in instead.
 *
 * The local choices refuse to work where K_SERVICE is set: a shell that leaks Cloud Run's variables
 * must not keep production keys in a database.
 */
import type { Wiring } from '../functions/core/runtime';
import type { AdapterFactories } from '../functions/ports';
import { productionAdapters, productionWiring } from '../functions/wiring';
import { LocalDatabaseExport } from '../functions/adapters/local-database-export';
import { LocalKeyManager } from '../functions/adapters/local-key-manager';
import { LocalSecretStore } from '../functions/adapters/local-secret-store';
import { pgConnection } from '../functions/adapters/pg-connection';
import { unavailableDatabaseExport } from '../functions/ports/database-export';
import { unavailableKeyManager } from '../functions/ports/key-manager';
import { unavailableSecretStore } from '../functions/ports/secret-store';

export const localWiring: Wiring = {
  ...productionWiring,
  build(parts) {
    const production = productionAdapters(parts);
    const s = parts.settings;
    /** The local implementation when the setting asks for it, refused where K_SERVICE is set. */
    const localWhen = <K extends keyof AdapterFactories>(
      key: K,
      chosen: boolean,
      refusal: (reason: string) => ReturnType<AdapterFactories[K]>,
      reason: string,
      build: () => ReturnType<AdapterFactories[K]>,
    ): AdapterFactories[K] =>
      (() => {
        if (!chosen) return production.adapters[key]();
        return s.cloudRunService !== '' ? refusal(reason) : build();
      }) as AdapterFactories[K];
    return {
      signalSink: production.signalSink,
      adapters: {
        ...production.adapters,
        keyManager: localWhen(
          'keyManager',
          s.keyManager === 'local',
          unavailableKeyManager,
          'KEY_MANAGER=local keeps keys in the database and is refused on Cloud Run; set KEY_MANAGER=google-cloud-kms',
          () => new LocalKeyManager(parts.db(), parts.clock),
        ),
        secretStore: localWhen(
          'secretStore',
          s.secretManager === 'local',
          unavailableSecretStore,
          'SECRET_MANAGER=local keeps secret values in the database and is refused on Cloud Run; set SECRET_MANAGER=google-secret-manager',
          () => new LocalSecretStore(parts.db(), parts.clock),
        ),
        databaseExport: localWhen(
          'databaseExport',
          s.databaseExport === 'local-pg-dump',
          unavailableDatabaseExport,
          'DATABASE_EXPORT=local-pg-dump writes to the local disk and is refused on Cloud Run; set DATABASE_EXPORT=cloud-sql',
          () =>
            new LocalDatabaseExport(parts.db(), {
              connection: pgConnection(parts.databaseAddress()),
              directory: s.localBackupDir,
              pgDumpPath: s.pgDumpPath,
            }),
        ),
      },
    };
  },
};
