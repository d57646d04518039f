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
    const onCloudRun = s.cloudRunService !== '';
    return {
      signalSink: production.signalSink,
      adapters: {
        ...production.adapters,
        keyManager: () => {
          if (s.keyManager !== 'local') return production.adapters.keyManager();
          if (onCloudRun) {
            return unavailableKeyManager(
              'KEY_MANAGER=local keeps keys in the database and is refused on Cloud Run; set KEY_MANAGER=google-cloud-kms',
            );
          }
          return new LocalKeyManager(parts.db(), parts.clock);
        },
        secretStore: () => {
          if (s.secretManager !== 'local') return production.adapters.secretStore();
          if (onCloudRun) {
            return unavailableSecretStore(
              'SECRET_MANAGER=local keeps secret values in the database and is refused on Cloud Run; set SECRET_MANAGER=google-secret-manager',
            );
          }
          return new LocalSecretStore(parts.db(), parts.clock);
        },
        databaseExport: () => {
          if (s.databaseExport !== 'local-pg-dump') return production.adapters.databaseExport();
          if (onCloudRun) {
            return unavailableDatabaseExport(
              'DATABASE_EXPORT=local-pg-dump writes to the local disk and is refused on Cloud Run; set DATABASE_EXPORT=cloud-sql',
            );
          }
          return new LocalDatabaseExport(parts.db(), {
            connection: pgConnection(parts.databaseAddress()),
            directory: s.localBackupDir,
            pgDumpPath: s.pgDumpPath,
          });
        },
      },
    };
  },
};
