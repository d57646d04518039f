/**
 * realm-key-rotation-worker settings: the original rotation service's variables, names and defaults
 * (enx-jobs.md §7, §7.2, and DB_KEYRING / DB_MAX_KEY_VERSIONS of §0.7). MIN_TTL is not read: the run
 * ledger and job lock replace the original's time-to-live lock.
 */
import { custom, defineConfig, durationMs, integer } from '../../core/config';

const KEY_RING = /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+$/;

/** DB_KEYRING: the key ring that holds one `realm-<id>` key per realm. */
export function parseKeyRingName(raw: string): string {
  const name = raw.trim().replace(/\/+$/, '');
  if (name.includes('/cryptoKeys')) {
    throw new Error(`"${raw}" names a key; drop /cryptoKeys/... and name the key ring`);
  }
  if (!KEY_RING.test(name)) {
    throw new Error(`"${raw}" is not a key ring name: projects/P/locations/L/keyRings/R`);
  }
  return name;
}

export const realmKeyRotationConfig = defineConfig('realm-key-rotation-worker', {
  keyRing: custom(
    'DB_KEYRING',
    undefined,
    "The KMS key ring holding each realm's certificate-signing key (realm-<id>), projects/P/locations/L/keyRings/R.",
    parseKeyRingName,
  ),
  maxKeyVersions: integer(
    'DB_MAX_KEY_VERSIONS',
    '5',
    'Most certificate keys (not yet destroyed) a realm may have; a rotation that would pass it fails.',
    { min: 2, max: 100 },
  ),
  maxAgeMs: durationMs(
    'VERIFICATION_SIGNING_KEY_MAX_AGE',
    '720h',
    "Create a new certificate key when a realm's active newest key is older than this.",
    { minMs: 1 },
  ),
  activationDelayMs: durationMs(
    'VERIFICATION_ACTIVATION_DELAY',
    '1h',
    "Wait this long after creating a key before using it (the key server imports its public key meanwhile), and after retiring one before destroying it (at least the realm's certificate duration).",
    { minMs: 1 },
  ),
});

export type RealmKeyRotationConfig = ReturnType<typeof realmKeyRotationConfig.parse>;
